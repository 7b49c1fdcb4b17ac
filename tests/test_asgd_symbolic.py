"""sympy derivations of theory.linreg.symbolic against the numeric 2x2 analysis."""

from __future__ import annotations

import numpy as np
import pytest

from theory.linreg import parameters as Pa
from theory.linreg import symbolic as S
from theory.linreg import two_by_two as T2

PARAMS = [Pa.accsgd_to_asgd(0.2, 200.0, 5.0), Pa.accsgd_to_asgd(0.05, 30.0, 2.0, c=0.5),
          Pa.AsgdParams(alpha=0.7, beta=0.3, gamma=0.4, delta=0.1)]


@pytest.mark.parametrize("p", PARAMS)
def test_symbolic_det_seff_crossover(p: Pa.AsgdParams) -> None:
    f = S.lambdify_all()
    args = (p.alpha, p.beta, p.gamma, p.delta)
    lam = np.geomspace(1e-4, 1.0 / p.delta, 40)
    # det A: symbolic vs numeric determinant of the matrix built by theory.linreg
    np.testing.assert_allclose(f["det_A"](*args, lam), np.linalg.det(T2.transition_matrix(p, lam)), rtol=1e-10,
                               atol=1e-14)
    np.testing.assert_allclose(f["det_A"](*args, lam), T2.det_A(p, lam), rtol=1e-12, atol=1e-15)
    # s_eff: symbolic vs the closed form and vs the numerically extracted slope of the slow eigenvalue
    s_sym = float(f["s_eff"](*args, 0.0))
    assert s_sym == pytest.approx(T2.s_eff(p), rel=1e-12)
    h = 1e-7
    mu = np.linalg.eigvals(T2.transition_matrix(p, np.array([h])))[0]
    slow = mu[np.argmin(np.abs(mu - 1))].real
    assert (1 - slow) / h == pytest.approx(s_sym, rel=1e-4)
    # lambda_x: symbolic vs closed form, and |det A| = (1 - delta lam)^2 there
    lx = float(f["crossover_lambda"](*args, 0.0))
    assert lx == pytest.approx(T2.crossover_lambda(p), rel=1e-12)
    assert float(T2.det_A(p, np.array(lx))) == pytest.approx((1 - p.delta * lx) ** 2, rel=1e-10)


def test_symbolic_forms() -> None:
    import sympy as sp

    expected = S.alpha * (1 - S.beta) * (1 - S.delta * S.lam)
    assert sp.simplify(S.det_A() - expected) == 0
    assert sp.simplify(S.s_eff() - (S.alpha * S.beta * S.delta + (1 - S.alpha) * S.gamma)
                       / (1 - S.alpha * (1 - S.beta))) == 0
