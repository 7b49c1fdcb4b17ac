"""The sharpness claims can fail: synthetic results on which their decisions must come out the other way."""

from __future__ import annotations

import numpy as np

from sgdlab import REGISTRY, Context, ResultStore, Tol
from sgdlab.papers.sharpness.claims import decide_quadratic
from sgdlab.papers.sharpness.experiments import METHODS, QuadraticResult
from sgdlab.verify import run_claim


def _result(sharp: list[list[float]], dec: list[list[float]]) -> QuadraticResult:
    s, d = np.array(sharp, dtype=float), np.array(dec, dtype=float)
    return QuadraticResult(np.array(METHODS), s, d, np.ones_like(s))


def test_quadratic_table_fails_when_one_instance_breaks_an_ordering() -> None:
    good = [[900, 150, 36, 16, 11], [950, 140, 30, 15, 10]]
    inc = [[160, 230, 450, 640, 680], [150, 220, 430, 600, 650]]
    tol = Tol(min_fraction=1.0)
    assert decide_quadratic(_result(good, inc), tol).verdict == "holds"
    assert decide_quadratic(_result([good[0], [950, 140, 30, 9, 10]], inc), tol).verdict == "fails"
    assert decide_quadratic(_result(good, [inc[0], [150, 220, 430, 700, 650]]), tol).verdict == "fails"


def test_quadratic_table_fails_without_the_outlier_coordinates(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """With no large-curvature coordinates (h_big = 1 like the rest), clipping has nothing to remove: the orderings
    the paper predicts are not strict, and the claim reports it."""
    ctx = Context(scale="smoke", store=ResultStore(tmp_path),
                  overrides={"sharpness.quadratic.h_big": 1.0, "sharpness.quadratic.x_big_std": 1.0})
    assert run_claim(REGISTRY.claims["sharpness.quadratic_table"], ctx).verdict == "fails"
