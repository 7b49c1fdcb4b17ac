"""Baseline robust aggregators, batched over leading dims: input ``z`` (..., c, d), ``c`` received vectors.

- ``average``: ``mean_j z_j``;
- ``trimmed_mean``: coordinate-wise, drop the ``f`` largest and ``f`` smallest values, average the ``c - 2f`` left;
- ``geometric_median``: smoothed Weiszfeld (RFA, Pillutla et al. 2022) from ``v_0 = 0`` as in byzfl 0.0.11,
  ``v_{t+1} = sum_j w_j z_j / sum_j w_j``, ``w_j = 1 / max(nu, ||z_j - v_t||)``, ``T`` iterations;
- ``centered_clipping`` (Karimireddy et al. 2021): ``v_{l+1} = v_l + mean_j clip_tau(z_j - v_l)``,
  ``clip_tau(u) = u min(1, tau / ||u||)``, ``L`` iterations from a given centre ``v_0`` (in the decentralised
  setting each honest worker's own model; byzfl keeps the previous output, zero at first).
"""

from __future__ import annotations

import torch


def _check(z: torch.Tensor) -> None:
    if z.ndim < 2:
        raise ValueError(f"z must have shape (..., c, d), got {tuple(z.shape)}")
    if not torch.isfinite(z).all():
        raise ValueError("z must be finite (NaN/inf rejected)")


def average(z: torch.Tensor) -> torch.Tensor:
    _check(z)
    return z.mean(dim=-2)


def trimmed_mean(z: torch.Tensor, f: int) -> torch.Tensor:
    _check(z)
    c = z.shape[-2]
    if not (0 <= f and 2 * f < c):
        raise ValueError(f"f must satisfy 0 <= f < c/2 = {c / 2}, got {f}")
    if f == 0:
        return z.mean(dim=-2)
    return torch.sort(z, dim=-2).values[..., f: c - f, :].mean(dim=-2)


def geometric_median(z: torch.Tensor, nu: float = 0.1, T: int = 3,
                     v0: torch.Tensor | None = None) -> torch.Tensor:
    _check(z)
    if not nu > 0 or T < 0:
        raise ValueError(f"need nu > 0 and T >= 0, got nu={nu}, T={T}")
    v = torch.zeros_like(z[..., 0, :]) if v0 is None else v0
    for _ in range(T):
        w = 1.0 / torch.linalg.vector_norm(z - v.unsqueeze(-2), dim=-1).clamp_min(nu)
        v = (w.unsqueeze(-1) * z).sum(dim=-2) / w.sum(dim=-1, keepdim=True)
    return v


def centered_clipping(z: torch.Tensor, v0: torch.Tensor, tau: float = 100.0, L: int = 1) -> torch.Tensor:
    """``z`` (..., c, d), centre ``v0`` (..., d) -> (..., d)."""
    _check(z)
    if not tau >= 0 or L < 0:
        raise ValueError(f"need tau >= 0 and L >= 0, got tau={tau}, L={L}")
    if v0.shape != z.shape[:-2] + z.shape[-1:]:
        raise ValueError(f"v0 must have shape {tuple(z.shape[:-2] + z.shape[-1:])}, got {tuple(v0.shape)}")
    v = v0
    for _ in range(L):
        u = z - v.unsqueeze(-2)
        norm = torch.linalg.vector_norm(u, dim=-1, keepdim=True)
        scale = torch.where(norm > 0, torch.clamp(tau / norm, max=1.0), torch.ones_like(norm))
        v = v + (u * scale).mean(dim=-2)
    return v
