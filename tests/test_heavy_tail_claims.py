"""The decision logic of the heavy_tail claims on synthetic results: each holds on data that satisfy it and fails (or is
inconclusive) on data that do not, so every claim can come out the other way."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from sgdlab import Tol

cl = pytest.importorskip("sgdlab.papers.heavy_tail.claims")
from theory.heavy_tails.levy_ou import euler_stationary_scale, sde_stationary_scale  # noqa: E402

TOL4 = Tol(k_se=4.0)


def _euler_result(offset_small: float = 0.0) -> dict[str, Any]:
    alphas, lam, eta = np.array([1.2, 1.5]), 2.0, np.array([0.4, 0.2, 0.05, 0.0125])
    euler = np.array([[euler_stationary_scale(a, lam, 1.0, e) for e in eta] for a in alphas])
    se = np.full_like(euler, 0.002)
    scale = euler.copy()
    scale[:, -1] += offset_small
    return {"alphas": alphas, "eta": eta, "euler": euler, "scale": scale, "scale_se": se,
            "sde": np.array([sde_stationary_scale(a, lam) for a in alphas]), "diverged": np.zeros((2, 4))}


def test_euler_to_sde_smallest_eta_part_fails_alone() -> None:
    assert cl.decide_euler_to_sde(_euler_result(), TOL4).verdict == "holds"
    v = cl.decide_euler_to_sde(_euler_result(offset_small=0.05), TOL4)  # only the smallest eta is off
    assert v.verdict == "fails"
    failed = [k for k in v.note.split("; ") if "fails" in k]
    assert failed and all("SDE" in k for k in failed)  # the Euler-formula part does not look at the smallest eta


def test_euler_to_sde_extrapolation_is_exact_on_linear_data() -> None:
    """Scales exactly linear in eta with tiny se: the linear extrapolation through the two smallest eta must land on
    the SDE scale (its part holds) while the smallest-eta point alone is resolved as off (its part fails)."""
    r = _euler_result()
    r["scale"] = r["sde"][:, None] + 0.5 * r["eta"][None, :]
    r["euler"] = r["scale"].copy()
    r["scale_se"] = np.full_like(r["scale"], 1e-6)
    note = cl.decide_euler_to_sde(r, TOL4).note
    for a in (1.2, 1.5):
        assert f"alpha={a:g}: extrapolation to eta=0 matches SDE: holds" in note
        assert f"alpha={a:g}: smallest eta=0.0125 matches SDE: fails" in note


def _w1(power: float, robust_power: float, rng: np.random.Generator) -> tuple[dict[str, Any], dict[str, Any]]:
    ns = np.array([25, 50, 100, 200])
    C = rng.uniform(1, 3, (8, 1))
    noise = lambda: np.exp(0.02 * rng.standard_normal((8, ns.size)))
    quad = {"ns": ns, "D": C * ns ** (-power) * noise(), "bound": 10 * C / ns, "batch": 5,
            "D_mb": C * ns ** (-power) * noise()}
    robust = {"alphas": np.array([1.3, 2.0]), "ns": ns,
              "D": np.stack([C * ns ** (-robust_power) * noise() for _ in range(2)])}
    return quad, robust


def test_w1_claim_can_hold_and_fail() -> None:
    rng = np.random.default_rng(1)
    assert cl.decide_w1(*_w1(1.0, 1.0, rng), TOL4).verdict == "holds"
    assert cl.decide_w1(*_w1(1.0, 0.5, rng), TOL4).verdict == "fails"  # the non-quadratic part alone
    assert cl.decide_w1(*_w1(0.5, 1.0, rng), TOL4).verdict == "fails"


def _gsz(hill: list[float], se: list[float]) -> dict[str, Any]:
    return {"b": np.array([1, 1, 2]), "eta": np.array([0.16, 0.17, 0.17]), "root": np.array([3.0, 1.5, 14.6]),
            "hill": np.array(hill), "hill_se": np.array(se), "diverged": np.zeros(3)}


def test_gsz_claim_resolution_hold_fail_inconclusive() -> None:
    tol = Tol(k_se=4.0, rel_alt=0.1)
    assert cl.decide_gsz(_gsz([3.01, 1.502, 9.0], [0.02, 0.01, 0.5]), tol).verdict == "holds"
    # right root but 4 se = +-27%: cannot tell the root from +-10%
    assert cl.decide_gsz(_gsz([3.05, 1.52, 9.0], [0.2, 0.1, 0.5]), tol).verdict == "inconclusive"
    # an estimate 14 se off the root fails
    assert cl.decide_gsz(_gsz([3.01, 2.2, 9.0], [0.02, 0.05, 0.5]), tol).verdict == "fails"
    # +10% alternative: fine resolution, the estimate sits on 1.1 root
    assert cl.decide_gsz(_gsz([3.3, 1.502, 9.0], [0.02, 0.01, 0.5]), tol).verdict == "fails"


def _nn(m: np.ndarray, rng: np.random.Generator, seeds: int = 30) -> dict[str, Any]:
    """m (alpha, sigma): mean log-gap; log-normal noise of sd 0.05 over seeds."""
    gap = np.exp(m[..., None] + 0.05 * rng.standard_normal((*m.shape, seeds)))
    return {"alphas": np.array([1.6, 1.7, 1.8, 1.9, 2.0]), "sigmas": np.array([0.01, 0.1]), "gap": gap,
            "diverged": np.zeros(m.shape + (seeds,))}


def test_nn_claim_needs_non_monotonicity() -> None:
    rng = np.random.default_rng(2)
    al = np.array([1.6, 1.7, 1.8, 1.9, 2.0])
    mono = np.stack([-2 + al, -1 + 2 * al], axis=1)  # increasing at both sigmas
    assert cl.decide_nn(_nn(mono, rng), TOL4).verdict == "fails"
    bowl = np.stack([-2 + al, -1 + 5 * (al - 1.8) ** 2], axis=1)  # interior minimum at the second sigma
    assert cl.decide_nn(_nn(bowl, rng), TOL4).verdict == "holds"
    flip = np.stack([-2 + al, 1 - al], axis=1)  # slopes of opposite signs
    assert cl.decide_nn(_nn(flip, rng), TOL4).verdict == "holds"
    flat = np.zeros((5, 2))
    assert cl.decide_nn(_nn(flat, rng), TOL4).verdict == "inconclusive"


def test_nn_claim_refuses_log_of_non_positive_gap() -> None:
    r = _nn(np.zeros((5, 2)), np.random.default_rng(3))
    r["gap"][0, 0, 0] = -0.1
    assert cl.decide_nn(r, TOL4).verdict == "inconclusive"


def test_ecf_scale_recovers_scale() -> None:
    from theory.heavy_tails.ecf import stable_scale_from_ecf

    alpha, c, t = 1.3, 0.7, 1.0 / 0.7
    phi = math.exp(-((c * t) ** alpha))
    cos_means = phi + 0.01 * np.random.default_rng(0).standard_normal(10_000)
    e = stable_scale_from_ecf(cos_means, t, alpha)
    assert abs(e.scale - c) <= 4 * e.se and e.se < 0.01 and e.runs == 10_000


def test_vertex_of_exact_parabola() -> None:
    from theory.heavy_tails.fits import parabola_vertex

    a = np.linspace(1.1, 2.0, 10)
    y = 3.0 * (a - 1.43) ** 2 + 0.5
    v, vse, c2, _ = parabola_vertex(a, y, np.full_like(a, 1e-3), int(np.argmin(y)))
    assert abs(v - 1.43) < 1e-9 and vse < 1e-3 and abs(c2 - 3.0) < 1e-8


def test_grid_sweeps_equal_whole_grid_runs(tmp_path: Any) -> None:
    """Each grid split into one-value points (ctx.sweep) reassembles to exactly the whole-grid run."""
    from sgdlab import Context
    from sgdlab.papers.heavy_tail import experiments as E
    from sgdlab.store import ResultStore

    ov = {"heavy_tail.euler_sde": {"alphas": (1.3, 1.8), "eta_lams": (0.8, 0.2), "runs": 40, "relax": 4.0},
          "heavy_tail.w1_robust": {"alphas": (1.5, 2.0), "ns": (10, 20), "replicates": 2, "runs": 4, "steps": 30,
                                   "burn_in": 10},
          "heavy_tail.gsz": {"configs": ((1, 0.15), (2, 0.17)), "runs": 300, "relax": 0.5}}
    ctx = Context(scale="smoke", store=ResultStore(tmp_path), overrides=ov)
    for name, sweep in (("heavy_tail.euler_sde", E.euler_sde_sweep), ("heavy_tail.w1_robust", E.w1_robust_sweep),
                        ("heavy_tail.gsz", E.gsz_sweep)):
        whole = ctx.experiment(name).func(ctx.config(name))
        split = sweep(ctx)
        for key, val in whole.items():
            assert np.array_equal(np.asarray(split[key]), np.asarray(val), equal_nan=True), (name, key)


def test_ecf_and_vertex_bad_input() -> None:
    from theory.heavy_tails.ecf import stable_scale_from_ecf
    from theory.heavy_tails.fits import parabola_vertex

    ok = np.full(10, 0.5)
    for args, name in [((ok, float("nan"), 1.5), "t"), ((ok, -1.0, 1.5), "t"), ((ok, 1.0, 2.5), "alpha"),
                       ((np.r_[ok, np.inf], 1.0, 1.5), "inf"), ((np.r_[ok, 1.5], 1.0, 1.5), r"\[-1, 1\]"),
                       ((np.array([0.5, np.nan]), 1.0, 1.5), "at least 2"), ((ok, "1", 1.5), "t")]:
        with pytest.raises(ValueError, match=name):
            stable_scale_from_ecf(*args)  # type: ignore[arg-type]
    # NaN entries (diverged runs) are dropped, not averaged
    e = stable_scale_from_ecf(np.r_[ok, np.nan], 1.0, 1.5)
    assert e.runs == 10 and np.isfinite(e.scale)
    x = np.linspace(0, 1, 5)
    for args, name in [((x, x[:4], np.ones(5), 2), "same shape"), ((x, x, np.zeros(5), 2), "se must"),
                       ((x, x, np.ones(5), 7), "i must"), ((x, x * np.nan, np.ones(5), 2), "finite"),
                       ((x[:2], x[:2], np.ones(2), 0), "at least 3")]:
        with pytest.raises(ValueError, match=name):
            parabola_vertex(*args)  # type: ignore[arg-type]
