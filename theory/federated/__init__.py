"""Asynchronous federated optimisation: exact client-time schedules, aggregation weights, surrogate objectives."""
