"""The per-direction 2x2 analysis of ASGD's mean dynamics.

Per eigen-direction ``i`` the error ``z_i = (w - w*, v - w*)_i`` has mean dynamics ``E z_i(t) = A(lam_i) E z_i(t-1)``
with ``A(lam) = C - lam q p^T``, ``C = [[alpha, 1-alpha], [alpha beta, 1 - alpha beta]]``, ``q = (delta, gamma)``,
``p = (alpha, 1 - alpha)``. Closed forms derived in :mod:`theory.linreg.symbolic`.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .checks import Array, check_eigenvalue_grid, check_real
from .parameters import AsgdParams, check_params


def transition_matrix(params: AsgdParams, lam: npt.ArrayLike) -> Array:
    """``A(lam) = C - lam q p^T`` for each ``lam >= 0`` (shape ``lam.shape + (2, 2)``): ``E z(t) = A E z(t-1)``."""
    p = check_params(params)
    lam_ = check_eigenvalue_grid(lam)
    return p.C - lam_[..., None, None] * np.outer(p.q, p.p)


def spectral_radius_A(params: AsgdParams, lam: npt.ArrayLike) -> Array:
    """``rho(A(lam))``, the mean contraction factor per step of ASGD in direction ``lam``."""
    return np.max(np.abs(np.linalg.eigvals(transition_matrix(params, lam))), axis=-1)


def det_A(params: AsgdParams, lam: npt.ArrayLike) -> Array:
    """Closed form ``det A(lam) = alpha (1 - beta)(1 - delta lam)`` (derived in theory.linreg.symbolic)."""
    p = check_params(params)
    lam_ = check_eigenvalue_grid(lam)
    return p.alpha * (1.0 - p.beta) * (1.0 - p.delta * lam_)


def momentum_time(params: AsgdParams) -> float:
    """``tau = 1 / (1 - alpha (1 - beta))``: the number of steps over which ASGD's momentum builds up (the slow
    eigenvalue of ``C`` other than 1 is ``alpha (1 - beta)``, so ``C^t`` forgets its start like
    ``(alpha (1 - beta))^t``). Infinite-free: requires ``alpha (1 - beta) < 1``."""
    p = check_params(params)
    den = 1.0 - p.alpha * (1.0 - p.beta)
    if den <= 0:
        raise ValueError("params must have alpha (1 - beta) < 1 for the momentum time to be finite")
    return 1.0 / den


def s_eff(params: AsgdParams) -> float:
    """Effective small-eigenvalue step: slow eigenvalue of ``A(lam)`` is ``1 - s_eff lam + O(lam^2)`` with
    ``s_eff = (alpha beta delta + (1 - alpha) gamma) / (1 - alpha (1 - beta))``."""
    p = check_params(params)
    a, b = p.alpha, p.beta
    den = 1.0 - a * (1.0 - b)
    if den <= 0:
        raise ValueError("params must have alpha (1 - beta) < 1 for s_eff to exist (C has a double eigenvalue 1)")
    return (a * b * p.delta + (1.0 - a) * p.gamma) / den


def crossover_lambda(params: AsgdParams) -> float:
    """``lambda_x = (1 - alpha (1 - beta)) / delta``: in the complex-eigenvalue regime ASGD's squared contraction
    ``|det A| = alpha (1 - beta)(1 - delta lam)`` beats SGD's ``(1 - delta lam)^2`` iff ``lam < lambda_x``."""
    p = check_params(params)
    return (1.0 - p.alpha * (1.0 - p.beta)) / p.delta


def variance_ratio_prediction(params: AsgdParams, a: float) -> float:
    """Predicted large-N ratio of ASGD to SGD variance for ``lam_i = i^-a``: ``(s_eff / delta)^(1/a)`` (ASGD acts
    like SGD with step ``s_eff`` on the tail, and the variance scales like ``(step N)^(1/a) / N``). A heuristic."""
    a_ = check_real(a, "a", 0.0, lo_open=True)
    p = check_params(params)
    return float((s_eff(p) / p.delta) ** (1.0 / a_))
