"""stability experiments: frozen configs and pure functions of them (exact computations from theory.stability,
simulations from sims.stability). Nothing here trains or simulates by itself."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from sgdlab import by_scale, experiment, seeding
from sims.nets.hessian import output_jacobian, param_vector
from sims.runs import parse_device, parse_dtype
from sims.stability import interpolation as NN
from sims.stability.linear_sgd import simulate_linear_sgd
from theory.stability import coherence as SC
from theory.stability import moments as SM
from theory.stability.instances import mixed_rank_hessians, random_instance, random_psd_hessians

PAPER = "stability"


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
        n, d, rank, h = random_instance(rng, cfg.n_max, cfg.d_max)
        lhs, rhs = SC.key_inequality(h)
        for k, v in (("n", n), ("d", d), ("rank", rank), ("sigma", SC.coherence(h)), ("lhs", lhs), ("rhs", rhs)):
            cols[k].append(v)
    ident = [SC.coherence(np.repeat(np.eye(cfg.identity_dim)[None], m, axis=0)) for m in cfg.identity_ns]
    out: dict[str, Any] = {k: np.array(v) for k, v in cols.items()}
    out.update(identity_ns=np.array(cfg.identity_ns), identity_sigma=np.array(ident))
    return out


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
        n, d, rank, h = random_instance(rng, cfg.n_max, cfg.d_max)
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
    eta_alt: float = 0.5
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


@experiment("stability.divergence_map", paper=PAPER, config=map_config, schema=1)
def divergence_map(cfg: MapConfig) -> dict[str, Any]:
    """For every (B, sigma): the Theorem 2 instance (lambda_1(H) = lam, coherence sigma, d = n - sigma + 1);
    exact rho(Q) (diagonal formula) and its matrix-free value at a few points; the exact almost-sure exponent;
    the Theorem 1 condition; the fraction of `repeats` linearised-SGD runs (w_0 ~ U[0,1]^d, batches drawn with
    `sampling`) with ||w_T||^2 >= threshold ||w_0||^2 after T = steps (``frac_diverged``) and at some t <= T
    (first passage, ``frac_diverged_first``: the criterion of the public code for the paper's map); and the one-step
    mean-square growth
    E||w_1||^2 measured on `ms_runs` runs started at the critical coordinate e_k (k = argmax_k f_k), whose exact
    value is rho(Q)."""
    dtype, dev = parse_dtype(cfg.dtype), parse_device(cfg.device)
    bs, sigmas = cfg.batches(), cfg.sigmas()
    shape = (len(bs), len(sigmas))
    frac, rho, lyap, fires = np.zeros(shape), np.zeros(shape), np.zeros(shape), np.zeros(shape)
    frac_first = np.zeros(shape)
    ms_hat, ms_se = np.zeros(shape), np.zeros(shape)
    g_batch = seeding.torch_generator(cfg.seed, f"batches-{cfg.sampling}-{cfg.eta}", dev)
    g_init = seeding.torch_generator(cfg.seed, f"init-{cfg.sampling}-{cfg.eta}", dev)
    g_ms = seeding.torch_generator(cfg.seed, f"ms-{cfg.sampling}-{cfg.eta}", dev)
    bvec = torch.tensor(np.repeat(bs, cfg.repeats), device=dev)
    bms = torch.tensor(np.repeat(bs, cfg.ms_runs), device=dev)
    for j, sig in enumerate(tqdm(sigmas, desc=f"map {cfg.sampling} eta={cfg.eta}", disable=None, leave=False)):
        g = SC.thm2_construction(cfg.n, int(sig), cfg.lam)
        sig_meas = SC.coherence_from_factors(g)
        kstar = np.zeros(len(bs), dtype=np.int64)
        for i, b in enumerate(bs):
            f = SM.diagonal_growth_factors(g**2, cfg.eta, int(b), cfg.sampling)
            rho[i, j], kstar[i] = float(f.max()), int(np.argmax(f))
            lyap[i, j] = SC.thm2_lyapunov(cfg.n, int(b), int(sig), cfg.lam, cfg.eta, cfg.sampling)
            fires[i, j] = float(SC.thm1_fires(cfg.lam, sig_meas, cfg.eta, cfg.n, int(b)))
        gt = torch.tensor(g, device=dev, dtype=dtype)
        w0 = torch.rand(len(bvec), g.shape[1], generator=g_init, device=dev, dtype=dtype)
        res = simulate_linear_sgd(cfg.eta, bvec, cfg.sampling, cfg.steps, len(bvec), factors=gt, w0=w0,
                                  generator=g_batch)
        frac[:, j] = res.diverged(cfg.threshold).to(torch.float64).reshape(len(bs), cfg.repeats).mean(1).cpu().numpy()
        frac_first[:, j] = (res.diverged(cfg.threshold, first_passage=True).to(torch.float64)
                            .reshape(len(bs), cfg.repeats).mean(1).cpu().numpy())
        w0_ms = torch.zeros(len(bms), g.shape[1], device=dev, dtype=dtype)
        w0_ms[torch.arange(len(bms)), torch.tensor(np.repeat(kstar, cfg.ms_runs), device=dev)] = 1.0
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
    return {"batches": bs, "sigmas": sigmas, "frac_diverged": frac, "frac_diverged_first": frac_first, "rho": rho,
            "lyapunov": lyap,
            "thm1_fires": fires, "ms_hat": ms_hat, "ms_se": ms_se, "check_points": pts, "rho_matrix_free": rho_mf,
            "lambda_c_bernoulli": lam_c, "lam": cfg.lam, "eta": cfg.eta, "steps": cfg.steps,
            "threshold": cfg.threshold, "sampling": cfg.sampling}


# ----------------------------------------------------------------------------------------------------------------
# experiment 4: eta*(B), Wu-Ma-E
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
        h = random_psd_hessians(rng, cfg.n, cfg.d, rank)
        out[f"gd_r{rank}"] = 2.0 / float(np.linalg.eigvalsh(h.mean(0))[-1])
        bpts = np.unique(np.linspace(1, cfg.n - 1, cfg.bisect_points).astype(int))
        out["bisect_batches"] = bpts
        for s in SM.SAMPLINGS:
            out[f"eta_{s}_r{rank}"] = np.array([SM.eta_star(h, int(b), s) for b in range(1, cfg.n + 1)])
            out[f"bisect_{s}_r{rank}"] = np.array([SM.eta_star_bisect(h, int(b), s) for b in bpts])
    return out


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
        n, d, _, h = random_instance(rng, cfg.n_max, cfg.d_max)
        b = int(rng.integers(1, n + 1))
        eta = cfg.eta_fraction * SM.eta_star(h, b, "with_replacement")
        w = SC.wu_ma_e(h, eta, b, "with_replacement")
        vals = (n, d, b, eta, SM.spectral_radius_dense(h, eta, b, "with_replacement"),
                eta * float(w["sharpness"]) / 2, eta * float(w["non_uniformity"]) / math.sqrt(b))
        for k, v in zip(keys, vals):
            cols[k].append(v)
    return {k: np.array(v) for k, v in cols.items()}


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


def _net_problem(cfg: Any) -> tuple[torch.nn.Module, torch.Tensor, torch.Tensor, torch.device, torch.dtype]:
    """The data (teacher labels), the student MLP at its initialisation, device and dtype of a net config."""
    dtype, dev = parse_dtype(cfg.dtype), parse_device(cfg.device)
    gd = seeding.torch_generator(cfg.seed, "data", dev)
    x, y = NN.teacher_data(cfg.n, cfg.d_in, teacher_width=8, data_generator=gd,
                           teacher_seed=seeding.torch_seed(cfg.seed, "teacher"), device=dev, dtype=dtype)
    model = NN.tanh_mlp(cfg.d_in, cfg.width, seed=seeding.torch_seed(cfg.seed, "init"), device=dev, dtype=dtype)
    return model, x, y, dev, dtype


@experiment("stability.nn", paper=PAPER, config=net_config, schema=1)
def nn_interpolation_runs(cfg: NetConfig) -> dict[str, Any]:
    """Tanh MLPs (two hidden layers) trained by SGD with Bernoulli batches (keep prob. B/n, normaliser 1/B) on n
    synthetic points (x ~ N(0, I), y from a random teacher MLP) until the half-MSE is below tol, one run per (eta, B),
    all runs batched in one tensor (sims.stability.interpolation.sgd_runs). Diverged runs (non-finite or 1e6 x the
    initial loss) are reported as such. At each interpolating solution: lambda_1(H) by HVP-Lanczos, the NTK Gram K,
    sigma = lambda_1(|K|) / max K_ii, the Theorem 1 threshold, and rho(Q) of the linearisation (Bernoulli)."""
    model, x, y, dev, dtype = _net_problem(cfg)
    theta0 = param_vector(model)
    grid = [(e, b) for e in cfg.etas for b in cfg.batches]
    runs = len(grid)
    eta = torch.tensor([e for e, _ in grid], device=dev, dtype=dtype)
    bsz = torch.tensor([b for _, b in grid], device=dev)
    res = NN.sgd_runs(model, x, y, theta0.expand(runs, -1).clone(), eta, bsz, sampling="bernoulli",
                      max_steps=cfg.max_steps, generator=seeding.torch_generator(cfg.seed, "batches", dev),
                      check_every=cfg.check_every, tol=cfg.tol, desc="stability.nn")
    done = res.converged
    lam1, lam_k, sigma, thr, rho, nme = (np.full(runs, np.nan) for _ in range(6))
    for r in range(runs):
        if not bool(done[r]):
            continue
        geo = NN.solution_geometry(model, x, y, res.theta[r], physical_batch=cfg.physical_batch,
                                   lanczos_seed=seeding.torch_seed(cfg.seed, f"lanczos-{r}") % 2**32)
        lam1[r], lam_k[r], nme[r], sigma[r] = geo.lambda1, geo.lambda1_ntk, geo.nme_norm, geo.sigma
        thr[r] = SC.thm1_threshold(sigma[r], float(eta[r]), cfg.n, int(bsz[r]))
        rho[r] = SM.spectral_radius(factors=geo.factors, eta=float(eta[r]), batch=int(bsz[r]), sampling="bernoulli")
    return {"etas": eta.cpu().numpy(), "batches": bsz.cpu().numpy(), "converged": done.cpu().numpy(),
            "diverged": res.diverged.cpu().numpy(), "steps": res.steps.cpu().numpy(),
            "final_loss": res.final_loss.cpu().numpy(), "lambda1": lam1, "lambda1_ntk": lam_k, "nme_norm": nme,
            "sigma": sigma, "thm1_threshold": thr, "rho_linearised": rho, "n": cfg.n, "params": int(theta0.numel())}


@dataclass(frozen=True)
class ProbeConfig:
    """Step-size probes next to one interpolating minimum (the net problem of NetConfig), for several batch sizes."""

    n: int = 16
    d_in: int = 8
    width: int = 32
    train_eta: float = 0.5
    train_steps: int = 8000
    train_tol: float = 1e-12
    batches: tuple[int, ...] = (1, 2, 4, 8)
    ratios: tuple[float, ...] = (0.5, 0.8, 0.9, 1.1, 1.25, 1.5, 2.0, 3.0, 4.0)
    perturbations: int = 8
    radius: float = 1e-4
    steps: int = 2000
    threshold: float = 1000.0
    physical_batch: int = 16
    seed: int = 0
    device: str = "cpu"
    dtype: str = "float64"


def probe_config(scale: str) -> ProbeConfig:
    return by_scale(scale, smoke=ProbeConfig(batches=(2, 8), perturbations=4, steps=600, train_tol=1e-10,
                                             ratios=(0.5, 0.9, 1.1, 1.25, 2.0, 4.0)),
                    default=ProbeConfig(),
                    full=ProbeConfig(n=512, d_in=16, width=256, batches=(4, 16, 64, 256), perturbations=32,
                                     steps=20_000, physical_batch=128, train_steps=200_000, device="cuda"))


@experiment("stability.nn_probe", paper=PAPER, config=probe_config, schema=1)
def nn_probe(cfg: ProbeConfig) -> dict[str, Any]:
    """Train the net of ``stability.nn`` by full-batch GD (eta = train_eta) to an interpolating minimum theta*; there,
    for every batch size B compute the exact mean-square threshold eta*(B) of Bernoulli-batched SGD (linearisation,
    H_i = g_i g_i^T) and the step from which Theorem 1 fires, eta_1 = sigma / (lambda_1(H) (n/B - 1)^(1/2)). Then for
    every eta = ratio * eta*(B), restart SGD from ``perturbations`` points theta* + radius * u (u a random unit vector
    in the row space of the Jacobian) for ``steps`` steps (all (B, ratio, u) runs in one tensor), and record whether
    ||theta_t - theta*||^2 reaches ``threshold`` x its initial value (first passage) or the loss blows up: the net
    left the minimum. The same protocol on the linearised dynamics (same eta, same directions) gives the linear
    prediction. Arrays are (len(batches), len(ratios))."""
    model, x, y, dev, dtype = _net_problem(cfg)
    for b in cfg.batches:
        SM.check_batch(b, cfg.n - 1, name="batches")
    theta0 = param_vector(model)[None]
    one = torch.ones(1, device=dev, dtype=dtype)
    train = NN.sgd_runs(model, x, y, theta0, cfg.train_eta * one, torch.tensor([cfg.n], device=dev),
                        sampling="bernoulli", max_steps=cfg.train_steps,
                        generator=seeding.torch_generator(cfg.seed, "probe-train", dev), check_every=100,
                        tol=cfg.train_tol, desc="stability.nn_probe train")
    nb, k, r = len(cfg.batches), len(cfg.ratios), cfg.perturbations
    out: dict[str, Any] = {"ratios": np.array(cfg.ratios), "batches": np.array(cfg.batches), "n": cfg.n,
                           "trained": bool(train.converged[0]), "train_loss": float(train.final_loss[0])}
    if not bool(train.converged[0]):
        nan = np.full((nb, k), np.nan)
        out.update(eta_star=np.full(nb, np.nan), eta_thm1=np.full(nb, np.nan), lambda1=np.nan, sigma=np.nan,
                   etas=nan, rho=nan, escaped_net=nan, escaped_linear=nan)
        return out
    star = train.theta[0].detach()
    geo = NN.solution_geometry(model, x, y, star, physical_batch=cfg.physical_batch,
                               lanczos_seed=seeding.torch_seed(cfg.seed, "probe-lanczos") % 2**32)
    g = geo.factors
    e_star = np.array([NN.linearised_eta_star(g, b, "bernoulli") for b in cfg.batches])
    e_thm1 = np.array([geo.sigma / (geo.lambda1 * math.sqrt(cfg.n / b - 1.0)) for b in cfg.batches])
    etas = e_star[:, None] * np.array(cfg.ratios)[None, :]
    rho = np.array([[SM.spectral_radius(factors=g, eta=float(etas[i, j]), batch=b, sampling="bernoulli")
                     for j in range(k)] for i, b in enumerate(cfg.batches)])
    jac = output_jacobian(model, x, theta=star, batch_size=cfg.physical_batch).cpu().numpy()
    _, sv, vt = np.linalg.svd(jac, full_matrices=False)
    basis = torch.tensor(vt[sv > 1e-12 * sv[0]], device=dev, dtype=dtype)  # (rank, P), orthonormal rows
    z = torch.randn(r, basis.shape[0], generator=seeding.torch_generator(cfg.seed, "probe-directions", dev),
                    device=dev, dtype=dtype)
    z = z / z.norm(dim=1, keepdim=True)
    start = star[None] + cfg.radius * (z @ basis)                              # (r, P)
    eta_runs = torch.tensor(np.repeat(etas.reshape(-1), r), device=dev, dtype=dtype)
    bsz = torch.tensor(np.repeat(np.array(cfg.batches), k * r), device=dev)
    net = NN.sgd_runs(model, x, y, start.repeat(nb * k, 1), eta_runs, bsz, sampling="bernoulli",
                      max_steps=cfg.steps, generator=seeding.torch_generator(cfg.seed, "probe-batches", dev),
                      check_every=50, anchor=star, escape_ratio=cfg.threshold, desc="stability.nn_probe")
    escaped_net = net.diverged.to(torch.float64).reshape(nb, k, r).mean(2).cpu().numpy()
    lin_escaped = np.zeros((nb, k))
    gt = torch.tensor(g, device=dev, dtype=dtype)
    g_lin = seeding.torch_generator(cfg.seed, "probe-linear", dev)
    for i, b in enumerate(cfg.batches):
        for j in range(k):
            lin = simulate_linear_sgd(float(etas[i, j]), b, "bernoulli", cfg.steps, r, factors=gt, w0=z.clone(),
                                      generator=g_lin)
            lin_escaped[i, j] = float(lin.diverged(cfg.threshold, first_passage=True).to(torch.float64).mean())
    out.update(eta_star=e_star, eta_thm1=e_thm1, lambda1=geo.lambda1, sigma=geo.sigma, etas=etas, rho=rho,
               escaped_net=escaped_net, escaped_linear=lin_escaped)
    return out


# ----------------------------------------------------------------------------------------------------------------
# experiment 6: multi-step mean-square growth on non-diagonal, mixed-rank instances
# ----------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GrowthConfig:
    n: int = 8
    d: int = 4
    sampling: str = "bernoulli"
    batch: int = 2
    instances: int = 3
    eta_ratios: tuple[float, ...] = (0.95, 1.05)
    runs: int = 50_000
    times: tuple[int, ...] = (1, 2, 3, 4)
    seed: int = 0
    device: str = "cpu"
    dtype: str = "float64"


def growth_config(scale: str) -> GrowthConfig:
    return by_scale(scale, smoke=GrowthConfig(instances=2, runs=20_000), default=GrowthConfig(),
                    full=GrowthConfig(instances=10, runs=400_000, device="cuda"))


@experiment("stability.ms_growth", paper=PAPER, config=growth_config, schema=1)
def ms_growth(cfg: GrowthConfig) -> dict[str, Any]:
    """Random instances whose H_i mix ranks 1..d (no common eigenbasis), eta = ratio * eta*(B) for each ratio. Start
    w_0 ~ N(0, M_0) with M_0 the PSD top eigenmatrix of T (tr M_0 = 1), so that exactly E||w_t||^2 = rho(Q)^t.
    Simulate ``runs`` copies of linearised SGD (dense H_i, batches drawn with ``sampling``) and record the sample
    mean of ||w_t||^2 and its standard error at the given times, next to rho(Q)^t; also the exact E||w_t||^2 and the
    exact standard error sqrt(Var ||w_t||^2 / runs) by enumerating the batch law (theory: norm_moments). The horizon is
    kept short on purpose: ||w_t||^2 is a product of random factors whose law grows heavy-tailed with t; the sample
    se is then 2-6x below the exact one, and from t = 6 a single rare run can move the mean of 2e4 runs by 5-12 exact
    se."""
    dtype, dev = parse_dtype(cfg.dtype), parse_device(cfg.device)
    SM.check_sampling(cfg.sampling)
    rng = seeding.numpy_rng(cfg.seed, "instances")
    gen = seeding.torch_generator(cfg.seed, f"growth-{cfg.sampling}", dev)
    times = np.array(cfg.times)
    shape = (cfg.instances, len(cfg.eta_ratios), len(times))
    mean, se, exact = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    se_exact, exact_enum = np.zeros(shape), np.zeros(shape)
    rhos, etas = np.zeros(shape[:2]), np.zeros(shape[:2])
    for i in range(cfg.instances):
        h = mixed_rank_hessians(rng, cfg.n, cfg.d)
        e_star = SM.eta_star(h, cfg.batch, cfg.sampling)
        for j, ratio in enumerate(cfg.eta_ratios):
            eta = ratio * e_star
            rho, m0 = SM.top_eigenmatrix(h, eta, cfg.batch, cfg.sampling)
            lam, vec = np.linalg.eigh(m0)
            root = vec * np.sqrt(np.clip(lam, 0.0, None))                       # root @ root.T = M_0
            zt = torch.randn(cfg.runs, cfg.d, generator=gen, device=dev, dtype=dtype)
            w0 = zt @ torch.tensor(root.T, device=dev, dtype=dtype)
            res = simulate_linear_sgd(eta, cfg.batch, cfg.sampling, int(times.max()), cfg.runs,
                                      hessians=torch.tensor(h, device=dev, dtype=dtype), w0=w0, generator=gen,
                                      record_every=1)
            sq0 = (w0**2).sum(1)
            sq = (sq0[:, None] * torch.exp(res.log_sq_ratio[:, times - 1])).cpu().numpy()
            mean[i, j] = sq.mean(0)
            se[i, j] = sq.std(0, ddof=1) / math.sqrt(cfg.runs)
            exact[i, j] = rho ** times
            mom2, mom4 = SM.norm_moments(h, eta, cfg.batch, cfg.sampling, m0, times)
            se_exact[i, j] = np.sqrt(np.maximum(mom4 - mom2**2, 0.0) / cfg.runs)
            exact_enum[i, j] = mom2
            rhos[i, j], etas[i, j] = rho, eta
    return {"times": times, "ratios": np.array(cfg.eta_ratios), "mean_sq": mean, "se_sq": se, "exact_sq": exact,
            "se_exact": se_exact, "exact_enumerated": exact_enum,
            "rho": rhos, "eta": etas, "sampling": cfg.sampling}
