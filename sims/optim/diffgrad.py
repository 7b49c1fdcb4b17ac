"""diffGrad (Dubey et al., IEEE TNNLS 2019): Adam whose step is damped by a "friction" of the gradient's change.

Update for one tensor at step ``t`` (diffGrad_v2.py of shivram1987/diffGrad = torch-optimizer 0.3.0's DiffGrad):

    g <- g + wd theta                             (L2; p.grad itself is left untouched, unlike the reference)
    m_t = b1 m + (1 - b1) g,   v_t = b2 v + (1 - b2) g^2
    xi_t = sigmoid(|g_{t-1} - g_t|)                (g_0 = 0, so xi in [0.5, 1); g is the decayed gradient)
    theta <- theta - lr sqrt(1 - b2^t) / (1 - b1^t) * xi_t m_t / (sqrt(v_t) + eps)

Defaults ``lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0``.

:class:`DiffGradV1` reproduces the first release (diffGrad.py), which kept a *reference* to ``p.grad`` as the previous
gradient instead of a copy: with ``zero_grad(set_to_none=False)`` the stored tensor is the current gradient at the next
step, so ``xi = sigmoid(0) = 1/2`` from step 2 on (Adam at half the learning rate). It exists to show that trap.
:func:`diffgrad_update` is the v2 rule on tensors whose leading dim holds R independent runs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import torch
from torch.optim import Optimizer

from .checks import check_betas, check_nonneg, closure_loss, grad_of, params_with_grad, per_run, use_foreach

__all__ = ["DiffGrad", "DiffGradV1", "DiffGradHP", "diffgrad_init", "diffgrad_update", "friction"]


def friction(prev_grad: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
    """diffGrad's friction coefficient ``xi = sigmoid(|g_prev - g|)`` (elementwise, in [0.5, 1))."""
    return (prev_grad - grad).abs_().sigmoid_()


class DiffGrad(Optimizer):
    """diffGrad v2 as a ``torch.optim.Optimizer`` (module docstring: the equations).

    ``foreach=True`` uses the multi-tensor (``torch._foreach_*``) path, ``False`` a loop over tensors (same numbers);
    ``None`` (default) the first on CUDA, the second on CPU (faster there: ``sims.optim.checks.use_foreach``).
    The step counter is per tensor (a tensor without a gradient is skipped and does not count the step).
    """

    _alias_previous_grad = False

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        *,
        foreach: bool | None = None,
    ) -> None:
        defaults = dict(lr=check_nonneg("lr", lr), betas=check_betas(betas), eps=check_nonneg("eps", eps),
                        weight_decay=check_nonneg("weight_decay", weight_decay), foreach=foreach)
        super().__init__(params, defaults)
        for g in self.param_groups:
            check_nonneg("lr", g["lr"]), check_betas(g["betas"]), check_nonneg("eps", g["eps"])
            check_nonneg("weight_decay", g["weight_decay"])

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:  # type: ignore[override]
        loss = closure_loss(closure)
        for group in self.param_groups:
            ps = params_with_grad(group["params"], type(self).__name__)
            if not ps:
                continue
            for p in ps:
                st = self.state[p]
                if len(st) == 0:
                    st["step"] = 0
                    st["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    st["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    st["previous_grad"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                st["step"] += 1
            if use_foreach(group["foreach"], ps) and not self._alias_previous_grad:
                self._step_foreach(group, ps)
            else:
                self._step_loop(group, ps)
        return loss

    def _step_loop(self, group: dict[str, Any], ps: list[torch.Tensor]) -> None:
        b1, b2 = group["betas"]
        lr, eps, wd = group["lr"], group["eps"], group["weight_decay"]
        for p in ps:
            st = self.state[p]
            t = st["step"]
            if self._alias_previous_grad and wd != 0.0:
                g = grad_of(p).add_(p, alpha=wd)  # v1 decayed p.grad in place (the alias holds the decayed gradient)
            else:
                g = grad_of(p) if wd == 0.0 else grad_of(p).add(p, alpha=wd)
            m, v = st["exp_avg"], st["exp_avg_sq"]
            m.mul_(b1).add_(g, alpha=1.0 - b1)
            v.mul_(b2).addcmul_(g, g, value=1.0 - b2)
            denom = v.sqrt().add_(eps)
            xi = friction(st["previous_grad"], g)
            if self._alias_previous_grad:
                st["previous_grad"] = g  # the v1 bug: a reference, overwritten in place by the next backward
            else:
                st["previous_grad"].copy_(g)
            p.addcdiv_(xi.mul_(m), denom, value=-lr * math.sqrt(1.0 - b2**t) / (1.0 - b1**t))

    def _step_foreach(self, group: dict[str, Any], ps: list[torch.Tensor]) -> None:
        b1, b2 = group["betas"]
        lr, eps, wd = group["lr"], group["eps"], group["weight_decay"]
        grads: list[torch.Tensor] = [grad_of(p) for p in ps]
        if wd != 0.0:
            grads = list(torch._foreach_add(grads, ps, alpha=wd))
        ms = [self.state[p]["exp_avg"] for p in ps]
        vs = [self.state[p]["exp_avg_sq"] for p in ps]
        prev = [self.state[p]["previous_grad"] for p in ps]
        steps = [self.state[p]["step"] for p in ps]
        torch._foreach_mul_(ms, b1)
        torch._foreach_add_(ms, grads, alpha=1.0 - b1)
        torch._foreach_mul_(vs, b2)
        torch._foreach_addcmul_(vs, grads, grads, value=1.0 - b2)
        denom = torch._foreach_sqrt(vs)  # the one temporary of the size of the parameters
        torch._foreach_add_(denom, eps)
        torch._foreach_sub_(prev, grads)  # prev <- xi * m, then prev <- g: no second temporary
        torch._foreach_abs_(prev)
        torch._foreach_sigmoid_(prev)
        torch._foreach_mul_(prev, ms)
        torch._foreach_addcdiv_(ps, prev, denom, [-lr * math.sqrt(1.0 - b2**t) / (1.0 - b1**t) for t in steps])
        torch._foreach_copy_(prev, grads)


class DiffGradV1(DiffGrad):
    """diffGrad's first release, bug included: the previous gradient is an alias of the gradient tensor (module
    docstring). Use only to show the trap; the friction is stuck at 1/2 when ``p.grad`` is zeroed in place."""

    _alias_previous_grad = True


# ----------------------------------------------------------------------------------------------------------------
# the same rule on a batch of R independent runs (leading dim of every tensor)
# ----------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DiffGradHP:
    """Hyper-parameters of :func:`diffgrad_update`; ``lr`` and ``weight_decay`` may be tensors of shape ``(R,)``."""

    lr: float | torch.Tensor = 1e-3
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    weight_decay: float | torch.Tensor = 0.0


def diffgrad_init(params: list[torch.Tensor]) -> dict[str, Any]:
    """Zero state for :func:`diffgrad_update`."""
    return {"step": 0, "exp_avg": [torch.zeros_like(p) for p in params],
            "exp_avg_sq": [torch.zeros_like(p) for p in params],
            "previous_grad": [torch.zeros_like(p) for p in params]}


def diffgrad_update(params: list[torch.Tensor], grads: list[torch.Tensor], state: dict[str, Any],
                    hp: DiffGradHP) -> None:
    """One diffGrad (v2) step, in place, for tensors of shape ``(R, ...)`` holding R independent runs."""
    if len(params) != len(grads) or any(p.shape != g.shape for p, g in zip(params, grads)):
        raise ValueError("params and grads must be lists of tensors of equal shapes")
    b1, b2 = check_betas((hp.beta1, hp.beta2))
    eps = check_nonneg("eps", hp.eps)
    state["step"] += 1
    t = state["step"]
    for i, (p, g) in enumerate(zip(params, grads)):
        lr = per_run(hp.lr, p, "lr")
        g = g + per_run(hp.weight_decay, p, "weight_decay") * p
        m, v, prev = state["exp_avg"][i], state["exp_avg_sq"][i], state["previous_grad"][i]
        m.mul_(b1).add_(g, alpha=1.0 - b1)
        v.mul_(b2).addcmul_(g, g, value=1.0 - b2)
        xi = friction(prev, g)
        prev.copy_(g)
        p.sub_(lr * (math.sqrt(1.0 - b2**t) / (1.0 - b1**t)) * xi * m / (v.sqrt() + eps))
