"""Heavy-tailed SGD simulators in torch, batched over runs (and over coupled datasets).

* :func:`euler_chain` -- theta_{k+1} = theta_k - eta grad F(theta_k) + sigma eta^(1/alpha) xi_k with xi_k rotationally
  invariant alpha-stable in R^d (E e^{i<u, xi>} = e^{-||u||^alpha}), for K datasets x R runs in one tensor (K, R, d).
  The K chains of a run share the noise (and the minibatch indices): synchronous coupling of neighbouring datasets.
* :class:`LeastSquares` -- full-batch or minibatch gradients of F(theta) = (1/2n) sum_i (<a_i, theta> - y_i)^2 for K
  datasets at once.
* :func:`gsz_online_sgd` -- the online SGD of Gurbuzbalaban, Simsekli and Zhu (2021): multiplicative Gaussian-data
  noise alone produces heavy tails.

Runs whose state leaves the finite range (or exceeds `max_norm`) are flagged as diverged, frozen, and excluded from
every average; callers report the diverged fraction instead of averaging NaN. `progress`: True shows a tqdm bar over
the steps, None lets tqdm decide (shown on a terminal), False (default) hides it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from tqdm.auto import tqdm

from sims.stable import rotational_stable

GradFn = Callable[[torch.Tensor, "torch.Tensor | None"], torch.Tensor]
Observable = Callable[[torch.Tensor], dict[str, torch.Tensor]]


def check_chain_args(alpha: float, sigma: float, eta: float) -> None:
    """ValueError naming the argument unless alpha in (0, 2], sigma >= 0, eta > 0 (all finite)."""
    if not (math.isfinite(alpha) and 0.0 < alpha <= 2.0):
        raise ValueError(f"alpha must lie in (0, 2], got {alpha!r}")
    if not (math.isfinite(sigma) and sigma >= 0.0):
        raise ValueError(f"sigma must be >= 0 and finite, got {sigma!r}")
    if not (math.isfinite(eta) and eta > 0.0):
        raise ValueError(f"eta must be > 0 and finite, got {eta!r}")


@dataclass
class LeastSquares:
    """K least-squares datasets X (K, n, d), y (K, n); F_k(theta) = (1/2n) ||X_k theta - y_k||^2.

    grad(theta, None) is the full gradient A_k theta - b_k (A = X^T X/n, b = X^T y/n); grad(theta, idx) with idx (R, B)
    the minibatch gradient (1/B) sum_{i in idx_r} a_i (<a_i, theta> - y_i), the same indices for all K datasets."""

    X: torch.Tensor
    y: torch.Tensor
    A: torch.Tensor = field(init=False)
    b: torch.Tensor = field(init=False)

    def __post_init__(self) -> None:
        if self.X.ndim != 3 or self.y.shape != self.X.shape[:2]:
            raise ValueError(f"X must be (K, n, d) and y (K, n), got {tuple(self.X.shape)} and {tuple(self.y.shape)}")
        if not (torch.isfinite(self.X).all() and torch.isfinite(self.y).all()):
            raise ValueError("X and y must be finite")
        n = self.X.shape[1]
        self.A = self.X.transpose(1, 2) @ self.X / n
        self.b = torch.einsum("knd,kn->kd", self.X, self.y) / n

    @property
    def n(self) -> int:
        return int(self.X.shape[1])

    def grad(self, theta: torch.Tensor, idx: torch.Tensor | None = None) -> torch.Tensor:
        """theta (K, R, d) -> gradient (K, R, d)."""
        if idx is None:
            return torch.baddbmm(self.b[:, None, :], theta, self.A.transpose(1, 2), alpha=1.0, beta=-1.0)
        Xb = self.X[:, idx]  # (K, R, B, d)
        res = torch.einsum("krbd,krd->krb", Xb, theta) - self.y[:, idx]
        return torch.einsum("krb,krbd->krd", res, Xb) / idx.shape[1]


@dataclass
class Quadratic:
    """K quadratics given by A (K, d, d) and b (K, d): grad F_k(theta) = A_k theta - b_k (full gradients only).
    Used when the K datasets have different sizes n (only A = X^T X/n and b = X^T y/n matter then)."""

    A: torch.Tensor
    b: torch.Tensor

    def __post_init__(self) -> None:
        if self.A.ndim != 3 or self.A.shape[1] != self.A.shape[2] or self.b.shape != self.A.shape[:2]:
            raise ValueError(f"A must be (K, d, d) and b (K, d), got {tuple(self.A.shape)} and {tuple(self.b.shape)}")
        if not (torch.isfinite(self.A).all() and torch.isfinite(self.b).all()):
            raise ValueError("A and b must be finite")

    def grad(self, theta: torch.Tensor, idx: torch.Tensor | None = None) -> torch.Tensor:
        """theta (K, R, d) -> A theta - b (K, R, d); idx must be None."""
        if idx is not None:
            raise ValueError("Quadratic has full gradients only: idx must be None (use LeastSquares for minibatches)")
        return torch.baddbmm(self.b[:, None, :], theta, self.A.transpose(1, 2), alpha=1.0, beta=-1.0)


@dataclass
class ChainResult:
    """Output of :func:`euler_chain`. theta: final states (K, R, d); diverged: bool (K, R); means: time averages of
    each observable over the steps after burn-in, per run (K, R) (NaN for diverged runs: use `ok`); steps_averaged."""

    theta: torch.Tensor
    diverged: torch.Tensor
    means: dict[str, torch.Tensor]
    steps_averaged: int

    @property
    def ok(self) -> torch.Tensor:
        return ~self.diverged

    @property
    def diverged_fraction(self) -> float:
        return float(self.diverged.double().mean())


def euler_chain(
    grad: GradFn,
    theta0: torch.Tensor,
    *,
    alpha: float,
    sigma: float,
    eta: float,
    steps: int,
    generator: torch.Generator,
    batch: tuple[int, int] | None = None,
    batch_generator: torch.Generator | None = None,
    burn_in: int = 0,
    observe: Observable | None = None,
    max_norm: float = 1e12,
    check_every: int = 10,
    progress: bool | None = False,
) -> ChainResult:
    """Heavy-tailed Euler chain for K coupled datasets x R runs (theta0 of shape (K, R, d)):

        theta_{k+1} = theta_k - eta g_k(theta_k) + sigma eta^(1/alpha) xi_k,

    g_k = grad(theta, None) (full gradient) or grad(theta, idx_k) with idx_k ~ U{0..n-1}^(R x B) drawn from
    batch_generator when batch = (n, B); xi_k (R, d) rotationally invariant alpha-stable from generator, shared by the
    K datasets (synchronous coupling). observe(theta) -> {name: (K, R)} is averaged over steps burn_in+1..steps.
    A run is diverged once any coordinate is non-finite or ||theta|| > max_norm (checked at every recorded step, else
    every `check_every` steps and at the last); it is then frozen at 0 and excluded from the averages."""
    check_chain_args(alpha, sigma, eta)
    if theta0.ndim != 3:
        raise ValueError(f"theta0 must have shape (K, R, d), got {tuple(theta0.shape)}")
    if int(steps) != steps or steps < 1:
        raise ValueError(f"steps must be an integer >= 1, got {steps!r}")
    if not 0 <= burn_in < steps:
        raise ValueError(f"burn_in must lie in [0, steps) = [0, {steps}), got {burn_in!r}")
    if batch is not None:
        n, B = batch
        if not 1 <= B <= n:
            raise ValueError(f"batch size B must lie in [1, n] = [1, {n}], got {B!r}")
        if batch_generator is None:
            raise ValueError("batch_generator is required with batch (a separate stream for the minibatch indices)")
    K, R, d = theta0.shape
    theta = theta0.clone()
    diverged = torch.zeros(K, R, dtype=torch.bool, device=theta.device)
    sums: dict[str, torch.Tensor] = {}
    noise_scale = sigma * eta ** (1.0 / alpha)
    for k in tqdm(range(steps), disable=None if progress is None else not progress, desc="euler chain"):
        idx = None
        if batch is not None:
            idx = torch.randint(batch[0], (R, batch[1]), generator=batch_generator, device=theta.device)
        xi = rotational_stable((R, d), alpha, generator=generator, device=theta.device, dtype=theta.dtype)
        theta.sub_(grad(theta, idx), alpha=eta).add_(xi.unsqueeze(0), alpha=noise_scale)  # in place: no temporaries
        recording = observe is not None and k >= burn_in
        if not recording and k % check_every and k != steps - 1:
            continue
        bad = ~torch.isfinite(theta).all(dim=-1) | (torch.linalg.vector_norm(theta, dim=-1) > max_norm)
        if bool(bad.any()):
            diverged |= bad
            theta = torch.where(diverged.unsqueeze(-1), torch.zeros((), dtype=theta.dtype, device=theta.device), theta)
        if recording:
            assert observe is not None
            for name, val in observe(theta).items():
                sums[name] = sums.get(name, torch.zeros_like(val)) + val
    n_avg = steps - burn_in
    nan = torch.tensor(float("nan"), dtype=theta.dtype, device=theta.device)
    means = {name: torch.where(diverged, nan, s / n_avg) for name, s in sums.items()}
    theta = torch.where(diverged.unsqueeze(-1), nan, theta)
    return ChainResult(theta=theta, diverged=diverged, means=means, steps_averaged=n_avg if observe else 0)


@dataclass
class GSZResult:
    """Final iterates x (R, d) of online SGD (NaN rows for diverged runs) and the diverged mask (R,)."""

    x: torch.Tensor
    diverged: torch.Tensor

    @property
    def diverged_fraction(self) -> float:
        return float(self.diverged.double().mean())


def gsz_online_sgd(
    runs: int,
    d: int,
    b: int,
    eta: float,
    steps: int,
    *,
    generator: torch.Generator,
    sigma_a: float = 1.0,
    sigma_y: float = 1.0,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float64,
    max_norm: float = 1e100,
    check_every: int = 10,
    progress: bool | None = False,
) -> GSZResult:
    """Online SGD on linear regression (Gurbuzbalaban, Simsekli, Zhu 2021), R runs in one tensor:

        x_{k+1} = x_k - (eta/b) sum_{i<=b} a_i (<a_i, x_k> - y_i),   a_i ~ N(0, sigma_a^2 I_d), y_i ~ N(0, sigma_y^2),

    fresh (a_i, y_i) at every step (x* = 0 without loss of generality), x_0 = 0. Stationary tails are power laws with
    the index of theory.tail_index.gsz_tail_index(eta, b, d, sigma_a). Divergence (non-finite or ||x|| > max_norm)
    is checked every `check_every` steps and at the end; diverged runs are frozen and returned as NaN rows."""
    if not (math.isfinite(eta) and eta > 0):
        raise ValueError(f"eta must be > 0 and finite, got {eta!r}")
    for name, v in (("runs", runs), ("d", d), ("b", b), ("steps", steps)):
        if int(v) != v or v < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {v!r}")
    if not (sigma_a > 0 and sigma_y >= 0):
        raise ValueError(f"sigma_a must be > 0 and sigma_y >= 0, got {sigma_a!r}, {sigma_y!r}")
    x = torch.zeros(runs, d, device=device, dtype=dtype)
    diverged = torch.zeros(runs, dtype=torch.bool, device=device)
    for k in tqdm(range(steps), disable=None if progress is None else not progress, desc="gsz sgd"):
        a = sigma_a * torch.randn(runs, b, d, generator=generator, device=device, dtype=dtype)
        y = sigma_y * torch.randn(runs, b, generator=generator, device=device, dtype=dtype)
        res = (a * x.unsqueeze(1)).sum(-1) - y  # elementwise: faster than a batched matmul for small b, d
        x = x - (eta / b) * (res.unsqueeze(-1) * a).sum(1)
        if k % check_every and k != steps - 1:
            continue
        bad = ~torch.isfinite(x).all(dim=-1) | (torch.linalg.vector_norm(x, dim=-1) > max_norm)
        if bool(bad.any()):
            diverged |= bad
            x = torch.where(diverged.unsqueeze(-1), torch.zeros((), dtype=dtype, device=x.device), x)
    x = torch.where(diverged.unsqueeze(-1), torch.tensor(float("nan"), dtype=dtype, device=x.device), x)
    return GSZResult(x=x, diverged=diverged)
