"""Distributed SGD on a graph, batched over independent runs: one tensor X of shape (runs R, agents N, dim d).

D-SGD (Swenson, Murray, Poor, Kar, JMLR 2022, eq. of the algorithm in PAPERS.md), for k = 1, 2, ...
    x_n(k) = x_n(k-1) - beta_k sum_{l ~ n} (x_n(k-1) - x_l(k-1)) - alpha_k (g_n(x_n(k-1)) + xi_n(k)),
i.e. X_k = X_{k-1} - beta_k L X_{k-1} - alpha_k (G(X_{k-1}) + Xi_k), with alpha_k = c_a k^-tau_a, beta_k = c_b k^-tau_b.
Local objectives are batched callables ``grad(X) -> G`` (same shape as X): the tilted quartic saddle (smooth or with a
kink away from the saddle) and small ReLU networks per agent on synthetic data (torch.func.grad + vmap).
Noise models: isotropic, confined to a subspace, none. Everything takes ``device``/``dtype`` through its tensors and an
explicit ``torch.Generator``; no global state. Runs whose state stops being finite (or exceeds ``blowup``) are flagged
as diverged, frozen at zero and excluded by the summaries (their fraction is reported).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.func import grad, vmap
from tqdm.auto import tqdm

from sims.graphs import check_consensus_step, components, require_connected

GradFn = Callable[[torch.Tensor], torch.Tensor]


# ---------------------------------------------------------------------------------------------------------------
# step sizes
@dataclass(frozen=True)
class PowerSchedule:
    """Step size c k^-tau for k >= 1."""

    c: float
    tau: float
    name: str = "alpha"

    def __post_init__(self) -> None:
        if not (math.isfinite(self.c) and self.c > 0):
            raise ValueError(f"c_{self.name} must be a finite number > 0, got {self.c!r}")
        if not (math.isfinite(self.tau) and 0 <= self.tau <= 2):
            raise ValueError(f"tau_{self.name} must be in [0, 2], got {self.tau!r}")

    def __call__(self, k: int) -> float:
        """c k^-tau (k >= 1)."""
        return self.c * float(k) ** (-self.tau)


# ---------------------------------------------------------------------------------------------------------------
# noise models
class NoiseModel:
    """Martingale-difference noise xi_n(k) added to each agent's gradient; ``sample`` returns shape (R, N, d)."""

    def sample(self, shape: torch.Size, *, generator: torch.Generator, like: torch.Tensor) -> torch.Tensor | None:
        raise NotImplementedError


@dataclass(frozen=True)
class NoNoise(NoiseModel):
    """xi = 0 (deterministic distributed gradient descent)."""

    def sample(self, shape: torch.Size, *, generator: torch.Generator, like: torch.Tensor) -> torch.Tensor | None:
        return None


@dataclass(frozen=True)
class IsotropicNoise(NoiseModel):
    """xi ~ N(0, sigma^2 I_d) independent over runs, agents and steps: excites every direction."""

    sigma: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.sigma) and self.sigma >= 0):
            raise ValueError(f"sigma must be a finite number >= 0, got {self.sigma!r}")

    def sample(self, shape: torch.Size, *, generator: torch.Generator, like: torch.Tensor) -> torch.Tensor | None:
        z = torch.randn(shape, generator=generator, device=like.device, dtype=like.dtype)
        return z.mul_(self.sigma)


@dataclass(frozen=True)
class SubspaceNoise(NoiseModel):
    """xi = sigma B z, z ~ N(0, I_m): Gaussian noise confined to span(B) (B: d x m with orthonormal columns given as
    a tuple of d-tuples, rows of B^T). Noise that misses the unstable direction of a saddle cannot excite it."""

    sigma: float
    basis: tuple[tuple[float, ...], ...]

    def __post_init__(self) -> None:
        if not (math.isfinite(self.sigma) and self.sigma >= 0):
            raise ValueError(f"sigma must be a finite number >= 0, got {self.sigma!r}")
        b = np.asarray(self.basis, dtype=np.float64)
        if b.ndim != 2 or b.shape[0] < 1 or b.shape[0] > b.shape[1]:
            raise ValueError(f"basis must be m <= d vectors of length d (shape (m, d)), got shape {b.shape}")
        if np.max(np.abs(b @ b.T - np.eye(b.shape[0]))) > 1e-10:
            raise ValueError("basis vectors must be orthonormal")

    def sample(self, shape: torch.Size, *, generator: torch.Generator, like: torch.Tensor) -> torch.Tensor | None:
        b = torch.as_tensor(self.basis, device=like.device, dtype=like.dtype)  # (m, d)
        if b.shape[1] != shape[-1]:
            raise ValueError(f"basis vectors have length {b.shape[1]} but the state has d = {shape[-1]}")
        z = torch.randn((*shape[:-1], b.shape[0]), generator=generator, device=like.device, dtype=like.dtype)
        return (z @ b).mul_(self.sigma)


# ---------------------------------------------------------------------------------------------------------------
# local objectives (batched gradients)
class TiltedQuartic:
    """f_n(x) = w f(x) + c_n^T x + w lam max(0, |x_2| - 1), f(x) = x_1^4/4 - x_1^2/2 + sum_{i>=2} x_i^2/2.

    ``tilts`` (N, d); ``weight`` w (1/N makes sum_n f_n = f when sum_n c_n = 0); ``kink`` lam >= 0 puts a
    nonsmooth ridge at |x_2| = 1, away from the saddle at 0 (subgradient sign(x_2) lam w there, 0 at the kink).
    """

    def __init__(self, tilts: torch.Tensor, weight: float, kink: float = 0.0) -> None:
        if tilts.ndim != 2 or tilts.shape[1] < 2:
            raise ValueError(f"tilts must have shape (N, d) with d >= 2, got {tuple(tilts.shape)}")
        if not weight > 0:
            raise ValueError(f"weight must be > 0, got {weight}")
        if not kink >= 0:
            raise ValueError(f"kink must be >= 0, got {kink}")
        self.tilts, self.weight, self.kink = tilts, float(weight), float(kink)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Batched gradient: x (R, N, d) -> w grad f(x_n) + c_n (+ kink subgradient)."""
        g = x.clone()
        x1 = x[..., 0]
        g[..., 0] = x1 * x1 * x1 - x1
        if self.kink:
            x2 = x[..., 1]
            g[..., 1] += self.kink * torch.sign(x2) * (x2.abs() > 1.0).to(x.dtype)
        return g.mul_(self.weight).add_(self.tilts)


def heterogeneous_tilts(
    n_agents: int, dim: int, scale: float, rng: np.random.Generator, *, directions: Sequence[int] | None = None
) -> np.ndarray:
    """Tilts c_n ~ scale N(0, I) on the coordinates ``directions`` (all if None), centred so that sum_n c_n = 0."""
    c = np.zeros((n_agents, dim))
    cols = list(range(dim)) if directions is None else list(directions)
    c[:, cols] = scale * rng.standard_normal((n_agents, len(cols)))
    return c - c.mean(axis=0, keepdims=True)


class ReLUNets:
    """Agent n holds a one-hidden-layer ReLU net h(z) = v^T relu(W z + b) + b0 and the loss
    f_n(theta) = (1/2m) sum_i (h(z_ni) - y_ni)^2 on its own synthetic data (z_ni, y_ni), i = 1..m.

    theta is flattened (dim = hidden (n_in + 2) + 1). Gradients by torch.func.grad, vmapped over agents and runs.
    """

    def __init__(self, inputs: torch.Tensor, targets: torch.Tensor, hidden: int) -> None:
        if inputs.ndim != 3 or targets.shape != inputs.shape[:2]:
            raise ValueError(
                f"inputs must be (N, m, n_in) and targets (N, m); got {tuple(inputs.shape)}, {tuple(targets.shape)}"
            )
        if hidden < 1:
            raise ValueError(f"hidden must be >= 1, got {hidden}")
        self.inputs, self.targets, self.hidden = inputs, targets, int(hidden)
        self.n_in = int(inputs.shape[2])
        self.dim = self.hidden * (self.n_in + 2) + 1
        per_agent = vmap(grad(self._loss), in_dims=(0, 0, 0))  # over agents
        self._grad = vmap(per_agent, in_dims=(0, None, None))  # over runs
        self._loss_batched = vmap(vmap(self._loss, in_dims=(0, 0, 0)), in_dims=(0, None, None))

    def _unpack(self, theta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        h, p = self.hidden, self.n_in
        w = theta[: h * p].reshape(h, p)
        b = theta[h * p : h * p + h]
        v = theta[h * p + h : h * p + 2 * h]
        return w, b, v, theta[-1]

    def _loss(self, theta: torch.Tensor, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        w, b, v, b0 = self._unpack(theta)
        pred = torch.relu(z @ w.T + b) @ v + b0
        return 0.5 * ((pred - y) ** 2).mean()

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Batched gradient: x (R, N, dim) -> grad f_n(x_n)."""
        return self._grad(x, self.inputs, self.targets)

    def losses(self, x: torch.Tensor) -> torch.Tensor:
        """f_n(x_n) for x (R, N, dim): shape (R, N)."""
        return self._loss_batched(x, self.inputs, self.targets)

    def network_grad(self, xbar: torch.Tensor) -> torch.Tensor:
        """grad F(xbar) = sum_n grad f_n(xbar) for a common point per run, xbar (R, dim) -> (R, dim)."""
        n = self.inputs.shape[0]
        return self(xbar[:, None, :].expand(-1, n, -1).contiguous()).sum(dim=1)


def synthetic_regression(
    n_agents: int, samples: int, n_in: int, hidden: int, *, shift: float, generator: torch.Generator,
    device: str | torch.device = "cpu", dtype: torch.dtype = torch.float64,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Heterogeneous data for :class:`ReLUNets`: a random teacher ReLU net; agent n's inputs are N(mu_n, I) with
    agent-specific means mu_n = shift * u_n (u_n ~ N(0, I)); targets are the teacher's outputs (no label noise)."""
    def randn(*shape: int) -> torch.Tensor:
        return torch.randn(shape, generator=generator, device=device, dtype=dtype)

    w = randn(hidden, n_in) / math.sqrt(n_in)
    b = randn(hidden) * 0.5
    v = randn(hidden) / math.sqrt(hidden)
    mu = shift * randn(n_agents, 1, n_in)
    z = mu + randn(n_agents, samples, n_in)
    y = torch.relu(z @ w.T + b) @ v
    return z, y


# ---------------------------------------------------------------------------------------------------------------
# the engine
@dataclass
class DSGDTrace:
    """Output of :func:`run_dsgd`. ``steps`` (T,) are the recorded iterate indices k (0 = initial state);
    ``mean`` (T, R, d) the network averages, ``disagreement`` (T, R) = ||(I - J) X_k||_F, ``final`` (R, N, d),
    ``states`` (T, R, N, d) when requested; ``diverged`` (R,) flags and ``diverged_at`` (R,) the step (-1 if not).
    Recorded values of a run after it diverged are NaN."""

    steps: torch.Tensor
    mean: torch.Tensor
    disagreement: torch.Tensor
    final: torch.Tensor
    diverged: torch.Tensor
    diverged_at: torch.Tensor
    states: torch.Tensor | None = None

    @property
    def diverged_fraction(self) -> float:
        return float(self.diverged.to(torch.float64).mean())


def record_grid(steps: int, points: int, *, log: bool = True) -> list[int]:
    """Up to ``points`` distinct recording steps in [0, steps] (log- or linearly spaced, always 0 and ``steps``)."""
    if steps < 0 or points < 2:
        raise ValueError(f"steps must be >= 0 and points >= 2, got steps={steps}, points={points}")
    if log and steps > 0:
        g = np.unique(np.round(np.geomspace(1, steps, points - 1)).astype(int))
        return [0, *[int(v) for v in g]]
    return sorted({int(v) for v in np.round(np.linspace(0, steps, points))})


def run_dsgd(
    grad_fn: GradFn,
    lap: torch.Tensor,
    x0: torch.Tensor,
    alpha: PowerSchedule,
    beta: PowerSchedule,
    steps: int,
    noise: NoiseModel,
    *,
    generator: torch.Generator,
    record: Sequence[int] | None = None,
    record_states: bool = False,
    allow_disconnected: bool = False,
    blowup: float = 1e8,
    check_every: int = 100,
    progress: bool | None = None,
) -> DSGDTrace:
    """Run D-SGD for ``steps`` steps on R independent runs at once (see the module docstring for the update).

    ``lap`` (N, N) symmetric Laplacian (on x0's device/dtype); ``x0`` (R, N, d); ``record`` the iterate indices k in
    [0, steps] at which to record (default: 100 log-spaced). Refuses c_beta lambda_max(L) >= 2 (unstable consensus
    step) and disconnected graphs unless ``allow_disconnected``. ``progress``: tqdm bar (None = only on a terminal).
    """
    if x0.ndim != 3:
        raise ValueError(f"x0 must have shape (runs, agents, dim), got {tuple(x0.shape)}")
    r_runs, n, d = x0.shape
    if lap.shape != (n, n):
        raise ValueError(f"lap must have shape (N, N) = ({n}, {n}) matching x0's agents, got {tuple(lap.shape)}")
    if not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps must be an integer >= 0, got {steps!r}")
    if not torch.isfinite(x0).all():
        raise ValueError("x0 must be finite")
    lap_np = lap.detach().to("cpu", torch.float64).numpy()
    if np.max(np.abs(lap_np - lap_np.T), initial=0.0) > 1e-12 * max(1.0, float(np.abs(lap_np).max(initial=0.0))):
        raise ValueError("lap must be symmetric (undirected graph); got a non-symmetric matrix")
    check_consensus_step(beta.c, lap_np)
    if not allow_disconnected:
        require_connected(lap_np, "the communication graph")
    rec = sorted(set(record_grid(steps, 100) if record is None else [int(k) for k in record]))
    if rec and (rec[0] < 0 or rec[-1] > steps):
        raise ValueError(f"record must lie in [0, steps={steps}], got [{rec[0]}, {rec[-1]}]")

    dev, dt = x0.device, x0.dtype
    lap = lap.to(device=dev, dtype=dt)
    x = x0.clone()
    alive = torch.ones(r_runs, dtype=torch.bool, device=dev)
    diverged_at = torch.full((r_runs,), -1, dtype=torch.long, device=dev)
    t_n = len(rec)
    means = torch.full((t_n, r_runs, d), float("nan"), device=dev, dtype=dt)
    dis = torch.full((t_n, r_runs), float("nan"), device=dev, dtype=dt)
    states = torch.full((t_n, r_runs, n, d), float("nan"), device=dev, dtype=dt) if record_states else None
    ri = 0

    def _record(i: int) -> None:
        m = x.mean(dim=1)
        means[i] = torch.where(alive[:, None], m, float("nan"))
        dis[i] = torch.where(alive, torch.linalg.vector_norm(x - m[:, None, :], dim=(1, 2)), float("nan"))
        if states is not None:
            states[i] = torch.where(alive[:, None, None], x, float("nan"))

    def _check(k: int) -> None:
        bad = alive & ~(torch.isfinite(x).all(dim=(1, 2)) & (x.abs().amax(dim=(1, 2)) < blowup))
        if bool(bad.any()):
            alive.logical_and_(~bad)
            diverged_at[bad] = k
            x[bad] = 0.0

    if ri < t_n and rec[ri] == 0:
        _record(ri)
        ri += 1
    for k in tqdm(range(1, steps + 1), disable=(not progress) if progress is not None else None, leave=False,
                  desc="D-SGD", mininterval=2.0):
        a_k, b_k = alpha(k), beta(k)
        g = grad_fn(x)
        xi = noise.sample(x.shape, generator=generator, like=x)
        if xi is not None:
            g = g + xi
        # X <- X - beta L X - alpha (G + Xi); einsum lowers to one GEMM over all runs (2.5x faster than a
        # broadcast batched matmul at R = 100, N = 64, d = 10)
        x = x - b_k * torch.einsum("nm,rmd->rnd", lap, x) - a_k * g
        if k % check_every == 0 or k == steps or (ri < t_n and rec[ri] == k):
            _check(k)
        if ri < t_n and rec[ri] == k:
            _record(ri)
            ri += 1
    return DSGDTrace(
        steps=torch.tensor(rec, dtype=torch.long),
        mean=means,
        disagreement=dis,
        final=torch.where(alive[:, None, None], x, float("nan")),
        diverged=~alive,
        diverged_at=diverged_at,
        states=states,
    )


def component_means(x: torch.Tensor, lap: torch.Tensor) -> list[tuple[list[int], torch.Tensor]]:
    """For each connected component C of the graph, (C, mean over agents in C of x) with x (R, N, d)."""
    comps = components(lap.detach().to("cpu", torch.float64).numpy())
    return [(c, x[:, c, :].mean(dim=1)) for c in comps]


def per_agent_loop_dsgd(
    grad_one: Callable[[int, torch.Tensor], torch.Tensor],
    neighbours: Sequence[Sequence[int]],
    x0: torch.Tensor,
    alpha: PowerSchedule,
    beta: PowerSchedule,
    steps: int,
    sigma: float,
    *,
    generator: torch.Generator,
) -> torch.Tensor:
    """Reference / baseline: the loop a researcher would write (one run, one agent at a time, neighbour sums in
    Python), isotropic noise. x0 (N, d); returns the final state (N, d). Used by tests and benchmarks only."""
    x = x0.clone()
    n = x.shape[0]
    for k in range(1, steps + 1):
        a_k, b_k = alpha(k), beta(k)
        new = []
        for i in range(n):
            lx = sum((x[i] - x[j] for j in neighbours[i]), torch.zeros_like(x[i]))
            xi = sigma * torch.randn(x.shape[1], generator=generator, dtype=x.dtype, device=x.device)
            new.append(x[i] - b_k * lx - a_k * (grad_one(i, x[i]) + xi))
        x = torch.stack(new)
    return x
