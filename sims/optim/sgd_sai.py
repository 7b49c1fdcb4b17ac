"""SGD-SaI (Xu et al., 2024, arXiv 2412.11768): SGD with momentum and a per-tensor learning-rate scale fixed at
initialisation from the gradient signal-to-noise ratio.

For one parameter tensor, at its first step (the first time it has a gradient):

    gsnr = ||g_1||_2 / (std(g_1) + eps)             (std unbiased; computed once and kept)

and at every step ``t`` (sgd-sai 1.0.3 semantics, its defaults are ours: lr 1e-2, momentum 0.9, eps 1e-8, wd 1e-2)

    m_1 = g_1,   m_t = mu m_{t-1} + (1 - mu) g_t      (momentum = 0: m_t = g_t)
    theta <- theta (1 - lr wd) - lr gsnr m_t          (decoupled decay)

``gsnr_normalize=True`` (the paper's pseudocode, preset :func:`SGDSaI.paper`) divides every gsnr by the largest one
over the tensors that have a gradient at the first step (tensors that first get a gradient later use that maximum).

Where the reference misbehaves we do the sane thing (docs/optimizers.md): a one-element tensor has no standard
deviation; the reference turns the NaN into 0 and gets ``gsnr = |g|/eps`` (~1e8 |g|, an exploding step), we use
gsnr = 1 (plain SGD-momentum for that scalar). Momentum 0 works (the reference crashes); a tensor without a gradient
at the first step gets its gsnr when its first gradient arrives (the reference raises KeyError); the closure is
evaluated once per step (the reference evaluates it twice at step 1); gsnr is in the state dict and a resumed run
keeps it (the reference recomputes it from the first gradient after loading). A non-finite first gradient raises.
:func:`sgd_sai_update` is the same rule on tensors whose leading dim holds R independent runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import torch
from torch.optim import Optimizer

from .checks import check_nonneg, check_unit_interval, grad_of, params_with_grad, per_run, use_foreach

__all__ = ["SGDSaI", "SgdSaiHP", "gsnr", "sgd_sai_init", "sgd_sai_update"]


def gsnr(grad: torch.Tensor, eps: float, dim: tuple[int, ...] | None = None) -> torch.Tensor:
    """``||g||_2 / (std(g) + eps)`` over all elements (``dim=None``) or over ``dim`` (e.g. all but a run dim), with
    the unbiased std, computed in float32 at least (float64 for float64 gradients). A one-element reduction gives 1.
    Non-finite gradients raise ``ValueError``."""
    x = grad.detach().to(torch.float64 if grad.dtype == torch.float64 else torch.float32)
    if not bool(torch.isfinite(x).all()):
        raise ValueError("SGD-SaI: the first gradient of a tensor has NaN or inf entries; its gsnr is undefined")
    n = x.numel() if dim is None else int(torch.tensor([x.shape[d] for d in dim]).prod())
    if dim is None:
        out = x.norm() / (x.std() + eps) if n > 1 else torch.ones((), dtype=x.dtype, device=x.device)
    else:
        out = (torch.linalg.vector_norm(x, dim=dim) / (x.std(dim=dim) + eps) if n > 1
               else torch.ones([s for d, s in enumerate(x.shape) if d not in dim], dtype=x.dtype, device=x.device))
    return out


class SGDSaI(Optimizer):
    """SGD-SaI as a ``torch.optim.Optimizer`` (module docstring: the equations and the differences from sgd-sai).

    ``foreach=True`` uses the multi-tensor (``torch._foreach_*``) path, ``False`` a loop over tensors (same numbers);
    ``None`` (default) the first on CUDA, the second on CPU (faster there: ``sims.optim.checks.use_foreach``).
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        momentum: float = 0.9,
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        *,
        gsnr_normalize: bool = False,
        foreach: bool | None = None,
    ) -> None:
        defaults = dict(lr=check_nonneg("lr", lr), momentum=check_unit_interval("momentum", momentum),
                        eps=check_nonneg("eps", eps), weight_decay=check_nonneg("weight_decay", weight_decay),
                        foreach=foreach)
        super().__init__(params, defaults)
        for g in self.param_groups:
            check_nonneg("lr", g["lr"]), check_unit_interval("momentum", g["momentum"])
            check_nonneg("eps", g["eps"]), check_nonneg("weight_decay", g["weight_decay"])
        self.gsnr_normalize = bool(gsnr_normalize)

    @classmethod
    def paper(cls, params: Iterable[Any], lr: float = 1e-2, **kw: Any) -> SGDSaI:
        """The paper's pseudocode: every gsnr divided by the largest one."""
        return cls(params, lr=lr, gsnr_normalize=True, **kw)

    def state_dict(self) -> dict[str, Any]:
        sd = super().state_dict()
        sd["gsnr_normalize"] = self.gsnr_normalize
        return sd

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state_dict = dict(state_dict)
        self.gsnr_normalize = bool(state_dict.pop("gsnr_normalize", self.gsnr_normalize))
        super().load_state_dict(state_dict)

    def _init_gsnr(self, groups: list[tuple[dict[str, Any], list[torch.Tensor]]]) -> None:
        new = [(g, p) for g, ps in groups for p in ps if "gsnr" not in self.state[p]]
        if not new:
            return
        vals = [float(gsnr(grad_of(p), g["eps"])) for g, p in new]
        if self.gsnr_normalize:
            scale = next((g["gsnr_max"] for g in self.param_groups if g.get("gsnr_max")), None)
            if scale is None:
                scale = max(vals)
                if not scale > 0:
                    raise ValueError("SGD-SaI: every first gradient is zero; the normalised gsnr is undefined")
                for g in self.param_groups:
                    g["gsnr_max"] = scale
            vals = [v / scale for v in vals]
        for (_, p), v in zip(new, vals):
            self.state[p]["gsnr"] = v

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:  # type: ignore[override]
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        groups = [(g, params_with_grad(g["params"], "SGDSaI")) for g in self.param_groups]
        self._init_gsnr(groups)
        for group, ps in groups:
            if not ps:
                continue
            mu, lr, wd = group["momentum"], group["lr"], group["weight_decay"]
            fe = use_foreach(group["foreach"], ps)
            grads: list[torch.Tensor] = [grad_of(p) for p in ps]
            bufs = grads
            if mu != 0.0:
                bufs, old_b, old_g = [], [], []
                for p, g in zip(ps, grads):
                    st = self.state[p]
                    if "momentum_buffer" not in st:
                        st["momentum_buffer"] = g.detach().clone()  # m_1 = g_1
                    else:
                        old_b.append(st["momentum_buffer"])
                        old_g.append(g)
                    bufs.append(st["momentum_buffer"])
                if old_b:  # m = mu m + (1 - mu) g, as one lerp pass
                    if fe:
                        torch._foreach_lerp_(old_b, old_g, 1.0 - mu)
                    else:
                        for b, g in zip(old_b, old_g):
                            b.lerp_(g, 1.0 - mu)
            if wd != 0.0 and fe:
                torch._foreach_mul_(ps, 1.0 - wd * lr)
            # theta -= (lr gsnr) m: one fused pass per tensor (no temporary; the scale differs per tensor, which the
            # foreach add does not take), the same arithmetic as the reference's add_(buf, alpha=-lr*gsnr)
            for p, b in zip(ps, bufs):
                if wd != 0.0 and not fe:
                    p.mul_(1.0 - wd * lr)
                p.add_(b, alpha=-lr * self.state[p]["gsnr"])
        return loss


# ----------------------------------------------------------------------------------------------------------------
# the same rule on a batch of R independent runs (leading dim of every tensor)
# ----------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SgdSaiHP:
    """Hyper-parameters of :func:`sgd_sai_update`; ``lr`` and ``weight_decay`` may be tensors of shape ``(R,)``."""

    lr: float | torch.Tensor = 1e-2
    momentum: float = 0.9
    eps: float = 1e-8
    weight_decay: float | torch.Tensor = 1e-2
    gsnr_normalize: bool = False


def sgd_sai_init(params: list[torch.Tensor]) -> dict[str, Any]:
    """Empty state for :func:`sgd_sai_update` (gsnr and momentum are set from the first gradients)."""
    return {"step": 0, "gsnr": None, "momentum_buffer": None}


def sgd_sai_update(params: list[torch.Tensor], grads: list[torch.Tensor], state: dict[str, Any],
                   hp: SgdSaiHP) -> None:
    """One SGD-SaI step, in place, for tensors of shape ``(R, ...)`` holding R runs; gsnr is computed per run and
    tensor over the trailing dims at the first call (normalised per run by its largest gsnr with ``gsnr_normalize``)."""
    if len(params) != len(grads) or any(p.shape != g.shape for p, g in zip(params, grads)):
        raise ValueError("params and grads must be lists of tensors of equal shapes")
    mu = check_unit_interval("momentum", hp.momentum)
    eps = check_nonneg("eps", hp.eps)
    if state["gsnr"] is None:
        gs = [gsnr(g, eps, dim=tuple(range(1, g.ndim))) for g in grads]
        if hp.gsnr_normalize:
            mx = torch.stack(gs).amax(dim=0)
            if not bool((mx > 0).all()):
                raise ValueError("SGD-SaI: every first gradient of a run is zero; the normalised gsnr is undefined")
            gs = [x / mx for x in gs]
        state["gsnr"] = gs
    state["step"] += 1
    if mu != 0.0:
        if state["momentum_buffer"] is None:
            state["momentum_buffer"] = [g.detach().clone() for g in grads]
        else:
            for b, g in zip(state["momentum_buffer"], grads):
                b.mul_(mu).add_(g, alpha=1.0 - mu)
        bufs = state["momentum_buffer"]
    else:
        bufs = grads
    for p, b, s in zip(params, bufs, state["gsnr"]):
        lr = per_run(hp.lr, p, "lr")
        wd = per_run(hp.weight_decay, p, "weight_decay")
        scale = s.to(p.dtype).reshape((-1,) + (1,) * (p.ndim - 1))
        p.mul_(1.0 - wd * lr).sub_(lr * scale * b)
