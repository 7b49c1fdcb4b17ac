"""Global top-fraction coordinate-wise gradient clipping, and the sign-like optimizers compared with it.

Clipping (Pan & Li 2023): over ALL parameters flattened into g in R^n, let k = floor(c n) and tau the (k+1)-th largest
|g_i| (so the k largest coordinates are the ones clipped); then g_i <- sign(g_i) min(|g_i|, tau). c = 0 is the
identity; exactly k coordinates change, up to ties at tau. tau is found with ``torch.topk`` (k + 1 values) or
``torch.kthvalue`` (never ``torch.quantile``, which refuses inputs above ~16M elements).

Optimizers (``torch.optim.Optimizer`` subclasses, float32/float64, any device):
- ``ClippedSGD``: heavy-ball momentum on the clipped gradient, b <- mu b + clip_c(g) (b_1 = clip_c(g_1)),
  theta <- theta - lr b (torch.optim.SGD's convention; c = 0.1 in the paper for SGD; c = 0 is torch's SGD);
- ``ClippedAdam``: Adam whose first moment takes clip_c(g) and whose second moment takes the unclipped g^2
  (m <- b1 m + (1 - b1) clip_c(g), v <- b2 v + (1 - b2) g^2, theta <- theta - lr m_hat / (sqrt(v_hat) + eps));
  with c = 0 it is torch.optim.Adam;
- ``SignSGD``: theta <- theta - lr sign(g);
- ``NormalizedSGD``: theta <- theta - lr g / ||g|| (the norm over all parameters of the group);
- ``Lion`` (Chen et al. 2023): u = sign(b1 m + (1 - b1) g), theta <- theta (1 - lr wd) - lr u, m <- b2 m + (1 - b2) g.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import torch
from torch.optim import Optimizer

from sims.optim.checks import closure_loss


def _check_fraction(c: float) -> float:
    if isinstance(c, bool) or not isinstance(c, (int, float)) or not (0.0 <= c < 1.0):
        raise ValueError(f"clip fraction c must be a number in [0, 1), got {c!r}")
    return float(c)


def clip_threshold(grads: Sequence[torch.Tensor], c: float, *, method: str = "topk") -> torch.Tensor | None:
    """tau = the (floor(c n) + 1)-th largest |g_i| over all ``grads`` flattened (None when c n < 1: no clipping).

    ``method``: "topk" (k + 1 largest), "kthvalue" (the (n - k)-th smallest) or "sort" (full sort; for benchmarks)."""
    c = _check_fraction(c)
    n = sum(g.numel() for g in grads)
    if n == 0:
        raise ValueError("grads must hold at least one element")
    k = math.floor(c * n)
    if k == 0:
        return None
    flat = torch.cat([g.detach().reshape(-1).abs() for g in grads])
    if not math.isfinite(float(flat.max())):  # max |g| is nan or inf iff some g_i is: one cheap reduction
        raise ValueError("gradients must be finite to be clipped")
    if method == "topk":
        return torch.topk(flat, k + 1, sorted=False).values.min()
    if method == "kthvalue":
        return torch.kthvalue(flat.cpu() if flat.device.type == "mps" else flat, n - k).values.to(flat.device)
    if method == "sort":
        return torch.sort(flat, descending=True).values[k]
    raise ValueError(f"method must be 'topk', 'kthvalue' or 'sort', got {method!r}")


def clip_top_fraction(grads: Sequence[torch.Tensor], c: float, *, method: str = "topk") -> list[torch.Tensor]:
    """The clipped gradients sign(g) min(|g|, tau) (new tensors; see :func:`clip_threshold`)."""
    tau = clip_threshold(grads, c, method=method)
    if tau is None:
        return [g.clone() for g in grads]
    return [g.clamp(min=-tau, max=tau) for g in grads]


def _check_lr(lr: float) -> None:
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not (math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a finite number > 0, got {lr!r}")


def _check_betas(betas: tuple[float, float]) -> None:
    if len(betas) != 2 or not all(isinstance(b, (int, float)) and 0.0 <= b < 1.0 for b in betas):
        raise ValueError(f"betas must be two numbers in [0, 1), got {betas!r}")


def _grads(group: dict[str, Any]) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    ps, gs = [], []
    for p in group["params"]:
        if p.grad is None:
            continue
        if p.grad.is_sparse:
            raise ValueError("sparse gradients are not supported")
        ps.append(p)
        gs.append(p.grad)
    return ps, gs


class _GroupOptimizer(Optimizer):
    """Runs the closure (with grad enabled) and then ``_update(group, params, grads)`` for every param group."""

    def _update(self, group: dict[str, Any], ps: list[torch.Tensor], gs: list[torch.Tensor]) -> None:
        raise NotImplementedError

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:  # type: ignore[override]
        loss = closure_loss(closure)
        for group in self.param_groups:
            ps, gs = _grads(group)
            if ps:
                self._update(group, ps, gs)
        return loss


class ClippedSGD(_GroupOptimizer):
    """b <- mu b + clip_c(g), theta <- theta - lr b (clipping over all parameters of a param group)."""

    def __init__(self, params: Iterable[Any], lr: float = 1e-2, c: float = 0.1, momentum: float = 0.0,
                 method: str = "topk") -> None:  # fmt: skip
        _check_lr(lr)
        _check_fraction(c)
        if isinstance(momentum, bool) or not isinstance(momentum, (int, float)) or not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be a number in [0, 1), got {momentum!r}")
        super().__init__(params, {"lr": lr, "c": c, "momentum": float(momentum), "method": method})

    def _update(self, group: dict[str, Any], ps: list[torch.Tensor], gs: list[torch.Tensor]) -> None:
        for p, g in zip(ps, clip_top_fraction(gs, group["c"], method=group["method"])):
            if group["momentum"] > 0:
                st = self.state[p]
                if "b" not in st:
                    st["b"] = g.clone()
                else:
                    st["b"].mul_(group["momentum"]).add_(g)
                g = st["b"]
            p.add_(g, alpha=-group["lr"])


class ClippedAdam(_GroupOptimizer):
    """Adam with the first moment from clip_c(g) and the second from the unclipped g^2 (see the module docstring)."""

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, c: float = 0.5, method: str = "topk") -> None:  # fmt: skip
        _check_lr(lr)
        _check_fraction(c)
        _check_betas(betas)
        if not (eps >= 0 and math.isfinite(eps)):
            raise ValueError(f"eps must be >= 0, got {eps!r}")
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps, "c": c, "method": method})

    def _update(self, group: dict[str, Any], ps: list[torch.Tensor], gs: list[torch.Tensor]) -> None:
        b1, b2 = group["betas"]
        for p, g, gc in zip(ps, gs, clip_top_fraction(gs, group["c"], method=group["method"])):
            st = self.state[p]
            if not st:
                st["step"] = 0
                st["m"] = torch.zeros_like(p)
                st["v"] = torch.zeros_like(p)
            st["step"] += 1
            t = st["step"]
            st["m"].mul_(b1).add_(gc, alpha=1 - b1)
            st["v"].mul_(b2).addcmul_(g, g, value=1 - b2)
            denom = (st["v"] / (1 - b2**t)).sqrt_().add_(group["eps"])
            p.addcdiv_(st["m"], denom, value=-group["lr"] / (1 - b1**t))


class SignSGD(_GroupOptimizer):
    """theta <- theta - lr sign(g)."""

    def __init__(self, params: Iterable[Any], lr: float = 1e-3) -> None:
        _check_lr(lr)
        super().__init__(params, {"lr": lr})

    def _update(self, group: dict[str, Any], ps: list[torch.Tensor], gs: list[torch.Tensor]) -> None:
        for p, g in zip(ps, gs):
            p.add_(torch.sign(g), alpha=-group["lr"])


class NormalizedSGD(_GroupOptimizer):
    """theta <- theta - lr g / ||g|| with the norm over all parameters of the param group (no step when g = 0)."""

    def __init__(self, params: Iterable[Any], lr: float = 1e-2) -> None:
        _check_lr(lr)
        super().__init__(params, {"lr": lr})

    def _update(self, group: dict[str, Any], ps: list[torch.Tensor], gs: list[torch.Tensor]) -> None:
        norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in gs]))
        if float(norm) > 0:
            for p, g in zip(ps, gs):
                p.add_(g / norm, alpha=-group["lr"])


class Lion(_GroupOptimizer):
    """Lion: u = sign(b1 m + (1 - b1) g); theta <- theta (1 - lr wd) - lr u; m <- b2 m + (1 - b2) g."""

    def __init__(self, params: Iterable[Any], lr: float = 1e-4, betas: tuple[float, float] = (0.9, 0.99),
                 weight_decay: float = 0.0) -> None:  # fmt: skip
        _check_lr(lr)
        _check_betas(betas)
        if not (weight_decay >= 0 and math.isfinite(weight_decay)):
            raise ValueError(f"weight_decay must be >= 0, got {weight_decay!r}")
        super().__init__(params, {"lr": lr, "betas": betas, "weight_decay": weight_decay})

    def _update(self, group: dict[str, Any], ps: list[torch.Tensor], gs: list[torch.Tensor]) -> None:
        b1, b2 = group["betas"]
        for p, g in zip(ps, gs):
            st = self.state[p]
            if not st:
                st["m"] = torch.zeros_like(p)
            u = torch.sign(st["m"] * b1 + g * (1 - b1))
            p.mul_(1 - group["lr"] * group["weight_decay"]).add_(u, alpha=-group["lr"])
            st["m"].mul_(b2).add_(g, alpha=1 - b2)
