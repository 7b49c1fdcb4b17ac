"""Optimizers as torch.optim classes and as batched update rules (one module per optimizer)."""
