"""Deprecated alias of :mod:`sims.heavy_tails.noisy_mlp` (moved there), kept only so that tests/test_nets_trainer.py
(not owned by heavy_tail) keeps importing until it imports from sims.heavy_tails.noisy_mlp."""

from sims.heavy_tails.noisy_mlp import MLPShape, NoisyGDResult, cross_entropy_per_run, noisy_gd  # noqa: F401
