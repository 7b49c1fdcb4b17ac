"""Optimizers as batched update rules (R independent runs at once) that plug into sims.nets.trainer."""
