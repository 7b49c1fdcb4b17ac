"""Deprecated alias of :mod:`sims.noise.stable` (the alpha-stable samplers moved there), kept only so that
tests/test_nets_trainer.py (not owned by heavy_tail) keeps importing until it imports from sims.noise.stable."""

from sims.noise.stable import positive_stable, rotational_stable, symmetric_stable  # noqa: F401
