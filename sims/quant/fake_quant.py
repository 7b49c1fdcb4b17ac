"""Group-wise fake quantisation (quantise then dequantise) of a weight matrix, with a learnable rounding offset.

A weight W (out x in) is split along its input dimension into groups of ``g`` consecutive weights (``g = -1``: one
group per output channel, i.e. the whole row). Per group, with b bits, rounding offset V (same shape as W, V = 0 is
round-to-nearest) and clip factors alpha (for the minimum) and beta (for the maximum), both in [0, 1]:

asymmetric (levels 0 .. 2^b - 1):
    w_min = alpha * min(min_i W_i, 0),  w_max = beta * max(max_i W_i, 0)
    s = max((w_max - w_min) / (2^b - 1), eps),  z = round(-w_min / s)
    W~ = s * (clip(round(W / s + V) + z, 0, 2^b - 1) - z)

symmetric, full range (levels -2^(b-1) .. 2^(b-1) - 1):
    a = alpha * max(-min W, 0),  c = beta * max(max W, 0),  m = sign * max(a, c) with sign = +1 if c < a else -1
    s = m / 2^(b-1) (magnitude at least eps, sign kept),  W~ = s * clip(round(W / s + V), -2^(b-1), 2^(b-1) - 1)
    (the sign of s puts the largest-magnitude weight on the extra negative level -2^(b-1)).

``round`` is the straight-through estimator: the forward value rounds, the backward pass is the identity, so
dW~/dV, dW~/dalpha and dW~/dbeta exist (the clip has zero gradient outside its range). These are the equations of
SignRound (Cheng et al.) as implemented by auto-round 0.16.1 (``int_asym`` and ``int_sym``, scale kept in the
weight's dtype); tests/test_quant_crosscheck.py checks the values and gradients against it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

#: the smallest scale magnitude (auto-round's q_scale_thresh)
SCALE_EPS = 1e-5
#: the group sizes the suite uses (-1: per output channel); any positive divisor of the width is accepted
GROUP_SIZES: tuple[int, ...] = (32, 64, 128, -1)


@dataclass(frozen=True)
class QuantSpec:
    """``bits`` in 1..8; ``group_size`` a positive divisor of the input width, or -1 for per-channel; ``sym``."""

    bits: int
    group_size: int = -1
    sym: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.bits, bool) or not isinstance(self.bits, int) or not 1 <= self.bits <= 8:
            raise ValueError(f"bits must be an integer in 1..8, got {self.bits!r}")
        g = self.group_size
        if isinstance(g, bool) or not isinstance(g, int) or (g != -1 and g < 1):
            raise ValueError(f"group_size must be -1 (per-channel) or an integer >= 1, got {g!r}")
        if not isinstance(self.sym, bool):
            raise ValueError(f"sym must be a bool, got {self.sym!r}")

    @property
    def label(self) -> str:
        return f"W{self.bits} {'per-channel' if self.group_size == -1 else f'g{self.group_size}'}"


def round_ste(x: torch.Tensor) -> torch.Tensor:
    """round(x) in the forward pass, identity in the backward pass (straight-through estimator)."""
    return x + (torch.round(x) - x).detach()


def group_size_for(width: int, spec: QuantSpec) -> int:
    """The group length for a matrix of input width ``width``; ValueError if ``spec.group_size`` does not divide it."""
    g = width if spec.group_size == -1 else spec.group_size
    if width % g:
        raise ValueError(f"group_size {spec.group_size} does not divide the input width {width}")
    return g


def n_groups(weight: torch.Tensor, spec: QuantSpec) -> int:
    """Number of groups of a 2-D weight (out x in) under ``spec``."""
    _check_weight(weight)
    return weight.numel() // group_size_for(weight.shape[1], spec)


def _check_weight(weight: torch.Tensor) -> None:
    if not isinstance(weight, torch.Tensor) or weight.ndim != 2:
        raise ValueError(f"weight must be a 2-D tensor (out x in), got {getattr(weight, 'shape', type(weight))}")
    if not weight.is_floating_point():
        raise ValueError(f"weight must be floating point, got {weight.dtype}")
    if not bool(torch.isfinite(weight).all()):
        raise ValueError("weight contains NaN or inf")


def fake_quant(weight: torch.Tensor, spec: QuantSpec, v: torch.Tensor | None = None,
               min_scale: torch.Tensor | float = 1.0, max_scale: torch.Tensor | float = 1.0,
               ) -> torch.Tensor:  # fmt: skip
    """W~ of the module docstring (same shape and dtype as ``weight``), differentiable in v, min_scale, max_scale.

    ``v``: None (zeros) or a tensor of the weight's shape; ``min_scale``/``max_scale`` (alpha, beta): scalars or
    tensors with one entry per group (groups in row-major order: row 0's groups first), used as given (clamp them to
    [0, 1] before calling; ``SignRound`` does).
    """
    _check_weight(weight)
    g = group_size_for(weight.shape[1], spec)
    w = weight.reshape(-1, g)
    if v is not None:
        if v.shape != weight.shape:
            raise ValueError(f"v must have the weight's shape {tuple(weight.shape)}, got {tuple(v.shape)}")
        v = v.reshape(-1, g)
    vv: torch.Tensor | float = 0.0 if v is None else v
    lo = torch.clamp(w.min(-1)[0], max=0.0)
    hi = torch.clamp(w.max(-1)[0], min=0.0)
    if spec.sym:
        qmax = 2 ** (spec.bits - 1)
        a = -(lo * min_scale)
        c = hi * max_scale
        m = (2 * (c < a).to(w.dtype) - 1) * torch.maximum(c, a)
        s = m / qmax
        s = torch.where(s < 0, torch.clamp(s, max=-SCALE_EPS), torch.clamp(s, min=SCALE_EPS))[:, None]
        q = torch.clamp(round_ste(w / s + vv), -qmax, qmax - 1)
        return (s * q).reshape(weight.shape)
    qmax = 2**spec.bits - 1
    wmin = lo * min_scale
    wmax = hi * max_scale
    s = torch.clamp((wmax - wmin) / qmax, min=SCALE_EPS)
    z = round_ste(-wmin / s)[:, None]
    s = s[:, None]
    q = torch.clamp(round_ste(w / s + vv) + z, 0, qmax)
    return (s * (q - z)).reshape(weight.shape)


@torch.no_grad()
def rtn(weight: torch.Tensor, spec: QuantSpec) -> torch.Tensor:
    """Round-to-nearest: ``fake_quant`` with V = 0 and no clipping."""
    return fake_quant(weight, spec)

