"""Validation of optimizer hyper-parameters and gradients, shared by the optimizers of this package.

Every check raises ``ValueError`` naming the argument and the allowed range; NaN and inf are rejected.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import torch


def closure_loss(closure: Callable[[], Any] | None) -> Any:
    """torch.optim's convention: run the optional closure with gradients enabled and return its loss (None without
    a closure)."""
    if closure is None:
        return None
    with torch.enable_grad():
        return closure()


def check_nonneg(name: str, value: float) -> float:
    """``value`` as a float, required finite and ``>= 0``."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}") from None
    if not (math.isfinite(v) and v >= 0.0):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return v


def check_unit_interval(name: str, value: float) -> float:
    """``value`` as a float in ``[0, 1)`` (momentum and beta coefficients)."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number in [0, 1), got {value!r}") from None
    if not (0.0 <= v < 1.0):
        raise ValueError(f"{name} must be a number in [0, 1), got {value!r}")
    return v


def check_betas(betas: Sequence[float]) -> tuple[float, float]:
    """``(beta1, beta2)``, each in ``[0, 1)``."""
    try:
        b1, b2 = betas
    except (TypeError, ValueError):
        raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}") from None
    return check_unit_interval("betas[0]", b1), check_unit_interval("betas[1]", b2)


def params_with_grad(params: Iterable[torch.Tensor], optimizer: str) -> list[torch.Tensor]:
    """The tensors of ``params`` that have a gradient; a sparse gradient raises ``ValueError``."""
    out = []
    for p in params:
        if p.grad is None:
            continue
        if p.grad.is_sparse:
            raise ValueError(f"{optimizer} does not support sparse gradients (got one for a tensor of shape "
                             f"{tuple(p.shape)}); use dense gradients or torch.optim.SparseAdam")
        out.append(p)
    return out


def per_run(value: float | torch.Tensor, like: torch.Tensor, name: str) -> float | torch.Tensor:
    """A hyper-parameter for a batch of runs: a float, or a tensor of shape ``(R,)`` (one value per run, the leading
    dim of ``like``) reshaped to broadcast over ``like``'s trailing dims."""
    if isinstance(value, torch.Tensor):
        if value.ndim != 1 or value.shape[0] != like.shape[0]:
            raise ValueError(f"{name} must be a float or a tensor of shape (R,) = ({like.shape[0]},), "
                             f"got shape {tuple(value.shape)}")
        if not bool(torch.isfinite(value).all()) or bool((value < 0).any()):
            raise ValueError(f"{name} must be finite and >= 0 for every run")
        return value.to(device=like.device, dtype=like.dtype).reshape((-1,) + (1,) * (like.ndim - 1))
    return check_nonneg(name, value)


def use_foreach(foreach: bool | None, params: list[torch.Tensor]) -> bool:
    """``foreach=None`` picks the multi-tensor path only when every tensor is on a CUDA device: on a CPU the loop
    over tensors is faster (each tensor's chain of ops stays in cache; ``torch._foreach_*`` streams every op through
    all parameters) and allocates no temporary of the size of all parameters."""
    if foreach is not None:
        return bool(foreach)
    return bool(params) and all(p.is_cuda for p in params)


def grad_of(p: torch.Tensor) -> torch.Tensor:
    """``p.grad``, which must exist (the optimizers call this only on :func:`params_with_grad`'s tensors)."""
    g = p.grad
    if g is None:
        raise ValueError("a tensor without a gradient reached the update")
    return g
