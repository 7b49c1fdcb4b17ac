"""Local objectives of distributed SGD as batched gradients ``grad(X) -> G`` with X, G of shape (R runs, N agents, d).

- :class:`TiltedQuartic`: the saddle model f(x) = mu (x_1^4/4 - x_1^2/2) + sum_{i>=2} x_i^2/2 (saddle at 0 with
  unstable curvature mu, minima (+-1, 0, ...)), split as f_n = w f + c_n^T x with sum_n c_n = 0, optionally with a
  nonsmooth ridge w lam max(0, |x_2| - 1) away from the saddle.
- :class:`ReLUNets`: one-hidden-layer ReLU regression per agent (nonsmooth), gradients by torch.func.grad + vmap.
- :func:`heterogeneous_tilts`, :func:`synthetic_regression`: the heterogeneous data behind them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from torch.func import grad, hessian, vmap


def _pos_int(x: object, name: str, minimum: int = 1) -> int:
    if isinstance(x, bool) or not isinstance(x, (int, np.integer)) or x < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {x!r}")
    return int(x)


def _finite_number(x: object, name: str, *, minimum: float | None = None, strict: bool = False) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float, np.floating, np.integer)) or not math.isfinite(float(x)):
        raise ValueError(f"{name} must be a finite number, got {x!r}")
    v = float(x)
    if minimum is not None and (v < minimum or (strict and v == minimum)):
        raise ValueError(f"{name} must be {'>' if strict else '>='} {minimum}, got {x!r}")
    return v


class TiltedQuartic:
    """f_n(x) = w f(x) + c_n^T x + w lam max(0, |x_2| - 1), f(x) = mu (x_1^4/4 - x_1^2/2) + sum_{i>=2} x_i^2/2.

    ``tilts`` (N, d); ``weight`` w (1/N makes sum_n f_n = f when sum_n c_n = 0); ``curvature`` mu > 0 is the
    unstable curvature -f''(0) along x_1 (the minima stay at x_1 = +-1); ``kink`` lam >= 0 puts a nonsmooth ridge at
    |x_2| = 1, away from the saddle at 0 (subgradient sign(x_2) lam w there, 0 at the kink); ``kink1`` lam_1 >= 0
    adds w lam_1 max(0, |x_1| - ``kink1_at``), a ridge on the escape route from the saddle (kink1_at > 0).
    """

    def __init__(self, tilts: torch.Tensor, weight: float, kink: float = 0.0, curvature: float = 1.0,
                 kink1: float = 0.0, kink1_at: float = 0.25) -> None:  # fmt: skip
        if not isinstance(tilts, torch.Tensor) or tilts.ndim != 2 or tilts.shape[1] < 2:
            shape = tuple(tilts.shape) if isinstance(tilts, torch.Tensor) else type(tilts).__name__
            raise ValueError(f"tilts must be a tensor of shape (N, d) with d >= 2, got {shape}")
        if not bool(torch.isfinite(tilts).all()):
            raise ValueError("tilts must be finite")
        self.weight = _finite_number(weight, "weight", minimum=0.0, strict=True)
        self.kink = _finite_number(kink, "kink", minimum=0.0)
        self.curvature = _finite_number(curvature, "curvature", minimum=0.0, strict=True)
        self.kink1 = _finite_number(kink1, "kink1", minimum=0.0)
        self.kink1_at = _finite_number(kink1_at, "kink1_at", minimum=0.0, strict=True)
        self.tilts = tilts

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Batched gradient: x (R, N, d) -> w grad f(x_n) + c_n (+ kink subgradient)."""
        g = x.clone()
        x1 = x[..., 0]
        g[..., 0] = x1 * x1 * x1 - x1
        if self.curvature != 1.0:
            g[..., 0] *= self.curvature
        if self.kink1:
            g[..., 0] += self.kink1 * torch.sign(x1) * (x1.abs() > self.kink1_at).to(x.dtype)
        if self.kink:
            x2 = x[..., 1]
            g[..., 1] += self.kink * torch.sign(x2) * (x2.abs() > 1.0).to(x.dtype)
        return g.mul_(self.weight).add_(self.tilts)


def heterogeneous_tilts(
    n_agents: int, dim: int, scale: float, rng: np.random.Generator, *, directions: Sequence[int] | None = None
) -> np.ndarray:
    """Tilts c_n ~ scale N(0, I) on the coordinates ``directions`` (all if None), centred so that sum_n c_n = 0."""
    n_agents = _pos_int(n_agents, "n_agents", 2)
    dim = _pos_int(dim, "dim")
    scale = _finite_number(scale, "scale", minimum=0.0)
    cols = list(range(dim)) if directions is None else [int(i) for i in directions]
    if any(not 0 <= i < dim for i in cols) or len(set(cols)) != len(cols):
        raise ValueError(f"directions must be distinct coordinates in [0, {dim}), got {directions!r}")
    c = np.zeros((n_agents, dim))
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
        if not (bool(torch.isfinite(inputs).all()) and bool(torch.isfinite(targets).all())):
            raise ValueError("inputs and targets must be finite")
        self.inputs, self.targets, self.hidden = inputs, targets, _pos_int(hidden, "hidden")
        self.n_in = int(inputs.shape[2])
        self.dim = self.hidden * (self.n_in + 2) + 1
        per_agent = vmap(grad(self._loss), in_dims=(0, 0, 0))  # over agents
        self._grad = vmap(per_agent, in_dims=(0, None, None))  # over runs
        self._loss_batched = vmap(vmap(self._loss, in_dims=(0, 0, 0)), in_dims=(0, None, None))
        self._hess = vmap(vmap(hessian(self._loss), in_dims=(0, 0, 0)), in_dims=(0, None, None))

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

    def _check(self, x: torch.Tensor) -> None:
        n = self.inputs.shape[0]
        if x.ndim != 3 or x.shape[1:] != (n, self.dim):
            raise ValueError(f"x must have shape (R, N={n}, dim={self.dim}), got {tuple(x.shape)}")

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Batched gradient: x (R, N, dim) -> grad f_n(x_n)."""
        self._check(x)
        return self._grad(x, self.inputs, self.targets)

    def losses(self, x: torch.Tensor) -> torch.Tensor:
        """f_n(x_n) for x (R, N, dim): shape (R, N)."""
        self._check(x)
        return self._loss_batched(x, self.inputs, self.targets)

    def network_grad(self, xbar: torch.Tensor) -> torch.Tensor:
        """grad F(xbar) = sum_n grad f_n(xbar) for a common point per run, xbar (R, dim) -> (R, dim)."""
        n = self.inputs.shape[0]
        if xbar.ndim != 2 or xbar.shape[1] != self.dim:
            raise ValueError(f"xbar must have shape (R, dim={self.dim}), got {tuple(xbar.shape)}")
        return self(xbar[:, None, :].expand(-1, n, -1).contiguous()).sum(dim=1)

    def agent_grads(self, xbar: torch.Tensor) -> torch.Tensor:
        """grad f_n(xbar) for every agent at a common point per run: xbar (R, dim) -> (R, N, dim)."""
        n = self.inputs.shape[0]
        if xbar.ndim != 2 or xbar.shape[1] != self.dim:
            raise ValueError(f"xbar must have shape (R, dim={self.dim}), got {tuple(xbar.shape)}")
        return self(xbar[:, None, :].expand(-1, n, -1).contiguous())


    def agent_hessians(self, xbar: torch.Tensor) -> torch.Tensor:
        """Hessians of every agent's loss at a common point per run: xbar (R, dim) -> (R, N, dim, dim) (the ReLU
        kinks have measure zero: the Hessian of the piecewise-quadratic loss where it is twice differentiable)."""
        n = self.inputs.shape[0]
        if xbar.ndim != 2 or xbar.shape[1] != self.dim:
            raise ValueError(f"xbar must have shape (R, dim={self.dim}), got {tuple(xbar.shape)}")
        return self._hess(xbar[:, None, :].expand(-1, n, -1).contiguous(), self.inputs, self.targets)


def synthetic_regression(
    n_agents: int, samples: int, n_in: int, hidden: int, *, shift: float, generator: torch.Generator,
    device: str | torch.device = "cpu", dtype: torch.dtype = torch.float64,
) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    """Heterogeneous data for :class:`ReLUNets`: a random teacher ReLU net; agent n's inputs are N(mu_n, I) with
    agent-specific means mu_n = shift * u_n (u_n ~ N(0, I)); targets are the teacher's outputs (no label noise)."""
    n_agents, samples = _pos_int(n_agents, "n_agents"), _pos_int(samples, "samples")
    n_in, hidden = _pos_int(n_in, "n_in"), _pos_int(hidden, "hidden")
    shift = _finite_number(shift, "shift", minimum=0.0)

    def randn(*shape: int) -> torch.Tensor:
        return torch.randn(shape, generator=generator, device=device, dtype=dtype)

    w = randn(hidden, n_in) / math.sqrt(n_in)
    b = randn(hidden) * 0.5
    v = randn(hidden) / math.sqrt(hidden)
    mu = shift * randn(n_agents, 1, n_in)
    z = mu + randn(n_agents, samples, n_in)
    y = torch.relu(z @ w.T + b) @ v
    return z, y
