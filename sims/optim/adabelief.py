"""AdaBelief (Zhuang et al., NeurIPS 2020): Adam whose second moment tracks the "belief" ``(g - m)^2``.

Update for one tensor at step ``t`` (adabelief-pytorch 0.2.1 semantics, its defaults are ours):

    decay:   theta <- theta (1 - lr wd)        (weight_decouple, default; fixed_decay: theta (1 - wd))
             or  g <- g + wd theta              (L2; p.grad itself is left untouched, unlike the reference)
    m_t = b1 m + (1 - b1) g
    s_t = b2 s + (1 - b2) (g - m_t)^2 + eps      (eps enters the stored state every step and accumulates)
    amsgrad: s_hat = max(s_hat, s_t), used in place of s_t below
    theta <- theta - lr / (1 - b1^t) * m_t / (sqrt(s_t) / sqrt(1 - b2^t) + eps)

Rectified (RAdam-style, ``rectify=True``, default): ``rho_inf = 2/(1-b2) - 1``,
``rho_t = rho_inf - 2 t b2^t / (1 - b2^t)``; if ``rho_t >= 5``:
``r_t = sqrt((1-b2^t)(rho_t-4)(rho_t-2) rho_inf / ((rho_inf-4)(rho_inf-2) rho_t)) / (1-b1^t)`` and
``theta <- theta - lr r_t m_t / (sqrt(s_t) + eps)``; else (``degenerated_to_sgd``)
``theta <- theta - lr m_t / (1-b1^t)`` (plain SGD-momentum steps: the first five with b2 = 0.999), or no step
without ``degenerated_to_sgd``.

Differences from adabelief-pytorch 0.2.1 (docs/optimizers.md): with ``amsgrad`` and ``rectify`` the reference computes
the running maximum but divides by ``s_t``; we divide by the maximum (as pytorch-optimizer 4.1.0 does). L2 decay does
not write into ``p.grad``. No printing, no float16 up-casting of the parameter (the state has the parameter's dtype).

:func:`AdaBelief.paper` gives the setting of the paper's experiments (adabelief-pytorch 0.0.5): eps 1e-8, L2 decay, no
rectification. :func:`adabelief_update` is the same rule on tensors whose leading dim holds R independent runs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import torch
from torch.optim import Optimizer

from .checks import check_betas, check_nonneg, closure_loss, grad_of, params_with_grad, per_run, use_foreach

__all__ = ["AdaBelief", "AdaBeliefHP", "adabelief_init", "adabelief_update", "rectified_step"]


def rectified_step(t: int, beta1: float, beta2: float, degenerated_to_sgd: bool = True) -> tuple[bool, float]:
    """RAdam's rectification at step ``t >= 1``: ``(adaptive, step_size)``, the step size without ``lr``.

    ``adaptive`` is ``rho_t >= 5`` (divide by ``sqrt(s) + eps``, step ``r_t``); otherwise the step is the SGD step
    ``1 / (1 - b1^t)`` with ``degenerated_to_sgd`` and ``-1`` (no step) without."""
    if t < 1:
        raise ValueError(f"t must be an integer >= 1, got {t!r}")
    beta2_t = beta2**t
    rho_inf = 2.0 / (1.0 - beta2) - 1.0
    rho_t = rho_inf - 2.0 * t * beta2_t / (1.0 - beta2_t)
    if rho_t >= 5:
        r = math.sqrt((1.0 - beta2_t) * (rho_t - 4) / (rho_inf - 4) * (rho_t - 2) / rho_t * rho_inf / (rho_inf - 2))
        return True, r / (1.0 - beta1**t)
    return False, (1.0 / (1.0 - beta1**t)) if degenerated_to_sgd else -1.0


class AdaBelief(Optimizer):
    """AdaBelief as a ``torch.optim.Optimizer`` (module docstring: the equations).

    Defaults are adabelief-pytorch 0.2.1's: ``lr=1e-3, betas=(0.9, 0.999), eps=1e-16, weight_decay=0,
    amsgrad=False, weight_decouple=True, fixed_decay=False, rectify=True, degenerated_to_sgd=True``.
    ``foreach=True`` uses the multi-tensor (``torch._foreach_*``) path, ``False`` a loop over tensors (same numbers);
    ``None`` (default) the first on CUDA, the second on CPU (faster there: ``sims.optim.checks.use_foreach``).
    The step counter is per tensor (a tensor without a gradient is skipped and does not count the step).
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-16,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        weight_decouple: bool = True,
        fixed_decay: bool = False,
        rectify: bool = True,
        degenerated_to_sgd: bool = True,
        *,
        foreach: bool | None = None,
    ) -> None:
        defaults = dict(lr=check_nonneg("lr", lr), betas=check_betas(betas), eps=check_nonneg("eps", eps),
                        weight_decay=check_nonneg("weight_decay", weight_decay), amsgrad=bool(amsgrad),
                        weight_decouple=bool(weight_decouple), fixed_decay=bool(fixed_decay), rectify=bool(rectify),
                        degenerated_to_sgd=bool(degenerated_to_sgd), foreach=foreach)
        super().__init__(params, defaults)
        for g in self.param_groups:  # per-group overrides are validated too
            check_nonneg("lr", g["lr"]), check_betas(g["betas"]), check_nonneg("eps", g["eps"])
            check_nonneg("weight_decay", g["weight_decay"])

    @classmethod
    def paper(cls, params: Iterable[Any], lr: float = 1e-3, weight_decay: float = 0.0, **kw: Any) -> AdaBelief:
        """The paper's experimental setting (adabelief-pytorch 0.0.5): eps 1e-8, L2 decay, no rectification."""
        kw = {"eps": 1e-8, "weight_decouple": False, "rectify": False, **kw}
        return cls(params, lr=lr, weight_decay=weight_decay, **kw)

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:  # type: ignore[override]
        loss = closure_loss(closure)
        for group in self.param_groups:
            ps = params_with_grad(group["params"], "AdaBelief")
            if not ps:
                continue
            for p in ps:
                st = self.state[p]
                if len(st) == 0:
                    st["step"] = 0
                    st["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    st["exp_avg_var"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    if group["amsgrad"]:
                        st["max_exp_avg_var"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                elif group["amsgrad"] and "max_exp_avg_var" not in st:
                    raise ValueError("amsgrad was switched on after the first step; the running maximum is missing")
                st["step"] += 1
            if use_foreach(group["foreach"], ps):
                self._step_foreach(group, ps)
            else:
                self._step_loop(group, ps)
        return loss

    def _decay(self, group: dict[str, Any]) -> float:
        return 1.0 - group["weight_decay"] * (1.0 if group["fixed_decay"] else group["lr"])

    def _step_loop(self, group: dict[str, Any], ps: list[torch.Tensor]) -> None:
        b1, b2 = group["betas"]
        lr, eps, wd = group["lr"], group["eps"], group["weight_decay"]
        for p in ps:
            st = self.state[p]
            t = st["step"]
            g = grad_of(p)
            if wd != 0.0:
                if group["weight_decouple"]:
                    p.mul_(self._decay(group))
                else:
                    g = g.add(p, alpha=wd)
            m, s = st["exp_avg"], st["exp_avg_var"]
            m.mul_(b1).add_(g, alpha=1.0 - b1)
            r = g - m
            s.mul_(b2).addcmul_(r, r, value=1.0 - b2).add_(eps)
            v = s
            if group["amsgrad"]:
                v = torch.maximum(st["max_exp_avg_var"], s, out=st["max_exp_avg_var"])
            if not group["rectify"]:
                denom = r.copy_(v).sqrt_().div_(math.sqrt(1.0 - b2**t)).add_(eps)
                p.addcdiv_(m, denom, value=-lr / (1.0 - b1**t))
                continue
            adaptive, ss = rectified_step(t, b1, b2, group["degenerated_to_sgd"])
            if adaptive:
                p.addcdiv_(m, r.copy_(v).sqrt_().add_(eps), value=-ss * lr)
            elif ss > 0:
                p.add_(m, alpha=-ss * lr)

    def _step_foreach(self, group: dict[str, Any], ps: list[torch.Tensor]) -> None:
        b1, b2 = group["betas"]
        lr, eps, wd = group["lr"], group["eps"], group["weight_decay"]
        grads: list[torch.Tensor] = [grad_of(p) for p in ps]
        ms = [self.state[p]["exp_avg"] for p in ps]
        ss_ = [self.state[p]["exp_avg_var"] for p in ps]
        steps = [self.state[p]["step"] for p in ps]
        if wd != 0.0:
            if group["weight_decouple"]:
                torch._foreach_mul_(ps, self._decay(group))
            else:
                grads = list(torch._foreach_add(grads, ps, alpha=wd))
        torch._foreach_mul_(ms, b1)
        torch._foreach_add_(ms, grads, alpha=1.0 - b1)
        rs = torch._foreach_sub(grads, ms)  # the one temporary of the size of the parameters
        torch._foreach_mul_(ss_, b2)
        torch._foreach_addcmul_(ss_, rs, rs, value=1.0 - b2)
        torch._foreach_add_(ss_, eps)
        vs = ss_
        if group["amsgrad"]:
            vs = [self.state[p]["max_exp_avg_var"] for p in ps]
            torch._foreach_maximum_(vs, ss_)
        torch._foreach_copy_(rs, vs)
        torch._foreach_sqrt_(rs)
        if not group["rectify"]:
            torch._foreach_div_(rs, [math.sqrt(1.0 - b2**t) for t in steps])
            torch._foreach_add_(rs, eps)
            torch._foreach_addcdiv_(ps, ms, rs, [-lr / (1.0 - b1**t) for t in steps])
            return
        torch._foreach_add_(rs, eps)
        rect = [rectified_step(t, b1, b2, group["degenerated_to_sgd"]) for t in steps]
        ia = [i for i, (a, _) in enumerate(rect) if a]
        if ia:
            torch._foreach_addcdiv_([ps[i] for i in ia], [ms[i] for i in ia], [rs[i] for i in ia],
                                    [-rect[i][1] * lr for i in ia])
        for i, (a, s) in enumerate(rect):  # SGD steps of the first iterations: few and cheap
            if not a and s > 0:
                ps[i].add_(ms[i], alpha=-s * lr)


# ----------------------------------------------------------------------------------------------------------------
# the same rule on a batch of R independent runs (leading dim of every tensor)
# ----------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AdaBeliefHP:
    """Hyper-parameters of :func:`adabelief_update`; ``lr`` and ``weight_decay`` may be tensors of shape ``(R,)``
    (one value per run), the others are shared by the runs."""

    lr: float | torch.Tensor = 1e-3
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-16
    weight_decay: float | torch.Tensor = 0.0
    amsgrad: bool = False
    weight_decouple: bool = True
    fixed_decay: bool = False
    rectify: bool = True
    degenerated_to_sgd: bool = True


def adabelief_init(params: list[torch.Tensor], hp: AdaBeliefHP) -> dict[str, Any]:
    """Zero state for :func:`adabelief_update`: ``{"step": 0, "exp_avg": [...], "exp_avg_var": [...]}``."""
    st: dict[str, Any] = {"step": 0, "exp_avg": [torch.zeros_like(p) for p in params],
                          "exp_avg_var": [torch.zeros_like(p) for p in params]}
    if hp.amsgrad:
        st["max_exp_avg_var"] = [torch.zeros_like(p) for p in params]
    return st


def adabelief_update(params: list[torch.Tensor], grads: list[torch.Tensor], state: dict[str, Any],
                     hp: AdaBeliefHP) -> None:
    """One AdaBelief step, in place, for tensors of shape ``(R, ...)`` holding R independent runs (the equations of
    the module docstring, applied run by run; ``grads`` are not modified)."""
    if len(params) != len(grads) or any(p.shape != g.shape for p, g in zip(params, grads)):
        raise ValueError("params and grads must be lists of tensors of equal shapes")
    b1, b2 = check_betas((hp.beta1, hp.beta2))
    eps = check_nonneg("eps", hp.eps)
    state["step"] += 1
    t = state["step"]
    for i, (p, g) in enumerate(zip(params, grads)):
        lr = per_run(hp.lr, p, "lr")
        wd = per_run(hp.weight_decay, p, "weight_decay")
        if hp.weight_decouple:
            p.mul_(1.0 - wd * (1.0 if hp.fixed_decay else lr))
        else:
            g = g + wd * p
        m, s = state["exp_avg"][i], state["exp_avg_var"][i]
        m.mul_(b1).add_(g, alpha=1.0 - b1)
        r = g - m
        s.mul_(b2).addcmul_(r, r, value=1.0 - b2).add_(eps)
        v = torch.maximum(state["max_exp_avg_var"][i], s, out=state["max_exp_avg_var"][i]) if hp.amsgrad else s
        if not hp.rectify:
            p.sub_(lr / (1.0 - b1**t) * m / (v.sqrt() / math.sqrt(1.0 - b2**t) + eps))
            continue
        adaptive, ss = rectified_step(t, b1, b2, hp.degenerated_to_sgd)
        if adaptive:
            p.sub_(ss * lr * m / (v.sqrt() + eps))
        elif ss > 0:
            p.sub_(ss * lr * m)
