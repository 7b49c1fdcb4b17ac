"""psgd: curvature-informed SGD via general-purpose Lie-group preconditioners.

Pooladzandi & Li (2024, arXiv 2402.04553), after Li (2018, arXiv 1512.04202). Reference code: psgd-torch 0.6.1
(= lixilinx/psgd_torch at ba5cfbf) and kron-torch 0.3.3; :mod:`sims.optim.psgd` reproduces both to 1e-12 in float64
(tests/test_psgd_crosscheck.py). Conventions: ``P = Q^T Q``; Newton-type probes ``v ~ N(0, I)``, ``h = H v``; the fit
error is ``||P*^{-1/2} P P*^{-1/2} - I||_F / sqrt(n)`` against the closed-form target ``P*`` (theory.psgd_targets):
``|H|^{-1}`` (Newton type) or ``(E g g^T)^{-1/2}`` (whitening type); '2nd' normaliser with lr_preconditioner 0.1
(reference default since 2024) and '1st' with 0.01 (the paper's era).

Claims: the fitted P approaches |H|^{-1} (or the whitening target) within what its group can represent; with it,
PSGD Newton minimises 20-D Rosenbrock to ~1e-14 in 1000 iterations and LRA trains a delayed-XOR RNN that Adam cannot.
"""

from . import claims, experiments, figures  # noqa: F401
