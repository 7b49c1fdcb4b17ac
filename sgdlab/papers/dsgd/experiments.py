"""dsgd experiments: frozen configs (sizes per scale) and pure functions of them. The numerics live in
sims/distributed (the batched engine) and theory/distributed (every prediction); nothing here iterates an algorithm.

Grids are sweeps of point configs (``*_points(ctx)`` below build them from the config actually used): a config whose
tuple fields hold one value is one point; the experiment runs the product of its tuples, so a point is one run batch.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from sgdlab import Context, by_scale, experiment, seeding
from sims.distributed import graphs
from sims.distributed.dsgd import component_means, record_grid, run_dsgd
from sims.distributed.noise import IsotropicNoise, NoNoise, SubspaceNoise
from sims.distributed.objectives import ReLUNets, synthetic_regression
from sims.distributed.schedules import PowerSchedule
from sims.runs import parse_device, parse_dtype
from theory.distributed.consensus import (
    consensus_bias_gradient,
    consensus_error_prediction,
    disagreement,
    noise_floor_sq,
    pinv_tilt_norm,
)
from theory.distributed.escape import escape_time_law
from theory.distributed.flow import (
    average_flow,
    network_grad,
    penalized_rest_point,
    quartic_saddle_grad,
    quartic_saddle_hessian,
    tilted_quartic_critical_points,
)
from theory.distributed.steps import ode_time, power_schedule, step_size_regime, steps_for_ode_time

from .setting import PAPER, graph_laplacian, mask, np64, quartic_run, tilts


# ---------------------------------------------------------------------------------------------------------------
# consensus error vs the quasi-static prediction
@dataclass(frozen=True)
class ConsensusConfig:
    n_agents: int = 8
    graph: str = "ring"
    tilt_scale: float = 1.0
    c_a: float = 0.5
    tau_a: float = 1.0
    c_b: float = 0.3
    tau_b: float = 0.3
    sigma: float = 0.1
    steps: int = 100_000
    runs: int = 32
    k_min: int = 10_000
    seed: int = 0
    device: str = "cpu"
    dtype: str = "float64"


def consensus_config(scale: str) -> ConsensusConfig:
    return by_scale(scale, smoke=ConsensusConfig(steps=12_000, runs=8), default=ConsensusConfig(),
                    full=ConsensusConfig(steps=1_000_000, runs=1000))  # fmt: skip


@experiment("dsgd.consensus", paper=PAPER, config=consensus_config, schema=1)
def consensus(cfg: ConsensusConfig) -> dict[str, Any]:
    """Disagreement ||(I - J) X_k|| of D-SGD on the tilted quartic vs (alpha_k / beta_k) ||(L^+ kron I) c||."""
    if not 1 <= cfg.k_min <= cfg.steps:
        raise ValueError(f"k_min must be in [1, steps = {cfg.steps}], got {cfg.k_min}")
    lap = graph_laplacian(cfg.graph, cfg.n_agents, cfg.seed)
    c = tilts(cfg.n_agents, cfg.tilt_scale, None, cfg.seed)
    rec = sorted(set(record_grid(cfg.steps, 80)) | set(np.linspace(cfg.k_min, cfg.steps, 20).astype(int).tolist()))
    tr = quartic_run(lap, c, kink=0.0, x0=(0.5, 0.5), runs=cfg.runs, c_a=cfg.c_a, tau_a=cfg.tau_a, c_b=cfg.c_b,
                     tau_b=cfg.tau_b, steps=cfg.steps, noise=IsotropicNoise(cfg.sigma), seed=cfg.seed,
                     stream="noise", device=cfg.device, dtype=cfg.dtype, record=rec)  # fmt: skip
    k = np.maximum(np64(tr.steps), 1)
    alphas, betas = power_schedule(cfg.c_a, cfg.tau_a, k), power_schedule(cfg.c_b, cfg.tau_b, k, "beta")
    pred = consensus_error_prediction(alphas, betas, lap, c)
    pred[np64(tr.steps) == 0] = np.nan
    return {"steps": np64(tr.steps), "disagreement": np64(tr.disagreement), "prediction": pred,
            "diverged": mask(tr.diverged), "lambda2": graphs.algebraic_connectivity(lap),
            "pinv_norm": pinv_tilt_norm(lap, c)}  # fmt: skip


# the same measurement across graphs (effect of lambda_2): one point per graph
@dataclass(frozen=True)
class GraphsConfig:
    n_agents: int = 16
    graphs: tuple[str, ...] = ("ring", "grid", "erdos_renyi", "complete")
    tilt_scale: float = 1.0
    c_a: float = 0.5
    tau_a: float = 1.0
    c_b_lambda_max: float = 1.0  # c_b = c_b_lambda_max / lambda_max(L): the same consensus-step margin on every graph
    tau_b: float = 0.3
    sigma: float = 0.1
    steps: int = 30_000
    runs: int = 16
    seed: int = 0
    device: str = "cpu"
    dtype: str = "float64"


def graphs_config(scale: str) -> GraphsConfig:
    return by_scale(scale, smoke=GraphsConfig(steps=10_000, runs=4), default=GraphsConfig(),
                    full=GraphsConfig(n_agents=64, steps=1_000_000, runs=256))  # fmt: skip


@experiment("dsgd.graphs", paper=PAPER, config=graphs_config, schema=2)
def graphs_sweep(cfg: GraphsConfig) -> dict[str, Any]:
    """Final-window disagreement on each graph of ``cfg.graphs``, with lambda_2, lambda_max and the prediction (P)."""
    c = tilts(cfg.n_agents, cfg.tilt_scale, None, cfg.seed)
    lam2, lmax, pred, meas, se, final, div = [], [], [], [], [], [], []
    k_win = np.linspace(cfg.steps // 2, cfg.steps, 10).astype(int)
    for kind in cfg.graphs:
        lap = graph_laplacian(kind, cfg.n_agents, cfg.seed)
        ev = graphs.laplacian_spectrum(lap)
        c_b = cfg.c_b_lambda_max / ev[-1]
        tr = quartic_run(lap, c, kink=0.0, x0=(0.5, 0.5), runs=cfg.runs, c_a=cfg.c_a, tau_a=cfg.tau_a, c_b=c_b,
                         tau_b=cfg.tau_b, steps=cfg.steps, noise=IsotropicNoise(cfg.sigma), seed=cfg.seed,
                         stream=f"noise/{kind}", device=cfg.device, dtype=cfg.dtype,
                         record=k_win.tolist())  # fmt: skip
        p = consensus_error_prediction(power_schedule(cfg.c_a, cfg.tau_a, k_win), power_schedule(c_b, cfg.tau_b, k_win),
                                       lap, c)  # fmt: skip
        alive = ~np64(tr.diverged).astype(bool)
        ratio = (np64(tr.disagreement) / p[:, None]).mean(axis=0)[alive]  # per alive run, averaged over the window
        lam2.append(ev[1])
        lmax.append(ev[-1])
        pred.append(float(p[-1]))
        meas.append(float(ratio.mean()) if ratio.size else np.nan)
        final.append(float(np64(tr.disagreement[-1])[alive].mean()) if ratio.size else np.nan)
        se.append(float(ratio.std(ddof=1) / np.sqrt(ratio.size)) if ratio.size > 1 else np.nan)
        div.append(float(np64(tr.diverged).mean()))
    return {"lambda2": np.array(lam2), "lambda_max": np.array(lmax), "prediction_final": np.array(pred),
            "ratio": np.array(meas), "ratio_se": np.array(se), "measured_final": np.array(final),
            "graphs": np.array(list(cfg.graphs)), "diverged": np.array(div)}  # fmt: skip


def graphs_points(ctx: Context) -> list[GraphsConfig]:
    """One point config per graph of the config actually used."""
    base = ctx.config("dsgd.graphs")
    return [dataclasses.replace(base, graphs=(g,)) for g in base.graphs]


# ---------------------------------------------------------------------------------------------------------------
# saddle avoidance from the stable manifold, isotropic vs subspace noise
@dataclass(frozen=True)
class SaddleConfig:
    n_agents: int = 8
    tilt_scale: float = 1.0
    c_a: float = 1.0
    tau_a: float = 0.75
    c_b: float = 0.3
    tau_b: float = 0.2
    sigma: float = 0.5
    steps: int = 100_000
    runs: int = 100
    kink: float = 0.0
    start: tuple[float, float] = (0.0, 1.0)
    seed: int = 0
    device: str = "cpu"
    dtype: str = "float64"


def saddle_config(scale: str) -> SaddleConfig:
    return by_scale(scale, smoke=SaddleConfig(steps=20_000, runs=20), default=SaddleConfig(),
                    full=SaddleConfig(steps=1_000_000, runs=10_000))  # fmt: skip


def _saddle(cfg: SaddleConfig) -> dict[str, Any]:
    lap = graph_laplacian("ring", cfg.n_agents, cfg.seed)
    # tilts along x_2 only: the set {x_1 = 0 for every agent} is then invariant without x_1-noise (a stable manifold
    # of the whole network); tilts with an x_1 part push the average off it deterministically.
    c = tilts(cfg.n_agents, cfg.tilt_scale, (1,), cfg.seed)
    rec = record_grid(cfg.steps, 120)
    out: dict[str, Any] = {"steps": np.array(rec), "t": ode_time(cfg.c_a, cfg.tau_a, cfg.steps)[rec]}
    for name, noise in (("iso", IsotropicNoise(cfg.sigma)), ("sub", SubspaceNoise(cfg.sigma, ((0.0, 1.0),)))):
        tr = quartic_run(lap, c, kink=cfg.kink, x0=cfg.start, runs=cfg.runs, c_a=cfg.c_a, tau_a=cfg.tau_a,
                         c_b=cfg.c_b, tau_b=cfg.tau_b, steps=cfg.steps, noise=noise, seed=cfg.seed,
                         stream=f"noise/{name}", device=cfg.device, dtype=cfg.dtype, record=rec)  # fmt: skip
        mean = np64(tr.mean)
        out[f"{name}_x1"] = mean[:, :, 0]
        out[f"{name}_x2"] = mean[:, :, 1]
        out[f"{name}_final_disagreement"] = np64(tr.disagreement[-1])
        out[f"{name}_diverged"] = mask(tr.diverged)
    # control: tilts with an x_1 part and no noise at all (deterministic, one run): heterogeneity alone moves the
    # network off {x_1 = 0}, so "noise missing the unstable direction" only stays put when the tilts miss it too
    c_het = tilts(cfg.n_agents, cfg.tilt_scale, None, cfg.seed)
    tr = quartic_run(lap, c_het, kink=cfg.kink, x0=cfg.start, runs=1, c_a=cfg.c_a, tau_a=cfg.tau_a, c_b=cfg.c_b,
                     tau_b=cfg.tau_b, steps=cfg.steps, noise=NoNoise(), seed=cfg.seed, stream="none",
                     device=cfg.device, dtype=cfg.dtype, record=rec)  # fmt: skip
    out["het_x1"] = np64(tr.mean[:, 0, 0])
    return out


@experiment("dsgd.saddle", paper=PAPER, config=saddle_config, schema=1)
def saddle(cfg: SaddleConfig) -> dict[str, Any]:
    """Network averages of R runs started on the stable manifold (0, 1) of the saddle, for isotropic noise and for
    noise confined to x_2 (missing the unstable direction)."""
    return _saddle(cfg)


def kink_config(scale: str) -> SaddleConfig:
    return by_scale(scale, smoke=SaddleConfig(steps=20_000, runs=20, kink=0.5, start=(0.0, 2.0)),
                    default=SaddleConfig(kink=0.5, start=(0.0, 2.0)),
                    full=SaddleConfig(steps=1_000_000, runs=10_000, kink=0.5, start=(0.0, 2.0)))  # fmt: skip


@experiment("dsgd.kink", paper=PAPER, config=kink_config, schema=1)
def kink(cfg: SaddleConfig) -> dict[str, Any]:
    """As dsgd.saddle with a nonsmooth ridge w lam max(0, |x_2| - 1) crossed on the way (start (0, 2))."""
    return _saddle(cfg)


# escape time from the saddle against its law (theory/distributed/escape.py): one point per (graph, sigma, mu)
@dataclass(frozen=True)
class EscapeConfig:
    """The grid is a cross centred at the first entry of each tuple: sigma varies on (graphs[0], curvatures[0]),
    the curvature mu on (graphs[0], sigmas[0]), the graph on (sigmas[0], curvatures[0]); a point has one entry each.
    ``kink`` lam puts a ridge lam max(0, |x_1| - kink_at) / N on the escape route (the nonsmooth arms use
    ``arm_kink``)."""

    n_agents: int = 8
    graphs: tuple[str, ...] = ("ring", "grid", "complete", "star")
    sigmas: tuple[float, ...] = (0.03, 0.01, 0.1)
    curvatures: tuple[float, ...] = (1.0, 0.5, 2.0)
    kink: float = 0.0
    kink_at: float = 0.25
    arm_kink: float = 0.1
    start: tuple[float, float] = (0.0, 1.0)
    tilt_scale: float = 1.0
    c_a: float = 1.0
    tau_a: float = 0.6
    c_b_lambda_max: float = 1.0  # c_b = c_b_lambda_max / lambda_max(L) on every graph
    tau_b: float = 0.05
    level: float = 0.5
    runs: int = 200
    horizon_tail: float = 1e-4  # run until the predicted mass left is horizon_tail / runs (stops once all escaped)
    seed: int = 0
    device: str = "cpu"
    dtype: str = "float64"


def escape_config(scale: str) -> EscapeConfig:
    return by_scale(scale, smoke=EscapeConfig(graphs=("ring", "complete"), sigmas=(0.03, 0.3), curvatures=(1.0, 2.0),
                                              runs=100),
                    default=EscapeConfig(),
                    full=EscapeConfig(graphs=("ring", "grid", "complete", "star", "erdos_renyi"),
                                      sigmas=(0.03, 0.003, 0.01, 0.1), curvatures=(1.0, 0.5, 2.0, 4.0),
                                      runs=10_000))  # fmt: skip


@experiment("dsgd.escape_time", paper=PAPER, config=escape_config, schema=1)
def escape_time(cfg: EscapeConfig) -> dict[str, Any]:
    """For every (graph, sigma, mu) of the config's product: the ODE time T at which the network average first reaches
    |xbar_1| >= level from the stable manifold (tilts along x_2 only, isotropic noise), and its predicted law.

    Arrays have axes (graph, sigma, mu[, run]); censored runs (not escaped by the horizon) have T = NaN."""
    if not cfg.graphs or not cfg.sigmas or not cfg.curvatures:
        raise ValueError("graphs, sigmas and curvatures must each hold at least one value")
    c = tilts(cfg.n_agents, cfg.tilt_scale, (1,), cfg.seed)
    shape = (len(cfg.graphs), len(cfg.sigmas), len(cfg.curvatures))
    t_esc = np.full((*shape, cfg.runs), np.nan)
    out = {k: np.zeros(shape) for k in ("pred_mean", "pred_sd", "pred_median", "pred_mean_asym", "pred_sd_asym",
                                        "pred_slope", "steps", "steps_run", "diverged", "censored", "lambda2")}
    h = cfg.level
    for gi, kind in enumerate(cfg.graphs):
        lap = graph_laplacian(kind, cfg.n_agents, cfg.seed)
        ev = graphs.laplacian_spectrum(lap)
        for si, sigma in enumerate(cfg.sigmas):
            for mi, mu in enumerate(cfg.curvatures):
                law = escape_time_law(cfg.c_a, cfg.tau_a, mu, cfg.n_agents, sigma, h, kink=cfg.kink,
                                      kink_at=cfg.kink_at)
                surv = 1.0 - law.cdf
                steps = int(np.searchsorted(-surv, -cfg.horizon_tail / cfg.runs, side="left"))
                steps = min(max(steps, 1), law.t.size - 1)
                tr = quartic_run(lap, c, kink=0.0, kink1=cfg.kink, kink1_at=cfg.kink_at, x0=cfg.start, runs=cfg.runs,
                                 c_a=cfg.c_a, tau_a=cfg.tau_a, c_b=cfg.c_b_lambda_max / ev[-1], tau_b=cfg.tau_b,
                                 steps=steps, noise=IsotropicNoise(sigma), seed=cfg.seed,
                                 stream=f"escape/{kind}/{sigma!r}/{mu!r}/{cfg.kink!r}",
                                 device=cfg.device, dtype=cfg.dtype, record=[0], curvature=mu,
                                 hit=lambda x: x[..., 0].mean(dim=1).abs() >= h, stop_when_all_hit=True)  # fmt: skip
                k_hit = np64(tr.hit_at).astype(np.int64)
                idx = (gi, si, mi)
                t_esc[idx] = np.where(k_hit >= 0, ode_time(cfg.c_a, cfg.tau_a, steps)[np.maximum(k_hit, 0)], np.nan)
                out["censored"][idx] = float(np.mean((k_hit < 0) & ~np64(tr.diverged).astype(bool)))
                out["diverged"][idx] = float(np64(tr.diverged).mean())
                out["pred_mean"][idx], out["pred_sd"][idx] = law.mean, law.sd
                out["pred_median"][idx] = law.quantile(0.5)
                out["pred_mean_asym"][idx], out["pred_sd_asym"][idx] = law.mean_asymptotic, law.sd_asymptotic
                out["pred_slope"][idx] = law.slope_log_sigma
                out["steps"][idx], out["steps_run"][idx] = steps, tr.steps_run
                out["lambda2"][idx] = ev[1]
    return {"t_escape": t_esc, **out, "graphs": np.array(list(cfg.graphs)), "sigmas": np.array(cfg.sigmas),
            "curvatures": np.array(cfg.curvatures)}  # fmt: skip


def escape_points(ctx: Context, *, kinked: bool = False) -> dict[str, list[EscapeConfig]]:
    """The cross of point configs ("sigma", "curvature", "graph" arms; the centre is in each arm). ``kinked``: the
    sigma and graph arms on the objective with the ridge arm_kink max(0, |x_1| - kink_at) on the escape route."""
    base = ctx.config("dsgd.escape_time")
    if kinked:
        base = dataclasses.replace(base, kink=base.arm_kink)
    g0, s0, m0 = base.graphs[0], base.sigmas[0], base.curvatures[0]

    def pt(g: str, s: float, m: float) -> EscapeConfig:
        return dataclasses.replace(base, graphs=(g,), sigmas=(s,), curvatures=(m,))

    arms = {"sigma": [pt(g0, s, m0) for s in base.sigmas], "graph": [pt(g, s0, m0) for g in base.graphs]}
    if not kinked:
        arms["curvature"] = [pt(g0, s0, m) for m in base.curvatures]
    return arms


# ---------------------------------------------------------------------------------------------------------------
# outside the theorem (tau_b = tau_a)
@dataclass(frozen=True)
class ViolationConfig:
    n_agents: int = 8
    tilt_scale: float = 1.0
    c_a: float = 0.5
    tau_a: float = 0.75
    c_b: float = 0.3
    tau_b: float = 0.75
    control_tau_b: float = 0.2
    sigma: float = 0.1
    steps: int = 100_000
    runs: int = 32
    seed: int = 0
    device: str = "cpu"
    dtype: str = "float64"


def violation_config(scale: str) -> ViolationConfig:
    return by_scale(scale, smoke=ViolationConfig(steps=20_000, runs=8), default=ViolationConfig(),
                    full=ViolationConfig(steps=1_000_000, runs=1000))  # fmt: skip


@experiment("dsgd.violation", paper=PAPER, config=violation_config, schema=2)
def violation(cfg: ViolationConfig) -> dict[str, Any]:
    """D-SGD with tau_b = tau_a (outside the theorem) and a control inside it, both started at the minimum (1, 0);
    theory: the rest point of the penalised flow with ratio beta/alpha = c_b/c_a."""
    lap = graph_laplacian("ring", cfg.n_agents, cfg.seed)
    c = tilts(cfg.n_agents, cfg.tilt_scale, None, cfg.seed)
    w = 1.0 / cfg.n_agents
    out: dict[str, Any] = {}
    rec = record_grid(cfg.steps, 60)
    out["steps"] = np.array(rec)
    for name, tau_b in (("out", cfg.tau_b), ("in", cfg.control_tau_b)):
        tr = quartic_run(lap, c, kink=0.0, x0=(1.0, 0.0), runs=cfg.runs, c_a=cfg.c_a, tau_a=cfg.tau_a, c_b=cfg.c_b,
                         tau_b=tau_b, steps=cfg.steps, noise=IsotropicNoise(cfg.sigma), seed=cfg.seed,
                         stream=f"noise/{name}", device=cfg.device, dtype=cfg.dtype, record=rec)  # fmt: skip
        xbar = np64(tr.mean[-1])
        alive = ~np64(tr.diverged).astype(bool)
        g = np.full(cfg.runs, np.nan)
        g[alive] = np.linalg.norm(network_grad(xbar[alive], w, c), axis=-1)
        out[f"{name}_disagreement"] = np64(tr.disagreement)
        out[f"{name}_gradF"] = g
        out[f"{name}_diverged"] = mask(tr.diverged)
        # the floor of ||grad F(xbar_K)||^2 at a critical point: consensus bias + gradient noise (as for dsgd.relu)
        a_k, b_k = float(power_schedule(cfg.c_a, cfg.tau_a, cfg.steps)), float(power_schedule(cfg.c_b, tau_b,
                                                                                             cfg.steps))
        floor = np.full(cfg.runs, np.nan)
        alphas = power_schedule(cfg.c_a, cfg.tau_a, np.arange(1, cfg.steps + 1))
        for r in np.flatnonzero(alive):
            hess = np.broadcast_to(w * quartic_saddle_hessian(xbar[r]), (cfg.n_agents, 2, 2))
            grads = w * quartic_saddle_grad(np.broadcast_to(xbar[r], (cfg.n_agents, 2))) + c
            b = consensus_bias_gradient(lap, grads, hess, a_k, b_k)
            floor[r] = float(b @ b) + noise_floor_sq(alphas, cfg.sigma, cfg.n_agents,
                                                     np.linalg.eigvalsh(hess.sum(0)))
        out[f"{name}_floor_sq"] = floor
    rest = penalized_rest_point(lap, w, c, cfg.c_b / cfg.c_a, np.array([1.0, 0.0]))
    out["rest_disagreement"] = float(disagreement(rest))
    out["rest_gradF"] = float(np.linalg.norm(network_grad(rest.mean(0), w, c)))
    out["covered_out"] = float(step_size_regime(cfg.tau_a, cfg.tau_b).covered)
    out["covered_in"] = float(step_size_regime(cfg.tau_a, cfg.control_tau_b).covered)
    return out


# ---------------------------------------------------------------------------------------------------------------
# disconnected graph
@dataclass(frozen=True)
class DisconnectedConfig:
    sizes: tuple[int, ...] = (4, 4)
    tilt_scale: float = 1.0
    c_a: float = 1.0
    tau_a: float = 0.75
    c_b: float = 0.3
    tau_b: float = 0.2
    sigma: float = 0.1
    steps: int = 100_000
    runs: int = 32
    seed: int = 0
    device: str = "cpu"
    dtype: str = "float64"


def disconnected_config(scale: str) -> DisconnectedConfig:
    return by_scale(scale, smoke=DisconnectedConfig(steps=20_000, runs=8), default=DisconnectedConfig(),
                    full=DisconnectedConfig(steps=1_000_000, runs=1000))  # fmt: skip


@experiment("dsgd.disconnected", paper=PAPER, config=disconnected_config, schema=1)
def disconnected_run(cfg: DisconnectedConfig) -> dict[str, Any]:
    """Two rings without a link: each component's average vs the critical points of its partial sum F_C and of F."""
    lap = graphs.laplacian(graphs.disconnected(cfg.sizes))
    n = lap.shape[0]
    c = tilts(n, cfg.tilt_scale, None, cfg.seed)
    tr = quartic_run(lap, c, kink=0.0, x0=(0.0, 0.5), runs=cfg.runs, c_a=cfg.c_a, tau_a=cfg.tau_a, c_b=cfg.c_b,
                     tau_b=cfg.tau_b, steps=cfg.steps, noise=IsotropicNoise(cfg.sigma), seed=cfg.seed, stream="noise",
                     device=cfg.device, dtype=cfg.dtype, record=[0, cfg.steps], allow_disconnected=True)  # fmt: skip
    w = 1.0 / n
    global_pts = np.array([p for p, _ in tilted_quartic_critical_points(n * w, c.sum(0))])
    out: dict[str, Any] = {"diverged": mask(tr.diverged)}
    lap_t = graphs.to_torch(lap)
    for i, (comp, m) in enumerate(component_means(tr.final.cpu().to(torch.float64), lap_t)):
        xbar = np64(m)
        own = np.array([p for p, _ in tilted_quartic_critical_points(len(comp) * w, c[comp].sum(0))])
        out[f"c{i}_mean"] = xbar
        out[f"c{i}_dist_own"] = np.min(np.linalg.norm(xbar[:, None, :] - own[None], axis=-1), axis=1)
        out[f"c{i}_dist_global"] = np.min(np.linalg.norm(xbar[:, None, :] - global_pts[None], axis=-1), axis=1)
        out[f"c{i}_own_points"] = own
        out[f"c{i}_separation"] = float(np.min(np.linalg.norm(own[:, None] - global_pts[None], axis=-1)))
        out[f"c{i}_disagreement"] = disagreement(np64(tr.final[:, comp, :]))
    out["global_points"] = global_pts
    return out


# ---------------------------------------------------------------------------------------------------------------
# small ReLU networks per agent
@dataclass(frozen=True)
class ReluConfig:
    n_agents: int = 8
    n_in: int = 2
    hidden: int = 8
    samples: int = 32
    shift: float = 1.0
    c_a: float = 0.5
    tau_a: float = 0.75
    c_b: float = 0.3
    tau_b: float = 0.2
    sigma: float = 0.05
    steps: int = 30_000
    runs: int = 8
    floor_points: int = 4  # the last records at which grad F(xbar) is compared with its predicted floor
    seed: int = 0
    device: str = "cpu"
    dtype: str = "float64"


def relu_config(scale: str) -> ReluConfig:
    return by_scale(scale, smoke=ReluConfig(steps=6_000, runs=4), default=ReluConfig(),
                    full=ReluConfig(hidden=64, samples=512, steps=200_000, runs=256))  # fmt: skip


@experiment("dsgd.relu", paper=PAPER, config=relu_config, schema=2)
def relu(cfg: ReluConfig) -> dict[str, Any]:
    """D-SGD on agents' ReLU-net regression losses (nonsmooth): ||grad F(xbar)||, F(xbar) and the disagreement along
    the run; at the last ``floor_points`` records the predicted floor of ||grad F(xbar_k)||^2 at a critical point:
    the consensus bias ||b||^2 (theory.distributed.consensus.consensus_bias_gradient) plus the gradient-noise floor
    of the schedule (noise_floor_sq, exact for the average linearised with the Hessian H_F found at xbar_k), both
    from the agents' gradients and Hessians at the measured xbar_k."""
    dt, dev = parse_dtype(cfg.dtype), str(parse_device(cfg.device))
    z, y = synthetic_regression(cfg.n_agents, cfg.samples, cfg.n_in, cfg.hidden, shift=cfg.shift,
                                generator=seeding.torch_generator(cfg.seed, "data", dev), device=dev,
                                dtype=dt)  # fmt: skip
    nets = ReLUNets(z, y, cfg.hidden)
    lap = graph_laplacian("ring", cfg.n_agents, cfg.seed)
    g0 = seeding.torch_generator(cfg.seed, "init", dev)
    x0 = (torch.randn(cfg.runs, 1, nets.dim, generator=g0, device=dev, dtype=dt) * 0.5).expand(-1, cfg.n_agents, -1)
    rec = record_grid(cfg.steps, 30)
    tr = run_dsgd(nets, graphs.to_torch(lap, device=dev, dtype=dt), x0.contiguous(),
                  PowerSchedule(cfg.c_a, cfg.tau_a), PowerSchedule(cfg.c_b, cfg.tau_b, "beta"), cfg.steps,
                  IsotropicNoise(cfg.sigma), generator=seeding.torch_generator(cfg.seed, "noise", dev),
                  record=rec)  # fmt: skip
    alive = ~np64(tr.diverged).astype(bool)
    gnorm = np.stack([np64(torch.linalg.vector_norm(nets.network_grad(torch.nan_to_num(tr.mean[i])), dim=-1))
                      for i in range(len(rec))])  # fmt: skip
    loss = np.stack([np64(nets.losses(torch.nan_to_num(tr.mean[i])[:, None, :].expand(-1, cfg.n_agents, -1)
                                      .contiguous()).sum(1)) for i in range(len(rec))])  # fmt: skip
    gnorm[:, ~alive], loss[:, ~alive] = np.nan, np.nan
    fp = min(cfg.floor_points, len(rec) - 1)
    idx = list(range(len(rec) - fp, len(rec)))
    bias_sq = np.full((fp, cfg.runs), np.nan)
    noise_sq = np.full((fp, cfg.runs), np.nan)
    alphas = power_schedule(cfg.c_a, cfg.tau_a, np.arange(1, cfg.steps + 1))
    for j, i in enumerate(idx):
        k = rec[i]
        xb = torch.nan_to_num(tr.mean[i])
        grads, hess = np64(nets.agent_grads(xb)), np64(nets.agent_hessians(xb))
        a_k, b_k = float(power_schedule(cfg.c_a, cfg.tau_a, k)), float(power_schedule(cfg.c_b, cfg.tau_b, k))
        for r in np.flatnonzero(alive):
            b = consensus_bias_gradient(lap, grads[r], hess[r], a_k, b_k)
            bias_sq[j, r] = float(b @ b)
            noise_sq[j, r] = noise_floor_sq(alphas[:k], cfg.sigma, cfg.n_agents, np.linalg.eigvalsh(hess[r].sum(0)))
    return {"steps": np.array(rec), "grad_norm": gnorm, "loss": loss, "disagreement": np64(tr.disagreement),
            "diverged": mask(tr.diverged), "floor_steps": np.array([rec[i] for i in idx]),
            "floor_grad_sq": gnorm[idx] ** 2, "floor_bias_sq": bias_sq, "floor_noise_sq": noise_sq}  # fmt: skip


# ---------------------------------------------------------------------------------------------------------------
# the network average against the gradient flow in ODE time: one point per c_a
@dataclass(frozen=True)
class OdeConfig:
    n_agents: int = 8
    tilt_scale: float = 0.5
    c_as: tuple[float, ...] = (0.4, 0.1)
    tau_a: float = 0.6
    c_b: float = 0.3
    tau_b: float = 0.05
    sigma: float = 0.1
    horizon: float = 20.0
    start: tuple[float, float] = (0.2, 1.0)
    runs: int = 16
    seed: int = 0
    device: str = "cpu"
    dtype: str = "float64"


def ode_config(scale: str) -> OdeConfig:
    return by_scale(scale, smoke=OdeConfig(runs=32), default=OdeConfig(c_as=(0.4, 0.1, 0.05), runs=64),
                    full=OdeConfig(c_as=(0.4, 0.1, 0.025, 0.01), runs=256))  # fmt: skip


@experiment("dsgd.ode", paper=PAPER, config=ode_config, schema=2)
def ode(cfg: OdeConfig) -> dict[str, Any]:
    """Network averages vs the flow dx/dt = -(1/N) grad F(x) on [0, horizon] of ODE time, for the (one) c_a of a
    point config (``cfg.c_as`` of length 1; see :func:`ode_points`)."""
    if len(cfg.c_as) != 1:
        raise ValueError(f"a dsgd.ode point has one c_a (sweep with ode_points), got c_as={cfg.c_as}")
    lap = graph_laplacian("ring", cfg.n_agents, cfg.seed)
    c = tilts(cfg.n_agents, cfg.tilt_scale, None, cfg.seed)
    w = 1.0 / cfg.n_agents
    c_a = cfg.c_as[0]
    steps = steps_for_ode_time(c_a, cfg.tau_a, cfg.horizon)
    t_all = ode_time(c_a, cfg.tau_a, steps)
    rec = np.unique(np.searchsorted(t_all, np.linspace(0, cfg.horizon, 101)).clip(0, steps)).tolist()
    tr = quartic_run(lap, c, kink=0.0, x0=cfg.start, runs=cfg.runs, c_a=c_a, tau_a=cfg.tau_a, c_b=cfg.c_b,
                     tau_b=cfg.tau_b, steps=steps, noise=IsotropicNoise(cfg.sigma), seed=cfg.seed,
                     stream=f"noise/c_a={c_a!r}", device=cfg.device, dtype=cfg.dtype, record=rec)  # fmt: skip
    t = t_all[rec]
    flow = average_flow(lambda x: network_grad(x, w, c), np.array(cfg.start), t, cfg.n_agents)
    err = np.linalg.norm(np64(tr.mean) - flow[:, None, :], axis=-1)  # (T, R)
    return {"c_a": c_a, "t": t, "mean": np64(tr.mean), "flow": flow, "sup_err": err.max(axis=0), "steps": steps,
            "diverged": mask(tr.diverged)}  # fmt: skip


def ode_points(ctx: Context) -> list[OdeConfig]:
    """One point config per c_a of the config actually used (in its order: largest first)."""
    base = ctx.config("dsgd.ode")
    return [dataclasses.replace(base, c_as=(c,)) for c in base.c_as]
