"""heavy_tail experiments: frozen configs (sizes per scale) and pure functions of them returning named arrays.

No algorithm here: samplers in sims.noise.stable, chains in sims.heavy_tails, closed forms in theory.heavy_tails.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch
from scipy import stats
from tqdm.auto import tqdm

from sgdlab import by_scale, experiment, seeding
from sims.heavy_tails.euler_chain import LeastSquares, PseudoHuberRidge, Quadratic, euler_chain
from sims.heavy_tails.gsz_sgd import gsz_online_sgd
from sims.heavy_tails.neighbour_data import neighbour_pools
from sims.heavy_tails.noisy_mlp import MLPShape, noisy_gd
from sims.noise.stable import rotational_stable, symmetric_stable
from sims.runs import parse_dtype
from theory.heavy_tails import gsz as GSZ
from theory.heavy_tails import levy_ou as HT
from theory.heavy_tails import stable as ST
from theory.heavy_tails import tail_estimators as TE
from theory.heavy_tails.ecf import stable_scale_from_ecf

PAPER = "heavy_tail"


def _cos_observable(t: float) -> Any:
    """Observable theta (K, R, 1) -> {"cos": cos(t theta)} (K, R) for the ECF at frequency t."""

    def obs(th: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"cos": torch.cos(t * th[..., 0])}

    return obs


def grid_sweep(ctx: Any, name: str, field: str, concat: dict[str, int]) -> dict[str, Any]:
    """Experiment ``name``'s grid along config ``field`` (a tuple) as a sweep of one-value points through
    ``ctx.sweep`` (independent configs: they can run on an executor), reassembled: the keys in ``concat`` are
    concatenated along the given axis, the others are taken from the first point. Each point draws from streams named
    after its own grid value, so the reassembled grid equals the whole-grid run."""
    cfg = ctx.config(name)
    values = getattr(cfg, field)
    pts = ctx.sweep(name, [replace(cfg, **{field: (v,)}) for v in values], desc=f"{name}: {field}")
    out = dict(pts[0])
    for key, axis in concat.items():
        out[key] = np.concatenate([np.atleast_1d(np.asarray(p[key])) for p in pts], axis=axis)
    return out


# experiment: the sampler against the characteristic function and scipy.stats.levy_stable
@dataclass(frozen=True)
class SamplerConfig:
    alphas: tuple[float, ...] = (0.5, 1.0, 1.2, 1.5, 1.8, 1.95, 2.0)
    ts: tuple[float, ...] = (0.1, 0.3, 1.0, 2.0, 4.0)
    n: int = 200_000
    d: int = 5
    n_ks: int = 1500
    seed: int = 0
    device: str = "cpu"


def sampler_config(scale: str) -> SamplerConfig:
    return by_scale(scale, smoke=SamplerConfig(n=50_000, n_ks=600, alphas=(0.5, 1.0, 1.5, 2.0)),
                    default=SamplerConfig(), full=SamplerConfig(n=10_000_000, n_ks=5000))


@experiment("heavy_tail.sampler", paper=PAPER, config=sampler_config, schema=1)
def sampler(cfg: SamplerConfig) -> dict[str, Any]:
    """Empirical characteristic functions (real parts) of the scalar CMS sampler and of the rotationally invariant
    sampler along a random unit direction, KS p-values against scipy.stats.levy_stable (beta = 0), tail survival."""
    g = seeding.torch_generator(cfg.seed, "noise", cfg.device)
    u = seeding.numpy_rng(cfg.seed, "probes").standard_normal(cfg.d)
    u /= np.linalg.norm(u)
    ts = np.asarray(cfg.ts)
    A = len(cfg.alphas)
    ecf_s, ecf_r, ks_p = np.zeros((A, ts.size)), np.zeros((A, ts.size)), np.zeros(A)
    xs_grid = np.logspace(0, 3, 25)
    surv = np.zeros((A, xs_grid.size))
    for i, a in enumerate(cfg.alphas):
        x = symmetric_stable((cfg.n,), a, generator=g, device=cfg.device).cpu().numpy()
        xr = rotational_stable((cfg.n, cfg.d), a, generator=g, device=cfg.device).cpu().numpy() @ u
        ecf_s[i] = np.cos(np.outer(ts, x)).mean(axis=1) if cfg.n <= 200_000 else [np.cos(t * x).mean() for t in ts]
        ecf_r[i] = [np.cos(t * xr).mean() for t in ts]
        ks_p[i] = stats.kstest(x[: cfg.n_ks], stats.levy_stable(a, 0.0).cdf).pvalue
        surv[i] = (np.abs(x)[None, :] > xs_grid[:, None]).mean(axis=1) if cfg.n <= 200_000 else [
            (np.abs(x) > s).mean() for s in xs_grid]
    return {"alphas": np.asarray(cfg.alphas), "ts": ts, "ecf_scalar": ecf_s, "ecf_rot": ecf_r, "ks_p": ks_p,
            "n": cfg.n, "surv_x": xs_grid, "surv": surv}


# experiment: tail-index estimators
@dataclass(frozen=True)
class EstimatorConfig:
    alphas: tuple[float, ...] = (1.2, 1.5, 1.8)
    n: int = 100_000
    n_coords: int = 316  # pooled Gaussian coordinates for the trap (k1 = n_coords samples per coordinate)
    log10_scale_range: float = 3.0
    seed: int = 0
    device: str = "cpu"


def estimator_config(scale: str) -> EstimatorConfig:
    return by_scale(scale, smoke=EstimatorConfig(), default=EstimatorConfig(), full=EstimatorConfig(n=1_000_000))


@experiment("heavy_tail.estimators", paper=PAPER, config=estimator_config, schema=1)
def estimators(cfg: EstimatorConfig) -> dict[str, Any]:
    """Mohammadi and Hill estimates on clean symmetric alpha-stable samples, and Mohammadi's estimate on clean
    Gaussians and on Gaussian coordinates of log-spaced scales pooled together (the trap)."""
    g = seeding.torch_generator(cfg.seed, "noise", cfg.device)
    moh, hill, hill_se = [], [], []
    for a in cfg.alphas:
        x = symmetric_stable((cfg.n,), a, generator=g, device=cfg.device).cpu().numpy()
        moh.append(TE.mohammadi_tail_index(x))
        h, se = TE.hill_tail_index(x, max(100, cfg.n // 200))
        hill.append(h)
        hill_se.append(se)
    rng = seeding.numpy_rng(cfg.seed, "data")
    gauss = rng.standard_normal(cfg.n)
    m = cfg.n_coords
    scales = np.logspace(-cfg.log10_scale_range, cfg.log10_scale_range, m)
    pooled = (rng.standard_normal((m, m)) * scales[None, :]).ravel()  # row = one sample of all m coordinates
    return {"alphas": np.asarray(cfg.alphas), "mohammadi": np.asarray(moh), "hill": np.asarray(hill),
            "hill_se": np.asarray(hill_se), "gauss_clean": TE.mohammadi_tail_index(gauss),
            "gauss_pooled": TE.mohammadi_tail_index(pooled, k1=m)}


# experiment: Euler chain -> SDE (A = lam I, d = 1)
@dataclass(frozen=True)
class EulerConfig:
    alphas: tuple[float, ...] = (1.2, 1.5, 1.8)
    eta_lams: tuple[float, ...] = (0.8, 0.4, 0.1, 0.025)
    lam: float = 2.0
    sigma: float = 1.0
    runs: int = 4000
    relax: float = 30.0  # steps = relax / (eta lam); half of them burn-in
    seed: int = 0
    device: str = "cpu"
    dtype: str = "float64"


def euler_config(scale: str) -> EulerConfig:
    return by_scale(scale, smoke=EulerConfig(runs=1500, eta_lams=(0.8, 0.2, 0.05), relax=20.0), default=EulerConfig(),
                    full=EulerConfig(runs=200_000, eta_lams=(0.8, 0.4, 0.1, 0.025, 0.00625)))


def _scalar_quadratic(lam: float, dtype: torch.dtype, device: str) -> Quadratic:
    return Quadratic(torch.full((1, 1, 1), lam, dtype=dtype, device=device), torch.zeros(1, 1, dtype=dtype,
                                                                                       device=device))


@experiment("heavy_tail.euler_sde", paper=PAPER, config=euler_config, schema=1)
def euler_sde(cfg: EulerConfig) -> dict[str, Any]:
    """Stationary scale of the Euler chain on F = lam theta^2 / 2 for each (alpha, eta), measured by the empirical
    characteristic function at t = 1 / c_Euler (time average over the second half of each run, se across runs)."""
    dt = parse_dtype(cfg.dtype)
    q = _scalar_quadratic(cfg.lam, dt, cfg.device)
    A, E = len(cfg.alphas), len(cfg.eta_lams)
    out = {k: np.zeros((A, E)) for k in ("scale", "scale_se", "euler", "diverged")}
    for i, a in enumerate(tqdm(cfg.alphas, desc="euler_sde: alpha", disable=None, leave=False)):
        for j, h in enumerate(cfg.eta_lams):
            eta = h / cfg.lam
            c_e = HT.euler_stationary_scale(a, cfg.lam, cfg.sigma, eta)
            steps = int(math.ceil(cfg.relax / h))
            g = seeding.torch_generator(cfg.seed, f"noise-{a}-{h}", cfg.device)
            res = euler_chain(q.grad, torch.zeros(1, cfg.runs, 1, dtype=dt, device=cfg.device), alpha=a,
                              sigma=cfg.sigma, eta=eta, steps=steps, burn_in=steps // 2, generator=g,
                              observe=_cos_observable(1.0 / c_e))
            cm = res.means["cos"][0].cpu().numpy()
            e = stable_scale_from_ecf(cm, 1.0 / c_e, a)
            c, se = e.scale, e.se
            out["scale"][i, j], out["scale_se"][i, j], out["euler"][i, j] = c, se, c_e
            out["diverged"][i, j] = res.diverged_fraction
    sde = np.array([HT.sde_stationary_scale(a, cfg.lam, cfg.sigma) for a in cfg.alphas])
    return {"alphas": np.asarray(cfg.alphas), "eta": np.asarray(cfg.eta_lams) / cfg.lam, "sde": sde, **out}


# experiment: running means of the squared loss vs |.|^p
@dataclass(frozen=True)
class SqLossConfig:
    alphas: tuple[float, ...] = (1.2, 1.5, 2.0)
    lam: float = 1.0
    eta: float = 0.2
    sigma: float = 1.0
    p: float = 0.5
    runs: int = 2000
    log2_t: tuple[int, int] = (6, 14)  # checkpoints T = 2^6 .. 2^14
    fit_from: int = 8  # slope fitted on T >= 2^fit_from
    n_boot: int = 400
    seed: int = 0
    device: str = "cpu"
    dtype: str = "float64"


def sq_loss_config(scale: str) -> SqLossConfig:
    return by_scale(scale, smoke=SqLossConfig(runs=800, log2_t=(6, 12), fit_from=7, n_boot=200),
                    default=SqLossConfig(), full=SqLossConfig(runs=100_000, log2_t=(6, 18)))


@experiment("heavy_tail.sq_loss", paper=PAPER, config=sq_loss_config, schema=1)
def sq_loss(cfg: SqLossConfig) -> dict[str, Any]:
    """Running means (1/T) sum_{k<=T} of (theta_k - theta_hat)^2 and |theta_k - theta_hat|^p along stationary Euler
    chains (started from the exact stationary law), per run, at checkpoints T = 2^j."""
    dt = parse_dtype(cfg.dtype)
    q = _scalar_quadratic(cfg.lam, dt, cfg.device)
    Ts = 2 ** np.arange(cfg.log2_t[0], cfg.log2_t[1] + 1)
    A = len(cfg.alphas)
    sq, pw = np.zeros((A, Ts.size, cfg.runs)), np.zeros((A, Ts.size, cfg.runs))
    div = np.zeros(A)
    for i, a in enumerate(tqdm(cfg.alphas, desc="sq_loss: alpha", disable=None, leave=False)):
        c = HT.euler_stationary_scale(a, cfg.lam, cfg.sigma, cfg.eta)
        g = seeding.torch_generator(cfg.seed, f"noise-{a}", cfg.device)
        g0 = seeding.torch_generator(cfg.seed, f"init-{a}", cfg.device)
        th = c * symmetric_stable((1, cfg.runs, 1), a, generator=g0, device=cfg.device, dtype=dt)
        S = torch.zeros(cfg.runs, dtype=dt, device=cfg.device)
        P = torch.zeros_like(S)
        prev = 0
        for j, T in enumerate(Ts):
            res = euler_chain(q.grad, th, alpha=a, sigma=cfg.sigma, eta=cfg.eta, steps=int(T - prev), generator=g,
                              observe=lambda x: {"sq": x[..., 0] ** 2, "p": x[..., 0].abs() ** cfg.p})
            S += res.means["sq"][0] * (T - prev)
            P += res.means["p"][0] * (T - prev)
            th, prev = res.theta, int(T)
            sq[i, j], pw[i, j] = (S / float(T)).cpu().numpy(), (P / float(T)).cpu().numpy()
            div[i] = max(div[i], res.diverged_fraction)
            if res.diverged_fraction > 0:
                break
    scales = np.array([HT.euler_stationary_scale(a, cfg.lam, cfg.sigma, cfg.eta) for a in cfg.alphas])
    return {"alphas": np.asarray(cfg.alphas), "T": Ts, "sq": sq, "pw": pw, "diverged": div, "scale": scales,
            "p": cfg.p}


# experiment: non-monotone dependence on alpha (OU proxy)
@dataclass(frozen=True)
class NonMonotoneConfig:
    lams: tuple[float, ...] = (1.0, 100.0, 1000.0)
    alphas: tuple[float, ...] = (1.1, 1.15, 1.2, 1.25, 1.3, 1.35, 1.4, 1.5, 1.6, 1.75, 1.9, 2.0)
    eta_lam: float = 0.01
    sigma: float = 1.0
    runs: int = 2000
    burn_in: int = 800
    steps: int = 1600
    seed: int = 0
    device: str = "cpu"
    dtype: str = "float64"


def non_monotone_config(scale: str) -> NonMonotoneConfig:
    return by_scale(scale, smoke=NonMonotoneConfig(runs=600, burn_in=600, steps=1000,
                                                   alphas=(1.1, 1.2, 1.3, 1.4, 1.6, 1.8, 2.0)),
                    default=NonMonotoneConfig(), full=NonMonotoneConfig(runs=100_000, steps=5000, burn_in=1000))


@experiment("heavy_tail.non_monotone", paper=PAPER, config=non_monotone_config, schema=1)
def non_monotone(cfg: NonMonotoneConfig) -> dict[str, Any]:
    """E|theta_inf - theta_hat| of the Euler chain on F = lam theta^2/2 (eta lam fixed, small) over an alpha grid, for
    several curvatures lam: scale measured by the ECF at t = 1/c_Euler, E|.| = c m_1(alpha) (exact for a stable law)."""
    dt = parse_dtype(cfg.dtype)
    L, A = len(cfg.lams), len(cfg.alphas)
    out = {k: np.zeros((L, A)) for k in ("mean_abs", "mean_abs_se", "euler", "ou", "diverged")}
    for li, lam in enumerate(tqdm(cfg.lams, desc="non_monotone: lambda", disable=None, leave=False)):
        q = _scalar_quadratic(lam, dt, cfg.device)
        eta = cfg.eta_lam / lam
        for ai, a in enumerate(cfg.alphas):
            c_e = HT.euler_stationary_scale(a, lam, cfg.sigma, eta)
            g = seeding.torch_generator(cfg.seed, f"noise-{lam}-{a}", cfg.device)
            res = euler_chain(q.grad, torch.zeros(1, cfg.runs, 1, dtype=dt, device=cfg.device), alpha=a,
                              sigma=cfg.sigma, eta=eta, steps=cfg.steps, burn_in=cfg.burn_in, generator=g,
                              observe=_cos_observable(1.0 / c_e))
            e = stable_scale_from_ecf(res.means["cos"][0].cpu().numpy(), 1.0 / c_e, a)
            c, se = e.scale, e.se
            m1 = ST.abs_moment(1.0, a)
            out["mean_abs"][li, ai], out["mean_abs_se"][li, ai] = c * m1, se * m1
            out["euler"][li, ai] = HT.euler_abs_moment(1.0, a, lam, cfg.sigma, eta)
            out["ou"][li, ai] = HT.ou_abs_moment(1.0, a, lam, cfg.sigma)
            out["diverged"][li, ai] = res.diverged_fraction
    astar = np.array([HT.ou_optimal_alpha(lam)[0] for lam in cfg.lams])
    interior = np.array([HT.ou_optimal_alpha(lam)[1] for lam in cfg.lams])
    return {"lams": np.asarray(cfg.lams), "alphas": np.asarray(cfg.alphas), "alpha_star": astar,
            "interior": interior, **out}


# experiment: W1 between neighbouring datasets ~ 1/n (coupled chains)
@dataclass(frozen=True)
class W1Config:
    ns: tuple[int, ...] = (50, 100, 200, 400, 800, 1600)
    d: int = 3
    alpha: float = 1.5
    sigma: float = 1.0
    eta: float = 0.05
    noise_y: float = 0.5
    replicates: int = 16
    runs: int = 200
    steps: int = 2500
    burn_in: int = 500
    batch: int = 5  # minibatch variant (shared indices and noise); 0 skips it
    seed: int = 0
    device: str = "cpu"
    dtype: str = "float64"


def w1_config(scale: str) -> W1Config:
    return by_scale(scale, smoke=W1Config(ns=(50, 100, 200, 400), replicates=8, runs=100, steps=1200, burn_in=300),
                    default=W1Config(), full=W1Config(ns=(50, 100, 200, 400, 800, 1600, 3200, 6400), replicates=64,
                                                      runs=2000, steps=10_000, burn_in=1000))


@experiment("heavy_tail.w1", paper=PAPER, config=w1_config, schema=1)
def w1(cfg: W1Config) -> dict[str, Any]:
    """Synchronously coupled Euler chains on neighbouring least-squares datasets (the first n-1 points of a pool plus
    (a, y) or (a', y')), all (replicate, n, side) in one tensor with shared noise: E||theta - theta'|| (an upper bound
    on W1 of the stationary laws), E||theta'||, and the coupling bound."""
    dt = parse_dtype(cfg.dtype)
    J, N, d = cfg.replicates, len(cfg.ns), cfg.d
    pools = neighbour_pools(seeding.numpy_rng(cfg.seed, "data"), replicates=J, n_max=max(cfg.ns), d=d,
                            noise_y=cfg.noise_y)
    A = np.zeros((2, J, N, d, d))
    b = np.zeros((2, J, N, d))
    pts = np.stack([np.c_[pools.X[:, -1], pools.y[:, -1]], np.c_[pools.a2, pools.y2]], axis=1)  # (J, 2, d + 1)
    lam_min = np.zeros((J, N))
    for i, n in enumerate(cfg.ns):
        Xs, ys = pools.datasets(n)
        for side in range(2):
            for j in range(J):
                A[side, j, i], b[side, j, i] = HT.least_squares_quadratic(Xs[side * J + j], ys[side * J + j])
        lam_min[:, i] = np.linalg.eigvalsh(A[0, :, i])[:, 0]
    lam_max = max(float(np.linalg.eigvalsh(A[s, j, i])[-1]) for s in range(2) for j in range(J) for i in range(N))
    if not cfg.eta * lam_max <= 1.0:
        raise ValueError(f"eta * lambda_max(A) = {cfg.eta * lam_max:.3f} > 1: the coupling bound needs it <= 1")
    K = 2 * J * N
    q = Quadratic(torch.tensor(A.reshape(K, d, d), dtype=dt, device=cfg.device),
                  torch.tensor(b.reshape(K, d), dtype=dt, device=cfg.device))
    half = J * N

    def observe(th: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"x": torch.cat([torch.linalg.vector_norm(th[:half] - th[half:], dim=-1),
                                torch.linalg.vector_norm(th[half:], dim=-1)])}

    g = seeding.torch_generator(cfg.seed, "noise", cfg.device)
    res = euler_chain(q.grad, torch.zeros(K, cfg.runs, d, dtype=dt, device=cfg.device), alpha=cfg.alpha,
                      sigma=cfg.sigma, eta=cfg.eta, steps=cfg.steps, burn_in=cfg.burn_in, generator=g,
                      observe=observe, progress=None)
    x = res.means["x"].cpu().numpy()
    ok = res.ok.cpu().numpy()
    ok_pair = ok[:half] & ok[half:]
    delta = np.where(ok_pair, x[:half], np.nan).reshape(J, N, cfg.runs)
    norm2 = np.where(ok_pair, x[half:], np.nan).reshape(J, N, cfg.runs)
    D = np.nanmean(delta, axis=2)
    D_se = np.nanstd(delta, axis=2, ddof=1) / np.sqrt(np.sum(np.isfinite(delta), axis=2))
    M = np.nanmean(norm2, axis=2)
    bound = np.array([[HT.coupling_w1_bound(pts[j, 0, :d], pts[j, 0, d], pts[j, 1, :d], pts[j, 1, d], n,
                                            lam_min[j, i], M[j, i]) for i, n in enumerate(cfg.ns)]
                      for j in range(J)])
    # minibatch variant: theta <- theta - eta (1/B) sum_{i in I_k} grad f_i + noise, I_k ~ U{1..n}^B shared by the
    # two chains of a pair (they differ only when the replaced point is drawn); one call per n
    D_mb = np.full((J, N), np.nan)
    div_mb = 0.0
    if cfg.batch > 0:
        for i, n in enumerate(tqdm(cfg.ns, desc="w1 minibatch: n", disable=None, leave=False)):
            Xs, ys = pools.datasets(n)
            ls = LeastSquares(torch.tensor(Xs, dtype=dt, device=cfg.device),
                              torch.tensor(ys, dtype=dt, device=cfg.device))

            def obs_mb(th: torch.Tensor) -> dict[str, torch.Tensor]:
                dn = torch.linalg.vector_norm(th[:J] - th[J:], dim=-1)
                return {"x": torch.cat([dn, dn])}

            res_mb = euler_chain(ls.grad, torch.zeros(2 * J, cfg.runs, d, dtype=dt, device=cfg.device),
                                 alpha=cfg.alpha, sigma=cfg.sigma, eta=cfg.eta, steps=cfg.steps, burn_in=cfg.burn_in,
                                 generator=seeding.torch_generator(cfg.seed, "noise-minibatch", cfg.device),
                                 batch=(n, cfg.batch),
                                 batch_generator=seeding.torch_generator(cfg.seed, f"batches-{n}", cfg.device),
                                 observe=obs_mb)
            okp = (res_mb.ok[:J] & res_mb.ok[J:]).cpu().numpy()
            xm = res_mb.means["x"][:J].cpu().numpy()
            D_mb[:, i] = np.nanmean(np.where(okp, xm, np.nan), axis=1)
            div_mb = max(div_mb, res_mb.diverged_fraction)
    return {"ns": np.asarray(cfg.ns), "D": D, "D_se": D_se, "mean_norm": M, "bound": bound, "D_mb": D_mb,
            "diverged_mb": div_mb, "batch": cfg.batch,
            "diverged": res.diverged_fraction, "lam_min": lam_min}


# experiment: W1 ~ 1/n on a non-quadratic dissipative loss, for several alpha (a sweep over alpha)
@dataclass(frozen=True)
class W1RobustConfig:
    alphas: tuple[float, ...] = (1.2, 1.4, 1.6, 1.8, 2.0)
    ns: tuple[int, ...] = (25, 50, 100, 200)
    d: int = 3
    delta: float = 0.5  # pseudo-Huber transition: residuals well beyond it are common (noise_y, iterates' spread)
    mu: float = 0.2  # ridge term: mu-strong convexity
    sigma: float = 0.5
    eta: float = 0.05
    noise_y: float = 1.0
    replicates: int = 8
    runs: int = 32
    steps: int = 1000
    burn_in: int = 300
    seed: int = 0
    device: str = "cpu"
    dtype: str = "float64"


def w1_robust_config(scale: str) -> W1RobustConfig:
    return by_scale(scale, smoke=W1RobustConfig(alphas=(1.3, 1.7, 2.0), ns=(25, 50, 100), replicates=4, runs=16),
                    default=W1RobustConfig(),
                    full=W1RobustConfig(alphas=(1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8, 1.9, 2.0),
                                        ns=(25, 50, 100, 200, 400, 800, 1600), replicates=32, runs=1000, steps=5000,
                                        burn_in=1000))


@experiment("heavy_tail.w1_robust", paper=PAPER, config=w1_robust_config, schema=1)
def w1_robust(cfg: W1RobustConfig) -> dict[str, Any]:
    """Synchronously coupled Euler chains on neighbouring datasets (sims.heavy_tails.neighbour_data) with the
    pseudo-Huber + ridge loss (sims.heavy_tails.euler_chain.PseudoHuberRidge): D[a, j, i] = time and run average of
    ||theta - theta'|| (an upper bound on W1 of the stationary laws) for alpha a, replicate j, size n_i. The same data
    for every alpha; per (alpha, n) its own noise stream, so any sub-grid of alphas gives the same numbers (a sweep
    over alpha splits the grid into points)."""
    dt = parse_dtype(cfg.dtype)
    J, d = cfg.replicates, cfg.d
    pools = neighbour_pools(seeding.numpy_rng(cfg.seed, "data"), replicates=J, n_max=max(cfg.ns), d=d,
                            noise_y=cfg.noise_y)
    D = np.full((len(cfg.alphas), J, len(cfg.ns)), np.nan)
    div = np.zeros((len(cfg.alphas), len(cfg.ns)))
    for i, n in enumerate(cfg.ns):
        Xs, ys = pools.datasets(n)
        loss = PseudoHuberRidge(torch.tensor(Xs, dtype=dt, device=cfg.device),
                                torch.tensor(ys, dtype=dt, device=cfg.device), delta=cfg.delta, mu=cfg.mu)
        if not cfg.eta * loss.lipschitz() < 1.0:
            raise ValueError(f"eta * L = {cfg.eta * loss.lipschitz():.3f} >= 1 at n = {n}: choose a smaller eta")

        def observe(th: torch.Tensor) -> dict[str, torch.Tensor]:
            dn = torch.linalg.vector_norm(th[:J] - th[J:], dim=-1)
            return {"x": torch.cat([dn, dn])}

        for ai, a in enumerate(cfg.alphas):
            res = euler_chain(loss.grad, torch.zeros(2 * J, cfg.runs, d, dtype=dt, device=cfg.device), alpha=a,
                              sigma=cfg.sigma, eta=cfg.eta, steps=cfg.steps, burn_in=cfg.burn_in,
                              generator=seeding.torch_generator(cfg.seed, f"noise-{a}-{n}", cfg.device),
                              observe=observe)
            ok = (res.ok[:J] & res.ok[J:]).cpu().numpy()
            x = res.means["x"][:J].cpu().numpy()
            D[ai, :, i] = np.nanmean(np.where(ok, x, np.nan), axis=1)
            div[ai, i] = res.diverged_fraction
    return {"alphas": np.asarray(cfg.alphas), "ns": np.asarray(cfg.ns), "D": D, "diverged": div}


def w1_robust_sweep(ctx: Any) -> dict[str, Any]:
    """The w1_robust grid as a sweep over alpha."""
    return grid_sweep(ctx, "heavy_tail.w1_robust", "alphas", {"alphas": 0, "D": 0, "diverged": 0})


# experiment: Gurbuzbalaban-Simsekli-Zhu tail index of online SGD
@dataclass(frozen=True)
class GSZConfig:
    configs: tuple[tuple[int, float], ...] = ((1, 0.15), (1, 0.16), (1, 0.17), (2, 0.17))  # (b, eta)
    d: int = 10
    runs: int = 20_000
    relax: float = 15.0  # steps = relax / |E log ||M e_1|||: the tail needs many contraction times to fill in
    tail_frac: float = 0.01
    seed: int = 0
    device: str = "cpu"
    dtype: str = "float64"


def gsz_config(scale: str) -> GSZConfig:
    return by_scale(scale, smoke=GSZConfig(runs=5000, relax=12.0), default=GSZConfig(),
                    full=GSZConfig(runs=2_000_000, relax=40.0, tail_frac=0.002))


@experiment("heavy_tail.gsz", paper=PAPER, config=gsz_config, schema=1)
def gsz(cfg: GSZConfig) -> dict[str, Any]:
    """Hill estimates (k = tail_frac R largest ||x||, at least 100) of the tail index of online SGD's iterate after
    relax / |Lyapunov exponent| steps over R independent runs (x_0 = 0), and the root of the GSZ moment equation."""
    dt = parse_dtype(cfg.dtype)
    est, est_se, root, div, k_used, steps_used = [], [], [], [], [], []
    surv = []
    for b, eta in cfg.configs:
        g = seeding.torch_generator(cfg.seed, f"data-{b}-{eta}", cfg.device)
        lyap = GSZ.gsz_lyapunov(eta, b, cfg.d)
        if lyap >= 0:
            raise ValueError(f"(b, eta) = ({b}, {eta}) has Lyapunov exponent {lyap:.4g} >= 0: online SGD diverges")
        steps = int(math.ceil(cfg.relax / abs(lyap)))
        steps_used.append(steps)
        res = gsz_online_sgd(cfg.runs, cfg.d, b, eta, steps, generator=g, device=cfg.device, dtype=dt,
                             progress=None)
        nx = torch.linalg.vector_norm(res.x[~res.diverged], dim=1).cpu().numpy()
        k = max(100, int(cfg.tail_frac * nx.size))
        a, se = TE.hill_tail_index(nx, k)
        est.append(a)
        est_se.append(se)
        k_used.append(k)
        root.append(GSZ.gsz_tail_index(eta, b, cfg.d))
        div.append(res.diverged_fraction)
        srt = np.sort(nx)[::-1]
        surv.append(srt[np.unique(np.logspace(0, math.log10(srt.size), 40).astype(int)) - 1])
    return {"b": np.array([c[0] for c in cfg.configs]), "eta": np.array([c[1] for c in cfg.configs]),
            "hill": np.array(est), "hill_se": np.array(est_se), "root": np.array(root), "diverged": np.array(div),
            "k": np.array(k_used), "steps": np.array(steps_used), "surv_x": np.array(surv), "R": cfg.runs}


# experiment: small network with injected alpha-stable noise (non-convex)
@dataclass(frozen=True)
class NNConfig:
    alphas: tuple[float, ...] = (1.6, 1.7, 1.8, 1.9, 2.0)
    sigmas: tuple[float, ...] = (0.01, 0.03, 0.1)
    seeds: int = 8
    hidden: int = 32
    n_train: int = 256
    eta: float = 0.5
    steps: int = 1000
    avg_last: int = 100
    seed: int = 0
    device: str = "cpu"
    dtype: str = "float32"


def nn_config(scale: str) -> NNConfig:
    return by_scale(scale, smoke=NNConfig(alphas=(1.6, 2.0), sigmas=(0.1,), seeds=12, steps=800, avg_last=50),
                    default=NNConfig(),
                    full=NNConfig(alphas=(1.6, 1.65, 1.7, 1.75, 1.8, 1.85, 1.9, 1.95, 2.0),
                                  sigmas=tuple(float(s) for s in np.logspace(-2.5, -0.5, 6)), seeds=10, hidden=128,
                                  n_train=1000, steps=10_000))  # on a GPU: sgdlab run ... --device cuda


@experiment("heavy_tail.nn", paper=PAPER, config=nn_config, schema=1)
def nn(cfg: NNConfig) -> dict[str, Any]:
    """Full-batch GD with injected alpha-stable noise on a 64-hidden-10 tanh MLP on sklearn's load_digits (pixels / 16;
    n_train random training points, the rest as test set), every (alpha, sigma, seed) run in one tensor. Gap = test -
    train cross-entropy averaged over the last avg_last iterates."""
    from sklearn.datasets import load_digits

    dt = parse_dtype(cfg.dtype)
    X, y = load_digits(return_X_y=True)
    perm = seeding.numpy_rng(cfg.seed, "data").permutation(len(y))
    tr, te = perm[: cfg.n_train], perm[cfg.n_train:]
    to = lambda a, t: torch.tensor(a, dtype=t, device=cfg.device)
    Xtr, Xte = to(X[tr] / 16.0, dt), to(X[te] / 16.0, dt)
    ytr, yte = to(y[tr], torch.long), to(y[te], torch.long)
    shape = MLPShape((64, cfg.hidden, 10))
    grid = [(a, k) for a in cfg.alphas for k in range(cfg.seeds)]
    theta0 = torch.cat([shape.init(1, generator=seeding.torch_generator(cfg.seed + k, "init", cfg.device),
                                   device=cfg.device, dtype=dt) for _, k in grid])
    shp = (len(cfg.alphas), 1, cfg.seeds)
    outs: dict[str, list[np.ndarray]] = {k: [] for k in ("gap", "train_loss", "test_loss", "test_acc", "train_acc",
                                                         "diverged")}
    for s_ in cfg.sigmas:  # one noise stream per sigma: a sweep over sigma gives the same numbers
        res = noisy_gd(shape, theta0, Xtr, ytr, Xte, yte, alpha=tuple(a for a, _ in grid),
                       sigma=(float(s_),) * len(grid), eta=cfg.eta, steps=cfg.steps,
                       generator=seeding.torch_generator(cfg.seed, f"noise-sigma{s_}", cfg.device),
                       avg_last=cfg.avg_last, progress=None)
        for key, t in (("gap", res.gap), ("train_loss", res.train_loss), ("test_loss", res.test_loss),
                       ("test_acc", res.test_acc), ("train_acc", res.train_acc), ("diverged", res.diverged)):
            outs[key].append(t.detach().cpu().double().numpy().reshape(shp))
    f = {k: np.concatenate(v, axis=1) for k, v in outs.items()}
    return {"alphas": np.asarray(cfg.alphas), "sigmas": np.asarray(cfg.sigmas), **f}


# the grids as sweeps of independent points (what claims and figures read)
def euler_sde_sweep(ctx: Any) -> dict[str, Any]:
    return grid_sweep(ctx, "heavy_tail.euler_sde", "alphas",
                      {k: 0 for k in ("alphas", "sde", "scale", "scale_se", "euler", "diverged")})


def sq_loss_sweep(ctx: Any) -> dict[str, Any]:
    return grid_sweep(ctx, "heavy_tail.sq_loss", "alphas", {k: 0 for k in ("alphas", "sq", "pw", "diverged", "scale")})


def non_monotone_sweep(ctx: Any) -> dict[str, Any]:
    keys = ("lams", "alpha_star", "interior", "mean_abs", "mean_abs_se", "euler", "ou", "diverged")
    return grid_sweep(ctx, "heavy_tail.non_monotone", "lams", {k: 0 for k in keys})


def gsz_sweep(ctx: Any) -> dict[str, Any]:
    keys = ("b", "eta", "hill", "hill_se", "root", "diverged", "k", "steps", "surv_x")
    return grid_sweep(ctx, "heavy_tail.gsz", "configs", {k: 0 for k in keys})


def nn_sweep(ctx: Any) -> dict[str, Any]:
    keys = ("gap", "train_loss", "test_loss", "test_acc", "train_acc", "diverged")
    return grid_sweep(ctx, "heavy_tail.nn", "sigmas", {"sigmas": 0, **{k: 1 for k in keys}})
