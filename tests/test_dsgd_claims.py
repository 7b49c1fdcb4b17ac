"""dsgd claims: every decision function fails (or turns inconclusive) on a synthetic result that contradicts its
statement, and holds on one that agrees with it; the divergence policy of the spine catches diverged runs."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from sgdlab import REGISTRY, Tol, Verdict
from sgdlab.papers.dsgd import claims as C
from sgdlab.papers.dsgd import experiments as E
from sgdlab.verify import apply_divergence_policy, diverged_fraction
from theory.distributed.escape import escape_time_law

RNG = np.random.default_rng(0)


def tol_of(claim_id: str) -> Tol:
    REGISTRY.load_paper("dsgd")
    return REGISTRY.claims[claim_id].tol


# -- consensus_rate --------------------------------------------------------------------------------------------
def consensus_result(ratio: float, runs: int = 16, diverged: int = 0) -> dict:
    steps = np.array([0, 10_000, 20_000, 40_000])
    pred = np.array([np.nan, 1e-2, 5e-3, 2.5e-3])
    dis = pred[:, None] * ratio * (1 + 0.01 * RNG.standard_normal((4, runs)))
    div = np.zeros(runs, dtype=bool)
    div[:diverged] = True
    dis[:, div] = np.nan
    return {"steps": steps, "prediction": pred, "disagreement": dis, "diverged": div}


def test_consensus_rate_holds_fails_and_respects_divergence():
    cfg = E.ConsensusConfig(k_min=10_000)
    tol = tol_of("dsgd.consensus_rate")
    assert C.decide_consensus(consensus_result(1.0), cfg, tol).verdict == "holds"
    assert C.decide_consensus(consensus_result(1.3), cfg, tol).verdict == "fails"
    # issue 10: 75% of runs diverged, the 4 survivors agree with the prediction -> not "holds" after the policy
    r = consensus_result(1.0, runs=16, diverged=12)
    v = C.decide_consensus(r, cfg, tol)
    assert v.diverged == pytest.approx(0.75)
    v = apply_divergence_policy(v, REGISTRY.claims["dsgd.consensus_rate"], diverged_fraction([r]))
    assert v.verdict == "inconclusive" and "75" in v.note
    # every run diverged: the measurement is not 0.0, and the verdict is not holds
    r = consensus_result(1.0, runs=4, diverged=4)
    v = C.decide_consensus(r, cfg, tol)
    assert v.verdict != "holds" and (v.measured is None or not v.measured == 0.0)


# -- escape-time law -------------------------------------------------------------------------------------------
def escape_point(graph: str, sigma: float, mu: float, *, shift: float = 0.0, scale: float = 1.0, runs: int = 4000,
                 n: int = 8, seed: int = 0) -> dict:
    """A synthetic dsgd.escape_time point drawn from the asymptotic law T = (N/mu)(c - log|Z|), Z ~ N(0, S)."""
    law = escape_time_law(1.0, 0.6, mu, n, sigma, 0.5)
    z = np.random.default_rng(seed).standard_normal(runs)
    t = law.mean + scale * (n / mu) * (-np.log(np.abs(z)) - 0.6351814227307389) + shift
    return {"t_escape": t.reshape(1, 1, 1, runs), "pred_mean": np.array([[[law.mean]]]),
            "pred_sd_asym": np.array([[[law.sd_asymptotic]]]), "censored": np.zeros((1, 1, 1)),
            "diverged": np.zeros((1, 1, 1)), "sigmas": np.array([sigma]), "curvatures": np.array([mu]),
            "graphs": np.array([graph])}


def arms(**kw) -> dict:
    g = kw.pop("graph_shift", {})
    return {"sigma": [escape_point("ring", s, 1.0, seed=i, **kw) for i, s in enumerate((0.03, 0.01, 0.1))],
            "curvature": [escape_point("ring", 0.03, m, seed=10 + i, **kw) for i, m in enumerate((1.0, 2.0, 4.0))],
            "graph": [escape_point(gr, 0.03, 1.0, seed=20 + i, shift=g.get(gr, 0.0) + kw.get("shift", 0.0),
                                   **{k: v for k, v in kw.items() if k != "shift"})
                      for i, gr in enumerate(("ring", "grid", "complete"))]}


def test_escape_law_holds_on_its_own_law_and_fails_otherwise():
    tol = tol_of("dsgd.saddle_avoidance")
    ok = C.decide_escape_law(arms(), 8, tol)
    assert {k: v.verdict for k, v in ok.items()} == dict.fromkeys(ok, "holds"), {k: v.note for k, v in ok.items()}
    # a spread twice the law's (sd = 2 pi N / (sqrt 8 mu)): sd_scaling fails
    assert C.decide_escape_law(arms(scale=2.0), 8, tol)["sd_scaling"].verdict == "fails"
    # escape 5 ODE-time units later than the law everywhere: mean_vs_law fails
    assert C.decide_escape_law(arms(shift=5.0), 8, tol)["mean_vs_law"].verdict == "fails"
    # one graph escapes later than the others: graph independence fails
    v = C.decide_escape_law(arms(graph_shift={"complete": 6.0}), 8, tol)["graph_independence"]
    assert v.verdict == "fails"
    # the wrong rate: a slope in log sigma of -N/mu computed for N = 16 fails
    assert C.decide_escape_law(arms(), 16, tol)["slope_log_sigma"].verdict == "fails"


def test_escape_law_censored_runs_are_inconclusive():
    a = arms()
    a["sigma"][1]["censored"] = np.full((1, 1, 1), 0.02)
    assert C.decide_escape_law(a, 8, tol_of("dsgd.saddle_avoidance"))["mean_vs_law"].verdict == "inconclusive"


def saddle_result(k_iso: int, k_sub: int, runs: int = 20) -> dict:
    x = np.zeros((3, runs))
    iso, sub = x.copy(), x.copy()
    iso[-1, :k_iso] = 1.0
    sub[-1, :k_sub] = 1.0
    return {"iso_x1": iso, "sub_x1": sub, "iso_diverged": np.zeros(runs), "sub_diverged": np.zeros(runs),
            "t": np.array([0.0, 1.0, 60.0]), "het_x1": np.array([0.0, 0.5, 1.0])}


def test_escape_fractions_and_control_can_fail():
    tol, cfg = tol_of("dsgd.saddle_avoidance"), E.SaddleConfig()
    good = C.decide_saddle(saddle_result(20, 0), cfg, arms(), 8, tol, "smooth")
    assert good.verdict == "holds", good.note
    assert C.decide_saddle(saddle_result(8, 0), cfg, arms(), 8, tol, "smooth").verdict == "fails"  # too few escape
    assert C.decide_saddle(saddle_result(20, 15), cfg, arms(), 8, tol, "smooth").verdict == "fails"  # control broken
    assert C.decide_saddle(saddle_result(20, 0), cfg, arms(scale=2.0), 8, tol, "smooth").verdict == "fails"


# -- ReLU: consensus and the critical-point floor ----------------------------------------------------------------
def relu_result(excess: float, runs: int = 8, consensus: float = 0.01) -> dict:
    floor_b = np.full((4, runs), 1e-6)
    floor_n = np.full((4, runs), 1e-5)
    g2 = (floor_b + floor_n) * excess * RNG.chisquare(4, size=(4, runs)) / 4
    dis = np.vstack([np.linspace(1.0, 2.0, 5)[:, None] * np.ones((5, runs)), np.full((1, runs), 2.0 * consensus)])
    return {"diverged": np.zeros(runs), "disagreement": dis, "floor_grad_sq": g2, "floor_bias_sq": floor_b,
            "floor_noise_sq": floor_n, "floor_steps": np.array([1, 2, 3, 4]), "grad_norm": np.ones((6, runs))}


def test_relu_floor_and_consensus_can_fail():
    tol, cfg = tol_of("dsgd.nonsmooth"), E.ReluConfig()
    ok = C.decide_relu(relu_result(1.0), cfg, tol)
    assert ok["relu_floor"].verdict == "holds" and ok["relu_consensus_ratio"].verdict == "holds"
    # still descending: ||grad F||^2 100x the floor of a critical point
    assert C.decide_relu(relu_result(100.0), cfg, tol)["relu_floor"].verdict == "fails"
    assert C.decide_relu(relu_result(1.0, consensus=0.5), cfg, tol)["relu_consensus_ratio"].verdict == "fails"


# -- violation, disconnected, ODE ------------------------------------------------------------------------------
def test_violation_can_fail():
    tol, cfg = tol_of("dsgd.step_size_violation"), E.ViolationConfig()
    runs = 16
    base = {"out_disagreement": np.full((2, runs), 3.5) + 0.01 * RNG.standard_normal((2, runs)),
            "out_gradF": 0.35 + 0.001 * RNG.standard_normal(runs), "in_gradF": np.full(runs, 1e-3),
            "out_diverged": np.zeros(runs), "in_diverged": np.zeros(runs), "rest_disagreement": 3.5,
            "rest_gradF": 0.35, "covered_out": 0.0, "covered_in": 1.0}
    assert C.decide_violation(base, cfg, tol).verdict == "holds"
    bad = dict(base, out_disagreement=base["out_disagreement"] * 0.5)  # consensus error half the rest point's
    assert C.decide_violation(bad, cfg, tol).verdict == "fails"
    bad = dict(base, in_gradF=np.full(runs, 0.3))  # inside the theorem no better than outside
    assert C.decide_violation(bad, cfg, tol).verdict == "fails"


def test_disconnected_can_fail():
    tol, cfg = tol_of("dsgd.disconnected"), E.DisconnectedConfig()
    runs = 8
    r = {"diverged": np.zeros(runs)}
    for i in range(2):
        r[f"c{i}_separation"] = 1.0
        r[f"c{i}_dist_own"] = np.full(runs, 0.01) + 0.001 * RNG.random(runs)
        r[f"c{i}_dist_global"] = np.full(runs, 1.0) + 0.001 * RNG.random(runs)
    assert C.decide_disconnected(r, cfg, tol).verdict == "holds"
    r["c1_dist_own"], r["c1_dist_global"] = r["c1_dist_global"], r["c1_dist_own"]  # C1 went to F's critical point
    assert C.decide_disconnected(r, cfg, tol).verdict == "fails"


def test_ode_tracking_can_fail():
    tol = tol_of("dsgd.ode_tracking")
    pts = [{"sup_err": np.full(16, e) + 1e-4 * RNG.random(16), "diverged": np.zeros(16), "c_a": c, "steps": 10}
           for c, e in ((0.4, 0.06), (0.1, 0.015))]
    assert C.decide_ode(pts, tol).verdict == "holds"
    pts[1]["sup_err"] = np.full(16, 0.05) + 1e-4 * RNG.random(16)  # does not shrink with c_a
    assert C.decide_ode(pts, tol).verdict == "fails"


def test_every_dsgd_claim_declares_its_tolerances():
    REGISTRY.load_paper("dsgd")
    ids = [c.id for c in REGISTRY.claims.values() if c.paper == "dsgd"]
    assert len(ids) == 6
    for i in ids:
        assert len(tol_of(i)) > 3, i  # something beyond the three defaults


def test_point_configs_are_one_point_each():
    from sgdlab import Context

    ctx = Context(scale="smoke")
    for cfgs in E.escape_points(ctx).values():
        for c in cfgs:
            assert len(c.graphs) == len(c.sigmas) == len(c.curvatures) == 1
    kinked = E.escape_points(ctx, kinked=True)
    base = ctx.config("dsgd.escape_time")
    assert set(kinked) == {"sigma", "graph"}
    assert all(c.kink == base.arm_kink > 0 for cfgs in kinked.values() for c in cfgs)
    assert [c.c_as for c in E.ode_points(ctx)] == [(c,) for c in ctx.config("dsgd.ode").c_as]
    assert dataclasses.replace(E.graphs_points(ctx)[0], graphs=("ring",)).graphs == ("ring",)
    assert isinstance(Verdict.within(1.0, 1.0, 0.1), Verdict)
