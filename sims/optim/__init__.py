"""Optimizers: one module per optimizer (torch.optim classes and batched update rules)."""
