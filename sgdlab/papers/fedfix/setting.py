"""The fedfix problem shared by the experiments: F-X clients with heterogeneous least-squares (or logistic) data.

Exact quantities (times, schedules, weights, optima) come from ``theory.federated``; training from
``sims.federated``. This module only wires them together for a config.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import torch

from sgdlab import seeding
from sims.federated.engine import FedRun, run_federated
from sims.federated.problems import ClientProblem, client_losses, make_problem
from theory.federated.client_times import client_times
from theory.federated.logistic import weighted_logistic_optimum
from theory.federated.quadratic import least_squares_moments, local_steps_fixed_point, weighted_optimum
from theory.federated.schedule import Schedule, build_schedule
from theory.federated.schemes import parse_scheme
from theory.federated.weights import aggregation_weights

DTYPES = {"float64": torch.float64, "float32": torch.float32}


@dataclass(frozen=True)
class Setting:
    """M clients with F-X times (``tau_i = 1 - i (X/100)/(M-1)``), uniform importance ``p_i = 1/M``; client data
    from :func:`sims.federated.problems.make_problem`; K local SGD steps on mini-batches of B; server lr 1."""

    n_clients: int = 20
    slower_pct: int = 80
    kind: str = "lsq"
    dim: int = 10
    n_samples: int = 50
    drift: float = 1.0
    spread: float = 0.3
    noise: float = 0.5
    l2: float = 0.01
    local_steps: int = 5
    batch: int = 10
    init_norm: float = 2.0  # ||theta_0 - theta_p^*||, in a fixed random direction
    data_seed: int = 0


@dataclass
class Built:
    problem: ClientProblem
    tau: tuple[Fraction, ...]
    p: np.ndarray
    theta0: np.ndarray
    moments: tuple[np.ndarray, np.ndarray, np.ndarray] | None

    def optimum(self, w: Any, lr: float | None = None, local_steps: int = 1) -> np.ndarray:
        """Optimum of ``sum_i w_i L_i``; for least squares with ``lr``, the fixed point of ``local_steps`` local
        gradient steps (:func:`theory.federated.quadratic.local_steps_fixed_point`)."""
        if self.moments is not None:
            A, b, _ = self.moments
            if lr is None:
                return weighted_optimum(A, b, w)
            return local_steps_fixed_point(A, b, w, lr, local_steps)
        return weighted_logistic_optimum(self.problem.X.cpu().numpy(), self.problem.y.cpu().numpy(), w,
                                         self.problem.l2)

    def federated_loss(self, theta: np.ndarray | torch.Tensor) -> np.ndarray:
        """``L^p(theta) = sum_i p_i L_i(theta)`` (any leading axes; NaN stays NaN)."""
        X = self.problem.X
        th = torch.as_tensor(np.asarray(theta, dtype=np.float64), dtype=X.dtype, device=X.device)
        return (client_losses(self.problem, th).cpu().numpy() @ self.p).astype(np.float64)


def build(cfg: Setting, device: str = "cpu", dtype: str = "float64") -> Built:
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {tuple(DTYPES)}, got {dtype!r}")
    rng = seeding.numpy_rng(cfg.data_seed, "data")
    prob, _ = make_problem(cfg.kind, cfg.n_clients, cfg.n_samples, cfg.dim, rng, drift=cfg.drift,
                           spread=cfg.spread, noise=cfg.noise, l2=cfg.l2, device=device, dtype=DTYPES[dtype])
    v = seeding.numpy_rng(cfg.data_seed, "init").standard_normal(cfg.dim)
    moments = least_squares_moments(prob.X.cpu().numpy(), prob.y.cpu().numpy()) if cfg.kind == "lsq" else None
    p = np.full(cfg.n_clients, 1.0 / cfg.n_clients)
    b = Built(prob, client_times(cfg.n_clients, cfg.slower_pct), p, np.zeros(cfg.dim), moments)
    b.theta0 = b.optimum(p) + cfg.init_norm * v / np.linalg.norm(v)  # init_norm away from the federated optimum
    return b


def weights_float(name: str, tau: tuple[Fraction, ...]) -> np.ndarray:
    return np.array([float(x) for x in aggregation_weights(parse_scheme(name), tau)])


def run_scheme(cfg: Setting, b: Built, name: str, *, lr: float, horizon: float, n_runs: int, seed: int,
               record: str = "all") -> tuple[Schedule, FedRun]:
    """Run ``n_runs`` seeds of scheme ``name`` over ``[0, horizon]``; record every aggregation (``"all"``)."""
    s = build_schedule(parse_scheme(name), b.tau, horizon)
    rec = np.arange(-1, s.n_steps)
    X = b.problem.X
    th0 = torch.as_tensor(b.theta0, dtype=X.dtype, device=X.device).repeat(n_runs, 1)
    g = seeding.torch_generator(seed, f"batches-{name}-{lr}", X.device)
    r = run_federated(b.problem, s.offsets, s.clients, weights_float(name, b.tau), lr=lr,
                      local_steps=cfg.local_steps, batch=cfg.batch, theta0=th0, record_steps=rec, generator=g,
                      blowup=1e4 * max(1.0, cfg.init_norm))
    return s, r


def time_to_target(times: np.ndarray, excess: np.ndarray, target: float, horizon: float) -> np.ndarray:
    """First time each run's excess loss is <= ``target`` (``excess`` ``(S, R)`` on ``times`` ``(S,)``); runs that
    never reach it get ``inf``."""
    hit = excess <= target
    first = np.argmax(hit, axis=0)
    out = times[first].astype(np.float64)
    out[~hit.any(axis=0)] = np.inf
    return out
