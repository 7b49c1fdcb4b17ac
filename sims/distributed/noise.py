"""Gradient-noise models for distributed SGD: martingale differences xi_n(k) added to each agent's gradient.

``sample(shape, generator=, like=)`` returns a tensor of ``shape`` (R, N, d) on ``like``'s device and dtype, or None
for no noise. Isotropic Gaussian noise excites every direction (the saddle-avoidance theorem's condition); noise
confined to a subspace that misses the unstable direction of a saddle cannot excite it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch


def _check_sigma(sigma: object) -> None:
    if isinstance(sigma, bool) or not isinstance(sigma, (int, float)) or not (math.isfinite(sigma) and sigma >= 0):
        raise ValueError(f"sigma must be a finite number >= 0, got {sigma!r}")


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
        _check_sigma(self.sigma)

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
        _check_sigma(self.sigma)
        try:
            b = np.asarray(self.basis, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"basis must be m vectors of equal length d (numbers), got {self.basis!r}") from None
        if b.ndim != 2 or b.shape[0] < 1 or b.shape[0] > b.shape[1]:
            raise ValueError(f"basis must be m <= d vectors of length d (shape (m, d)), got shape {b.shape}")
        if not np.all(np.isfinite(b)):
            raise ValueError("basis must be finite")
        if np.max(np.abs(b @ b.T - np.eye(b.shape[0]))) > 1e-10:
            raise ValueError("basis vectors must be orthonormal")

    def sample(self, shape: torch.Size, *, generator: torch.Generator, like: torch.Tensor) -> torch.Tensor | None:
        b = torch.as_tensor(self.basis, device=like.device, dtype=like.dtype)  # (m, d)
        if b.shape[1] != shape[-1]:
            raise ValueError(f"basis vectors have length {b.shape[1]} but the state has d = {shape[-1]}")
        z = torch.randn((*shape[:-1], b.shape[0]), generator=generator, device=like.device, dtype=like.dtype)
        return (z @ b).mul_(self.sigma)
