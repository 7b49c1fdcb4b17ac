"""stability: linear (mean-square) stability of SGD at an interpolating minimum and the Hessian coherence measure.

Dexter, Ocejo, Keerthi, Gupta, Acharya, Khanna (ICLR 2024, arXiv 2401.12332), with Mulayoff & Michaeli (exact
threshold eta*) and Wu, Ma & E (2018). Exact quantities come from theory.stability_moments (the second-moment operator Q
of each batch sampling, rho(Q), eta*) and theory.stability_coherence (coherence sigma, Theorem 1, the Theorem 2
construction, its almost-sure exponent); simulations from sims.linear_stability (linearised SGD, batched over runs) and
sims.hessian (HVP-Lanczos, per-sample gradients, NTK).

What the suite finds (see the claims): the paper's empirical protocol (a point "diverges" when most of 10 runs grow by
1000x in 1000 steps) measures the ALMOST-SURE boundary max_k E log|1 - eta h_hat_k| = 0, which lies strictly inside the
mean-square region rho(Q) > 1; the mean-square growth itself, measured from simulated steps, matches rho(Q).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from matplotlib.lines import Line2D
from torch import nn
from tqdm.auto import tqdm

from sgdlab import Context, Tol, Verdict, by_scale, claim, experiment, figure, seeding, style
from sims.hessian import HessianOperator, ntk_gram, output_jacobian, param_vector, unflatten
from sims.linear_stability import batch_weights, simulate_linear_sgd
from theory import stability_coherence as SC
from theory import stability_moments as SM

PAPER = "stability"
SAMPLING_LABEL = {"bernoulli": "Bernoulli", "with_replacement": "with replacement",
                  "without_replacement": "without replacement"}
_DTYPES = {"float32": torch.float32, "float64": torch.float64}


def _random_hessians(rng: np.random.Generator, n: int, d: int, rank: int) -> np.ndarray:
    """H_i = A_i A_i^T, A_i (d x rank) Gaussian with a random scale per sample (PSD, rank <= rank)."""
    a = rng.normal(size=(n, d, rank)) * rng.uniform(0.2, 1.5, size=(n, 1, 1))
    return np.einsum("nir,njr->nij", a, a)


# ----------------------------------------------------------------------------------------------------------------
# experiment 1: coherence on random instances, and the identity counterexample
# ----------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CoherenceConfig:
    trials: int = 400
    n_max: int = 30
    d_max: int = 8
    identity_dim: int = 4
    identity_ns: tuple[int, ...] = (1, 2, 5, 10, 50)
    seed: int = 0


def coherence_config(scale: str) -> CoherenceConfig:
    return by_scale(scale, smoke=CoherenceConfig(trials=100), default=CoherenceConfig(),
                    full=CoherenceConfig(trials=5000, n_max=60, d_max=12))


@experiment("stability.coherence", paper=PAPER, config=coherence_config, schema=1)
def coherence_instances(cfg: CoherenceConfig) -> dict[str, Any]:
    """Random PSD instances of every rank: sigma (eq. 3), both sides of n lambda_1(H) <= lambda_1(S), max lambda_1(H_i);
    and n copies of I_k (sigma = sqrt(k) n)."""
    rng = seeding.numpy_rng(cfg.seed, "hessians")
    cols: dict[str, list[float]] = {k: [] for k in ("n", "d", "rank", "sigma", "lhs", "rhs")}
    for _ in range(cfg.trials):
        n, d = int(rng.integers(2, cfg.n_max + 1)), int(rng.integers(1, cfg.d_max + 1))
        rank = int(rng.integers(1, d + 1))
        h = _random_hessians(rng, n, d, rank)
        lhs, rhs = SC.key_inequality(h)
        for k, v in (("n", n), ("d", d), ("rank", rank), ("sigma", SC.coherence(h)), ("lhs", lhs), ("rhs", rhs)):
            cols[k].append(v)
    ident = [SC.coherence(np.repeat(np.eye(cfg.identity_dim)[None], m, axis=0)) for m in cfg.identity_ns]
    out: dict[str, Any] = {k: np.array(v) for k, v in cols.items()}
    out.update(identity_ns=np.array(cfg.identity_ns), identity_sigma=np.array(ident))
    return out


@claim("stability.coherence_bounds", paper=PAPER, expected="holds", experiments=("stability.coherence",),
       statement="On random PSD instances of every rank, sigma >= 1 and n lambda_1(H) <= sigma max_i lambda_1(H_i) "
                 "(= lambda_1(S)); for rank-one Hessians also sigma <= n.")
def coherence_bounds(ctx: Context) -> Verdict:
    r = ctx.result("stability.coherence")
    tol = 1e-12
    low = int(np.sum(r["sigma"] < 1 - tol))
    key = int(np.sum(r["lhs"] > r["rhs"] * (1 + tol)))
    r1 = r["rank"] == 1
    high = int(np.sum(r["sigma"][r1] > r["n"][r1] * (1 + tol)))
    worst = float(np.max(r["lhs"] / r["rhs"]))
    return Verdict.boolean(
        low == key == high == 0 and int(r1.sum()) > 0, predicted=0, measured=low + key + high, tolerance=tol,
        note=f"{len(r['n'])} instances ({int(r1.sum())} rank one): sigma < 1 in {low}, key inequality violated in "
             f"{key} (max ratio {worst:.4f}), rank-one sigma > n in {high}; min sigma {float(r['sigma'].min()):.4f}")


@claim("stability.coherence_le_n_any_rank", paper=PAPER, expected="fails", experiments=("stability.coherence",),
       statement="sigma <= n for PSD Hessians of any rank (the paper's range for sigma). Counterexample expected: "
                 "n copies of I_4 have sigma = 2n.")
def coherence_le_n_any_rank(ctx: Context) -> Verdict:
    r = ctx.result("stability.coherence")
    ratio = np.concatenate([r["sigma"] / r["n"], r["identity_sigma"] / r["identity_ns"]])
    worst = float(ratio.max())
    n_rand = int(np.sum(r["sigma"] > r["n"] * (1 + 1e-12)))
    return Verdict.boolean(
        worst <= 1 + 1e-12, predicted=1.0, measured=worst, tolerance=1e-12,
        note=f"max sigma/n = {worst:.4f} (n copies of I_4 give sigma/n = "
             f"{r['identity_sigma'][-1] / r['identity_ns'][-1]:.4f}); random higher-rank instances with "
             f"sigma > n: {n_rand} of {len(r['n'])}")


# ----------------------------------------------------------------------------------------------------------------
# experiment 2: Theorem 1 on random instances
# ----------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Thm1Config:
    trials: int = 600
    n_max: int = 12
    d_max: int = 5
    eta_lo: float = 0.3
    eta_hi: float = 1.7
    seed: int = 0


def thm1_config(scale: str) -> Thm1Config:
    return by_scale(scale, smoke=Thm1Config(trials=150), default=Thm1Config(),
                    full=Thm1Config(trials=5000, n_max=20, d_max=7))


@experiment("stability.thm1", paper=PAPER, config=thm1_config, schema=1)
def thm1_instances(cfg: Thm1Config) -> dict[str, Any]:
    """Random instances (any rank), B < n, eta = u * (Theorem 1 threshold eta) with u ~ U[eta_lo, eta_hi], so the
    condition (eq. 4) fires on about half of them; exact rho(Q) (dense, Bernoulli sampling) on each."""
    rng = seeding.numpy_rng(cfg.seed, "instances")
    keys = ("n", "d", "rank", "batch", "eta", "lam1", "sigma", "threshold", "fired", "rho")
    cols: dict[str, list[float]] = {k: [] for k in keys}
    for _ in tqdm(range(cfg.trials), desc="stability.thm1", disable=None, leave=False):
        n, d = int(rng.integers(2, cfg.n_max + 1)), int(rng.integers(1, cfg.d_max + 1))
        rank = int(rng.integers(1, d + 1))
        h = _random_hessians(rng, n, d, rank)
        b = int(rng.integers(1, n))
        lam1 = float(np.linalg.eigvalsh(h.mean(0))[-1])
        sig = SC.coherence(h)
        eta = float(rng.uniform(cfg.eta_lo, cfg.eta_hi)) * SC.thm1_threshold(sig, 1.0, n, b) / lam1
        thr = SC.thm1_threshold(sig, eta, n, b)
        vals = (n, d, rank, b, eta, lam1, sig, thr, float(SC.thm1_fires(lam1, sig, eta, n, b)),
                SM.spectral_radius_dense(h, eta, b, "bernoulli"))
        for k, v in zip(keys, vals):
            cols[k].append(v)
    return {k: np.array(v) for k, v in cols.items()}


# ----------------------------------------------------------------------------------------------------------------
# experiment 3: the (B, sigma) divergence map on the Theorem 2 construction
# ----------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MapConfig:
    n: int = 100
    lam: float = 2.0
    eta: float = 0.8
    sampling: str = "bernoulli"
    b_step: int = 2
    sigma_step: int = 2
    steps: int = 1000
    repeats: int = 10
    threshold: float = 1000.0
    ms_runs: int = 1000
    seed: int = 0
    device: str = "cpu"
    dtype: str = "float64"

    def batches(self) -> np.ndarray:
        return np.arange(1, self.n // 2, self.b_step)

    def sigmas(self) -> np.ndarray:
        return np.arange(1, self.n // 2 + 1, self.sigma_step)


def map_config(scale: str) -> MapConfig:
    return by_scale(scale, smoke=MapConfig(n=30, b_step=2, sigma_step=2, ms_runs=400),
                    default=MapConfig(),
                    full=MapConfig(b_step=1, sigma_step=1, ms_runs=20_000, device="cuda"))


def map_configs(ctx: Context) -> dict[tuple[str, float], MapConfig]:
    """The maps the paper's figures and claims need: all three samplings at eta = 0.8, Bernoulli also at eta = 0.5."""
    base = ctx.config("stability.divergence_map")
    out = {(s, 0.8): dataclasses.replace(base, sampling=s, eta=0.8) for s in SM.SAMPLINGS}
    out[("bernoulli", 0.5)] = dataclasses.replace(base, sampling="bernoulli", eta=0.5)
    return out


@experiment("stability.divergence_map", paper=PAPER, config=map_config, schema=1)
def divergence_map(cfg: MapConfig) -> dict[str, Any]:
    """For every (B, sigma): the Theorem 2 instance (lambda_1(H) = lam, coherence sigma, d = n - sigma + 1);
    exact rho(Q) (diagonal formula) and its matrix-free value at a few points; the exact almost-sure exponent;
    the Theorem 1 condition; the fraction of `repeats` linearised-SGD runs (w_0 ~ U[0,1]^d, batches drawn with
    `sampling`) with ||w_T||^2 >= threshold ||w_0||^2 after T = steps; and the one-step mean-square growth
    E||w_1||^2 measured on `ms_runs` runs started at the critical coordinate e_k (k = argmax_k f_k), whose exact
    value is rho(Q)."""
    dtype = _DTYPES[cfg.dtype]
    bs, sigmas = cfg.batches(), cfg.sigmas()
    shape = (len(bs), len(sigmas))
    frac, rho, lyap, fires = np.zeros(shape), np.zeros(shape), np.zeros(shape), np.zeros(shape)
    ms_hat, ms_se = np.zeros(shape), np.zeros(shape)
    g_batch = seeding.torch_generator(cfg.seed, f"batches-{cfg.sampling}-{cfg.eta}", cfg.device)
    g_init = seeding.torch_generator(cfg.seed, f"init-{cfg.sampling}-{cfg.eta}", cfg.device)
    g_ms = seeding.torch_generator(cfg.seed, f"ms-{cfg.sampling}-{cfg.eta}", cfg.device)
    bvec = torch.tensor(np.repeat(bs, cfg.repeats), device=cfg.device)
    bms = torch.tensor(np.repeat(bs, cfg.ms_runs), device=cfg.device)
    for j, sig in enumerate(tqdm(sigmas, desc=f"map {cfg.sampling} eta={cfg.eta}", disable=None, leave=False)):
        g = SC.thm2_construction(cfg.n, int(sig), cfg.lam)
        sig_meas = SC.coherence_from_factors(g)
        kstar = np.zeros(len(bs), dtype=np.int64)
        for i, b in enumerate(bs):
            f = SM.diagonal_growth_factors(g**2, cfg.eta, int(b), cfg.sampling)
            rho[i, j], kstar[i] = float(f.max()), int(np.argmax(f))
            lyap[i, j] = SC.thm2_lyapunov(cfg.n, int(b), int(sig), cfg.lam, cfg.eta, cfg.sampling)
            fires[i, j] = float(SC.thm1_fires(cfg.lam, sig_meas, cfg.eta, cfg.n, int(b)))
        gt = torch.tensor(g, device=cfg.device, dtype=dtype)
        w0 = torch.rand(len(bvec), g.shape[1], generator=g_init, device=cfg.device, dtype=dtype)
        res = simulate_linear_sgd(cfg.eta, bvec, cfg.sampling, cfg.steps, len(bvec), factors=gt, w0=w0,
                                  generator=g_batch)
        frac[:, j] = res.diverged(cfg.threshold).to(torch.float64).reshape(len(bs), cfg.repeats).mean(1).cpu().numpy()
        w0_ms = torch.zeros(len(bms), g.shape[1], device=cfg.device, dtype=dtype)
        w0_ms[torch.arange(len(bms)), torch.tensor(np.repeat(kstar, cfg.ms_runs), device=cfg.device)] = 1.0
        one = simulate_linear_sgd(cfg.eta, bms, cfg.sampling, 1, len(bms), factors=gt, w0=w0_ms, generator=g_ms)
        grow = torch.exp(one.log_sq_ratio[:, -1]).reshape(len(bs), cfg.ms_runs).cpu().numpy()
        ms_hat[:, j] = grow.mean(1)
        ms_se[:, j] = grow.std(1, ddof=1) / math.sqrt(cfg.ms_runs)
    # matrix-free rho(Q) (Lanczos on the rank-one operator) at a few grid points: an independent route to rho
    rng = seeding.numpy_rng(cfg.seed, "checkpoints")
    pts = rng.choice(frac.size, size=min(6, frac.size), replace=False)
    rho_mf = np.array([SM.spectral_radius(factors=SC.thm2_construction(cfg.n, int(sigmas[p % len(sigmas)]), cfg.lam),
                                          eta=cfg.eta, batch=int(bs[p // len(sigmas)]), sampling=cfg.sampling)
                       for p in pts])
    lam_c = np.array([[SC.thm2_boundary(cfg.n, int(b), int(s), cfg.eta) for s in sigmas] for b in bs])
    return {"batches": bs, "sigmas": sigmas, "frac_diverged": frac, "rho": rho, "lyapunov": lyap,
            "thm1_fires": fires, "ms_hat": ms_hat, "ms_se": ms_se, "check_points": pts, "rho_matrix_free": rho_mf,
            "lambda_c_bernoulli": lam_c, "lam": cfg.lam, "eta": cfg.eta, "steps": cfg.steps,
            "threshold": cfg.threshold, "sampling": cfg.sampling}


def _maps(ctx: Context) -> dict[tuple[str, float], Any]:
    cfgs = map_configs(ctx)
    res = ctx.sweep("stability.divergence_map", list(cfgs.values()), desc="stability maps")
    return dict(zip(cfgs, res))


def _adjacent_to_contour(pred: np.ndarray) -> np.ndarray:
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


def _typical_prediction(r: Any) -> np.ndarray:
    """Typical-run divergence predicted by the a.s. exponent: median log ||w_T||^2 / ||w_0||^2 ~ 2 T lyap exceeds
    log(threshold)."""
    return np.asarray(r["lyapunov"] > math.log(float(r["threshold"])) / (2 * int(r["steps"])))


@claim("stability.exact_boundary", paper=PAPER, tol=Tol(divergence_measured=True),
       expected="fails", experiments=("stability.divergence_map",),
       statement="With the paper's protocol (a (B, sigma) point diverges when most of 10 runs reach "
                 "||w_T||^2 >= 1000 ||w_0||^2 after 1000 steps), the empirical divergence boundary on the Theorem 2 "
                 "instance equals the mean-square contour rho(Q) = 1 (up to one grid cell), for all three samplings. "
                 "Expected to fail: typical runs follow the almost-sure exponent, whose region is strictly smaller.")
def exact_boundary(ctx: Context) -> Verdict:
    parts: dict[str, Verdict] = {}
    worst_rho = 0.0
    for (s, eta), r in _maps(ctx).items():
        if eta != 0.8:
            continue
        maj, pred = r["frac_diverged"] > 0.5, r["rho"] > 1
        bad = (maj != pred) & ~_adjacent_to_contour(pred)
        false_div = int(np.sum(maj & ~pred))  # a.s. divergence implies MS divergence: must be 0
        if bad.any():
            worst_rho = max(worst_rho, float(r["rho"][bad].max()))
        parts[s] = Verdict.boolean(not bad.any(), predicted=0, measured=int(bad.sum()),
                                   note=f"{int(bad.sum())}/{bad.size} points off the contour, {false_div} diverge "
                                        f"with rho <= 1")
    v = _combine(parts, predicted=0, measured=sum(float(p.measured or 0) for p in parts.values()))
    v.note = f"eta = 0.8; largest rho(Q) among stable-looking points off the contour: {worst_rho:.3f}; " + v.note
    return v


@claim("stability.ms_boundary", paper=PAPER, tol=Tol(divergence_measured=True),
       expected="holds", experiments=("stability.divergence_map",),
       statement="The mean-square growth per step measured on simulated runs (E||w_1||^2 from the critical mode) "
                 "equals rho(Q) of the sampling used, at every (B, sigma) of the map, for all three samplings and "
                 "eta in {0.8, 0.5}: |measured - rho| <= 5 se (Bonferroni over the grid), and the matrix-free rho "
                 "equals the closed form.")
def ms_boundary(ctx: Context) -> Verdict:
    parts: dict[str, Verdict] = {}
    for (s, eta), r in _maps(ctx).items():
        z = np.abs(r["ms_hat"] - r["rho"]) / np.maximum(r["ms_se"], 1e-300)
        exact = r["ms_se"] == 0
        ok_exact = bool(np.all(np.abs(r["ms_hat"][exact] - r["rho"][exact]) <= 1e-12 * r["rho"][exact]))
        zmax = float(np.max(np.where(exact, 0.0, z)))
        decisive = np.abs(r["ms_hat"] - 1) > 5 * r["ms_se"]
        wrong = int(np.sum(decisive & ((r["ms_hat"] > 1) != (r["rho"] > 1))))
        flat_rho = r["rho"].reshape(-1)[r["check_points"]]
        mf_err = float(np.max(np.abs(r["rho_matrix_free"] - flat_rho) / flat_rho))
        parts[f"{s} eta={eta}"] = Verdict.boolean(
            zmax <= 5 and ok_exact and wrong == 0 and mf_err <= 1e-9, predicted=0.0, measured=zmax, tolerance=5.0,
            note=f"max z {zmax:.2f}, decisive points {int(decisive.sum())}/{decisive.size}, misclassified {wrong}, "
                 f"matrix-free rel. err {mf_err:.1e}")
    return _combine(parts, predicted=0.0, measured=max(float(p.measured or 0) for p in parts.values()))


@claim("stability.typical_boundary", paper=PAPER, tol=Tol(divergence_measured=True),
       expected="holds", experiments=("stability.divergence_map",),
       statement="The paper's empirical divergence map (majority of runs) equals, up to one grid cell, the "
                 "almost-sure boundary 2 T max_k E log|1 - eta h_hat_k| = log(1000), computed exactly for each "
                 "sampling, for all three samplings and eta in {0.8, 0.5}.")
def typical_boundary(ctx: Context) -> Verdict:
    parts: dict[str, Verdict] = {}
    for (s, eta), r in _maps(ctx).items():
        maj, pred = r["frac_diverged"] > 0.5, _typical_prediction(r)
        mis = maj != pred
        bad = mis & ~_adjacent_to_contour(pred)
        parts[f"{s} eta={eta}"] = Verdict.boolean(
            not bad.any() and bool(pred.any()) and bool((~pred).any()), predicted=0, measured=int(bad.sum()),
            note=f"{int(mis.sum())}/{mis.size} misclassified, {int(bad.sum())} off the contour")
    return _combine(parts, predicted=0, measured=sum(float(p.measured or 0) for p in parts.values()))


@claim("stability.thm1_sufficient", paper=PAPER, tol=Tol(divergence_measured=True),
       expected="holds",
       experiments=("stability.thm1", "stability.divergence_map"),
       statement="Theorem 1 never fires on a mean-square stable instance: whenever lambda_1(H) >= (sigma/eta) "
                 "(n/B - 1)^(-1/2), the exact rho(Q) of Bernoulli sampling exceeds 1 (random instances of every "
                 "rank, and every point of the Bernoulli (B, sigma) maps).")
def thm1_sufficient(ctx: Context) -> Verdict:
    r = ctx.result("stability.thm1")
    fired = r["fired"] > 0
    viol = int(np.sum(fired & (r["rho"] <= 1)))
    n_fired = int(fired.sum())
    map_fired = map_viol = 0
    for (s, _), m in _maps(ctx).items():
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
# experiment 4: eta*(B)
# ----------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EtaStarConfig:
    n: int = 24
    d: int = 6
    ranks: tuple[int, ...] = (1, 3)
    bisect_points: int = 3
    seed: int = 0


def eta_star_config(scale: str) -> EtaStarConfig:
    return by_scale(scale, smoke=EtaStarConfig(n=12, d=4), default=EtaStarConfig(),
                    full=EtaStarConfig(n=60, d=8))


@experiment("stability.eta_star", paper=PAPER, config=eta_star_config, schema=1)
def eta_star_curves(cfg: EtaStarConfig) -> dict[str, Any]:
    """eta*(B) = 2 / lambda_max(C^+ D) (eq. 2) for B = 1..n, all samplings, random instances of the given ranks;
    2 / lambda_1(H); bisection on the matrix-free rho(Q) at a few B as an independent check."""
    rng = seeding.numpy_rng(cfg.seed, "hessians")
    out: dict[str, Any] = {"batches": np.arange(1, cfg.n + 1), "ranks": np.array(cfg.ranks)}
    for rank in cfg.ranks:
        h = _random_hessians(rng, cfg.n, cfg.d, rank)
        out[f"gd_r{rank}"] = 2.0 / float(np.linalg.eigvalsh(h.mean(0))[-1])
        bpts = np.unique(np.linspace(1, cfg.n - 1, cfg.bisect_points).astype(int))
        out["bisect_batches"] = bpts
        for s in SM.SAMPLINGS:
            out[f"eta_{s}_r{rank}"] = np.array([SM.eta_star(h, int(b), s) for b in range(1, cfg.n + 1)])
            out[f"bisect_{s}_r{rank}"] = np.array([SM.eta_star_bisect(h, int(b), s) for b in bpts])
    return out


@claim("stability.eta_star_monotone", paper=PAPER, expected="holds", experiments=("stability.eta_star",),
       statement="The exact threshold eta*(B) is non-decreasing in B for all three samplings, equals 2 / lambda_1(H) "
                 "at B = n without replacement and with Bernoulli sampling, and agrees with bisection on rho(Q).")
def eta_star_monotone(ctx: Context) -> Verdict:
    r = ctx.result("stability.eta_star")
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
    tol = 1e-9
    return Verdict.boolean(
        worst_drop <= tol and worst_end <= tol and worst_bis <= 1e-8, predicted=0.0, measured=worst_drop,
        tolerance=tol,
        note=f"largest relative decrease {worst_drop:.1e}; |eta*(n) - 2/lambda_1| rel. {worst_end:.1e}; "
             f"bisection vs closed form rel. {worst_bis:.1e}")


@dataclass(frozen=True)
class WuMaEConfig:
    trials: int = 2000
    n_max: int = 8
    d_max: int = 3
    eta_fraction: float = 0.99
    seed: int = 0


def wu_ma_e_config(scale: str) -> WuMaEConfig:
    return by_scale(scale, smoke=WuMaEConfig(trials=400), default=WuMaEConfig(), full=WuMaEConfig(trials=20_000))


@experiment("stability.wu_ma_e", paper=PAPER, config=wu_ma_e_config, schema=1)
def wu_ma_e_instances(cfg: WuMaEConfig) -> dict[str, Any]:
    """Random instances in d = 1..d_max (with-replacement batches, Wu-Ma-E's), each at the mean-square stable step
    eta = eta_fraction * eta* (eq. 2): sharpness a = lambda_1(H), non-uniformity s = lambda_1(Sigma)^(1/2),
    Sigma = (1/n) sum_i H_i^2 - H^2, the ratios eta a / 2 and eta s / sqrt(B), and the exact rho(Q)."""
    rng = seeding.numpy_rng(cfg.seed, "hessians")
    keys = ("n", "d", "batch", "eta", "rho", "sharp_ratio", "nonuni_ratio")
    cols: dict[str, list[float]] = {k: [] for k in keys}
    for _ in range(cfg.trials):
        n, d = int(rng.integers(2, cfg.n_max + 1)), int(rng.integers(1, cfg.d_max + 1))
        h = _random_hessians(rng, n, d, int(rng.integers(1, d + 1)))
        b = int(rng.integers(1, n + 1))
        eta = cfg.eta_fraction * SM.eta_star(h, b, "with_replacement")
        w = SC.wu_ma_e(h, eta, b, "with_replacement")
        vals = (n, d, b, eta, SM.spectral_radius_dense(h, eta, b, "with_replacement"),
                eta * float(w["sharpness"]) / 2, eta * float(w["non_uniformity"]) / math.sqrt(b))
        for k, v in zip(keys, vals):
            cols[k].append(v)
    return {k: np.array(v) for k, v in cols.items()}


@claim("stability.wu_ma_e_necessary", paper=PAPER, expected="fails", experiments=("stability.wu_ma_e",),
       statement="Wu-Ma-E's conditions, read as necessary for mean-square stability in any dimension [verify their "
                 "exact statement]: every instance with rho(Q) < 1 (with-replacement batches) has sharpness "
                 "lambda_1(H) <= 2/eta and non-uniformity s <= sqrt(B)/eta. Expected to fail in d >= 2 for the "
                 "non-uniformity part (sharpness is necessary; in d = 1 both follow from rho(Q) <= 1).")
def wu_ma_e_necessary(ctx: Context) -> Verdict:
    r = ctx.result("stability.wu_ma_e")
    stable = r["rho"] < 1
    tol = 1e-12
    sharp = int(np.sum(stable & (r["sharp_ratio"] > 1 + tol)))
    nonuni = stable & (r["nonuni_ratio"] > 1 + tol)
    one_d = int(np.sum(nonuni & (r["d"] == 1)))
    worst = float(np.max(r["nonuni_ratio"][stable]))
    return Verdict.boolean(
        sharp == 0 and not nonuni.any(), predicted=1.0, measured=worst, tolerance=tol,
        note=f"{int(stable.sum())} stable instances (eta = 0.99 eta*): sharpness violated in {sharp}, non-uniformity "
             f"violated in {int(nonuni.sum())} (d = 1: {one_d}), max eta s / sqrt(B) = {worst:.4f}")


# ----------------------------------------------------------------------------------------------------------------
# experiment 5: networks trained to interpolation
# ----------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class NetConfig:
    n: int = 16
    d_in: int = 8
    width: int = 32
    etas: tuple[float, ...] = (0.2, 0.3, 0.4)
    batches: tuple[int, ...] = (1, 2, 4, 8)
    max_steps: int = 8000
    tol: float = 1e-9
    check_every: int = 100
    physical_batch: int = 16
    seed: int = 0
    device: str = "cpu"
    dtype: str = "float64"


def net_config(scale: str) -> NetConfig:
    return by_scale(scale, smoke=NetConfig(etas=(0.3,), batches=(2, 8), max_steps=6000),
                    default=NetConfig(),
                    full=NetConfig(n=512, d_in=16, width=256, etas=(0.02, 0.05, 0.1, 0.2, 0.4),
                                   batches=(4, 16, 64, 256), max_steps=200_000, physical_batch=128, device="cuda"))


def _mlp(d_in: int, width: int) -> nn.Module:
    return nn.Sequential(nn.Linear(d_in, width), nn.Tanh(), nn.Linear(width, width), nn.Tanh(), nn.Linear(width, 1))


def _half_mse(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """L = (1/n) sum_i (1/2)(f_i - y_i)^2, so H_i = g_i g_i^T at interpolation and lambda_1(H) = lambda_1(K) / n."""
    return 0.5 * torch.mean((out - y) ** 2)


def _residual_weighted(out: torch.Tensor, resid: torch.Tensor) -> torch.Tensor:
    """(1/n) sum_i r_i f_i with the residuals r held fixed: its Hessian is the non-Gauss-Newton part of H."""
    return torch.mean(resid.detach() * out)


@experiment("stability.nn", paper=PAPER, config=net_config, schema=1)
def nn_interpolation_runs(cfg: NetConfig) -> dict[str, Any]:
    """Tanh MLPs (two hidden layers) trained by SGD with Bernoulli batches (keep prob. B/n, normaliser 1/B) on n
    synthetic points (x ~ N(0, I), y from a random teacher MLP) until the half-MSE is below tol, one run per (eta, B),
    all runs batched in one tensor (torch.func.vmap). Diverged runs (non-finite or 1e6 x the initial loss) are
    reported as such. At each interpolating solution: lambda_1(H) by HVP-Lanczos, the NTK Gram K, sigma =
    lambda_1(|K|) / max K_ii, the Theorem 1 threshold, and rho(Q) of the linearisation (Bernoulli)."""
    dtype, dev = _DTYPES[cfg.dtype], torch.device(cfg.device)
    gd = seeding.torch_generator(cfg.seed, "data", cfg.device)
    x = torch.randn(cfg.n, cfg.d_in, generator=gd, device=dev, dtype=dtype)
    with torch.random.fork_rng(devices=[]):  # nn.Linear draws its init from the global generator: seed a fork of it
        torch.manual_seed(seeding.torch_seed(cfg.seed, "teacher"))
        teacher = _mlp(cfg.d_in, 8).to(device=dev, dtype=dtype)
        torch.manual_seed(seeding.torch_seed(cfg.seed, "init"))
        model = _mlp(cfg.d_in, cfg.width).to(device=dev, dtype=dtype)
    with torch.no_grad():
        y = teacher(x)
        y = (y - y.mean()) / y.std()
    theta0 = param_vector(model)
    grid = [(e, b) for e in cfg.etas for b in cfg.batches]
    runs = len(grid)
    eta = torch.tensor([e for e, _ in grid], device=dev, dtype=dtype)
    bsz = torch.tensor([b for _, b in grid], device=dev)
    theta = theta0.expand(runs, -1).clone()

    def weighted_loss(th: torch.Tensor, c: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        out = torch.func.functional_call(model, unflatten(model, th), (x,))
        return 0.5 * torch.sum(c[:, None] * (out - y) ** 2) / b

    def full_loss(th: torch.Tensor) -> torch.Tensor:
        return _half_mse(torch.func.functional_call(model, unflatten(model, th), (x,)), y)

    step_grad = torch.vmap(torch.func.grad(weighted_loss))
    losses = torch.vmap(full_loss)
    g_batch = seeding.torch_generator(cfg.seed, "batches", cfg.device)
    loss0 = float(full_loss(theta0))
    diverged = torch.zeros(runs, dtype=torch.bool, device=dev)
    done = torch.zeros(runs, dtype=torch.bool, device=dev)
    steps_taken = torch.full((runs,), cfg.max_steps, device=dev)
    for t in tqdm(range(cfg.max_steps), desc="stability.nn", disable=None, leave=False, mininterval=2):
        active = ~(diverged | done)
        if not bool(active.any()):
            break
        c = batch_weights(runs, cfg.n, bsz, "bernoulli", generator=g_batch, device=dev, dtype=dtype)
        grads = step_grad(theta, c, bsz.to(dtype))
        theta = theta - (eta * active.to(dtype))[:, None] * grads
        if (t + 1) % cfg.check_every == 0:
            cur = losses(theta)
            newly_div = active & (~torch.isfinite(cur) | (cur > 1e6 * loss0))
            newly_done = active & ~newly_div & (cur < cfg.tol)
            diverged |= newly_div
            done |= newly_done
            steps_taken[newly_div | newly_done] = t + 1
    final = losses(theta).detach()
    lam1, lam_k, sigma, thr, rho, nme = (np.full(runs, np.nan) for _ in range(6))
    for r in range(runs):
        if not bool(done[r]):
            continue
        th = theta[r].detach()
        op = HessianOperator(model, _half_mse, x, y, theta=th, batch_size=cfg.physical_batch)
        lam1[r] = op.top_eigenpairs(1, seed=seeding.torch_seed(cfg.seed, f"lanczos-{r}") % 2**32, tol=1e-10)[0][0]
        # ||H - J^T J / n||_2: the residual term (1/n) sum_i r_i hess f_i, which bounds |lambda_1(H) - lambda_1(K)/n|
        with torch.no_grad():
            resid = torch.func.functional_call(model, unflatten(model, th), (x,)) - y
        nme_op = HessianOperator(model, _residual_weighted, x, resid, theta=th, batch_size=cfg.physical_batch)
        nme[r] = abs(nme_op.top_eigenpairs(1, seed=0, tol=1e-6, which="LM")[0][0])
        k = ntk_gram(model, x, theta=th, batch_size=cfg.physical_batch).cpu().numpy()
        lam_k[r] = float(np.linalg.eigvalsh(k)[-1]) / cfg.n
        sigma[r] = SC.coherence_from_gram(k)
        thr[r] = SC.thm1_threshold(sigma[r], float(eta[r]), cfg.n, int(bsz[r]))
        jac = output_jacobian(model, x, theta=th, batch_size=cfg.physical_batch).cpu().numpy()
        _, sv, vt = np.linalg.svd(jac, full_matrices=False)
        reduced = jac @ vt[sv > 1e-12 * sv[0]].T   # the H_i = g_i g_i^T live in the row space of J
        rho[r] = SM.spectral_radius(factors=reduced, eta=float(eta[r]), batch=int(bsz[r]), sampling="bernoulli")
    return {"etas": eta.cpu().numpy(), "batches": bsz.cpu().numpy(), "converged": done.cpu().numpy(),
            "diverged": diverged.cpu().numpy(), "steps": steps_taken.cpu().numpy(), "final_loss": final.cpu().numpy(),
            "lambda1": lam1, "lambda1_ntk": lam_k, "nme_norm": nme, "sigma": sigma, "thm1_threshold": thr,
            "rho_linearised": rho, "n": cfg.n, "params": int(theta0.numel())}


@claim("stability.nn_interpolation", paper=PAPER, expected="holds", experiments=("stability.nn",),
       statement="MSE networks trained by SGD to interpolation at several (eta, B) satisfy the necessary condition "
                 "of Theorem 1: lambda_1(H) < (sigma / eta) (n/B - 1)^(-1/2), with lambda_1(H) from HVP-Lanczos "
                 "and sigma from the NTK; HVP-Lanczos and the NTK's lambda_1(K)/n differ by at most the norm of the "
                 "residual term ||(1/n) sum_i r_i hess f_i|| (Weyl).")
def nn_interpolation(ctx: Context) -> Verdict:
    r = ctx.result("stability.nn")
    ok = r["converged"].astype(bool)
    if not ok.any():
        return Verdict("inconclusive", note="no run reached interpolation")
    ratio = r["lambda1"][ok] / r["thm1_threshold"][ok]
    gap = np.abs(r["lambda1"][ok] - r["lambda1_ntk"][ok])
    weyl = bool(np.all(gap <= r["nme_norm"][ok] * (1 + 1e-3) + 1e-8 * r["lambda1"][ok]))
    agree = float(np.max(gap / r["lambda1"][ok]))
    worst = float(ratio.max())
    return Verdict.boolean(
        worst < 1 and weyl, predicted=1.0, measured=worst,
        note=f"{int(ok.sum())}/{len(ok)} runs interpolated, {int(r['diverged'].sum())} diverged; max lambda_1 / "
             f"threshold {worst:.3f}; max eta lambda_1 {float(np.max(r['etas'][ok] * r['lambda1'][ok])):.3f} (GD "
             f"limit 2); sigma in [{float(np.min(r['sigma'][ok])):.2f}, {float(np.max(r['sigma'][ok])):.2f}]; "
             f"Lanczos vs NTK rel. {agree:.1e} (Weyl bound holds: {weyl}); linearised rho(Q) max "
             f"{float(np.max(r['rho_linearised'][ok])):.4f}")


# ----------------------------------------------------------------------------------------------------------------
# figures
# ----------------------------------------------------------------------------------------------------------------
def _draw_map(ax: Any, r: Any, title: str) -> Any:
    bs, sg = r["batches"], r["sigmas"]
    im = ax.pcolormesh(bs, sg, r["frac_diverged"].T, shading="nearest", cmap="Greys", vmin=0, vmax=1)
    ax.contour(bs, sg, (r["rho"] - 1).T, levels=[0], colors=[style.PALETTE[1]], linewidths=1.5)
    ax.contour(bs, sg, (r["lyapunov"] - math.log(float(r["threshold"])) / (2 * int(r["steps"]))).T, levels=[0],
               colors=[style.PALETTE[0]], linewidths=1.5, linestyles="--")
    if str(r["sampling"]) == "bernoulli" and r["thm1_fires"].any() and not r["thm1_fires"].all():
        ax.contour(bs, sg, r["thm1_fires"].T, levels=[0.5], colors=[style.PALETTE[2]], linewidths=1.5,
                   linestyles=":")
    style.label(ax, "batch size $B$", r"coherence $\sigma$", title)
    return im


@figure("stability_divergence_map", paper=PAPER)
def fig_divergence_map(ctx: Context) -> Any:
    maps = _maps(ctx)
    fig, axes = style.subplots(1, 2, width=7.4, height=3.2)
    for ax, eta in zip(axes, (0.8, 0.5)):
        r = maps[("bernoulli", eta)]
        n = int(ctx.config("stability.divergence_map").n)
        im = _draw_map(ax, r, rf"Bernoulli, $\eta$ = {eta}, $n$ = {n}, $\lambda_1(H)$ = {float(r['lam']):g}")
    fig.colorbar(im, ax=axes, label="fraction of runs diverged")
    handles = [Line2D([], [], color=style.PALETTE[1], label=r"exact MS boundary $\rho(Q)=1$"),
               Line2D([], [], color=style.PALETTE[0], ls="--", label="almost-sure boundary (exact)"),
               Line2D([], [], color=style.PALETTE[2], ls=":", label="Theorem 1 condition")]
    fig.legend(handles=handles, loc="outside lower center", ncol=3)
    return fig


@figure("stability_boundary_samplings", paper=PAPER)
def fig_boundary_samplings(ctx: Context) -> Any:
    maps = _maps(ctx)
    fig, axes = style.subplots(1, 3, width=9.6, height=3.0)
    for ax, s in zip(axes, SM.SAMPLINGS):
        im = _draw_map(ax, maps[(s, 0.8)], rf"{SAMPLING_LABEL[s]}, $\eta$ = 0.8")
    fig.colorbar(im, ax=axes, label="fraction of runs diverged")
    return fig


@figure("stability_eta_star", paper=PAPER)
def fig_eta_star(ctx: Context) -> Any:
    r = ctx.result("stability.eta_star")
    ranks = list(r["ranks"])
    fig, axes = style.subplots(1, len(ranks), width=3.4 * len(ranks), height=2.8)
    for ax, rank in zip(np.atleast_1d(axes), ranks):
        for s in SM.SAMPLINGS:
            ax.plot(r["batches"], r[f"eta_{s}_r{rank}"], marker=".", label=SAMPLING_LABEL[s])
        ax.axhline(float(r[f"gd_r{rank}"]), color="k", lw=1, ls="--", label=r"$2/\lambda_1(H)$")
        style.label(ax, "batch size $B$", r"exact threshold $\eta^*$", f"random $H_i$ of rank {rank}")
    np.atleast_1d(axes)[0].legend()
    return fig


@figure("stability_nn", paper=PAPER)
def fig_nn(ctx: Context) -> Any:
    r = ctx.result("stability.nn")
    ok = r["converged"].astype(bool)
    fig, axes = style.subplots(1, 2, width=7.0, height=3.0)
    for b in np.unique(r["batches"]):
        m = ok & (r["batches"] == b)
        lab = f"$B$ = {b} ({int(m.sum())}/{int(np.sum(r['batches'] == b))} interpolated)"
        axes[0].scatter(r["thm1_threshold"][m], r["lambda1"][m], label=lab, s=18)
        axes[1].scatter(r["etas"][m], r["etas"][m] * r["lambda1"][m], label=lab, s=18)
    lim = [1.0, 10.0]
    if ok.any():
        lim = [float(np.nanmin(r["lambda1"][ok])) / 2, float(np.nanmax(r["thm1_threshold"][ok])) * 2]
    axes[0].plot(lim, lim, color="k", lw=1, ls="--", label="Theorem 1 boundary")
    axes[0].set_xscale("log")
    axes[0].set_yscale("log")
    style.label(axes[0], r"Theorem 1 threshold $(\sigma/\eta)(n/B-1)^{-1/2}$", r"$\lambda_1(H)$ (HVP-Lanczos)",
                f"MLPs at interpolation, n = {int(r['n'])}")
    axes[1].axhline(2.0, color="k", lw=1, ls="--", label="GD limit 2")
    axes[1].set_xscale("log")
    style.label(axes[1], r"step size $\eta$", r"$\eta\,\lambda_1(H)$", "sharpness at the solution")
    axes[0].legend()
    return fig
