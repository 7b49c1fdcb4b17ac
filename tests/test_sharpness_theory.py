"""Exact directional sharpness and quadratic-model decrease, checked against a dense computation and a line search."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import minimize_scalar

from theory import directional_sharpness as DS


def test_against_dense_formulas_and_a_line_search() -> None:
    rng = np.random.default_rng(0)
    h, x = DS.synthetic_quadratic(rng, n=200)
    g = h * x
    u = DS.clip_top_fraction(g, 0.1)
    H = np.diag(h)
    assert math.isclose(DS.directional_sharpness(u, h), u @ H @ u / (u @ u), rel_tol=1e-13)
    eta, dec = DS.best_decrease(g, u, h)
    v = u / np.linalg.norm(u)
    f = lambda z: 0.5 * z @ H @ z  # noqa: E731
    res = minimize_scalar(lambda e: f(x - e * v), bracket=(0, 1), tol=1e-12)
    assert math.isclose(res.x, eta, rel_tol=1e-6) and math.isclose(f(x) - res.fun, dec, rel_tol=1e-9)


def test_clip_matches_the_torch_transform() -> None:
    torch = pytest.importorskip("torch")
    from sims.optim.clip import clip_top_fraction as torch_clip

    g = np.random.default_rng(1).normal(size=1000)
    for c in (0.0, 0.01, 0.3):
        ours = DS.clip_top_fraction(g, c)
        ref = torch_clip([torch.tensor(g)], c)[0].numpy()
        assert np.array_equal(ours, ref)
        assert int((ours != g).sum()) == math.floor(c * g.size)


@pytest.mark.parametrize("call", [
    lambda: DS.directional_sharpness([0.0, 0.0], [1.0, 1.0]),
    lambda: DS.directional_sharpness([1.0], [1.0, 2.0]),
    lambda: DS.best_decrease([1.0], [1.0], [-1.0]),
    lambda: DS.clip_top_fraction([1.0, np.nan], 0.5),
    lambda: DS.clip_top_fraction([1.0, 2.0], 1.0),
    lambda: DS.synthetic_quadratic(np.random.default_rng(0), n=1),
    lambda: DS.synthetic_quadratic(np.random.default_rng(0), frac=0.0),
])  # fmt: skip
def test_bad_input(call) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError):
        call()
