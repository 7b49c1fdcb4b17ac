"""fedfix experiments: exact weights, surrogate optima reached by simulated training, stability and speed."""

from __future__ import annotations

from dataclasses import dataclass, fields
from fractions import Fraction
from typing import Any

import numpy as np

from sgdlab import by_scale, experiment
from sims.federated.float_trap import float_fedfix
from theory.federated.client_times import client_times
from theory.federated.schedule import build_schedule
from theory.federated.schemes import parse_scheme
from theory.federated.weights import (
    aggregation_weights,
    expected_weights,
    fedfix_periods,
    horizon_expected_weights,
    max_bias,
    stationary_rates,
    surrogate_weights,
)

from .setting import Setting, build, run_scheme, time_to_target

PAPER = "fedfix"


def _setting(cfg: Any) -> Setting:
    return Setting(**{f.name: getattr(cfg, f.name) for f in fields(Setting)})


def _f(xs: Any) -> np.ndarray:
    return np.array([float(x) for x in xs], dtype=np.float64)


# ---------------------------------------------------------------------------------------------------------------
# 1. exact weights (no training)
# ---------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class WeightsConfig:
    n_clients: int = 20
    slower_pct: int = 80
    schemes: tuple[str, ...] = ("FedAvg", "Async", "Async-identical", "FedFix-0.2", "FedFix-0.5", "FedFix-0.8",
                                "FedBuff-5", "FedBuff-10", "FedBuff-5-corrected")
    horizon: int = 5000  # the paper's T for M = 20 and 50
    extra_clients: tuple[int, ...] = (50, 100)  # corrected FedAvg / Async / FedFix also checked at these M
    float_dt: float = 0.2
    float_horizon: float = 5000.0


def weights_config(scale: str) -> WeightsConfig:
    return by_scale(scale, smoke=WeightsConfig(horizon=500, extra_clients=(100,)), default=WeightsConfig(),
                    full=WeightsConfig(horizon=20000))


@experiment("fedfix.weights", paper=PAPER, config=weights_config, schema=1)
def weights(cfg: WeightsConfig) -> dict[str, Any]:
    """For each scheme: weights ``d``, stationary rates ``r``, ``E[omega] = d r``, ``q``, whether ``E[omega] = p``
    exactly (rational arithmetic), ``max |q - p|``, and ``E[omega]`` over the enumerated schedule on ``[0, T]``.
    Also the float replay of the authors' FedFix-dt and the exact periods."""
    tau = client_times(cfg.n_clients, cfg.slower_pct)
    p = tuple(Fraction(1, cfg.n_clients) for _ in tau)
    out: dict[str, Any] = {"tau": _f(tau), "p": _f(p), "schemes": np.array(cfg.schemes)}
    for j, name in enumerate(cfg.schemes):
        sch = parse_scheme(name)
        d = aggregation_weights(sch, tau, p)
        e = expected_weights(sch, tau, p)
        q = surrogate_weights(sch, tau, p)
        s = build_schedule(sch, tau, cfg.horizon)
        h = horizon_expected_weights(d, s.counts().tolist(), s.n_steps)
        out.update({f"d_{j}": _f(d), f"rate_{j}": _f(stationary_rates(sch, tau)), f"ew_{j}": _f(e), f"q_{j}": _f(q),
                    f"exact_unbiased_{j}": e == p, f"max_bias_{j}": float(max_bias(q, p)),
                    f"ew_horizon_{j}": _f(h), f"horizon_dev_{j}": float(max_bias(h, e)),
                    f"n_steps_{j}": s.n_steps})
    extra = []
    for m in cfg.extra_clients:
        t = client_times(m, cfg.slower_pct)
        pm = tuple(Fraction(1, m) for _ in t)
        for name in ("FedAvg", "Async", "FedFix-0.2", "FedFix-0.5", "FedFix-0.8"):
            extra.append(expected_weights(parse_scheme(name), t, pm) == pm)
    out["extra_unbiased"] = np.array(extra, dtype=bool)
    ff = float_fedfix(cfg.n_clients, float(cfg.slower_pct), cfg.float_dt, cfg.float_horizon)
    out.update({"float_periods": ff.periods, "float_counts": ff.counts, "float_ratio": ff.ratio,
                "float_rounds": ff.n_rounds,
                "exact_periods": np.array(fedfix_periods(tau, Fraction(repr(cfg.float_dt))), dtype=np.int64)})
    return out


# ---------------------------------------------------------------------------------------------------------------
# 2. where the training goes: tail-averaged server model vs theta_q and theta_p
# ---------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SurrogateConfig(Setting):
    schemes: tuple[str, ...] = ("FedAvg", "Async", "Async-identical", "FedFix-0.2", "FedFix-0.5", "FedBuff-5",
                                "FedBuff-5-corrected")
    lr: float = 0.01
    horizon: float = 100.0
    n_runs: int = 16
    n_grid: int = 200
    init_norm: float = 0.0  # start at the federated optimum: what moves the model away is the bias (no transient)
    seed: int = 0
    device: str = "cpu"
    dtype: str = "float64"


def surrogate_config(scale: str) -> SurrogateConfig:
    return by_scale(scale, smoke=SurrogateConfig(horizon=40.0, n_runs=32, n_grid=80), default=SurrogateConfig(),
                    full=SurrogateConfig(n_clients=100, horizon=400.0, n_runs=64, device="cuda",
                                         # no periodic FedBuff regime is found quickly at M = 100: no corrected FedBuff
                                         schemes=("FedAvg", "Async", "Async-identical", "FedFix-0.2", "FedFix-0.5",
                                                  "FedBuff-5")))


def logistic_config(scale: str) -> SurrogateConfig:
    sch = ("FedAvg", "Async", "Async-identical", "FedFix-0.2", "FedBuff-5")
    return by_scale(scale, smoke=SurrogateConfig(kind="logistic", schemes=sch, lr=0.02, horizon=40.0, n_runs=32,
                                                 n_grid=80),
                    default=SurrogateConfig(kind="logistic", schemes=sch, lr=0.02),
                    full=SurrogateConfig(kind="logistic", schemes=sch, lr=0.02, horizon=400.0, n_runs=64,
                                         device="cuda"))


def _surrogate(cfg: SurrogateConfig) -> dict[str, Any]:
    st = _setting(cfg)
    b = build(st, cfg.device, cfg.dtype)
    lr_fp = cfg.lr if cfg.kind == "lsq" else None
    theta_p = b.optimum(b.p, lr_fp, cfg.local_steps)
    grid = np.linspace(0.0, cfg.horizon, cfg.n_grid + 1)
    out: dict[str, Any] = {"theta_p": theta_p, "theta_p_exact": b.optimum(b.p), "grid": grid,
                           "loss_p": float(b.federated_loss(b.optimum(b.p))),
                           "loss_0": float(b.federated_loss(b.theta0)), "schemes": np.array(cfg.schemes)}
    div = []
    for j, name in enumerate(cfg.schemes):
        s, r = run_scheme(st, b, name, lr=cfg.lr, horizon=cfg.horizon, n_runs=cfg.n_runs, seed=cfg.seed)
        th = r.theta.cpu().numpy()  # (N+1, R, d); row 0 = theta_0
        half = s.n_steps // 2
        tail = th[1 + half:].mean(0)  # average over the second half of the aggregations
        d = np.array([float(x) for x in aggregation_weights(parse_scheme(name), b.tau)])
        cnt = np.bincount(s.clients[s.offsets[half]:], minlength=st.n_clients)
        q_win = d * cnt / (d * cnt).sum()  # E[omega] over the averaging window, from the schedule
        q = _f(surrogate_weights(parse_scheme(name), b.tau))
        times = np.r_[0.0, s.step_times()]
        idx = np.searchsorted(times, grid, side="right") - 1  # model in force at each grid time
        loss = b.federated_loss(th[idx])  # (G, R)
        stale = s.staleness()
        div.append(r.diverged.cpu().numpy())
        out.update({f"q_{j}": q, f"q_window_{j}": q_win, f"theta_q_{j}": b.optimum(q_win, lr_fp, cfg.local_steps),
                    f"theta_q_exact_{j}": b.optimum(q), f"tail_{j}": tail, f"loss_{j}": loss,
                    f"tail_loss_{j}": b.federated_loss(tail), f"n_steps_{j}": s.n_steps,
                    f"loss_q_{j}": float(b.federated_loss(b.optimum(q_win, lr_fp, cfg.local_steps))),
                    f"staleness_hist_{j}": np.bincount(stale), f"seconds_{j}": r.seconds})
    out["diverged"] = np.concatenate(div)
    return out


@experiment("fedfix.surrogate", paper=PAPER, config=surrogate_config, schema=1)
def surrogate(cfg: SurrogateConfig) -> dict[str, Any]:
    """Least squares: every scheme trained for ``T`` simulated time units at one local lr; the server model averaged
    over the second half of the aggregations vs the optimum of ``sum_i q_i L_i`` (``q`` from the schedule's window;
    for K local steps the K-step fixed point) and the federated optimum; loss vs time; staleness histograms."""
    return _surrogate(cfg)


@experiment("fedfix.surrogate_logistic", paper=PAPER, config=logistic_config, schema=1)
def surrogate_logistic(cfg: SurrogateConfig) -> dict[str, Any]:
    """The same for logistic regression (optima by Newton's method, without the K-step drift correction)."""
    return _surrogate(cfg)


# ---------------------------------------------------------------------------------------------------------------
# 3. stability and speed over a grid of local learning rates
# ---------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StabilityConfig(Setting):
    schemes: tuple[str, ...] = ("FedAvg", "Async", "Async-identical", "FedFix-0.2", "FedFix-0.5", "FedBuff-5")
    lrs: tuple[float, ...] = (0.01, 0.02, 0.05, 0.1, 0.2, 0.4)
    horizon: float = 30.0
    n_runs: int = 8
    target_frac: float = 0.05  # target: excess federated loss <= target_frac x its initial value
    n_grid: int = 150  # time grid of the stored loss curves
    seed: int = 1
    device: str = "cpu"
    dtype: str = "float64"


def stability_config(scale: str) -> StabilityConfig:
    return by_scale(scale, smoke=StabilityConfig(horizon=15.0, n_runs=4, lrs=(0.01, 0.05, 0.2, 0.4)),
                    default=StabilityConfig(),
                    full=StabilityConfig(n_clients=100, horizon=60.0, n_runs=64, device="cuda",
                                         lrs=(0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.4, 0.8)))


@experiment("fedfix.stability", paper=PAPER, config=stability_config, schema=1)
def stability(cfg: StabilityConfig) -> dict[str, Any]:
    """For each scheme and local lr: the fraction of unstable runs (diverged, or federated loss at ``T`` above its
    initial value), each run's time to reach the target excess loss, and the final excess loss."""
    st = _setting(cfg)
    b = build(st, cfg.device, cfg.dtype)
    lp = float(b.federated_loss(b.optimum(b.p)))
    e0 = float(b.federated_loss(b.theta0)) - lp
    S, L = len(cfg.schemes), len(cfg.lrs)
    unstable = np.zeros((S, L))
    ttt = np.full((S, L, cfg.n_runs), np.inf)
    final = np.full((S, L, cfg.n_runs), np.nan)
    grid = np.linspace(0.0, cfg.horizon, cfg.n_grid + 1)
    curves = np.full((S, L, grid.size), np.nan)
    for j, name in enumerate(cfg.schemes):
        for k, lr in enumerate(cfg.lrs):
            s, r = run_scheme(st, b, name, lr=lr, horizon=cfg.horizon, n_runs=cfg.n_runs, seed=cfg.seed)
            th = r.theta.cpu().numpy()
            exc = b.federated_loss(th) - lp  # (N+1, R)
            times = np.r_[0.0, s.step_times()]
            bad = r.diverged.cpu().numpy() | ~np.isfinite(exc[-1]) | (exc[-1] > e0)
            unstable[j, k] = bad.mean()
            t = time_to_target(times, np.where(np.isfinite(exc), exc, np.inf), cfg.target_frac * e0, cfg.horizon)
            t[bad] = np.inf
            ttt[j, k] = t
            final[j, k] = exc[-1]
            idx = np.searchsorted(times, grid, side="right") - 1
            with np.errstate(invalid="ignore"):
                curves[j, k] = np.nanmean(np.where(np.isfinite(exc[idx]), exc[idx], np.nan), axis=1) \
                    if not bad.all() else np.nan
    return {"unstable": unstable, "time_to_target": ttt, "final_excess": final, "initial_excess": e0,
            "grid": grid, "curves": curves,
            "lrs": np.array(cfg.lrs), "schemes": np.array(cfg.schemes)}
