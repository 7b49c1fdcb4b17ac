"""Directional sharpness of update directions of a model on a fixed batch, and the pseudo-update protocol.

For a loss L(theta) on a fixed batch and a direction u (the update an optimizer would take, as a list of tensors
shaped like the parameters):

- directional sharpness S(u) = u^T H u / ||u||^2, with H u a Hessian-vector product (double backward);
- quadratic model along v = u/||u||: best step eta* = <g, v> / (v^T H v) and decrease <g, v>^2 / (2 v^T H v) when
  v^T H v > 0 (g = grad L; here u is the *update*, so <g, v> < 0 for a descent step and eta* < 0 means "move along
  +u by |eta*|"; both are reported with the sign convention L(theta + eta v));
- line search: L(theta + eta v) on a grid of eta, the best value and its decrease;
- masked sharpness: S of u with its top-fraction |u_i| coordinates (over all parameters) set to 0.

Pseudo-updates (Pan & Li's protocol): one trajectory is trained by a base optimizer; every candidate optimizer keeps
its own state, updated at every step from the same gradient on the same batch, on a shadow copy of the parameters
reset to the trajectory's point before its step; its update direction is shadow_after - theta. All candidates are
thus compared at the same point on the same batch.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.attention import SDPBackend, sdpa_kernel

Loss = Callable[[nn.Module], torch.Tensor]


def _dot(a: Sequence[torch.Tensor], b: Sequence[torch.Tensor]) -> torch.Tensor:
    return sum((x.double() * y.double()).sum() for x, y in zip(a, b))  # type: ignore[return-value]


def hvp(model: nn.Module, loss: Loss, u: Sequence[torch.Tensor]) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """(g, H u): the gradient of ``loss(model)`` and its Hessian-vector product with ``u``, by double backward."""
    params = [p for p in model.parameters() if p.requires_grad]
    if len(u) != len(params) or any(a.shape != p.shape for a, p in zip(u, params)):
        raise ValueError("u must have one tensor per trainable parameter, with the parameter's shape")
    with torch.enable_grad(), sdpa_kernel(SDPBackend.MATH):  # the fused attention kernels have no double backward
        val = loss(model)
        g = torch.autograd.grad(val, params, create_graph=True)
        hu = torch.autograd.grad(g, params, grad_outputs=list(u))
    return [x.detach() for x in g], [x.detach() for x in hu]


@dataclass(frozen=True)
class DirectionStats:
    """Measurements of one update direction u at one point (see the module docstring)."""

    sharpness: float  # u^T H u / ||u||^2
    grad_dot: float  # <g, v>, v = u / ||u||
    best_step: float  # eta* of the quadratic model along v (nan when v^T H v <= 0)
    model_decrease: float  # <g, v>^2 / (2 v^T H v) (nan when v^T H v <= 0)
    line_decrease: float  # L(theta) - min_eta L(theta + eta v) over the line-search grid
    masked_sharpness: float  # S(u with the top-fraction |u_i| set to 0)
    norm: float  # ||u||


def _masked(u: Sequence[torch.Tensor], frac: float) -> list[torch.Tensor]:
    """``u`` with exactly floor(frac n) coordinates (the largest |u_i| over all tensors; ties broken by position)
    set to 0."""
    flat = torch.cat([x.reshape(-1) for x in u])
    k = math.floor(frac * flat.numel())
    if k == 0:
        return [x.clone() for x in u]
    out = flat.clone()
    out[torch.topk(flat.abs(), k, sorted=False).indices] = 0.0
    pieces, i = [], 0
    for x in u:
        pieces.append(out[i : i + x.numel()].view_as(x))
        i += x.numel()
    return pieces


@torch.no_grad()
def _line(model: nn.Module, loss: Loss, v: Sequence[torch.Tensor], etas: torch.Tensor) -> torch.Tensor:
    params = [p for p in model.parameters() if p.requires_grad]
    base = [p.detach().clone() for p in params]
    out = torch.empty(len(etas), dtype=torch.float64)
    try:
        for i, eta in enumerate(etas):
            for p, b, d in zip(params, base, v):
                p.copy_(b + float(eta) * d)
            out[i] = float(loss(model))
    finally:
        for p, b in zip(params, base):
            p.copy_(b)
    return out


def direction_stats(model: nn.Module, loss: Loss, u: Sequence[torch.Tensor], *, mask_fraction: float = 0.01,
                    line_etas: torch.Tensor | None = None) -> DirectionStats:  # fmt: skip
    """Measure direction ``u`` at the model's current parameters on the fixed-batch ``loss``."""
    if not 0.0 <= mask_fraction < 1.0:
        raise ValueError(f"mask_fraction must be in [0, 1), got {mask_fraction!r}")
    nu = math.sqrt(float(_dot(u, u)))
    if not math.isfinite(nu) or nu == 0.0:
        raise ValueError(f"u must be a finite non-zero direction, got norm {nu}")
    v = [x / nu for x in u]
    g, hv = hvp(model, loss, v)
    curv = float(_dot(v, hv))
    gv = float(_dot(g, v))
    step = -gv / curv if curv > 0 else math.nan
    dec = gv * gv / (2 * curv) if curv > 0 else math.nan
    um = _masked(u, mask_fraction)
    nm = math.sqrt(float(_dot(um, um)))
    if nm > 0:
        _, hm = hvp(model, loss, [x / nm for x in um])
        msharp = float(_dot([x / nm for x in um], hm))
    else:
        msharp = math.nan
    etas = line_etas if line_etas is not None else torch.cat([-torch.logspace(-4, 1, 16), torch.logspace(-4, 1, 16)])
    with torch.no_grad():
        l0 = float(loss(model))
    vals = _line(model, loss, v, etas)
    return DirectionStats(curv, gv, step, dec, l0 - float(vals.min()), msharp, nu)


class PseudoUpdates:
    """Candidate optimizers advancing their own state from the trajectory's gradients (see the module docstring).

    ``candidates``: name -> factory(params) -> torch.optim.Optimizer. Call :meth:`step` after the trajectory's
    gradients are in ``model``'s ``.grad`` and BEFORE the base optimizer moves the parameters; it returns
    name -> update direction (list of tensors)."""

    def __init__(self, model: nn.Module, candidates: dict[str, Callable[[list[nn.Parameter]], torch.optim.Optimizer]]):
        if not candidates:
            raise ValueError("candidates must name at least one optimizer")
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.shadows: dict[str, list[nn.Parameter]] = {}
        self.opts: dict[str, torch.optim.Optimizer] = {}
        for name, make in candidates.items():
            sh = [nn.Parameter(p.detach().clone()) for p in self.params]
            self.shadows[name] = sh
            self.opts[name] = make(sh)

    @torch.no_grad()
    def step(self) -> dict[str, list[torch.Tensor]]:
        if any(p.grad is None for p in self.params):
            raise ValueError("every trainable parameter needs a gradient before PseudoUpdates.step()")
        out: dict[str, list[torch.Tensor]] = {}
        for name, sh in self.shadows.items():
            for s, p in zip(sh, self.params):
                s.copy_(p)
                s.grad = p.grad.detach().clone()  # type: ignore[union-attr]
            self.opts[name].step()
            out[name] = [s.detach() - p.detach() for s, p in zip(sh, self.params)]
        return out
