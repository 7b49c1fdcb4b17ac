"""Every stability claim's decision logic fed synthetic results: one on which it must hold and one on which it must
fail (or come out inconclusive), so no claim is a check that cannot fail."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from sgdlab import Tol
from sgdlab.papers.stability import claims as C
from sgdlab.papers.stability.experiments import CoherenceConfig, WuMaEConfig


def tol_of(cid: str) -> Tol:
    from sgdlab.registry import REGISTRY

    REGISTRY.load_paper("stability")
    return REGISTRY.claims[cid].tol


def test_coherence_bounds_fails_on_a_violation() -> None:
    tol = tol_of("stability.coherence_bounds")
    r = {"sigma": np.array([1.5, 2.0]), "lhs": np.array([1.0, 1.0]), "rhs": np.array([2.0, 2.0]),
         "rank": np.array([1, 2]), "n": np.array([3, 3])}
    assert C.decide_coherence_bounds(r, tol).verdict == "holds"
    bad = dict(r, sigma=np.array([0.9, 2.0]))
    assert C.decide_coherence_bounds(bad, tol).verdict == "fails"
    bad = dict(r, lhs=np.array([1.0, 2.5]))
    assert C.decide_coherence_bounds(bad, tol).verdict == "fails"
    bad = dict(r, sigma=np.array([3.5, 2.0]))  # rank one with sigma > n
    assert C.decide_coherence_bounds(bad, tol).verdict == "fails"


def test_coherence_le_n_can_hold() -> None:
    tol = tol_of("stability.coherence_le_n_any_rank")
    r = {"sigma": np.array([1.5, 2.0]), "n": np.array([3, 3]), "identity_sigma": np.array([2.0]),
         "identity_ns": np.array([2])}
    assert C.decide_coherence_le_n(r, CoherenceConfig(), tol).verdict == "holds"
    r["identity_sigma"] = np.array([4.0])
    v = C.decide_coherence_le_n(r, CoherenceConfig(), tol)
    assert v.verdict == "fails" and "I_4" in v.note


def fake_map(frac: np.ndarray, rho: np.ndarray, lyap: np.ndarray) -> dict[str, Any]:
    return {"frac_diverged": frac, "frac_diverged_first": frac, "rho": rho, "lyapunov": lyap, "threshold": 1000.0,
            "steps": 1000, "ms_hat": rho.copy(), "ms_se": np.full(rho.shape, 0.01), "check_points": np.array([0]),
            "rho_matrix_free": rho.reshape(-1)[:1].copy(), "thm1_fires": np.zeros(rho.shape)}


def grid() -> tuple[np.ndarray, np.ndarray]:
    i, j = np.meshgrid(np.arange(8), np.arange(8), indexing="ij")
    rho = 0.5 + 0.1 * (i + j)          # rho > 1 when i + j > 5
    lyap = np.where(i + j > 9, 0.01, -0.01)
    return rho, lyap


def test_exact_and_typical_boundary_decisions() -> None:
    rho, lyap = grid()
    tol = tol_of("stability.exact_boundary")
    ms_follow_rho = {("bernoulli", 0.8): fake_map((rho > 1).astype(float), rho, lyap)}
    assert C.decide_exact_boundary(ms_follow_rho, 0.8, tol).verdict == "holds"
    ms_follow_lyap = {("bernoulli", 0.8): fake_map((lyap > 0.0035).astype(float), rho, lyap)}
    assert C.decide_exact_boundary(ms_follow_lyap, 0.8, tol).verdict == "fails"
    tol_t = tol_of("stability.typical_boundary")
    assert C.decide_typical_boundary(ms_follow_lyap, tol_t).verdict == "holds"
    assert C.decide_typical_boundary(ms_follow_rho, tol_t).verdict == "fails"


def fake_growth(scale: float) -> dict[str, Any]:
    times = np.array([1, 2, 3, 4])
    rho = np.array([[0.9, 1.1]])
    exact = rho[..., None] ** times
    se = np.full(exact.shape, 0.01)
    return {"times": times, "ratios": np.array([0.95, 1.05]), "mean_sq": exact * scale, "se_sq": se,
            "se_exact": se, "exact_sq": exact, "exact_enumerated": exact.copy(), "rho": rho}


def test_ms_growth_decision_fails_on_a_wrong_operator() -> None:
    tol = tol_of("stability.ms_boundary")
    assert C.decide_ms_growth({"bernoulli": fake_growth(1.0)}, tol).verdict == "holds"
    # a simulator whose second moment grows 10% faster than rho(Q)^t (e.g. the with-replacement formula used for a
    # Bernoulli simulator) is many se away
    assert C.decide_ms_growth({"bernoulli": fake_growth(1.1)}, tol).verdict == "fails"
    g = fake_growth(1.0)
    g["exact_enumerated"] = g["exact_sq"] * (1 + 1e-6)
    assert C.decide_ms_growth({"bernoulli": g}, tol).verdict == "fails"


def test_ms_map_decision_fails() -> None:
    rho, lyap = grid()
    tol = tol_of("stability.ms_boundary")
    m = fake_map(rho, rho, lyap)
    assert C.decide_ms_map({("bernoulli", 0.8): m}, tol).verdict == "holds"
    m = fake_map(rho, rho, lyap)
    m["ms_hat"] = rho + 0.2
    assert C.decide_ms_map({("bernoulli", 0.8): m}, tol).verdict == "fails"


def test_thm1_decision() -> None:
    r = {"fired": np.array([1.0, 0.0]), "rho": np.array([1.2, 0.5])}
    assert C.decide_thm1(r, {}).verdict == "holds"
    assert C.decide_thm1({"fired": np.array([1.0]), "rho": np.array([0.99])}, {}).verdict == "fails"
    assert C.decide_thm1({"fired": np.array([0.0]), "rho": np.array([0.99])}, {}).verdict == "inconclusive"


def test_eta_star_decision() -> None:
    tol = tol_of("stability.eta_star_monotone")
    e = np.linspace(0.5, 1.0, 6)
    r: dict[str, Any] = {"ranks": np.array([1]), "gd_r1": 1.0, "bisect_batches": np.array([2])}
    for s in ("with_replacement", "without_replacement", "bernoulli"):
        r[f"eta_{s}_r1"] = e
        r[f"bisect_{s}_r1"] = e[[1]]
    assert C.decide_eta_star(r, tol).verdict == "holds"
    r["eta_bernoulli_r1"] = e[::-1].copy()
    assert C.decide_eta_star(r, tol).verdict == "fails"


def test_wu_ma_e_decision_can_hold() -> None:
    tol = tol_of("stability.wu_ma_e_necessary")
    r = {"rho": np.array([0.5, 0.9]), "sharp_ratio": np.array([0.5, 0.9]), "nonuni_ratio": np.array([0.5, 0.99]),
         "d": np.array([1, 2])}
    assert C.decide_wu_ma_e(r, WuMaEConfig(), tol).verdict == "holds"
    r["nonuni_ratio"] = np.array([0.5, 1.08])
    assert C.decide_wu_ma_e(r, WuMaEConfig(), tol).verdict == "fails"


def fake_probe(net: list[float], lin: list[float], thm1: float = 10.0) -> dict[str, Any]:
    ratios = np.array([0.5, 0.9, 1.1, 1.5, 2.0, 4.0])
    return {"trained": True, "train_loss": 1e-13, "ratios": ratios, "batches": np.array([2]),
            "escaped_net": np.array([net]), "escaped_linear": np.array([lin]), "eta_star": np.array([0.2]),
            "eta_thm1": np.array([0.2 * thm1])}


def test_nn_probe_decision() -> None:
    tol = tol_of("stability.nn_interpolation")
    ok = C.decide_nn_probe(fake_probe([0, 0, 0, 1, 1, 1], [0, 0, 0, 0, 1, 1]), tol)
    assert ok["probe B=2"].verdict == "holds"
    # an escape below eta* (rho(Q) < 1) refutes the theory
    early = C.decide_nn_probe(fake_probe([0, 0.25, 0, 1, 1, 1], [0, 0, 0, 1, 1, 1]), tol)
    assert early["probe B=2"].verdict == "fails"
    # the net diverging far later than the linearisation predicts (two grid steps)
    late = C.decide_nn_probe(fake_probe([0, 0, 0, 0, 0, 1], [0, 0, 0, 1, 1, 1]), tol)
    assert late["probe B=2"].verdict == "fails"
    # no onset at all
    never = C.decide_nn_probe(fake_probe([0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]), tol)
    assert never["probe B=2"].verdict == "fails"
    # Theorem 1 fires (from ratio 1.5) but the net stays
    thm1 = C.decide_nn_probe(fake_probe([0, 0, 0, 0, 1, 1], [0, 0, 0, 0, 1, 1], thm1=1.2), tol)
    assert thm1["probe B=2"].verdict == "fails"
    untrained = dict(fake_probe([0] * 6, [0] * 6), trained=False)
    assert C.decide_nn_probe(untrained, tol)["probe"].verdict == "inconclusive"


def test_nn_survivors_decision() -> None:
    tol = tol_of("stability.nn_interpolation")
    r = {"converged": np.array([1, 1]), "diverged": np.array([0, 0]), "lambda1": np.array([1.0, 2.0]),
         "lambda1_ntk": np.array([1.0, 2.0]), "nme_norm": np.array([0.0, 0.0]), "thm1_threshold": np.array([3.0, 3.0]),
         "etas": np.array([0.1, 0.1]), "sigma": np.array([2.0, 2.0]), "rho_linearised": np.array([0.9, 0.9])}
    assert C.decide_nn_survivors(r, tol).verdict == "holds"
    assert C.decide_nn_survivors(dict(r, lambda1=np.array([1.0, 3.5]), lambda1_ntk=np.array([1.0, 3.5])),
                                 tol).verdict == "fails"
    assert C.decide_nn_survivors(dict(r, lambda1_ntk=np.array([1.0, 1.5])), tol).verdict == "fails"


def test_onset() -> None:
    r = np.array([0.5, 1.0, 2.0])
    assert C.onset(r, np.array([0, 1, 1]), 0.5) == 1.0
    assert C.onset(r, np.array([1, 0, 1]), 0.5) == 2.0
    assert math.isinf(C.onset(r, np.array([0, 0, 0]), 0.5))


@pytest.mark.parametrize("cid", ["stability.exact_boundary", "stability.typical_boundary", "stability.ms_boundary",
                                 "stability.nn_interpolation", "stability.thm1_sufficient"])
def test_divergence_is_the_observable(cid: str) -> None:
    assert tol_of(cid).divergence_measured
