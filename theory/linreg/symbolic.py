"""Symbolic derivations (sympy) behind the per-direction 2x2 analysis of ASGD in :mod:`theory.linreg.two_by_two`.

``A(lam) = C - lam q p^T`` with ``C = [[alpha, 1-alpha], [alpha beta, 1 - alpha beta]]``, ``q = (delta, gamma)``,
``p = (alpha, 1 - alpha)``. Derived here rather than typed in:

* ``det A(lam) = alpha (1 - beta)(1 - delta lam)``;
* the slow eigenvalue ``mu(lam) = 1 - s_eff lam + O(lam^2)`` by implicit differentiation of the characteristic
  polynomial at ``(mu, lam) = (1, 0)``: ``s_eff = (alpha beta delta + (1-alpha) gamma) / (1 - alpha (1 - beta))``;
* the crossover ``lambda_x``: in the complex-eigenvalue regime ``|mu|^2 = det A``, equal to SGD's squared factor
  ``(1 - delta lam)^2`` at ``lam = (1 - alpha (1 - beta)) / delta``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import sympy as sp

alpha, beta, gamma, delta, lam, mu = sp.symbols("alpha beta gamma delta lambda mu", real=True)


def transition_matrix() -> sp.Matrix:
    """Symbolic ``A(lambda) = C - lambda q p^T``."""
    C = sp.Matrix([[alpha, 1 - alpha], [alpha * beta, 1 - alpha * beta]])
    q = sp.Matrix([delta, gamma])
    p = sp.Matrix([alpha, 1 - alpha])
    return C - lam * q * p.T


@lru_cache(maxsize=1)
def det_A() -> sp.Expr:
    """``det A(lambda)``, factored (expected ``alpha (1 - beta)(1 - delta lambda)`` up to sign arrangement)."""
    return sp.factor(transition_matrix().det())


@lru_cache(maxsize=1)
def s_eff() -> sp.Expr:
    """``-d mu / d lambda`` at ``lambda = 0`` on the branch ``mu(0) = 1``: ``P(mu, lam) = det(mu I - A(lam))``,
    ``d mu / d lam = -P_lam / P_mu``."""
    P = sp.expand((mu * sp.eye(2) - transition_matrix()).det())
    dmu = -sp.diff(P, lam) / sp.diff(P, mu)
    return sp.simplify(-dmu.subs({lam: 0, mu: 1}))


@lru_cache(maxsize=1)
def crossover_lambda() -> sp.Expr:
    """Root in ``lambda`` (other than ``1/delta``) of ``det A(lambda) = (1 - delta lambda)^2``."""
    sols = sp.solve(sp.Eq(det_A(), (1 - delta * lam) ** 2), lam)
    roots = [s for s in sols if sp.simplify(s - 1 / delta) != 0]
    if len(roots) != 1:
        raise RuntimeError(f"expected one non-trivial crossover root, got {sols}")
    return sp.simplify(roots[0])


def lambdify_all() -> dict[str, Callable[..., float]]:
    """Numeric versions (numpy) of det A(alpha, beta, gamma, delta, lambda), s_eff and lambda_x."""
    args = (alpha, beta, gamma, delta, lam)
    return {
        "det_A": sp.lambdify(args, det_A(), "numpy"),
        "s_eff": sp.lambdify(args, s_eff(), "numpy"),
        "crossover_lambda": sp.lambdify(args, crossover_lambda(), "numpy"),
    }
