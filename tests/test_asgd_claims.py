"""Each asgd claim's decision on synthetic inputs: the shapes it must accept, and the ones on which it must fail."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sgdlab import REGISTRY, Context, ResultStore, load_all
from sgdlab.papers.asgd import claims as C

load_all()
TOL = {cid: REGISTRY.claims[cid].tol for cid in ("asgd.bias_small_eig", "asgd.variance_larger", "asgd.crossover",
                                                  "asgd.exact_vs_mc", "asgd.kurtosis_misspecified")}
N = 3000
T = np.arange(N + 1)


def _curve(start: float, cross: int, after: float) -> np.ndarray:
    """ratio(t): 1 at t <= 1, ``start`` until ``cross``, then ``after``."""
    r = np.where(T < cross, start, after).astype(float)
    r[:2] = 1.0
    return r


def _bias(head: np.ndarray, tail: np.ndarray) -> str:
    v = C.decide_bias_small_eig(np.stack([head, tail]), np.array([1.0, 0.008]), 0.144, 34.2,
                                TOL["asgd.bias_small_eig"], ["head", "tail"])
    return v.verdict


def test_bias_shape_as_stated_holds() -> None:
    assert _bias(_curve(0.6, 80, 1.6), _curve(1.04, 70, 0.1)) == "holds"


@pytest.mark.parametrize("head, tail, why", [
    (_curve(0.6, 80, 1.6), _curve(1.04, 70, 1.02), "tail band ends above 1"),
    (_curve(0.6, 80, 0.9), _curve(1.04, 70, 0.1), "head band ends below 1"),
    (_curve(0.6, 80, 1.6), np.where(T > 2500, 1.05, _curve(1.04, 70, 0.1)), "tail band re-crosses 1 late"),
    (np.where((T > 500) & (T < 600), 0.9, _curve(0.6, 80, 1.6)), _curve(1.04, 70, 0.1), "head dips below 1 once"),
    (_curve(0.6, 80, 1.6), np.where(T == 1000, np.nan, _curve(1.04, 70, 0.1)), "a non-finite ratio"),
    (_curve(0.6, 80, 1.6), np.where((T >= 500) & (T < 600), 1.02, _curve(0.9, 70, 0.1)),
     "tail below, above, below again: two crossings, right final side"),
])
def test_bias_shape_fails(head: np.ndarray, tail: np.ndarray, why: str) -> None:
    assert _bias(head, tail) == "fails", why


def test_bias_window_trick_no_longer_passes() -> None:
    """The old check looked at t >= 100 only: a tail ratio that re-crosses 1 at the end passed it partially; a tail
    ratio above 1 only before t = 100 and a second crossing later must fail the whole-curve test."""
    tail = _curve(1.04, 70, 0.1)
    tail[2000:2100] = 1.01
    assert _bias(_curve(0.6, 80, 1.6), tail) == "fails"


def test_bias_long_transient_is_inconclusive() -> None:
    assert _bias(_curve(0.6, 80, 1.6), _curve(1.04, int(0.6 * N), 0.5)) == "inconclusive"


def test_band_shape_reports_transient() -> None:
    sh = C.band_shape(_curve(1.04, 70, 0.1), -1, 1e-9)
    assert (sh["crossings"], sh["t_c"], sh["extreme"], sh["final"]) == (1, 70, pytest.approx(1.04), 0.1)


def _var(sgd: np.ndarray, asgd: np.ndarray, pred: float, avg_asgd: np.ndarray | None = None) -> str:
    """Same arrays for the last iterate and the average unless ``avg_asgd`` is given."""
    avg = asgd if avg_asgd is None else avg_asgd
    return C.decide_variance_larger(sgd, asgd, sgd, avg, pred, TOL["asgd.variance_larger"]).verdict


def test_variance_larger_holds_and_fails() -> None:
    sgd = np.linspace(1.0, 2.0, 50)
    asgd = sgd * 1.6
    asgd[:2] = sgd[:2]
    assert _var(sgd, asgd, 1.6) == "holds"
    assert _var(sgd, asgd, 1.6 * 1.08) == "fails"  # heuristic off by 8% > 5%
    dip = asgd.copy()
    dip[20] = sgd[20]
    assert _var(sgd, dip, 1.6, avg_asgd=asgd) == "fails"  # last-iterate ratio exactly 1 at one N ("larger")
    assert _var(sgd, asgd, 1.6, avg_asgd=dip) == "fails"  # the average's ratio exactly 1 at one N
    n1 = asgd.copy()
    n1[1] *= 1.001
    assert _var(sgd, n1, 1.6) == "fails"  # the methods must coincide at N = 1


def test_crossover_fails_when_sides_swap() -> None:
    g = np.geomspace(1e-4, 1.0, 200)
    lx = 0.1
    sgd = 1 - 0.2 * g
    good = np.where(g < lx, sgd - 1e-3, sgd + 1e-3)
    assert C.decide_crossover(g, good, sgd, lx, lx, TOL["asgd.crossover"]).verdict == "holds"
    assert C.decide_crossover(g, 2 * sgd - good, sgd, lx, lx, TOL["asgd.crossover"]).verdict == "fails"
    assert C.decide_crossover(g, good, sgd, lx, lx * (1 + 1e-6), TOL["asgd.crossover"]).verdict == "fails"


def _mc(shift_se: float) -> dict[str, np.ndarray]:
    ex = np.linspace(1.0, 0.1, 10)
    se = np.full(10, 0.01)
    return {"mc": ex + shift_se * se, "se": se, "exact": ex, "mc_avg": ex + shift_se * se, "se_avg": se,
            "exact_avg": ex, "runs_diverged": np.array(0.0)}


def test_exact_vs_mc_fails_at_five_se() -> None:
    steps = np.arange(1, 11)
    assert C.decide_exact_vs_mc(steps, {"sgd": _mc(1.0)}, TOL["asgd.exact_vs_mc"]).verdict == "holds"
    assert C.decide_exact_vs_mc(steps, {"sgd": _mc(5.0)}, TOL["asgd.exact_vs_mc"]).verdict == "fails"


def test_kurtosis_fails_when_gaussian_recursion_fits() -> None:
    mc = np.linspace(1.0, 0.1, 10)
    se = np.full(10, 0.01)
    m = {"mc": mc, "se": se, "k1": mc, "k3": mc * 1.3, "runs_diverged": np.array(0.0)}
    assert C.decide_kurtosis({"sgd": m}, TOL["asgd.kurtosis_misspecified"]).verdict == "holds"
    assert C.decide_kurtosis({"sgd": dict(m, k3=mc)}, TOL["asgd.kurtosis_misspecified"]).verdict == "fails"
    assert C.decide_kurtosis({"sgd": dict(m, k1=mc * 1.3)}, TOL["asgd.kurtosis_misspecified"]).verdict == "fails"


def test_zou_fails_when_exact_exceeds_bound() -> None:
    exact = np.array([[1.0, 0.5, 0.2]])
    assert C.decide_zou_bound(exact * 5, exact, ["b"]).verdict == "holds"
    bound = exact * 5
    bound[0, 1] = 0.49
    assert C.decide_zou_bound(bound, exact, ["b"]).verdict == "fails"


def test_bias_small_eig_at_a3_fails_honestly(tmp_path: Path) -> None:
    """Outside the paper's a = 2 the same whole-curve test applies: at a = 3 the head band's ratio crosses 1 three
    times (ASGD is far better for t in [10, 400], then worse), so the claim fails; the variance part still holds."""
    ctx = Context(scale="smoke", store=ResultStore(tmp_path), overrides={"asgd.curves.a": 3.0})
    c = REGISTRY.claims["asgd.bias_small_eig"]
    v = c.func(ctx, c.tol)
    assert v.verdict == "fails", v.note
    assert "3 crossing(s)" in v.note and "i^-3" in v.note
