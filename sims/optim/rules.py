"""Batched update rules for R independent runs, the interface through which optimizers plug into
:func:`sims.nets.trainer.train`.

Parameters are a tuple of stacked tensors, each of shape (R, ...) (row r = run r). A rule is an object with

    state = rule.init(params)                          # a pytree (tensor / tuple / dict) of (R, ...) tensors
    params, state = rule.step(params, grads, state, t) # t = 1, 2, ... the step number

Every tensor of the state has the runs as leading dimension, so the trainer can drop finished runs from it
(``state[keep]``, active-row compaction) or hold them (``torch.where``). Per-run hyper-parameters (learning rates,
momenta, noise scales) are (R,) tensors given to the constructor and copied into the state at ``init``, so that they
follow the runs through compaction.

Rules here:
- :class:`SGD`:            theta <- theta - lr g
- :class:`MomentumSGD`:    v <- mu v + g,  theta <- theta - lr v          (heavy ball, v_0 = 0; PyTorch's convention)
                           Nesterov:  theta <- theta - lr (g + mu v)
- :class:`NoisySGD`:       theta <- theta - lr g + scale xi,   xi = noise(rows, params, t)
  (GD with injected noise when the batch is the full training set; xi from any sampler callable, e.g. alpha-stable).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Protocol

import torch

Params = tuple[torch.Tensor, ...]
State = Any  # a pytree of tensors with leading dimension R: Tensor | tuple[State, ...] | dict[str, State]
NoiseSampler = Callable[[torch.Tensor, Params, int], Params]
"""noise(rows, params, t) -> one tensor per parameter tensor, shaped like it: the noise xi of the runs ``rows`` (the
original run indices of the rows of ``params``) at step t."""


class UpdateRule(Protocol):
    """init(params) -> state; step(params, grads, state, t) -> (params, state). See the module docstring."""

    def init(self, params: Params) -> State: ...

    def step(self, params: Params, grads: Params, state: State, t: int) -> tuple[Params, State]: ...


def per_run(value: torch.Tensor | float | int, runs: int, name: str, *, low: float = -math.inf,
            high: float = math.inf, low_open: bool = False, high_open: bool = False,
            dtype: torch.dtype = torch.float64, device: torch.device | str = "cpu") -> torch.Tensor:  # fmt: skip
    """A per-run hyper-parameter as an (R,) tensor (a number is broadcast), checked finite and inside the stated
    interval; ValueError naming ``name`` and the allowed range otherwise."""
    if isinstance(value, bool) or isinstance(value, str):
        raise ValueError(f"{name} must be a number or an ({runs},) tensor, got {value!r}")
    t = torch.as_tensor(value, dtype=dtype, device=device)
    if t.ndim == 0:
        t = t.expand(runs).clone()
    if t.shape != (runs,):
        raise ValueError(f"{name} must be a number or have shape ({runs},), got shape {tuple(t.shape)}")
    lo = "(" if low_open else "["
    hi = ")" if high_open else "]"
    rng = f"{lo}{low}, {high}{hi}"
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name} must be finite and lie in {rng}, got non-finite entries")
    bad_lo = (t <= low) if low_open else (t < low)
    bad_hi = (t >= high) if high_open else (t > high)
    if bool((bad_lo | bad_hi).any()):
        raise ValueError(f"{name} must lie in {rng}, got values from {t.min().item()} to {t.max().item()}")
    return t


def _runs_of(params: Params) -> int:
    if not isinstance(params, tuple) or not params:
        raise ValueError("params must be a non-empty tuple of (R, ...) tensors")
    r = params[0].shape[0] if params[0].ndim else 0
    if any(p.ndim == 0 or p.shape[0] != r for p in params):
        raise ValueError("every params tensor must have the same leading dimension R (the runs)")
    return r


def _col(v: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """An (R,) tensor viewed as (R, 1, ..., 1) to broadcast against ``like`` (R, ...)."""
    return v.view(-1, *([1] * (like.ndim - 1)))


def _check_grads(params: Params, grads: Params) -> None:
    if len(grads) != len(params) or any(g.shape != p.shape for g, p in zip(grads, params)):
        raise ValueError(f"grads must match params in number and shapes: {[tuple(p.shape) for p in params]}, got "
                         f"{[tuple(g.shape) for g in grads]}")  # fmt: skip


class SGD:
    """theta <- theta - lr g, lr (R,) > 0 per run."""

    def __init__(self, lr: torch.Tensor | float) -> None:
        self._lr = lr

    def init(self, params: Params) -> dict[str, torch.Tensor]:
        r = _runs_of(params)
        return {"lr": per_run(self._lr, r, "lr", low=0.0, low_open=True, dtype=params[0].dtype,
                              device=params[0].device)}  # fmt: skip

    def step(self, params: Params, grads: Params, state: dict[str, torch.Tensor], t: int
             ) -> tuple[Params, dict[str, torch.Tensor]]:  # fmt: skip
        _check_grads(params, grads)
        lr = state["lr"]
        return tuple(p - _col(lr, p) * g for p, g in zip(params, grads)), state


class MomentumSGD:
    """Heavy ball: v <- mu v + g, theta <- theta - lr v (v_0 = 0); nesterov: theta <- theta - lr (g + mu v).
    lr (R,) > 0, mu (R,) in [0, 1)."""

    def __init__(self, lr: torch.Tensor | float, momentum: torch.Tensor | float, *, nesterov: bool = False) -> None:
        self._lr, self._mu, self.nesterov = lr, momentum, bool(nesterov)

    def init(self, params: Params) -> dict[str, Any]:
        r = _runs_of(params)
        kw: dict[str, Any] = {"dtype": params[0].dtype, "device": params[0].device}
        return {"lr": per_run(self._lr, r, "lr", low=0.0, low_open=True, **kw),
                "mu": per_run(self._mu, r, "momentum", low=0.0, high=1.0, high_open=True, **kw),
                "v": tuple(torch.zeros_like(p) for p in params)}  # fmt: skip

    def step(self, params: Params, grads: Params, state: dict[str, Any], t: int) -> tuple[Params, dict[str, Any]]:
        _check_grads(params, grads)
        lr, mu = state["lr"], state["mu"]
        v = tuple(_col(mu, b) * b + g for b, g in zip(state["v"], grads))
        if self.nesterov:
            new = tuple(p - _col(lr, p) * (g + _col(mu, b) * b) for p, g, b in zip(params, grads, v))
        else:
            new = tuple(p - _col(lr, p) * b for p, b in zip(params, v))
        return new, {"lr": lr, "mu": mu, "v": v}


class NoisySGD:
    """theta <- theta - lr g + scale xi with xi = noise(rows, params, t) (one tensor per parameter tensor).
    lr (R,) > 0, scale (R,) >= 0. With a full-batch sampler this is GD with injected noise. The state carries the
    original run index of each row (``rows``) so that the sampler can give each run its own law (e.g. its own
    stability index alpha) after compaction."""

    def __init__(self, lr: torch.Tensor | float, scale: torch.Tensor | float, noise: NoiseSampler) -> None:
        if not callable(noise):
            raise ValueError(f"noise must be a callable noise(rows, params, t) -> params-shaped tuple, got {noise!r}")
        self._lr, self._scale, self.noise = lr, scale, noise

    def init(self, params: Params) -> dict[str, torch.Tensor]:
        r = _runs_of(params)
        kw: dict[str, Any] = {"dtype": params[0].dtype, "device": params[0].device}
        return {"lr": per_run(self._lr, r, "lr", low=0.0, low_open=True, **kw),
                "scale": per_run(self._scale, r, "scale", low=0.0, **kw),
                "rows": torch.arange(r, device=params[0].device)}  # fmt: skip

    def step(self, params: Params, grads: Params, state: dict[str, torch.Tensor], t: int
             ) -> tuple[Params, dict[str, torch.Tensor]]:  # fmt: skip
        _check_grads(params, grads)
        xi = tuple(self.noise(state["rows"], params, t))
        if len(xi) != len(params) or any(x.shape != p.shape for x, p in zip(xi, params)):
            raise ValueError(f"noise must return one tensor per parameter tensor with its shape "
                             f"{[tuple(p.shape) for p in params]}, got {[tuple(x.shape) for x in xi]}")  # fmt: skip
        lr, sc = state["lr"], state["scale"]
        return tuple(p - _col(lr, p) * g + _col(sc, p) * x for p, g, x in zip(params, grads, xi)), state
