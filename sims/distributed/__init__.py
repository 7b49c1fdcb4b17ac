"""Distributed optimisation on graphs, batched over runs: communication graphs, mixing (gossip) steps, the D-SGD engine
(one tensor of shape (runs, agents, dim)), local objectives, noise models and step-size schedules."""
