"""stability claims. Each decision is a pure function ``decide_*(result(s), cfg, tol) -> Verdict`` (tested on synthetic
results that must fail) wrapped by the registered claim, which fetches the results for the configs actually used."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from sgdlab import Context, Tol, Verdict, claim
from theory.stability import moments as SM

from .experiments import PAPER, MapConfig

MapKey = tuple[str, float]


def map_configs(ctx: Context) -> dict[MapKey, MapConfig]:
    """The maps the claims and figures need: all three samplings at the config's eta, Bernoulli also at eta_alt."""
    base = ctx.config("stability.divergence_map")
    out = {(s, base.eta): dataclasses.replace(base, sampling=s) for s in SM.SAMPLINGS}
    out[("bernoulli", base.eta_alt)] = dataclasses.replace(base, sampling="bernoulli", eta=base.eta_alt)
    return out


def maps(ctx: Context) -> dict[MapKey, Any]:
    """Results of :func:`map_configs`, one sweep point per (sampling, eta)."""
    cfgs = map_configs(ctx)
    res = ctx.sweep("stability.divergence_map", list(cfgs.values()), desc="stability maps")
    return dict(zip(cfgs, res))


def adjacent_to_contour(pred: np.ndarray) -> np.ndarray:
    """Grid points with a 4-neighbour on the other side of the predicted boundary (grid resolution)."""
    p = np.pad(pred, 1, mode="edge")
    adj = np.zeros_like(pred)
    for di, dj in ((0, 1), (1, 0), (0, -1), (-1, 0)):
        adj |= p[1 + di:1 + di + pred.shape[0], 1 + dj:1 + dj + pred.shape[1]] != pred
    return adj


def _combine(parts: dict[str, Verdict], *, predicted: float, measured: float) -> Verdict:
    """Verdict.combine, with every part's own note (the numbers behind it) in the note."""
    v = Verdict.combine(parts, predicted=predicted, measured=measured)
    v.note = "; ".join(f"{k}: {p.verdict} ({p.note})" for k, p in parts.items())
    return v


def typical_prediction(r: Any) -> np.ndarray:
    """Typical-run divergence predicted by the a.s. exponent: median log ||w_T||^2 / ||w_0||^2 ~ 2 T lyap exceeds
    log(threshold)."""
    return np.asarray(r["lyapunov"] > math.log(float(r["threshold"])) / (2 * int(r["steps"])))


# ----------------------------------------------------------------------------------------------------------------
# coherence
# ----------------------------------------------------------------------------------------------------------------
def decide_coherence_bounds(r: Any, tol: Tol) -> Verdict:
    rt = tol.rtol
    low = int(np.sum(r["sigma"] < 1 - rt))
    key = int(np.sum(r["lhs"] > r["rhs"] * (1 + rt)))
    r1 = r["rank"] == 1
    high = int(np.sum(r["sigma"][r1] > r["n"][r1] * (1 + rt)))
    worst = float(np.max(r["lhs"] / r["rhs"]))
    return Verdict.boolean(
        low == key == high == 0 and int(r1.sum()) > 0, predicted=0, measured=low + key + high, tolerance=rt,
        note=f"{len(r['n'])} instances ({int(r1.sum())} rank one): sigma < 1 in {low}, key inequality violated in "
             f"{key} (max ratio {worst:.4f}), rank-one sigma > n in {high}; min sigma {float(r['sigma'].min()):.4f}")


@claim("stability.coherence_bounds", paper=PAPER, expected="holds", experiments=("stability.coherence",),
       tol=Tol(rtol=1e-12),
       statement="On random PSD instances of every rank, sigma >= 1 and n lambda_1(H) <= sigma max_i lambda_1(H_i) "
                 "(= lambda_1(S)); for rank-one Hessians also sigma <= n. Fails if any instance violates one of the "
                 "three inequalities by more than rtol (relative), or if no rank-one instance was drawn.")
def coherence_bounds(ctx: Context, tol: Tol) -> Verdict:
    return decide_coherence_bounds(ctx.result("stability.coherence"), tol)


def decide_coherence_le_n(r: Any, cfg: Any, tol: Tol) -> Verdict:
    rt = tol.rtol
    ratio = np.concatenate([r["sigma"] / r["n"], r["identity_sigma"] / r["identity_ns"]])
    worst = float(ratio.max())
    n_rand = int(np.sum(r["sigma"] > r["n"] * (1 + rt)))
    k = int(cfg.identity_dim)
    return Verdict.boolean(
        worst <= 1 + rt, predicted=1.0, measured=worst, tolerance=rt,
        note=f"max sigma/n = {worst:.4f} (n copies of I_{k} give sigma/n = "
             f"{r['identity_sigma'][-1] / r['identity_ns'][-1]:.4f} = sqrt({k})); random higher-rank instances "
             f"with sigma > n: {n_rand} of {len(r['n'])}")


@claim("stability.coherence_le_n_any_rank", paper=PAPER, expected="fails", experiments=("stability.coherence",),
       tol=Tol(rtol=1e-12),
       statement="Theorem 2 ASSUMES sigma in [n] (= {1..n}); it is not a claim of the paper. Checked here: does that "
                 "assumption exclude any PSD instance, i.e. is sigma <= n for PSD Hessians of every rank? It is for "
                 "rank one (stability.coherence_bounds); this claim holds only if no instance of higher rank has "
                 "sigma > n (1 + rtol). Expected to fail: n copies of I_k have sigma = sqrt(k) n, so the assumption "
                 "excludes such instances from Theorem 2.")
def coherence_le_n_any_rank(ctx: Context, tol: Tol) -> Verdict:
    return decide_coherence_le_n(ctx.result("stability.coherence"), ctx.config("stability.coherence"), tol)


# ----------------------------------------------------------------------------------------------------------------
# the (B, sigma) maps
# ----------------------------------------------------------------------------------------------------------------
def decide_exact_boundary(ms: dict[MapKey, Any], eta: float, tol: Tol) -> Verdict:
    parts: dict[str, Verdict] = {}
    worst_rho = 0.0
    for (s, e), r in ms.items():
        if e != eta:
            continue
        pred = r["rho"] > 1
        for crit, key in (("last step", "frac_diverged"), ("first passage", "frac_diverged_first")):
            maj = r[key] > tol.majority
            bad = (maj != pred) & ~adjacent_to_contour(pred)
            false_div = int(np.sum(maj & ~pred))  # a.s. divergence implies MS divergence: must be 0
            if bad.any():
                worst_rho = max(worst_rho, float(r["rho"][bad].max()))
            parts[f"{s}, {crit}"] = Verdict.boolean(
                not bad.any(), predicted=0, measured=int(bad.sum()),
                note=f"{int(bad.sum())}/{bad.size} points off the contour, {false_div} diverge with rho <= 1")
    v = _combine(parts, predicted=0, measured=sum(float(p.measured or 0) for p in parts.values()))
    v.note = f"eta = {eta:g}; largest rho(Q) among stable-looking points off the contour: {worst_rho:.3f}; " + v.note
    return v


@claim("stability.exact_boundary", paper=PAPER, expected="fails", experiments=("stability.divergence_map",),
       tol=Tol(divergence_measured=True, majority=0.5),
       statement="With the paper's protocol (a (B, sigma) point diverges when more than half of the repeats reach "
                 "||w||^2 >= threshold ||w_0||^2, at the last of T steps or at any step (first passage, the public "
                 "code's criterion)), the empirical divergence boundary on the Theorem 2 instance equals the "
                 "mean-square contour rho(Q) = 1 up to one grid cell, for all three samplings and both criteria. "
                 "Fails if any point more than one cell from the contour is misclassified. Expected to fail: typical "
                 "runs follow the almost-sure exponent, whose region is strictly smaller.")
def exact_boundary(ctx: Context, tol: Tol) -> Verdict:
    return decide_exact_boundary(maps(ctx), float(ctx.config("stability.divergence_map").eta), tol)


def decide_ms_map(ms: dict[MapKey, Any], tol: Tol) -> Verdict:
    """One-step mean-square growth from the critical mode on the (diagonal) Theorem 2 maps against rho(Q)."""
    parts: dict[str, Verdict] = {}
    for (s, eta), r in ms.items():
        se = np.asarray(r["ms_se"], dtype=np.float64)
        z = np.abs(r["ms_hat"] - r["rho"]) / np.where(se > 0, se, 1.0)
        exact = se == 0
        ok_exact = bool(np.all(np.abs(r["ms_hat"][exact] - r["rho"][exact]) <= tol.rtol * r["rho"][exact]))
        zmax = float(np.max(np.where(exact, 0.0, z)))
        flat_rho = r["rho"].reshape(-1)[r["check_points"]]
        mf_err = float(np.max(np.abs(r["rho_matrix_free"] - flat_rho) / flat_rho))
        parts[f"{s} eta={eta:g}"] = Verdict.boolean(
            zmax <= tol.k_se and ok_exact and mf_err <= tol.mf_rtol, predicted=0.0, measured=zmax,
            tolerance=tol.k_se, note=f"one step: max z {zmax:.2f}, matrix-free rel. err {mf_err:.1e}")
    return _combine(parts, predicted=0.0, measured=max(float(p.measured or 0) for p in parts.values()))


def decide_ms_growth(gs: dict[str, Any], tol: Tol) -> Verdict:
    """Multi-step E||w_t||^2 from the top eigenmatrix on mixed-rank non-diagonal instances: the Monte-Carlo mean
    against rho(Q)^t within k_se exact standard errors, the batch-enumeration value against rho(Q)^t within enum_rtol,
    and the side of 1 of the measured growth at the last time wherever it is decisive."""
    parts: dict[str, Verdict] = {}
    for s, g in gs.items():
        z = np.abs(g["mean_sq"] - g["exact_sq"]) / g["se_exact"]
        zmax = float(np.max(z))
        enum_err = float(np.max(np.abs(g["exact_enumerated"] - g["exact_sq"]) / g["exact_sq"]))
        last = g["mean_sq"][..., -1]
        decisive = np.abs(last - 1) > tol.k_se * g["se_exact"][..., -1]
        wrong = int(np.sum(decisive & ((last > 1) != (g["rho"] > 1))))
        t_max = int(np.max(g["times"]))
        se_ratio = float(np.min(g["se_sq"] / g["se_exact"]))
        parts[s] = Verdict.boolean(
            zmax <= tol.k_se and wrong == 0 and enum_err <= tol.enum_rtol, predicted=0.0, measured=zmax,
            tolerance=tol.k_se,
            note=f"{g['mean_sq'].shape[0]} instances x eta/eta* in {tuple(float(x) for x in g['ratios'])}, "
                 f"rho(Q) in [{float(g['rho'].min()):.3f}, {float(g['rho'].max()):.3f}], t <= {t_max}: max z "
                 f"{zmax:.2f} (exact se; sample se down to {se_ratio:.2f} of it); enumeration vs rho^t rel. "
                 f"{enum_err:.1e}; side of 1 at t = {t_max} decisive at {int(decisive.sum())}/{decisive.size}, "
                 f"wrong {wrong}")
    return _combine(parts, predicted=0.0, measured=max(float(p.measured or 0) for p in parts.values()))


def growth_configs(ctx: Context) -> dict[str, Any]:
    base = ctx.config("stability.ms_growth")
    return {s: dataclasses.replace(base, sampling=s) for s in SM.SAMPLINGS}


@claim("stability.ms_boundary", paper=PAPER, expected="holds",
       experiments=("stability.divergence_map", "stability.ms_growth"),
       tol=Tol(fwer=0.01, comparisons=10_000, rtol=1e-12, mf_rtol=1e-9, enum_rtol=1e-9, divergence_measured=True),
       statement="Mean-square growth measured on simulated runs equals the exact second-moment operator of the "
                 "sampling used, for all three samplings: (a) multi-step, on random instances whose H_i mix ranks "
                 "1..d and share no eigenbasis, started at w_0 ~ N(0, M_0), M_0 the top eigenmatrix of T, E||w_t||^2 = "
                 "rho(Q)^t at every recorded t (eta = ratio x eta*, on both sides of the threshold; Monte Carlo "
                 "within k_se EXACT standard errors from the enumerated fourth moment, and the enumerated batch law "
                 "within enum_rtol), and the measured growth lies on the predicted side of 1 wherever it is "
                 "decisive; (b) one step from the critical mode at every "
                 "(B, sigma) of the Theorem 2 maps, and the matrix-free rho equals the closed form. Fails if any "
                 "|measured - exact| exceeds k_se standard errors (Bonferroni, FWER 1% over up to 10^4 comparisons), "
                 "or a decisive growth is on the wrong side of 1.")
def ms_boundary(ctx: Context, tol: Tol) -> Verdict:
    cfgs = growth_configs(ctx)
    gs = dict(zip(cfgs, ctx.sweep("stability.ms_growth", list(cfgs.values()), desc="stability growth")))
    parts = {"multi-step, mixed rank": decide_ms_growth(gs, tol), "one step, Theorem 2 maps": decide_ms_map(maps(ctx),
                                                                                                          tol)}
    return _combine(parts, predicted=0.0, measured=max(float(p.measured or 0) for p in parts.values()))


def decide_typical_boundary(ms: dict[MapKey, Any], tol: Tol) -> Verdict:
    parts: dict[str, Verdict] = {}
    for (s, eta), r in ms.items():
        maj, pred = r["frac_diverged"] > tol.majority, typical_prediction(r)
        mis = maj != pred
        bad = mis & ~adjacent_to_contour(pred)
        parts[f"{s} eta={eta:g}"] = Verdict.boolean(
            not bad.any() and bool(pred.any()) and bool((~pred).any()), predicted=0, measured=int(bad.sum()),
            note=f"{int(mis.sum())}/{mis.size} misclassified, {int(bad.sum())} off the contour")
    return _combine(parts, predicted=0, measured=sum(float(p.measured or 0) for p in parts.values()))


@claim("stability.typical_boundary", paper=PAPER, expected="holds", experiments=("stability.divergence_map",),
       tol=Tol(divergence_measured=True, majority=0.5),
       statement="The paper's empirical divergence map (majority of runs at the last step) equals, up to one grid "
                 "cell, the almost-sure boundary 2 T max_k E log|1 - eta h_hat_k| = log(threshold), computed exactly "
                 "for each sampling, for all three samplings and both step sizes of the map. Fails if a point more "
                 "than one cell from that boundary is misclassified, or if the map has no point on one side.")
def typical_boundary(ctx: Context, tol: Tol) -> Verdict:
    return decide_typical_boundary(maps(ctx), tol)


@claim("stability.thm1_sufficient", paper=PAPER, expected="holds",
       experiments=("stability.thm1", "stability.divergence_map"), tol=Tol(divergence_measured=True),
       statement="Theorem 1 never fires on a mean-square stable instance: whenever lambda_1(H) >= (sigma/eta) "
                 "(n/B - 1)^(-1/2), the exact rho(Q) of Bernoulli sampling exceeds 1 (random instances of every "
                 "rank, and every point of the Bernoulli (B, sigma) maps). Fails on one fired-but-stable instance; "
                 "inconclusive if the condition never fired.")
def thm1_sufficient(ctx: Context, tol: Tol) -> Verdict:
    return decide_thm1(ctx.result("stability.thm1"), maps(ctx))


def decide_thm1(r: Any, ms: dict[MapKey, Any]) -> Verdict:
    fired = r["fired"] > 0
    viol = int(np.sum(fired & (r["rho"] <= 1)))
    n_fired = int(fired.sum())
    map_fired = map_viol = 0
    for (s, _), m in ms.items():
        if s == "bernoulli":
            f = m["thm1_fires"] > 0
            map_fired += int(f.sum())
            map_viol += int(np.sum(f & (m["rho"] <= 1)))
    min_rho = float(r["rho"][fired].min()) if n_fired else float("nan")
    if n_fired + map_fired == 0:
        return Verdict("inconclusive", 0, 0, note="the condition never fired: nothing tested")
    return Verdict.boolean(
        viol + map_viol == 0, predicted=0, measured=viol + map_viol,
        note=f"random: fired on {n_fired}/{len(fired)} instances, min rho(Q) among them {min_rho:.4f}; "
             f"maps: fired at {map_fired} points; stable-but-fired: {viol + map_viol}; "
             f"not fired but unstable (the condition is not necessary): {int(np.sum(~fired & (r['rho'] > 1)))}")


# ----------------------------------------------------------------------------------------------------------------
# eta*, Wu-Ma-E
# ----------------------------------------------------------------------------------------------------------------
def decide_eta_star(r: Any, tol: Tol) -> Verdict:
    worst_drop, worst_end, worst_bis = 0.0, 0.0, 0.0
    for rank in r["ranks"]:
        gd = float(r[f"gd_r{rank}"])
        for s in SM.SAMPLINGS:
            e = r[f"eta_{s}_r{rank}"]
            worst_drop = max(worst_drop, float(np.max(-np.diff(e) / e[1:])))
            if s != "with_replacement":
                worst_end = max(worst_end, abs(e[-1] - gd) / gd)
            bis = r[f"bisect_{s}_r{rank}"]
            worst_bis = max(worst_bis, float(np.max(np.abs(bis - e[r["bisect_batches"] - 1]) / bis)))
    return Verdict.boolean(
        worst_drop <= tol.rtol and worst_end <= tol.rtol and worst_bis <= tol.bisect_rtol, predicted=0.0,
        measured=worst_drop, tolerance=tol.rtol,
        note=f"largest relative decrease {worst_drop:.1e}; |eta*(n) - 2/lambda_1| rel. {worst_end:.1e}; "
             f"bisection vs closed form rel. {worst_bis:.1e}")


@claim("stability.eta_star_monotone", paper=PAPER, expected="holds", experiments=("stability.eta_star",),
       tol=Tol(rtol=1e-9, bisect_rtol=1e-8),
       statement="The exact threshold eta*(B) is non-decreasing in B for all three samplings, equals 2 / lambda_1(H) "
                 "at B = n without replacement and with Bernoulli sampling, and agrees with bisection on rho(Q). "
                 "Fails on a relative decrease or end-point error above rtol, or a bisection gap above bisect_rtol.")
def eta_star_monotone(ctx: Context, tol: Tol) -> Verdict:
    return decide_eta_star(ctx.result("stability.eta_star"), tol)


def decide_wu_ma_e(r: Any, cfg: Any, tol: Tol) -> Verdict:
    stable = r["rho"] < 1
    rt = tol.rtol
    sharp = int(np.sum(stable & (r["sharp_ratio"] > 1 + rt)))
    nonuni = stable & (r["nonuni_ratio"] > 1 + rt)
    one_d = int(np.sum(nonuni & (r["d"] == 1)))
    worst = float(np.max(r["nonuni_ratio"][stable])) if stable.any() else float("nan")
    return Verdict.boolean(
        sharp == 0 and not nonuni.any(), predicted=1.0, measured=worst, tolerance=rt,
        note=f"{int(stable.sum())} stable instances (eta = {cfg.eta_fraction:g} eta*): sharpness violated in {sharp}, "
             f"non-uniformity violated in {int(nonuni.sum())} (d = 1: {one_d}), max eta s / sqrt(B) = {worst:.4f}")


@claim("stability.wu_ma_e_necessary", paper=PAPER, expected="fails", experiments=("stability.wu_ma_e",),
       tol=Tol(rtol=1e-12),
       statement="Wu-Ma-E's conditions, read as necessary for mean-square stability in any dimension [verify their "
                 "exact statement]: every instance with rho(Q) < 1 (with-replacement batches) has sharpness "
                 "lambda_1(H) <= 2/eta and non-uniformity s <= sqrt(B)/eta. Expected to fail in d >= 2 for the "
                 "non-uniformity part (sharpness is necessary; in d = 1 both follow from rho(Q) <= 1).")
def wu_ma_e_necessary(ctx: Context, tol: Tol) -> Verdict:
    return decide_wu_ma_e(ctx.result("stability.wu_ma_e"), ctx.config("stability.wu_ma_e"), tol)


# ----------------------------------------------------------------------------------------------------------------
# networks
# ----------------------------------------------------------------------------------------------------------------
def decide_nn_survivors(r: Any, tol: Tol) -> Verdict:
    """Control (survivorship): solutions SGD reached satisfy Theorem 1's necessary condition; Lanczos vs NTK."""
    ok = r["converged"].astype(bool)
    if not ok.any():
        return Verdict("inconclusive", note="no run reached interpolation")
    ratio = r["lambda1"][ok] / r["thm1_threshold"][ok]
    gap = np.abs(r["lambda1"][ok] - r["lambda1_ntk"][ok])
    weyl = bool(np.all(gap <= r["nme_norm"][ok] * (1 + tol.weyl_rtol) + tol.lanczos_rtol * r["lambda1"][ok]))
    worst = float(ratio.max())
    return Verdict.boolean(
        worst < 1 and weyl, predicted=1.0, measured=worst,
        note=f"{int(ok.sum())}/{len(ok)} runs interpolated, {int(r['diverged'].sum())} diverged; max lambda_1 / "
             f"threshold {worst:.3f}; max eta lambda_1 {float(np.max(r['etas'][ok] * r['lambda1'][ok])):.3f}; "
             f"sigma in [{float(np.min(r['sigma'][ok])):.2f}, {float(np.max(r['sigma'][ok])):.2f}]; Lanczos vs NTK "
             f"rel. {float(np.max(gap / r['lambda1'][ok])):.1e} (Weyl bound holds: {weyl}); linearised rho(Q) max "
             f"{float(np.max(r['rho_linearised'][ok])):.4f}")


def onset(ratios: np.ndarray, frac: np.ndarray, majority: float) -> float:
    """Smallest probed ratio from which on every larger probe has a majority of escaped runs (inf: none)."""
    esc = np.asarray(frac) > majority
    for i in range(len(ratios)):
        if esc[i:].all():
            return float(ratios[i])
    return math.inf


def decide_nn_probe(p: Any, tol: Tol) -> dict[str, Verdict]:
    """Divergence onset of the net next to its minimum against the theory, per batch size: no escape below eta*
    (rho(Q) < 1), the net's onset equal to the linearised dynamics' onset within ``onset_cells`` grid steps, and a
    majority escaped wherever Theorem 1 fires."""
    if not bool(p["trained"]):
        return {"probe": Verdict("inconclusive", note=f"the probe's GD run did not reach interpolation (loss "
                                                      f"{float(p['train_loss']):.2e})")}
    ratios = np.asarray(p["ratios"], dtype=np.float64)
    parts: dict[str, Verdict] = {}
    for i, b in enumerate(np.asarray(p["batches"])):
        net, lin = np.asarray(p["escaped_net"][i]), np.asarray(p["escaped_linear"][i])
        early = int(np.sum(net[ratios < 1] > 0))
        on_net, on_lin = onset(ratios, net, tol.majority), onset(ratios, lin, tol.majority)
        idx = {float(r): j for j, r in enumerate(ratios)}
        gap = abs(idx.get(on_net, len(ratios)) - idx.get(on_lin, len(ratios)))
        thm1 = float(p["eta_thm1"][i]) / float(p["eta_star"][i])
        fired = ratios >= thm1
        thm1_ok = bool(np.all(net[fired] > tol.majority))
        ok = early == 0 and gap <= tol.onset_cells and math.isfinite(on_net) and thm1_ok
        table = ", ".join(f"{r:g}: {a:.2f}/{c:.2f}" for r, a, c in zip(ratios, net, lin))
        parts[f"probe B={int(b)}"] = Verdict.boolean(
            ok, predicted=on_lin, measured=on_net, tolerance=tol.onset_cells,
            note=f"eta* = {float(p['eta_star'][i]):.4f} (rho(Q) = 1), Theorem 1 fires from eta/eta* = {thm1:.3f} "
                 f"({int(fired.sum())} probes, all escaped: {thm1_ok}); escaped fraction net/linearised by eta/eta*: "
                 f"{table}; escapes below eta*: {early}; onset net {on_net:g} vs linearised {on_lin:g} ({gap} grid "
                 f"steps)")
    return parts


@claim("stability.nn_interpolation", paper=PAPER, expected="holds", experiments=("stability.nn", "stability.nn_probe"),
       tol=Tol(divergence_measured=True, majority=0.5, onset_cells=1, weyl_rtol=1e-3, lanczos_rtol=1e-8),
       statement="SGD on MSE networks next to an interpolating minimum becomes unstable where the linear theory says: "
                 "restarted from small perturbations of a minimum at eta = ratio x eta* (eta* the exact mean-square "
                 "threshold of the linearisation, Bernoulli batches), no run leaves the minimum for eta < eta*, the "
                 "net's divergence onset (smallest probed ratio from which a majority leaves) equals the linearised "
                 "dynamics' onset within one grid step, and every probe where Theorem 1 fires diverges. Control "
                 "(survivorship): the minima SGD reached at several (eta, B) satisfy lambda_1(H) < (sigma / eta) "
                 "(n/B - 1)^(-1/2), and HVP-Lanczos agrees with lambda_1(K)/n up to the residual term (Weyl). Fails "
                 "on an escape below eta*, an onset more than one step from the linear one, or no onset at all.")
def nn_interpolation(ctx: Context, tol: Tol) -> Verdict:
    parts = {"survivors": decide_nn_survivors(ctx.result("stability.nn"), tol)}
    parts.update(decide_nn_probe(ctx.result("stability.nn_probe"), tol))
    return _combine(parts, predicted=0.0, measured=sum(p.verdict != "holds" for p in parts.values()))
