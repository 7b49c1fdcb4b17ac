"""noise_regimes experiments: configs and the calls into sims (perceptron runs, network grids)."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from sgdlab import Context, by_scale, experiment, seeding
from sims.lazy_nets import train_grid
from sims.perceptron.depleted_sign import depleted_sign
from sims.perceptron.sgd import classification_error, event_driven
from sims.runs import parse_dtype

PAPER = "noise_regimes"
CHIS = (0.0, 1.0, 3.0)


# ----------------------------------------------------------------------------------------------------------------
# perceptron 1: exact T-scale invariance at vanishing margin
# ----------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class InvarianceConfig:
    p: int = 1024
    d: int = 16
    chi: float = 1.0
    batch_size: int = 2
    log2_temps: tuple[int, ...] = (-8, -4, 0, 4)
    n_runs: int = 16
    max_steps: int = 10**12
    seed: int = 0
    device: str = "cpu"
    dtype: str = "float64"


def invariance_config(scale: str) -> InvarianceConfig:
    return by_scale(scale, smoke=InvarianceConfig(p=256, n_runs=8), default=InvarianceConfig(),
                    full=InvarianceConfig(p=8192, n_runs=64))


@experiment("noise_regimes.perceptron_invariance", paper=PAPER, config=invariance_config, schema=1)
def perceptron_invariance(cfg: InvarianceConfig) -> dict[str, Any]:
    """Event-driven perceptron at alpha = inf for T = 2^k on the same data with the same batch stream:
    final w (T, run, d), steps, updates, convergence flags."""
    x, y = depleted_sign(cfg.n_runs, cfg.p, cfg.d, cfg.chi, generator=seeding.torch_generator(cfg.seed, "data"),
                         device=cfg.device, dtype=parse_dtype(cfg.dtype))
    out: dict[str, list[np.ndarray]] = {"w": [], "steps": [], "updates": [], "converged": []}
    for k in cfg.log2_temps:
        r = event_driven(x, y, temperature=2.0**k, batch_size=cfg.batch_size, alpha=math.inf,
                         max_steps=cfg.max_steps, generator=seeding.torch_generator(cfg.seed, "batches", cfg.device))
        out["w"].append(r.w.cpu().numpy())
        out["steps"].append(r.steps.cpu().numpy())
        out["updates"].append(r.updates.cpu().numpy())
        out["converged"].append(r.converged.cpu().numpy())
    res: dict[str, Any] = {k: np.stack(v) for k, v in out.items()}
    res["temps"] = 2.0 ** np.array(cfg.log2_temps, dtype=np.float64)
    return res


# ----------------------------------------------------------------------------------------------------------------
# perceptron 2: ||w_perp|| and w_1 against P, per chi
# ----------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ScalingConfig:
    chi: float = 1.0
    d_values: tuple[int, ...] = (16, 32)
    p_values: tuple[int, ...] = (256, 512, 1024, 2048, 4096)
    n_runs: int = 32
    batch_size: int = 2
    n_test: int = 2000
    max_steps: int = 10**11
    seed: int = 0
    device: str = "cpu"
    dtype: str = "float64"


def scaling_config(scale: str) -> ScalingConfig:
    return by_scale(scale, smoke=ScalingConfig(p_values=(256, 512, 1024, 2048), n_runs=32, n_test=500),
                    default=ScalingConfig(),
                    full=ScalingConfig(d_values=(16, 32, 64, 128), p_values=(1024, 2048, 4096, 8192, 16384),
                                       n_runs=64))


def scaling_configs(ctx: Context) -> dict[float, ScalingConfig]:
    """One configuration per chi: chi = 1 at the scale's sizes (two d's, for the w_perp claim), chi = 3 with one d,
    chi = 0 (many more steps: t* ~ P^2.4-3) with one d and P up to a quarter of the largest."""
    base = ctx.config("noise_regimes.perceptron_scaling")
    p0 = tuple(p for p in base.p_values if p <= max(base.p_values) // 4) or base.p_values[:2]
    return {1.0: base, 3.0: replace(base, chi=3.0, d_values=base.d_values[:1]),
            0.0: replace(base, chi=0.0, d_values=base.d_values[:1], p_values=(base.p_values[0] // 2, *p0))}


@experiment("noise_regimes.perceptron_scaling", paper=PAPER, config=scaling_config, schema=1)
def perceptron_scaling(cfg: ScalingConfig) -> dict[str, Any]:
    """Event-driven perceptron at vanishing margin, T = 1 (by the exact scale invariance every T gives w(T) = T w(1)).
    Per (d, P, run): w_1 / (T sqrt(d)), ||w_perp|| / (T sqrt(d)), steps, updates, censored, test error."""
    shape = (len(cfg.d_values), len(cfg.p_values), cfg.n_runs)
    w1, wp, steps, upd, cens, err = (np.zeros(shape) for _ in range(6))
    for i, d in enumerate(cfg.d_values):
        for j, p in enumerate(cfg.p_values):
            tag = f"d{d}/P{p}"
            gdata = seeding.torch_generator(cfg.seed, f"data/{tag}", cfg.device)
            x, y = depleted_sign(cfg.n_runs, p + cfg.n_test, d, cfg.chi, generator=gdata, device=cfg.device,
                                 dtype=parse_dtype(cfg.dtype))
            r = event_driven(x[:, :p], y[:, :p], temperature=1.0, batch_size=cfg.batch_size, alpha=math.inf,
                             max_steps=cfg.max_steps,
                             generator=seeding.torch_generator(cfg.seed, f"batches/{tag}", cfg.device))
            w = r.w.double().cpu().numpy()
            w1[i, j], wp[i, j] = w[:, 0] / math.sqrt(d), np.linalg.norm(w[:, 1:], axis=1) / math.sqrt(d)
            steps[i, j], upd[i, j] = r.steps.cpu().numpy(), r.updates.cpu().numpy()
            cens[i, j] = r.censored.cpu().numpy()
            err[i, j] = classification_error(r.w, x[:, p:], y[:, p:]).cpu().numpy()
    return {"w1": w1, "w_perp": wp, "steps": steps, "updates": upd, "censored": cens, "test_error": err,
            "d_values": np.array(cfg.d_values), "p_values": np.array(cfg.p_values), "chi": cfg.chi,
            "batch_size": cfg.batch_size}


def scaling_results(ctx: Context) -> dict[float, Any]:
    """The three chi sweeps (one sweep point per chi), keyed by chi."""
    cfgs = scaling_configs(ctx)
    res = ctx.sweep("noise_regimes.perceptron_scaling", list(cfgs.values()), desc="perceptron P sweeps")
    return dict(zip(cfgs.keys(), res))


# ----------------------------------------------------------------------------------------------------------------
# perceptron 3: finite margin kappa, the crossover T_c ~ kappa
# ----------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MarginConfig:
    chi: float = 1.0
    p: int = 256
    d: int = 16
    kappas: tuple[float, ...] = (0.01, 0.03, 0.1)
    log2_rel_temps: tuple[int, ...] = (-3, -2, -1, 0, 1, 2, 3, 4, 5, 6)
    n_runs: int = 32
    batch_size: int = 2
    max_steps: int = 10**11
    seed: int = 0
    device: str = "cpu"
    dtype: str = "float64"


def margin_config(scale: str) -> MarginConfig:
    return by_scale(scale, smoke=MarginConfig(p=128, n_runs=12), default=MarginConfig(),
                    full=MarginConfig(p=4096, kappas=(1e-3, 3e-3, 1e-2, 3e-2, 1e-1), n_runs=64,
                                      log2_rel_temps=tuple(range(-4, 9))))


@experiment("noise_regimes.perceptron_margin", paper=PAPER, config=margin_config, schema=1)
def perceptron_margin(cfg: MarginConfig) -> dict[str, Any]:
    """||w|| at the end of training for margin kappa = 1/alpha and T = kappa 2^k (kappa, T, run), same data for every
    kappa, an independent batch stream per kappa; plus ||w|| / T at kappa = 0 (the large-T limit)."""
    x, y = depleted_sign(cfg.n_runs, cfg.p, cfg.d, cfg.chi, generator=seeding.torch_generator(cfg.seed, "data"),
                         device=cfg.device, dtype=parse_dtype(cfg.dtype))
    nk, nt = len(cfg.kappas), len(cfg.log2_rel_temps)
    norm = np.zeros((nk, nt, cfg.n_runs))
    steps, cens = np.zeros_like(norm), np.zeros_like(norm)
    temps = np.zeros((nk, nt))
    for i, kappa in enumerate(cfg.kappas):
        for j, k in enumerate(cfg.log2_rel_temps):
            temps[i, j] = kappa * 2.0**k
            r = event_driven(x, y, temperature=float(temps[i, j]), batch_size=cfg.batch_size, alpha=1.0 / kappa,
                             max_steps=cfg.max_steps,
                             generator=seeding.torch_generator(cfg.seed, f"batches/k{i}/t{j}", cfg.device))
            norm[i, j] = r.w.norm(dim=1).cpu().numpy()
            steps[i, j] = r.steps.cpu().numpy()
            cens[i, j] = r.censored.cpu().numpy()
    r0 = event_driven(x, y, temperature=1.0, batch_size=cfg.batch_size, alpha=math.inf, max_steps=cfg.max_steps,
                      generator=seeding.torch_generator(cfg.seed, "batches/k0", cfg.device))
    return {"norm": norm, "steps": steps, "censored": cens, "temps": temps, "kappas": np.array(cfg.kappas),
            "norm_over_T_kappa0": r0.w.norm(dim=1).cpu().numpy(), "censored_kappa0": r0.censored.cpu().numpy()}


# ----------------------------------------------------------------------------------------------------------------
# networks: the lazy regime on MNIST parity (T sweep for several P) and the (alpha, T) phase diagram
# ----------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LazyConfig:
    source: str = "digits"
    p_values: tuple[int, ...] = (128, 256, 512)
    log2_alpha: int = 15
    log2_rel_temps: tuple[int, ...] = (-5, -3, -1, 1, 3, 5, 7, 9, 11)
    collapse_max_log2_rel: int = 7
    n_seeds: int = 4
    n_test: int = 600
    depth: int = 2
    h: int = 64
    act: str = "relu"
    batch_size: int = 16
    max_steps: int = 100_000
    seed: int = 0
    device: str = "cpu"
    dtype: str = "float64"


def lazy_config(scale: str) -> LazyConfig:
    return by_scale(scale, smoke=LazyConfig(p_values=(64, 128, 256), log2_rel_temps=(-3, -1, 1, 3, 5, 7, 9),
                                            n_seeds=3, n_test=400, h=32),
                    default=LazyConfig(p_values=(128, 256, 512, 1024), n_seeds=8),
                    full=LazyConfig(source="mnist", p_values=(512, 1024, 2048, 4096), n_test=900, depth=5, h=128,
                                    log2_rel_temps=tuple(range(-6, 16)), collapse_max_log2_rel=11, n_seeds=5,
                                    max_steps=10**7))


def _grid(cfg: Any, p: int, alphas: list[float], temps: list[float], tag: str,
          max_rel_change: float = math.inf) -> dict[str, np.ndarray]:
    """sims.lazy_nets.train_grid with the suite's seed streams: per seed one data split and one initialisation."""
    return train_grid(cfg.source, p, cfg.n_test, alphas, temps, depth=cfg.depth, h=cfg.h, act=cfg.act,
                      batch_size=cfg.batch_size, max_steps=cfg.max_steps,
                      data_rngs=[seeding.numpy_rng(cfg.seed + s, f"data/{tag}") for s in range(cfg.n_seeds)],
                      init_generators=[seeding.torch_generator(cfg.seed + s, f"init/{tag}", cfg.device)
                                       for s in range(cfg.n_seeds)],
                      generator=seeding.torch_generator(cfg.seed, f"batches/{tag}", cfg.device), device=cfg.device,
                      dtype=parse_dtype(cfg.dtype), max_rel_change=max_rel_change)  # fmt: skip


@experiment("noise_regimes.lazy", paper=PAPER, config=lazy_config, schema=1)
def lazy(cfg: LazyConfig) -> dict[str, Any]:
    """Lazy regime (alpha = 2^log2_alpha) on MNIST parity: for each P and T = 2^k / alpha, per seed: relative weight
    change ||w* - w_0|| / ||w_0||, t*, test error and status; arrays (P, T, seed)."""
    alpha = 2.0**cfg.log2_alpha
    temps = [2.0**k / alpha for k in cfg.log2_rel_temps]
    keys = ("steps", "t_star", "converged", "censored", "diverged", "rel_weight_change", "test_error")
    out: dict[str, Any] = {k: np.zeros((len(cfg.p_values), len(temps), cfg.n_seeds)) for k in keys}
    for i, p in enumerate(cfg.p_values):
        g = _grid(cfg, p, [alpha], temps, f"lazy/P{p}")
        for k in keys:
            out[k][i] = g[k].T
    out.update(temps=np.array(temps), p_values=np.array(cfg.p_values), alpha=alpha)
    return out


@dataclass(frozen=True)
class PhaseConfig:
    source: str = "digits"
    p: int = 256
    log2_alphas: tuple[int, ...] = (-4, -1, 2, 5, 8, 15)
    log2_temps: tuple[int, ...] = (-12, -9, -6, -4)
    n_seeds: int = 4
    n_test: int = 1500
    depth: int = 2
    h: int = 64
    act: str = "relu"
    batch_size: int = 16
    max_steps: int = 20_000
    max_rel_change: float = 10.0
    seed: int = 0
    device: str = "cpu"
    dtype: str = "float64"


def phase_config(scale: str) -> PhaseConfig:
    return by_scale(scale, smoke=PhaseConfig(p=128, log2_alphas=(-2, 2, 15), log2_temps=(-10, -6), n_seeds=6, h=32,
                                             n_test=1500),
                    default=PhaseConfig(n_seeds=12),
                    full=PhaseConfig(source="mnist", p=1024, log2_alphas=tuple(range(-14, 12, 2)), n_test=1000,
                                     log2_temps=tuple(range(-15, 1)), n_seeds=5, depth=5, h=128, act="gelu",
                                     max_steps=10**7))


@experiment("noise_regimes.phase", paper=PAPER, config=phase_config, schema=1)
def phase(cfg: PhaseConfig) -> dict[str, Any]:
    """The (alpha, T) plane at fixed P: per (alpha, T, seed) test error, relative weight change, t*, status. A run
    whose weights move by more than max_rel_change ||w_0|| is stopped as diverged (run-away at large T)."""
    alphas = [2.0**k for k in cfg.log2_alphas]
    temps = [2.0**k for k in cfg.log2_temps]
    g = _grid(cfg, cfg.p, alphas, temps, f"phase/P{cfg.p}", max_rel_change=cfg.max_rel_change)
    out: dict[str, Any] = {k: np.moveaxis(v.reshape(cfg.n_seeds, len(alphas), len(temps)), 0, -1)
                           for k, v in g.items()}
    out.update(alphas=np.array(alphas), temps=np.array(temps), p=cfg.p)
    return out
