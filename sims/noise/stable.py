"""Alpha-stable sampling in torch (Chambers-Mallows-Stuck), batched, device/dtype/generator explicit.

Law (S) of theory.heavy_tails.stable: E exp(i <u, X>) = exp(-(scale ||u||)^alpha), alpha in (0, 2].
alpha = 2 gives N(0, 2 scale^2 I), alpha = 1 the Cauchy law.
scipy.stats.levy_stable(alpha, 0, scale=scale) is the scalar reference (beta = 0: S0 = S1).
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import torch

MAX_SAMPLES = 2**34  # refuse shapes beyond ~1.7e10 entries (over 128 GiB in float64) instead of failing in malloc


def check_real(value: Any, name: str) -> float:
    """``value`` as a finite float; a ValueError naming it for strings, booleans, None, NaN and +-inf."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return v


def check_alpha(alpha: float, high: float = 2.0, name: str = "alpha") -> float:
    """``alpha`` as a float in (0, high]; a ValueError naming it otherwise."""
    a = check_real(alpha, name)
    if not 0.0 < a <= high:
        raise ValueError(f"{name} must lie in (0, {high:g}], got {alpha!r}")
    return a


def _check_scale(scale: float) -> float:
    c = check_real(scale, "scale")
    if c < 0.0:
        raise ValueError(f"scale must be >= 0 and finite, got {scale!r}")
    return c


def check_shape(shape: Any) -> tuple[int, ...]:
    """A tuple of non-negative ints with at most MAX_SAMPLES entries in all."""
    try:
        dims = tuple(shape)
    except TypeError:
        raise ValueError(f"shape must be a tuple of non-negative integers, got {shape!r}") from None
    if not all(isinstance(n, numbers.Integral) and not isinstance(n, bool) and int(n) >= 0 for n in dims):
        raise ValueError(f"shape must be a tuple of non-negative integers, got {shape!r}")
    if math.prod(int(n) for n in dims) > MAX_SAMPLES:
        raise ValueError(f"shape {dims} asks for more than {MAX_SAMPLES} samples: refused")
    return tuple(int(n) for n in dims)


def _uniform_angle(shape: tuple[int, ...], lo: float, hi: float, generator: torch.Generator | None,
                   device: torch.device | str | None, dtype: torch.dtype) -> torch.Tensor:
    u = torch.rand(shape, generator=generator, device=device, dtype=dtype)
    # keep the angle strictly inside (lo, hi): rand() can return exactly 0, where cos(V) or sin(U) would vanish
    u = u.clamp(min=torch.finfo(dtype).eps, max=1.0 - torch.finfo(dtype).eps)
    return lo + (hi - lo) * u


def _exponential(shape: tuple[int, ...], generator: torch.Generator | None, device: torch.device | str | None,
                 dtype: torch.dtype) -> torch.Tensor:
    w = torch.empty(shape, device=device, dtype=dtype).exponential_(generator=generator)
    return w.clamp_min(torch.finfo(dtype).tiny)


def symmetric_stable(
    shape: tuple[int, ...] | torch.Size,
    alpha: float,
    scale: float = 1.0,
    *,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float64,
) -> torch.Tensor:
    """iid symmetric alpha-stable samples with E exp(itX) = exp(-(scale |t|)^alpha) (Chambers-Mallows-Stuck 1976):

        V ~ U(-pi/2, pi/2), W ~ Exp(1),
        X = sin(alpha V) / cos(V)^(1/alpha) * (cos((1 - alpha) V) / W)^((1 - alpha) / alpha).

    At alpha = 1 the last factor is 1 and X = tan V (Cauchy); at alpha = 2, X = 2 sin(V) sqrt(W) ~ N(0, 2).
    Nothing is clipped: for small alpha in float32 a sample can overflow to +-inf, which callers must detect and
    report (the chains in sims.heavy_tails flag such runs as diverged). The uniforms are kept inside (eps, 1 - eps)
    of the dtype, so float32 resolves the far tail only down to probabilities ~1e-7 (float64: ~1e-16)."""
    a = check_alpha(alpha)
    c = _check_scale(scale)
    shape = check_shape(shape)
    V = _uniform_angle(shape, -math.pi / 2, math.pi / 2, generator, device, dtype)
    W = _exponential(shape, generator, device, dtype)
    if a == 1.0:
        X = torch.tan(V)
    elif a == 2.0:
        X = 2.0 * torch.sin(V) * torch.sqrt(W)
    else:
        X = torch.sin(a * V) / torch.cos(V) ** (1.0 / a) * (torch.cos((1.0 - a) * V) / W) ** ((1.0 - a) / a)
    return c * X if c != 1.0 else X


def positive_stable(
    shape: tuple[int, ...] | torch.Size,
    a: float,
    *,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float64,
) -> torch.Tensor:
    """iid totally skewed a-stable subordinator with E exp(-sA) = exp(-s^a), a in (0, 1] (Kanter 1975 / CMS, beta = 1):

        U ~ U(0, pi), W ~ Exp(1),  A = sin(a U) / sin(U)^(1/a) * (sin((1 - a) U) / W)^((1 - a) / a).

    a = 1 is the point mass A = 1."""
    a = check_alpha(a, high=1.0, name="a")
    shape = check_shape(shape)
    if a == 1.0:
        return torch.ones(shape, device=device, dtype=dtype)
    U = _uniform_angle(shape, 0.0, math.pi, generator, device, dtype)
    W = _exponential(shape, generator, device, dtype)
    return torch.sin(a * U) / torch.sin(U) ** (1.0 / a) * (torch.sin((1.0 - a) * U) / W) ** ((1.0 - a) / a)


def rotational_stable(
    shape: tuple[int, ...] | torch.Size,
    alpha: float,
    scale: float = 1.0,
    *,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float64,
) -> torch.Tensor:
    """Rotationally invariant alpha-stable vectors in R^d, d = shape[-1]: E exp(i<u, X>) = exp(-(scale ||u||)^alpha).

    Sub-Gaussian construction X = scale sqrt(A) G, G ~ N(0, 2 I_d), A ~ positive_stable(alpha/2) (one A per vector):
    E exp(i<u, X>) = E exp(-A scale^2 ||u||^2) = exp(-(scale ||u||)^alpha). d = 1 reproduces symmetric_stable's law."""
    a = check_alpha(alpha)
    c = _check_scale(scale)
    shape = check_shape(shape)
    if len(shape) == 0:
        raise ValueError("shape must have at least one dimension (the last one is d)")
    G = torch.randn(shape, generator=generator, device=device, dtype=dtype)
    if a == 2.0:
        return G.mul_(c * math.sqrt(2.0))
    A = positive_stable(shape[:-1] + (1,), a / 2.0, generator=generator, device=device, dtype=dtype)
    return G.mul_(torch.sqrt(A).mul_(c * math.sqrt(2.0)))  # one pass over the (..., d) tensor
