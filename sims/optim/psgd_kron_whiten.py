"""PSGD Kron, whitening type with momentum (the algorithm of kron-torch 0.3.3, Walters, Pooladzandi & Li).

For each parameter tensor (dimensions above 2 merged into a matrix when ``merge_dims``) with gradient ``g``:

    m_t = b1 m_{t-1} + (1 - b1) g_t,   m^_t = m_t / (1 - b1^t)                          (debiased momentum)
    fit Q on (V, G), G = m^_t + sqrt(eps_f32) mean|m^_t| V, V ~ N(0, I)                 (when the schedule says so)
    u = P G (G on steps that fit Q, else m^_t),  u <- u min(1, 1.1 / rms(u)),
    u <- u + wd theta (tensors of order >= 2),   theta <- theta - lr u

where ``P = Q^T Q`` and ``Q = Q_1 (x) Q_2 ...`` is fitted by :func:`sims.optim.psgd_fit.kron_update_` with the '2nd'
normaliser, so ``P -> (E[G G^T])^{-1/2}`` (whitening of the momentum). A dimension gets a triangular factor when its
size is > 1 and <= ``max_size_triangular``, the (merged) tensor has at least ``min_ndim_triangular`` dimensions and
``memory_save_mode`` does not make it diagonal. The preconditioner is updated deterministically every
``ceil(1 / p_t)`` steps (a counter, not a coin), ``p_t = clamp(exp(-decay (t - flat_start)), min_prob, max_prob)`` in
float32; the factors are rebalanced (same product) with probability 0.01 per update, from a ``random.Random``.

Differences from kron-torch 0.3.3, on purpose (see docs/psgd.md): the preconditioner is kept in the parameters'
dtype by default (kron-torch: float32 whatever the parameters' dtype) and every triangular solve runs in that dtype
(kron-torch casts the solve to float32); the probes come from ``generator`` (kron-torch: the global RNG); the
gradient is never modified in place (kron-torch adds the damping noise to ``p.grad`` in place when
``momentum_into_precond_update=False`` and the dtypes agree); no torch.compile and no printing.
"""

from __future__ import annotations

import copy
import math
import random
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import torch

from sims.optim import psgd_fit as F
from sims.optim.checks import closure_loss

MEMORY_SAVE_MODES = (None, "smart_one_diag", "one_diag", "all_diag")


class UpdateSchedule:
    """``p_t = clamp(max_prob exp(-decay (t - flat_start)), min_prob, max_prob)``, computed in float32."""

    def __init__(self, max_prob: float = 1.0, min_prob: float = 0.03, decay: float = 0.001,
                 flat_start: float = 500) -> None:
        if not 0 < min_prob <= max_prob <= 1:
            raise ValueError(f"need 0 < min_prob <= max_prob <= 1, got min_prob={min_prob}, max_prob={max_prob}")
        if not (math.isfinite(decay) and decay >= 0):
            raise ValueError(f"decay must be finite and >= 0, got {decay}")
        self.max_prob, self.min_prob, self.decay, self.flat_start = max_prob, min_prob, decay, flat_start

    def __call__(self, t: torch.Tensor) -> torch.Tensor:
        f32 = torch.float32
        p = torch.tensor(self.max_prob, dtype=f32) * torch.exp(
            -torch.tensor(self.decay, dtype=f32) * (t.to(f32) - torch.tensor(self.flat_start, dtype=f32)))
        return p.clamp(min=self.min_prob, max=self.max_prob)


def merged_shape(shape: tuple[int, ...]) -> tuple[int, ...]:
    """kron-torch's merge of a tensor of order > 2 into a matrix: ``(prod(s[:-1]), s[-1])`` if
    ``s[-1] - prod(s[:-1]) <= prod(s[1:]) - s[0]`` (a signed difference, as the reference), else
    ``(s[0], prod(s[1:]))``."""
    if len(shape) <= 2:
        return shape
    s1 = (int(np.prod(shape[:-1])), shape[-1])
    s2 = (shape[0], int(np.prod(shape[1:])))
    return s1 if s1[1] - s1[0] <= s2[1] - s2[0] else s2


def triangular_dims(shape: tuple[int, ...], max_size: float, min_ndim: int, memory_save_mode: str | None) -> list[bool]:
    """Which dimensions of a (merged) tensor get a triangular factor (True) rather than a diagonal one."""
    if memory_save_mode not in MEMORY_SAVE_MODES:
        raise ValueError(f"memory_save_mode must be one of {MEMORY_SAVE_MODES}, got {memory_save_mode!r}")
    diag = [False] * len(shape)
    if memory_save_mode == "all_diag":
        diag = [True] * len(shape)
    elif memory_save_mode in ("one_diag", "smart_one_diag") and shape:
        largest = int(np.argsort(shape)[::-1][0])
        srt = sorted(shape)
        if memory_save_mode == "one_diag" or (len(shape) > 1 and srt[-1] > srt[-2]):
            diag[largest] = True
    return [not (s == 1 or s > max_size or len(shape) < min_ndim or d) for s, d in zip(shape, diag)]


class KronWhitening(torch.optim.Optimizer):
    """PSGD Kron whitening optimizer (kron-torch 0.3.3's algorithm and defaults, except ``precond_dtype``).

    Standard optimizer API: ``loss.backward(); opt.step()`` (or ``opt.step(closure)`` with a closure that calls
    backward). ``preconditioner_update_probability``: a float in (0, 1], a callable of the step (a float32 tensor)
    returning one, or None for :class:`UpdateSchedule` ().
    """

    def __init__(self, params: Iterable[Any], lr: float = 3e-4, b1: float = 0.9, weight_decay: float = 0.0,
                 preconditioner_update_probability: float | Callable[[torch.Tensor], Any] | None = None,
                 max_size_triangular: int = 8192, min_ndim_triangular: int = 2, memory_save_mode: str | None = None,
                 momentum_into_precond_update: bool = True, precond_lr: float = 0.1, precond_init_scale: float = 1.0,
                 merge_dims: bool = True, precond_dtype: torch.dtype | None = None,
                 generator: torch.Generator | None = None, balance_seed: int = 42) -> None:
        for name, x, lo, hi in (("lr", lr, 0.0, math.inf), ("b1", b1, 0.0, 1.0), ("weight_decay", weight_decay, 0.0,
                                math.inf), ("precond_lr", precond_lr, 0.0, 1.0)):
            if not (isinstance(x, (int, float)) and math.isfinite(x) and lo <= x and (x < hi or hi == 1.0 and x <= 1)):
                raise ValueError(f"{name} must be finite in [{lo}, {hi}), got {x!r}")
        if not (isinstance(precond_init_scale, (int, float)) and math.isfinite(precond_init_scale)
                and precond_init_scale > 0):
            raise ValueError(f"precond_init_scale must be finite and > 0, got {precond_init_scale!r}")
        if b1 >= 1:
            raise ValueError(f"b1 must be in [0, 1), got {b1}")
        if preconditioner_update_probability is None:
            preconditioner_update_probability = UpdateSchedule()
        elif not callable(preconditioner_update_probability):
            p = preconditioner_update_probability
            if not (isinstance(p, (int, float)) and 0 < p <= 1):
                raise ValueError(f"preconditioner_update_probability must be in (0, 1] or callable, got {p!r}")
        if memory_save_mode not in MEMORY_SAVE_MODES:
            raise ValueError(f"memory_save_mode must be one of {MEMORY_SAVE_MODES}, got {memory_save_mode!r}")
        defaults = dict(lr=lr, b1=b1, weight_decay=weight_decay,
                        preconditioner_update_probability=preconditioner_update_probability,
                        max_size_triangular=max_size_triangular, min_ndim_triangular=min_ndim_triangular,
                        memory_save_mode=memory_save_mode, momentum_into_precond_update=momentum_into_precond_update,
                        precond_lr=precond_lr, precond_init_scale=precond_init_scale, merge_dims=merge_dims,
                        precond_dtype=precond_dtype)
        super().__init__(params, defaults)
        for g in self.param_groups:
            for p in g["params"]:
                if p.is_complex() or not p.is_floating_point():
                    raise ValueError(f"params must be real floating-point tensors, got dtype {p.dtype}")
        if generator is None:
            generator = torch.Generator(device=self.param_groups[0]["params"][0].device)
            generator.manual_seed(0)
        self._generator = generator
        self._rng = random.Random(balance_seed)
        self.state["kron"] = {"prob_step": 0, "update_counter": 0}  # type: ignore[index]

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:  # type: ignore[override]
        loss = closure_loss(closure)
        glob: dict[str, Any] = self.state["kron"]  # type: ignore[index]
        prob = self.param_groups[0]["preconditioner_update_probability"]
        if callable(prob):
            prob = prob(torch.tensor(glob["prob_step"], dtype=torch.float32))
        inv = torch.reciprocal(torch.as_tensor(prob, dtype=torch.float32))
        glob["update_counter"] += 1
        do_update = bool(glob["update_counter"] >= inv)
        if do_update:
            glob["update_counter"] = 0
        glob["prob_step"] += 1
        balance = self._rng.random() < 0.01 and do_update
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                st = self.state[p]
                pdtype = group["precond_dtype"] or p.dtype
                if not st:
                    shape = merged_shape(tuple(p.shape)) if group["merge_dims"] else tuple(p.shape)
                    shape = shape or (1,)
                    tri = triangular_dims(shape, group["max_size_triangular"], group["min_ndim_triangular"],
                                          group["memory_save_mode"])
                    if p.dim() == 0:
                        tri = [False]
                    f = group["precond_init_scale"] ** (1.0 / len(shape))
                    st["step"] = 0
                    st["shape"] = shape
                    st["momentum_buffer"] = torch.zeros(shape, dtype=p.dtype, device=p.device)
                    st["Q"] = [f * (torch.eye(n, dtype=pdtype, device=p.device) if t else
                                    torch.ones(n, dtype=pdtype, device=p.device)) for n, t in zip(shape, tri)]
                st["step"] += 1
                grad = p.grad.reshape(st["shape"])
                b1 = group["b1"]
                m = st["momentum_buffer"]
                m.mul_(b1).add_(grad, alpha=1 - b1)
                mhat = (m / (1 - b1 ** st["step"])).to(pdtype)
                Q = st["Q"]
                if len(st["shape"]) > 1 and balance:
                    F.kron_balance_(Q)
                if do_update:
                    into = group["momentum_into_precond_update"]
                    G = mhat if into else grad.to(pdtype)
                    V = torch.randn(G.shape, generator=self._generator, dtype=G.dtype,
                                    device=self._generator.device).to(G.device)
                    eps32 = torch.tensor(torch.finfo(torch.float32).eps, dtype=G.dtype, device=G.device)
                    G = G + eps32.sqrt() * G.abs().mean() * V
                    F.kron_update_(Q, V, G, group["precond_lr"], "2nd", torch.finfo(pdtype).tiny)
                    if into:  # kron-torch 0.3.3 damps the momentum in place, so the step preconditions the damped one
                        mhat = G
                u = F.kron_precondition(Q, mhat)
                u = u * torch.clamp(1.1 / (u.square().mean().sqrt() + 1e-12), max=1.0)
                u = u.reshape(p.shape)
                if group["weight_decay"] != 0 and p.dim() >= 2:
                    u = u + group["weight_decay"] * p
                p.add_(u.to(p.dtype), alpha=-group["lr"])
        return loss

    def state_dict(self) -> dict[str, Any]:
        sd = super().state_dict()
        sd["state"] = copy.deepcopy(sd["state"])  # a snapshot, not references to the live buffers
        sd["generator_state"] = self._generator.get_state().clone()
        sd["balance_rng_state"] = self._rng.getstate()
        return sd

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        if "generator_state" not in state_dict or "kron" not in state_dict.get("state", {}):
            raise ValueError("state_dict was not produced by KronWhitening (no generator or 'kron' state)")
        sd = dict(state_dict)
        gen, rng = sd.pop("generator_state"), sd.pop("balance_rng_state")
        sd["state"] = copy.deepcopy(sd["state"])
        super().load_state_dict(sd)
        self._generator.set_state(gen)
        self._rng.setstate(rng)
