"""noise_regimes claims: each decision, fed a synthetic result that satisfies its statement, holds, and fed one that
violates it, fails (so every check can fail). Tolerances are the registered ones."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from sgdlab.papers.noise_regimes import claims as C
from sgdlab.registry import REGISTRY


def tol(claim_id: str) -> Any:
    return REGISTRY.claims[claim_id].tol


def rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def test_scale_invariance_fails_when_steps_differ() -> None:
    w = rng(0).standard_normal((1, 4, 3))
    temps = np.array([0.5, 1.0, 2.0])
    r = {"temps": temps, "w": np.concatenate([w * t for t in temps]), "steps": np.full((3, 4), 10),
         "converged": np.ones((3, 4), bool)}
    assert C.decide_scale_invariance(r, tol("noise_regimes.scale_invariance")).verdict == "holds"
    r["steps"] = r["steps"].copy()
    r["steps"][2, 1] += 1
    assert C.decide_scale_invariance(r, tol("noise_regimes.scale_invariance")).verdict == "fails"
    r2 = dict(r, steps=np.full((3, 4), 10), w=r["w"] * np.array([1.0, 1.0, 1.0 + 1e-9])[:, None, None])
    assert C.decide_scale_invariance(r2, tol("noise_regimes.scale_invariance")).verdict == "fails"


def _scaling(w1_exp: float, wp_exp: float, runs: int = 64, noise: float = 0.05, seed: int = 0) -> dict[str, Any]:
    ps = np.array([256, 512, 1024, 2048, 4096])
    g = rng(seed)
    shape = (2, len(ps), runs)
    w1 = 0.5 * ps[None, :, None] ** w1_exp * np.exp(noise * g.standard_normal(shape))
    wp = 0.3 * (ps[None, :, None] / 256) ** wp_exp * np.exp(noise * g.standard_normal(shape))
    return {"w1": w1, "w_perp": wp, "steps": 100 * ps[None, :, None] ** 1.5 * np.ones(shape),
            "censored": np.zeros(shape), "d_values": np.array([16, 32]), "p_values": ps, "batch_size": 2, "chi": 1.0}


def test_w_perp_holds_when_flat_and_fails_when_drifting() -> None:
    t = tol("noise_regimes.w_perp")
    assert C.decide_w_perp(_scaling(0.5, 0.0), t).verdict == "holds"
    assert C.decide_w_perp(_scaling(0.5, -0.1 - 6 * 0.01), t).verdict == "fails"  # slope -0.16, se ~ 0.003
    r = _scaling(0.5, 0.0)
    r["w_perp"] = r["w_perp"] * 2.0  # c ~ 0.6: outside the band
    assert C.decide_w_perp(r, t).verdict == "fails"
    r["censored"] = r["censored"].copy()
    r["censored"][0, 0, 0] = 1
    assert C.decide_w_perp(r, t).verdict == "inconclusive"


@pytest.mark.parametrize("chi", [0.0, 1.0, 3.0])
def test_w1_exponent_tests_w1_itself(chi: float) -> None:
    t = tol(f"noise_regimes.w1_exponent.chi{int(chi)}")
    pred = 1.0 / (1.0 + chi)
    assert C.decide_w1_exponent(_scaling(pred, 0.0), chi, t).verdict == "holds"
    # the ratio w1/||w_perp|| has the predicted exponent, but only because ||w_perp|| drifts: must fail
    assert C.decide_w1_exponent(_scaling(pred - 0.15, -0.15), chi, t).verdict == "fails"
    assert C.decide_w1_exponent(_scaling(0.8 * pred, 0.0), chi, t).verdict == "fails"


def _margin(tc_exp: float) -> dict[str, Any]:
    kappas = np.array([0.01, 0.03, 0.1])
    rel = 2.0 ** np.arange(-3, 7)
    temps = kappas[:, None] * rel[None, :]
    tc = kappas**tc_exp
    norm = (tc[:, None] + temps)[:, :, None] * np.exp(0.01 * rng(1).standard_normal((3, len(rel), 16)))
    return {"norm": norm, "temps": temps, "kappas": kappas, "censored": np.zeros_like(norm)}


def test_tc_margin_fails_when_tc_is_not_linear_in_kappa() -> None:
    t = tol("noise_regimes.tc_margin")
    assert C.decide_tc_margin(_margin(1.0), 256, t).verdict == "holds"
    assert C.decide_tc_margin(_margin(0.5), 256, t).verdict == "fails"


def _lazy(t_slope: float, tc_exp: float, seeds: int = 8) -> dict[str, Any]:
    ps = np.array([128, 256, 512, 1024])
    alpha = 2.0**15
    rel = 2.0 ** np.array([-5, -3, -1, 1, 3, 5, 7, 9, 11])
    temps = rel / alpha
    g = rng(2)
    tc = (0.5 / alpha) * (ps / 128.0) ** (-tc_exp)  # T_c(P)
    plateau = 0.01
    rwc = plateau * (1.0 + temps[None, :] / tc[:, None])  # linear above T_c, flat below
    shape = (len(ps), len(temps), seeds)
    t_star = temps[None, :, None] ** t_slope * ps[None, None, :1] ** 0 * np.ones(shape)
    return {"temps": temps, "alpha": alpha, "p_values": ps,
            "rel_weight_change": rwc[:, :, None] * np.exp(0.01 * g.standard_normal(shape)),
            "t_star": t_star * np.exp(0.01 * g.standard_normal(shape)), "censored": np.zeros(shape),
            "diverged": np.zeros(shape)}  # fmt: skip


def test_t_star_linear_fails_on_a_sublinear_law() -> None:
    t = tol("noise_regimes.t_star_linear_in_T")
    assert C.decide_t_star_linear(_lazy(1.0, 0.5), t).verdict == "holds"
    assert C.decide_t_star_linear(_lazy(0.7, 0.5), t).verdict == "fails"


def test_tc_vs_p_sign_and_resolution() -> None:
    t = tol("noise_regimes.tc_vs_P")
    assert C.decide_tc_vs_p(_lazy(1.0, 0.5), 7, t).verdict == "holds"   # T_c falls as P^-0.5
    assert C.decide_tc_vs_p(_lazy(1.0, -0.2), 7, t).verdict == "fails"  # T_c rises
    assert C.decide_tc_vs_p(_lazy(1.0, 0.0), 7, t).verdict == "fails"   # flat within the resolution
    noisy = _lazy(1.0, 0.5, seeds=3)
    noisy["rel_weight_change"] = noisy["rel_weight_change"] * np.exp(0.8 * rng(3).standard_normal(
        noisy["rel_weight_change"].shape))
    assert C.decide_tc_vs_p(noisy, 7, t).verdict == "inconclusive"  # se too large for the resolution


def _phase(feature_delta: float, lazy_delta: float, premise: float, seeds: int = 12) -> dict[str, Any]:
    alphas = 2.0 ** np.array([-4, -1, 2, 5, 8, 15])
    temps = 2.0 ** np.array([-12, -9, -6, -4])
    g = rng(4)
    err = 0.1 + 0.002 * g.standard_normal((len(alphas), len(temps), seeds))
    err[0] += -premise  # feature alpha at every T: err(alpha_min) - err(alpha_lazy) ~ premise at T_lo
    ramp = np.linspace(0.0, 1.0, len(temps))[None, :, None]
    err[:2] += feature_delta * ramp[0]
    err[4] += lazy_delta * ramp[0]
    shape = err.shape
    return {"alphas": alphas, "temps": temps, "test_error": err, "converged": np.ones(shape, bool),
            "censored": np.zeros(shape), "diverged": np.zeros(shape), "p": 256}


def test_phase_diagram_predicted_signs() -> None:
    t = tol("noise_regimes.phase_diagram")
    # feature helps; decreasing alpha helps at T_lo, so noise must hurt in the lazy regime
    assert C.decide_phase(_phase(-0.02, +0.02, premise=+0.02), t).verdict == "holds"
    # the opposite of the paper's pattern (feature hurts, lazy helps): must fail
    assert C.decide_phase(_phase(+0.02, -0.02, premise=+0.02), t).verdict == "fails"
    # 'helps somewhere, hurts somewhere' with the lazy sign equal to the alpha effect: must fail
    assert C.decide_phase(_phase(-0.02, -0.02, premise=+0.02), t).verdict == "fails"
    # no lazy alpha whose T grid crosses kappa: inconclusive
    r = _phase(-0.02, +0.02, premise=+0.02)
    r["temps"] = 2.0 ** np.array([-3, -2.5, -2, -1.5])
    assert C.decide_phase(r, t).verdict == "inconclusive"
