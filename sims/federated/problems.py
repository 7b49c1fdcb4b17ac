"""Heterogeneous client problems: least squares and logistic regression with client-specific optima.

Client ``i`` (``i = 0..M-1``, in the order of the F-X client times, slowest first) has ``n`` samples
``x ~ N(0, I_d)`` and its own optimum
    theta_i^* = h (2 i/(M-1) - 1) u + h_r xi_i,          u a fixed unit vector, xi_i ~ N(0, I_d / d),
so the optima drift with the client's speed (``h``) plus an individual part (``h_r``): a scheme that over-weights
fast clients is pulled along ``u``. Least squares: ``y = x^T theta_i^* + sigma eps``. Logistic: ``y ~
Bernoulli(sigmoid(x^T theta_i^*))``. Loss of client ``i``: ``||X_i theta - y_i||^2 / (2n)`` or the mean logistic
loss plus ``(l2/2)||theta||^2``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import torch

KINDS = ("lsq", "logistic")


@dataclass(frozen=True)
class ClientProblem:
    """Clients' data as tensors: ``X`` ``(M, n, d)``, ``y`` ``(M, n)``; ``kind`` in :data:`KINDS`; ``l2`` the
    ridge of the logistic loss (0 for least squares)."""

    X: torch.Tensor
    y: torch.Tensor
    kind: str
    l2: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")
        if self.X.ndim != 3 or self.y.shape != self.X.shape[:2]:
            raise ValueError(f"X must be (M, n, d) and y (M, n), got {tuple(self.X.shape)}, {tuple(self.y.shape)}")
        if not (bool(torch.isfinite(self.X).all()) and bool(torch.isfinite(self.y).all())):
            raise ValueError("X and y must be finite")
        if not (np.isfinite(self.l2) and self.l2 >= 0):
            raise ValueError(f"l2 must be finite and >= 0, got {self.l2!r}")

    @property
    def n_clients(self) -> int:
        return int(self.X.shape[0])

    @property
    def dim(self) -> int:
        return int(self.X.shape[2])


def make_problem(kind: str, n_clients: int, n_samples: int, dim: int, rng: np.random.Generator, *,
                 drift: float = 1.0, spread: float = 0.3, noise: float = 0.5, l2: float = 0.01,
                 device: str | torch.device = "cpu", dtype: torch.dtype = torch.float64
                 ) -> tuple[ClientProblem, npt.NDArray[np.float64]]:
    """A heterogeneous problem (module doc) and the client optima ``theta_i^*`` ``(M, d)`` that generated it."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    for name, v in (("n_clients", n_clients), ("n_samples", n_samples), ("dim", dim)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {v!r}")
    for name, x in (("drift", drift), ("spread", spread), ("noise", noise), ("l2", l2)):
        if not (np.isfinite(x) and x >= 0):
            raise ValueError(f"{name} must be finite and >= 0, got {x!r}")
    u = np.ones(dim) / np.sqrt(dim)
    pos = np.linspace(-1.0, 1.0, n_clients) if n_clients > 1 else np.zeros(1)
    opt = drift * pos[:, None] * u + spread * rng.standard_normal((n_clients, dim)) / np.sqrt(dim)
    X = rng.standard_normal((n_clients, n_samples, dim))
    z = np.einsum("mnd,md->mn", X, opt)
    if kind == "lsq":
        y = z + noise * rng.standard_normal(z.shape)
        reg = 0.0
    else:
        y = (rng.random(z.shape) < 1.0 / (1.0 + np.exp(-z))).astype(np.float64)
        reg = l2
    t = lambda a: torch.as_tensor(a, dtype=dtype, device=device)  # noqa: E731
    return ClientProblem(t(X), t(y), kind, reg), opt


def client_gradients(kind: str, Xb: torch.Tensor, yb: torch.Tensor, theta: torch.Tensor, l2: float) -> torch.Tensor:
    """Mini-batch gradients, batched over any leading axes: ``Xb`` ``(..., B, d)``, ``yb`` ``(..., B)``, ``theta``
    ``(..., d)``. Least squares ``X^T (X theta - y) / B``; logistic ``X^T (sigmoid(X theta) - y) / B + l2 theta``."""
    z = (Xb @ theta.unsqueeze(-1)).squeeze(-1)
    r = z - yb if kind == "lsq" else torch.sigmoid(z) - yb
    g = (Xb.transpose(-1, -2) @ r.unsqueeze(-1)).squeeze(-1) / Xb.shape[-2]
    return g + l2 * theta if l2 else g


def client_losses(problem: ClientProblem, theta: torch.Tensor) -> torch.Tensor:
    """``L_i(theta)`` for every client: ``theta`` ``(..., d)`` -> ``(..., M)`` (full local data)."""
    z = torch.einsum("mnd,...d->...mn", problem.X, theta)
    if problem.kind == "lsq":
        return 0.5 * ((z - problem.y) ** 2).mean(-1)
    s = 2 * problem.y - 1
    reg = 0.5 * problem.l2 * (theta**2).sum(-1, keepdim=True)
    return torch.nn.functional.softplus(-s * z).mean(-1) + reg
