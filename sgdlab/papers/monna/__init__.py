"""monna: robust collaborative learning with linear gradient overhead (MoNNA).

Farhadkhani, Guerraoui, Gupta, Hoang, Pinot, Stephan (ICML 2023, arXiv 2209.10931); reference code
LPD-EPFL/robust-collaborative-learning and byzfl 0.0.11 (byzfl.MoNNA / NNM and its attacks, cross-checked to 1e-12
in float64 by tests/test_monna_crosscheck.py). Conventions: ``n`` workers of which ``f`` Byzantine, ``h = n - f``
honest; honest worker i: ``m = beta m + (1 - beta) g``, half step ``theta - gamma m``, then nearest-neighbour averaging
of the ``n - f`` received models nearest to its own (``nna_paper``) or, as in the authors' code, of the ``n - 2f``
nearest among ``n - f`` received (``nna_authors``). Byzantine vectors are built on the honest half steps.

Claims: MoNNA (momentum + NNA) is robust to f < n/2 Byzantine workers with a gradient overhead linear in f/n, and beats
the usual robust aggregators (trimmed mean, geometric median, centered clipping) under attack.
"""

from . import claims, experiments, figures  # noqa: F401
