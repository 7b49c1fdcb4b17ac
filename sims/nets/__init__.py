"""Small models and training loops (torch, device/dtype/generator passed explicitly)."""
