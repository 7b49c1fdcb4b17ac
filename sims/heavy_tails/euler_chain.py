"""Heavy-tailed SGD simulators in torch, batched over runs (and over coupled datasets).

* :func:`euler_chain` -- theta_{k+1} = theta_k - eta grad F(theta_k) + sigma eta^(1/alpha) xi_k with xi_k rotationally
  invariant alpha-stable in R^d (E e^{i<u, xi>} = e^{-||u||^alpha}), for K datasets x R runs in one tensor (K, R, d).
  The K chains of a run share the noise (and the minibatch indices): synchronous coupling of neighbouring datasets.
* :class:`LeastSquares` -- full-batch or minibatch gradients of F(theta) = (1/2n) sum_i (<a_i, theta> - y_i)^2 for K
  datasets at once.
* :class:`PseudoHuberRidge` -- a non-quadratic dissipative loss (pseudo-Huber regression plus a ridge term) for K
  datasets, where synchronous coupling does not cancel the noise from the difference of two chains.

Runs whose state leaves the finite range (or exceeds `max_norm`) are flagged as diverged, frozen, and excluded from
every average; callers report the diverged fraction instead of averaging NaN. `progress`: True shows a tqdm bar over
the steps, None lets tqdm decide (shown on a terminal), False (default) hides it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from tqdm.auto import tqdm

from sims.noise.stable import check_real, rotational_stable
from sims.runs import bad_rows, check_max_norm, freeze

MAX_STEPS = 100_000_000  # refuse longer chains (a typo such as steps=1e12 would otherwise run for days)

GradFn = Callable[[torch.Tensor, "torch.Tensor | None"], torch.Tensor]
Observable = Callable[[torch.Tensor], dict[str, torch.Tensor]]


def check_chain_args(alpha: float, sigma: float, eta: float) -> None:
    """ValueError naming the argument unless alpha in (0, 2], sigma >= 0, eta > 0 (all finite real numbers)."""
    if not 0.0 < check_real(alpha, "alpha") <= 2.0:
        raise ValueError(f"alpha must lie in (0, 2], got {alpha!r}")
    if not check_real(sigma, "sigma") >= 0.0:
        raise ValueError(f"sigma must be >= 0 and finite, got {sigma!r}")
    if not check_real(eta, "eta") > 0.0:
        raise ValueError(f"eta must be > 0 and finite, got {eta!r}")


def check_count(value: object, name: str, *, low: int = 1, high: int = MAX_STEPS) -> int:
    """``value`` as an int in [low, high]; a ValueError naming it otherwise (floats, strings, booleans refused)."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name} must be an integer in [{low}, {high}], got {value!r}")
    return value


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
class PseudoHuberRidge:
    """K datasets X (K, n, d), y (K, n) with the smooth robust loss plus a ridge term (full gradients only):

        F_k(theta) = (1/n) sum_i delta^2 (sqrt(1 + r_i^2 / delta^2) - 1) + (mu/2) ||theta||^2,
        r_i = <a_i, theta> - y_i,
        grad F_k(theta) = (1/n) sum_i a_i r_i / sqrt(1 + r_i^2 / delta^2) + mu theta.

    mu-strongly convex, hence dissipative (<grad F(theta), theta> >= (mu/2) ||theta||^2 - K_0), with a gradient that is
    not affine in theta: under synchronous coupling the noise does not cancel from theta - theta'."""

    X: torch.Tensor
    y: torch.Tensor
    delta: float = 1.0
    mu: float = 0.1

    def __post_init__(self) -> None:
        if self.X.ndim != 3 or self.y.shape != self.X.shape[:2] or self.X.shape[1] < 1:
            raise ValueError(f"X must be (K, n, d) and y (K, n), got {tuple(self.X.shape)} and {tuple(self.y.shape)}")
        if not (torch.isfinite(self.X).all() and torch.isfinite(self.y).all()):
            raise ValueError("X and y must be finite")
        if not check_real(self.delta, "delta") > 0:
            raise ValueError(f"delta must be > 0, got {self.delta!r}")
        if not check_real(self.mu, "mu") > 0:
            raise ValueError(f"mu must be > 0 (the ridge term makes the loss dissipative), got {self.mu!r}")

    def grad(self, theta: torch.Tensor, idx: torch.Tensor | None = None) -> torch.Tensor:
        """theta (K, R, d) -> gradient (K, R, d); idx must be None."""
        if idx is not None:
            raise ValueError("PseudoHuberRidge has full gradients only: idx must be None")
        r = torch.bmm(self.X, theta.transpose(1, 2)) - self.y.unsqueeze(-1)  # (K, n, R)
        w = r / torch.sqrt(1.0 + (r / self.delta) ** 2)
        return torch.bmm(w.transpose(1, 2), self.X).div_(self.X.shape[1]).add_(theta, alpha=self.mu)

    def lipschitz(self) -> float:
        """A bound on the gradient's Lipschitz constant: lambda_max(X^T X / n) + mu (max over the K datasets)."""
        A = self.X.transpose(1, 2) @ self.X / self.X.shape[1]
        return float(torch.linalg.eigvalsh(A)[:, -1].max()) + self.mu


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
    if theta0.ndim != 3 or min(theta0.shape) < 1:
        raise ValueError(f"theta0 must have shape (K, R, d) with K, R, d >= 1, got {tuple(theta0.shape)}")
    if not bool(torch.isfinite(theta0).all()):
        raise ValueError("theta0 must be finite")
    check_count(steps, "steps")
    check_count(burn_in, "burn_in", low=0, high=steps - 1)
    check_count(check_every, "check_every")
    max_norm = check_max_norm(max_norm)
    if batch is not None:
        n, B = check_count(batch[0], "batch n"), batch[1]
        if not isinstance(B, int) or isinstance(B, bool) or not 1 <= B <= n:
            raise ValueError(f"batch size B must lie in [1, n] = [1, {n}], got {B!r}")
        if batch_generator is None:
            raise ValueError("batch_generator is required with batch (a separate stream for the minibatch indices)")
    g0 = grad(theta0, None if batch is None else torch.zeros(theta0.shape[1], batch[1], dtype=torch.long,
                                                                 device=theta0.device))
    if g0.shape != theta0.shape:
        raise ValueError(f"grad must return the shape of theta (K, R, d) = {tuple(theta0.shape)}, got "
                         f"{tuple(g0.shape)}")
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
        bad = bad_rows(theta.reshape(K * R, d), max_norm).reshape(K, R)
        if bool(bad.any()):
            diverged |= bad
            theta = freeze(theta.reshape(K * R, d), diverged.reshape(-1)).reshape(K, R, d)
        if recording:
            assert observe is not None
            for name, val in observe(theta).items():
                sums[name] = sums.get(name, torch.zeros_like(val)) + val
    n_avg = steps - burn_in
    nan = torch.tensor(float("nan"), dtype=theta.dtype, device=theta.device)
    means = {name: torch.where(diverged, nan, s / n_avg) for name, s in sums.items()}
    theta = torch.where(diverged.unsqueeze(-1), nan, theta)
    return ChainResult(theta=theta, diverged=diverged, means=means, steps_averaged=n_avg if observe else 0)
