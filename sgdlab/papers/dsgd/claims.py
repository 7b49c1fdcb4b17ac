"""dsgd claims. Each claim's decision is a pure function ``decide_*(results, cfg, tol) -> Verdict`` (unit-tested on
synthetic results that must make it fail); the registered claim only fetches results and configs. Tolerances are
declared at registration (Tol); notes are built from the configs actually used."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy.stats import binomtest

from sgdlab import Context, Tol, Verdict, claim
from sims.runs import masked_mean_se
from theory.distributed.escape import SD_LOG_ABS_NORMAL
from theory.distributed.steps import step_size_regime

from .experiments import escape_points, graphs_points, ode_points
from .setting import PAPER


# ---------------------------------------------------------------------------------------------------------------
# helpers
def wilson(successes: int, n: int) -> tuple[float, float]:
    """95% Wilson interval of a binomial proportion (n >= 1)."""
    ci = binomtest(successes, n).proportion_ci(confidence_level=0.95, method="wilson")
    return float(ci.low), float(ci.high)


def alive(x: np.ndarray, diverged: np.ndarray) -> np.ndarray:
    """The entries of ``x`` (..., R) of the runs that did not diverge."""
    return np.asarray(x)[..., ~np.asarray(diverged, dtype=bool)]


def mean_se(x: np.ndarray) -> tuple[float, float]:
    """Mean and standard error (ddof = 1) of the finite values of ``x``; (nan, nan) when fewer than two."""
    v = np.asarray(x, dtype=np.float64).ravel()
    v = v[np.isfinite(v)]
    if v.size < 2:
        return (float(v.mean()) if v.size else math.nan), math.nan
    return float(v.mean()), float(v.std(ddof=1) / math.sqrt(v.size))


def sd_se(x: np.ndarray) -> tuple[float, float]:
    """Sample standard deviation and its standard error by the delta method, sqrt(Var((x - m)^2)) / (2 sd sqrt n)."""
    v = np.asarray(x, dtype=np.float64).ravel()
    v = v[np.isfinite(v)]
    if v.size < 3:
        return math.nan, math.nan
    d2 = (v - v.mean()) ** 2
    sd = float(np.sqrt(d2.sum() / (v.size - 1)))
    return sd, float(d2.std(ddof=1) / (2.0 * sd * math.sqrt(v.size)))


def div_note(*fracs: float) -> str:
    return f"diverged fraction {max(fracs):.3g}" if max(fracs) > 0 else "no run diverged"


# ---------------------------------------------------------------------------------------------------------------
# consensus rate
def decide_consensus(r: Mapping[str, Any], cfg: Any, tol: Tol) -> Verdict:
    """Per-run ratio disagreement / prediction averaged over k >= k_min; mean over surviving runs within
    k_se se + floor of 1. The diverged fraction goes to the verdict (the spine's divergence policy decides)."""
    win = np.asarray(r["steps"]) >= cfg.k_min
    div = np.asarray(r["diverged"], dtype=bool)
    per_run = (np.asarray(r["disagreement"])[win] / np.asarray(r["prediction"])[win][:, None]).mean(axis=0)
    per_run = np.where(div, 0.0, per_run)  # diverged runs are excluded below, whatever they hold
    st = masked_mean_se(per_run, div)
    m, se = float(st.mean), float(st.se) if st.n_alive > 1 else math.nan
    k_last = int(np.asarray(r["steps"])[-1])
    last = alive(np.asarray(r["disagreement"])[-1], div)
    return Verdict.within(m, 1.0, se, k=tol.k_se, floor=tol.floor, diverged=st.diverged_fraction,
                          note=f"ratio measured/predicted over k in [{cfg.k_min}, {k_last}], {st.n_alive} of "
                               f"{div.size} runs alive; at k = {k_last}: "
                               f"{float(np.mean(last)) if last.size else math.nan:.4g} vs "
                               f"{float(np.asarray(r['prediction'])[-1]):.4g}; graph {cfg.graph}, N = {cfg.n_agents}, "
                               f"c_a = {cfg.c_a:g}, c_b = {cfg.c_b:g}, sigma = {cfg.sigma:g}; "
                               f"{step_size_regime(cfg.tau_a, cfg.tau_b).describe()}; "
                               + div_note(st.diverged_fraction))  # fmt: skip


@claim("dsgd.consensus_rate", paper=PAPER, expected="holds", experiments=("dsgd.consensus",),
       tol=Tol(k_se=3.0, floor=0.05),
       statement="""Consensus error decays like the quasi-static prediction: ||x_n - xbar|| ~ (alpha_k / beta_k)
       ||(L^+ kron I) c||; the ratio measured/predicted is within 5% (floor) + 3 se of 1 for k >= k_min (default:
       ring N = 8, tau_a = 1, tau_b = 0.3, c_a = 0.5, c_b = 0.3, sigma = 0.1, k_min = 1e4). Fails if the ratio leaves
       the band; inconclusive when runs diverged (e.g. c_a = 2).""")  # fmt: skip
def consensus_rate(ctx: Context, tol: Tol) -> Verdict:
    return decide_consensus(ctx.result("dsgd.consensus"), ctx.config("dsgd.consensus"), tol)


# ---------------------------------------------------------------------------------------------------------------
# saddle avoidance: escape fractions (the theorem) with the x_2-noise control, and the escape-time law
def escape_counts(r: Mapping[str, Any], name: str) -> tuple[int, int]:
    """(runs with |xbar_1(K)| > 1/2, alive runs) for noise ``name`` (iso / sub)."""
    x1 = alive(np.asarray(r[f"{name}_x1"]), np.asarray(r[f"{name}_diverged"]))[-1]
    return int(np.sum(np.abs(x1) > 0.5)), int(x1.size)


def decide_fractions(r: Mapping[str, Any], cfg: Any, tol: Tol, what: str) -> dict[str, Verdict]:
    """Isotropic noise: escape fraction's 95% Wilson CI above tol.min_escape (theorem: fraction 1). Control, exact
    by construction ({x_1 = 0} is invariant without x_1-noise and x_1-tilts): x_2-only noise's CI below it."""
    ki, ni = escape_counts(r, "iso")
    ks, ns = escape_counts(r, "sub")
    div = max(float(np.mean(r["iso_diverged"])), float(np.mean(r["sub_diverged"])))
    if ni == 0 or ns == 0:
        nan = Verdict("inconclusive", note="every run diverged", diverged=div)
        return {"escape_fraction": nan, "control_x2_noise": nan}
    lo_i, hi_i = wilson(ki, ni)
    lo_s, hi_s = wilson(ks, ns)
    t_end = float(np.asarray(r["t"])[-1])
    esc = Verdict.above(lo_i, tol.min_escape, 0.0, k=0.0, diverged=div,
                        note=f"{what}: isotropic noise {ki}/{ni} escaped by K = {cfg.steps} (ODE time {t_end:.1f}; "
                             f"95% CI [{lo_i:.2f}, {hi_i:.2f}])")  # fmt: skip
    esc.measured = ki / ni
    ctl = Verdict.below(hi_s, tol.min_escape, 0.0, k=0.0, diverged=div,
                        note=f"control (exact by construction): x_2-only noise {ks}/{ns} (CI [{lo_s:.2f}, {hi_s:.2f}])")
    ctl.measured = ks / ns
    return {"escape_fraction": esc, "control_x2_noise": ctl}


def _point_stats(p: Mapping[str, Any]) -> dict[str, Any]:
    t = np.asarray(p["t_escape"], dtype=np.float64).reshape(-1)
    m, se = mean_se(t)
    sd, sd_err = sd_se(t)
    return {"mean": m, "se": se, "sd": sd, "sd_se": sd_err, "pred": float(np.ravel(p["pred_mean"])[0]),
            "pred_sd": float(np.ravel(p["pred_sd_asym"])[0]), "rate": float(SD_LOG_ABS_NORMAL / np.ravel(
                p["pred_sd_asym"])[0]), "censored": float(np.ravel(p["censored"])[0]),
            "diverged": float(np.ravel(p["diverged"])[0]), "sigma": float(np.ravel(p["sigmas"])[0]),
            "mu": float(np.ravel(p["curvatures"])[0]), "graph": str(np.ravel(p["graphs"])[0])}  # fmt: skip


def decide_escape_law(arms: Mapping[str, Sequence[Mapping[str, Any]]], n_agents: int, tol: Tol) -> dict[str, Verdict]:
    """The escape ODE time T from the stable manifold against its law (theory.distributed.escape):
    - mean_vs_law: every point's mean T within k_se se of the predicted mean (marginal law);
    - slope_log_sigma: the weighted least-squares slope of mean T against log sigma (sigma arm) equals -N/mu;
    - sd_scaling: sd(T) mu / N, pooled over points, equals pi / sqrt(8) (the spread set by the curvature alone);
    - graph_independence: on the graph arm, every pair of graphs gives the same mean T within k_se se.
    A point with censored runs (not escaped by its horizon) makes its parts inconclusive."""
    pts: dict[tuple[str, float, float], dict[str, Any]] = {}
    for arm in arms.values():
        for p in arm:
            s = _point_stats(p)
            pts[(s["graph"], s["sigma"], s["mu"])] = s
    k = tol.k_se
    div = max(s["diverged"] for s in pts.values())
    cens = max(s["censored"] for s in pts.values())
    out: dict[str, Verdict] = {}
    zs = {key: (s["mean"] - s["pred"]) / s["se"] for key, s in pts.items()}
    worst = max(zs, key=lambda q: abs(zs[q]))
    ws = pts[worst]
    v = Verdict.within(ws["mean"], ws["pred"], ws["se"], k=k, diverged=div,
                       note="mean T vs law per point (graph, sigma, mu): " + "; ".join(
                           f"({g}, {s:g}, {m:g}): {pts[(g, s, m)]['mean']:.2f} +- {pts[(g, s, m)]['se']:.2f} vs "
                           f"{pts[(g, s, m)]['pred']:.2f}" for (g, s, m) in pts) + f"; worst z = {zs[worst]:.2f}")
    if cens > 0:
        v.verdict, v.note = "inconclusive", v.note + f"; censored fraction {cens:.3g} (runs not escaped by the horizon)"
    out["mean_vs_law"] = v
    if "sigma" in arms and len(arms["sigma"]) >= 2:
        ss = [_point_stats(p) for p in arms["sigma"]]
        x = np.log([s["sigma"] for s in ss])
        y = np.array([s["mean"] for s in ss])
        w = 1.0 / np.array([s["se"] for s in ss]) ** 2
        xm = float((w * x).sum() / w.sum())
        sxx = float((w * (x - xm) ** 2).sum())
        slope = float((w * (x - xm) * y).sum() / sxx)
        se_slope = math.sqrt(1.0 / sxx)
        mu = ss[0]["mu"]
        out["slope_log_sigma"] = Verdict.within(slope, -n_agents / mu, se_slope, k=k, diverged=div,
                                                note=f"dE[T]/dlog sigma over sigma = "
                                                     f"{', '.join(format(s['sigma'], 'g') for s in ss)} (mu = {mu:g}): "
                                                     f"{slope:.3f} +- {se_slope:.3f} vs -N/mu = {-n_agents / mu:.3f}")
    ratio = np.array([s["sd"] / s["pred_sd"] * SD_LOG_ABS_NORMAL for s in pts.values()])
    ratio_se = np.array([s["sd_se"] / s["pred_sd"] * SD_LOG_ABS_NORMAL for s in pts.values()])
    wr = 1.0 / ratio_se**2
    pooled, pooled_se = float((wr * ratio).sum() / wr.sum()), float(math.sqrt(1.0 / wr.sum()))
    out["sd_scaling"] = Verdict.within(pooled, SD_LOG_ABS_NORMAL, pooled_se, k=k, diverged=div,
                                       note=f"sd(T) mu/N pooled over {len(pts)} points: {pooled:.3f} +- "
                                            f"{pooled_se:.3f} vs pi/sqrt(8) = {SD_LOG_ABS_NORMAL:.3f}")  # fmt: skip
    if "graph" in arms and len(arms["graph"]) >= 2:
        gs = [_point_stats(p) for p in arms["graph"]]
        zmax, pair = 0.0, ("", "")
        for i in range(len(gs)):
            for j in range(i + 1, len(gs)):
                z = abs(gs[i]["mean"] - gs[j]["mean"]) / math.hypot(gs[i]["se"], gs[j]["se"])
                if z >= zmax:
                    zmax, pair = z, (gs[i]["graph"], gs[j]["graph"])
        out["graph_independence"] = Verdict.below(zmax, k, 0.0, k=0.0, diverged=div,
                                                  note="mean T by graph: " + ", ".join(
                                                      f"{s['graph']} {s['mean']:.2f} +- {s['se']:.2f}" for s in gs)
                                                  + f"; largest pairwise z = {zmax:.2f} ({pair[0]} vs {pair[1]})")
    return out


def _escape_arms(ctx: Context, kinked: bool) -> dict[str, list[Any]]:
    return {name: ctx.sweep("dsgd.escape_time", cfgs, desc=f"escape {name} arm")
            for name, cfgs in escape_points(ctx, kinked=kinked).items()}  # fmt: skip


def _combine(parts: dict[str, Verdict], measured: Any, predicted: Any, head: str) -> Verdict:
    v = Verdict.combine(parts, predicted=predicted, measured=measured)
    v.note = head + " | " + " | ".join(f"{k}: {p.note}" for k, p in parts.items() if p.note) + " || " + v.note
    return v


def decide_saddle(r: Mapping[str, Any], cfg: Any, arms: Mapping[str, Sequence[Mapping[str, Any]]], n_agents: int,
                  tol: Tol, what: str) -> Verdict:  # fmt: skip
    parts = {**decide_fractions(r, cfg, tol, what), **decide_escape_law(arms, n_agents, tol)}
    sl = parts.get("slope_log_sigma")
    head = (f"{what}; control without noise but with x_1-tilts: xbar_1(K) = {float(np.asarray(r['het_x1'])[-1]):.3f} "
            f"(heterogeneity alone leaves the saddle); {step_size_regime(cfg.tau_a, cfg.tau_b).describe()}")
    return _combine(parts, sl.measured if sl else None, sl.predicted if sl else None, head)


@claim("dsgd.saddle_avoidance", paper=PAPER, expected="holds", experiments=("dsgd.saddle", "dsgd.escape_time"),
       tol=Tol(fwer=0.01, comparisons=16, min_escape=0.5),
       statement="""Started on the stable manifold of the saddle, D-SGD with isotropic noise escapes (escape-fraction
       CI above 1/2; theorem: fraction 1); the control with noise confined to x_2 stays (exact by construction). The
       escape ODE time T follows its law (theory.distributed.escape): mean T per (graph, sigma, mu) as predicted,
       dE[T]/dlog sigma = -N/mu, sd(T) = pi N / (sqrt(8) mu), the same on every graph (k_se from a 1% family-wise
       rate over 16 comparisons). Fails if any of these comes out otherwise; the law neglects the first-passage
       correction (runs cross the level earlier than the marginal law says), about 1-2 se at 200 runs.""")  # fmt: skip
def saddle_avoidance(ctx: Context, tol: Tol) -> Verdict:
    return decide_saddle(ctx.result("dsgd.saddle"), ctx.config("dsgd.saddle"), _escape_arms(ctx, False),
                         ctx.config("dsgd.escape_time").n_agents, tol, "smooth saddle")


# ---------------------------------------------------------------------------------------------------------------
# outside the theorem
def decide_violation(r: Mapping[str, Any], cfg: Any, tol: Tol) -> Verdict:
    dis = alive(np.asarray(r["out_disagreement"])[-1], r["out_diverged"])
    m_d, se_d = mean_se(dis)
    m_g, se_g = mean_se(alive(r["out_gradF"], r["out_diverged"]))
    m_i, se_i = mean_se(alive(r["in_gradF"], r["in_diverged"]))
    div = max(float(np.mean(r["out_diverged"])), float(np.mean(r["in_diverged"])))
    rd, rg = float(r["rest_disagreement"]), float(r["rest_gradF"])
    parts = {
        # model floor (declared): finite-K lag of the rest point (alpha_K sigma fluctuations, slow consensus mode)
        "disagreement": Verdict.within(m_d, rd, se_d, k=tol.k_se, floor=tol.rel_floor * rd, diverged=div),
        "gradF_out": Verdict.within(m_g, rg, se_g, k=tol.k_se, floor=tol.rel_floor * rg, diverged=div),
        "gradF_in_smaller": Verdict.below(m_i, m_g * tol.in_ratio, se_i, k=tol.k_se, diverged=div),
    }
    v = Verdict.combine(parts, predicted=rd, measured=m_d)
    v.note = (f"tau_b = {cfg.tau_b:g} (covered={bool(r['covered_out'])}) vs control tau_b = {cfg.control_tau_b:g} "
              f"(covered={bool(r['covered_in'])}), tau_a = {cfg.tau_a:g}, beta/alpha -> c_b/c_a = "
              f"{cfg.c_b / cfg.c_a:g}; " + v.note + "; " + div_note(div))
    return v


@claim("dsgd.step_size_violation", paper=PAPER, expected="holds", experiments=("dsgd.violation",),
       tol=Tol(k_se=3.0, rel_floor=0.05, in_ratio=0.5),
       statement="""Outside the theorem (tau_b = tau_a = 0.75): the consensus error does not vanish and the average
       stops where grad F != 0, both as predicted by the rest point of the penalised flow (beta/alpha = c_b/c_a;
       within 3 se + 5%); inside (tau_b = 0.2) ||grad F(xbar)|| is below half of that outside.""")  # fmt: skip
def step_size_violation(ctx: Context, tol: Tol) -> Verdict:
    return decide_violation(ctx.result("dsgd.violation"), ctx.config("dsgd.violation"), tol)


# ---------------------------------------------------------------------------------------------------------------
# disconnected graph
def decide_disconnected(r: Mapping[str, Any], cfg: Any, tol: Tol) -> Verdict:
    parts, glob = {}, []
    div = float(np.mean(r["diverged"]))
    for i in range(len(cfg.sizes)):
        sep = float(r[f"c{i}_separation"])
        m, se = mean_se(alive(r[f"c{i}_dist_own"], r["diverged"]))
        mg, seg = mean_se(alive(r[f"c{i}_dist_global"], r["diverged"]))
        parts[f"C{i}_near_own"] = Verdict.below(m, tol.near * sep, se, k=tol.k_se, diverged=div)
        parts[f"C{i}_far_from_F"] = Verdict.above(mg, tol.far * sep, seg, k=tol.k_se, diverged=div)
        glob.append(f"C{i}: own {m:.3g}, F {mg:.3g}, separation {sep:.3g}")
    meas = max(float(parts[f"C{i}_near_own"].measured or 0.0) for i in range(len(cfg.sizes)))  # type: ignore[arg-type]
    v = Verdict.combine(parts, predicted=0.0, measured=meas)
    v.note = (f"components {cfg.sizes}: distances of component averages to critical sets: " + "; ".join(glob)
              + " | " + v.note + "; " + div_note(div))
    return v


@claim("dsgd.disconnected", paper=PAPER, expected="holds", experiments=("dsgd.disconnected",),
       tol=Tol(k_se=3.0, near=0.25, far=0.75),
       statement="""On a disconnected graph (two rings of 4) each component's average converges to a critical point
       of its own partial sum F_C = sum_{n in C} f_n, not of F: distance to F_C's critical set + 3 se < 1/4 of the
       separation between the two critical sets, distance to F's - 3 se > 3/4 of it.""")  # fmt: skip
def disconnected(ctx: Context, tol: Tol) -> Verdict:
    return decide_disconnected(ctx.result("dsgd.disconnected"), ctx.config("dsgd.disconnected"), tol)


# ---------------------------------------------------------------------------------------------------------------
# ODE tracking
def decide_ode(points: Sequence[Mapping[str, Any]], tol: Tol) -> Verdict:
    errs = [alive(p["sup_err"], p["diverged"]) for p in points]
    div = max(float(np.mean(p["diverged"])) for p in points)
    m0, se0 = mean_se(errs[0])
    m1, se1 = mean_se(errs[-1])
    ratio = m1 / m0
    se_ratio = ratio * math.sqrt((se0 / m0) ** 2 + (se1 / m1) ** 2)
    parts = {"shrinks": Verdict.below(ratio, tol.shrink, se_ratio, k=tol.k_se, diverged=div),
             "small": Verdict.below(m1, tol.small, se1, k=tol.k_se, diverged=div)}  # fmt: skip
    v = Verdict.combine(parts, predicted=0.0, measured=m1)
    v.note = (", ".join(f"c_a={float(p['c_a']):g}: sup err {mean_se(e)[0]:.3g} (K={int(p['steps'])})"
                        for p, e in zip(points, errs)) + "; " + v.note)  # fmt: skip
    return v


@claim("dsgd.ode_tracking", paper=PAPER, expected="holds", experiments=("dsgd.ode",),
       tol=Tol(k_se=3.0, shrink=0.5, small=0.1),
       statement="""The network average is an asymptotic pseudo-trajectory of dx/dt = -(1/N) grad F(x): on a fixed
       ODE-time window the sup distance to the flow shrinks as c_a shrinks (ratio last/first c_a below 1/2) and is
       below 0.1 at the last (smallest) c_a, each + 3 se.""")  # fmt: skip
def ode_tracking(ctx: Context, tol: Tol) -> Verdict:
    return decide_ode(ctx.sweep("dsgd.ode", ode_points(ctx), desc="ODE tracking"), tol)


def graph_results(ctx: Context) -> list[Any]:
    """The dsgd.graphs points (one per graph) of the config actually used (figures)."""
    return ctx.sweep("dsgd.graphs", graphs_points(ctx), desc="graphs")


# ---------------------------------------------------------------------------------------------------------------
# nonsmooth objectives: the kinked saddle (fractions, control, escape law) and ReLU nets (consensus, noise floor)
def floor_ratio(g2: np.ndarray, floor: np.ndarray) -> tuple[float, float, int]:
    """Per run the mean over records of ||grad F||^2 / floor (arrays (records, runs) or (runs,)); then the mean over
    runs and its standard error: (log10 of the mean, se of that log10, runs)."""
    q = np.asarray(g2, dtype=np.float64) / np.asarray(floor, dtype=np.float64)
    q = q.reshape(-1, q.shape[-1]).mean(axis=0)
    m, se = mean_se(q)
    if not (m > 0 and math.isfinite(m)):
        return math.nan, math.nan, int(q.size)
    return math.log10(m), se / (m * math.log(10.0)), int(q.size)


def decide_floor(g2: np.ndarray, floor: np.ndarray, tol: Tol, diverged: float, what: str) -> Verdict:
    """log10(mean ||grad F||^2 / floor) within k_se se + log10(tol.floor_factor) of 0."""
    lm, sel, n = floor_ratio(g2, floor)
    return Verdict.within(lm, 0.0, sel, k=tol.k_se, floor=math.log10(tol.floor_factor), diverged=diverged,
                          note=f"{what}: log10(||grad F||^2 / floor) = {lm:.3f} +- {sel:.3f} ({n} runs)")


def decide_relu(r: Mapping[str, Any], cfg: Any, tol: Tol) -> dict[str, Verdict]:
    """ReLU nets per agent: the disagreement falls below tol.consensus_ratio of its peak, and at the last records
    ||grad F(xbar_k)||^2 sits at its predicted floor at a critical point, ||b||^2 (consensus bias) + the schedule's
    gradient-noise floor (both from the agents' gradients and Hessians at xbar_k): the mean over runs of the ratio
    within a factor tol.floor_factor (+ k_se se, on a log scale). A run still descending has ||grad F||^2 far above
    the floor (which falls like alpha_k): the ratio is then orders of magnitude above 1."""
    div = np.asarray(r["diverged"], dtype=bool)
    dfrac = float(div.mean())
    dis = alive(np.asarray(r["disagreement"]), div)
    out: dict[str, Verdict] = {}
    if dis.shape[-1] == 0:
        nan = Verdict("inconclusive", note="every run diverged", diverged=dfrac)
        return {"relu_consensus_ratio": nan, "relu_floor": nan}
    mr, ser = mean_se(dis[-1] / np.nanmax(dis, axis=0))
    out["relu_consensus_ratio"] = Verdict.below(mr, tol.consensus_ratio, ser, k=tol.k_se, diverged=dfrac,
                                                note=f"final / peak disagreement {mr:.3g} +- {ser:.2g}")
    g2 = alive(np.asarray(r["floor_grad_sq"]), div)
    floor = alive(np.asarray(r["floor_bias_sq"]) + np.asarray(r["floor_noise_sq"]), div)
    bias_share = float(np.nanmean(alive(np.asarray(r["floor_bias_sq"]), div) / floor))
    ks = np.asarray(r["floor_steps"])
    gn = np.asarray(r["grad_norm"])
    out["relu_floor"] = decide_floor(g2, floor, tol, dfrac,
                                     f"ReLU nets (sigma = {cfg.sigma:g}, c_a = {cfg.c_a:g}, tau_a = {cfg.tau_a:g}) "
                                     f"at k "
                                     f"in [{int(ks[0])}, {int(ks[-1])}] (floor: consensus bias {bias_share:.0%}, "
                                     f"noise {1 - bias_share:.0%}); mean ||grad F(xbar)|| from "
                                     f"{float(np.nanmean(gn[0])):.3g} to {float(np.nanmean(gn[-1])):.3g}")  # fmt: skip
    return out


def decide_nonsmooth(kr: Mapping[str, Any], kcfg: Any, arms: Mapping[str, Sequence[Mapping[str, Any]]],
                     n_agents: int, rr: Mapping[str, Any], rcfg: Any, vr: Mapping[str, Any], vcfg: Any,
                     tol: Tol) -> Verdict:  # fmt: skip
    fr = decide_fractions(kr, kcfg, tol, f"kinked saddle (kink {kcfg.kink:g} at |x_2| = 1, start {tuple(kcfg.start)})")
    law = decide_escape_law(arms, n_agents, tol)
    parts = {f"kink_{k}": v for k, v in fr.items()}
    parts.update({f"ridge_{k}": v for k, v in law.items()})
    parts.update(decide_relu(rr, rcfg, tol))
    vdiv = np.asarray(vr["in_diverged"], dtype=bool)
    parts["floor_control_quartic"] = decide_floor(
        alive(np.asarray(vr["in_gradF"]) ** 2, vdiv), alive(np.asarray(vr["in_floor_sq"]), vdiv), tol,
        float(vdiv.mean()), f"control: the same floor at the quartic's minimum (dsgd.violation inside the theorem, "
                           f"K = {vcfg.steps}, sigma = {vcfg.sigma:g})")  # fmt: skip
    rf = parts["relu_floor"]
    return _combine(parts, rf.measured, rf.predicted, f"{step_size_regime(kcfg.tau_a, kcfg.tau_b).describe()}")


@claim("dsgd.nonsmooth", paper=PAPER, expected="fails",
       experiments=("dsgd.kink", "dsgd.escape_time", "dsgd.relu", "dsgd.violation"),
       tol=Tol(fwer=0.01, comparisons=16, min_escape=0.5, consensus_ratio=0.1, floor_factor=3.0),
       statement="""Nonsmooth local objectives. A kink away from the saddle (lam max(0, |x_2| - 1), start (0, 2)):
       isotropic noise still escapes (CI above 1/2; x_2-only noise stays, a control exact by construction). A ridge
       on the escape route (0.1 max(0, |x_1| - 1/4)): the escape time follows its law with the kinked level map
       (theory.distributed.escape; mean per (graph, sigma) as predicted, about 3 ODE-time units later than without
       the ridge, dE[T]/dlog sigma = -N/mu, sd(T) = pi N / (sqrt 8 mu), the same on every graph). ReLU nets per
       agent: the disagreement falls below 1/10 of its
       peak, and ||grad F(xbar)||^2 at the end sits at the floor predicted at a critical point (consensus bias
       (alpha/beta) sum_n H_n [L^+ (I - J) G]_n plus the schedule's gradient-noise floor, exact for the average
       linearised at xbar) within a factor 3 (declared model tolerance) + k se; control: the same floor holds at the
       quartic's minimum (dsgd.violation inside the theorem). A run not near a critical point exceeds the floor by
       orders of magnitude. Measured: at K = 3e4 the ReLU averages are still descending (||grad F||^2 about 10^2
       times the floor) while the quartic control sits on it, so the claim fails at the smoke and default scales
       (the paper's statement is asymptotic; the full scale runs 2e5 steps).""")  # fmt: skip
def nonsmooth(ctx: Context, tol: Tol) -> Verdict:
    return decide_nonsmooth(ctx.result("dsgd.kink"), ctx.config("dsgd.kink"), _escape_arms(ctx, True),
                            ctx.config("dsgd.escape_time").n_agents, ctx.result("dsgd.relu"),
                            ctx.config("dsgd.relu"), ctx.result("dsgd.violation"), ctx.config("dsgd.violation"),
                            tol)  # fmt: skip
