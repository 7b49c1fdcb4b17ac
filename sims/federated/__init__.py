"""Simulated-time federated learning: a batched engine over runs and clients, heterogeneous client problems."""
