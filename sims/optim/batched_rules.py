"""The adaptive optimizers of sims.optim as update rules of the batched trainer (:mod:`sims.optim.rules` protocol,
:func:`sims.nets.trainer.train`): R independent runs, row r of every tensor = run r.

Each rule applies, at step t, the pure batched update of its optimizer module to the rows still active:

- :class:`AdaBeliefRule`: :func:`sims.optim.adabelief.adabelief_update` (m_t = b1 m + (1-b1) g,
  s_t = b2 s + (1-b2)(g - m_t)^2 + eps, theta <- theta - lr m_t / (1-b1^t) / (sqrt(s_t/(1-b2^t)) + eps), with
  RAdam rectification, decoupled or L2 decay, amsgrad: the equations of that module);
- :class:`DiffGradRule`: :func:`sims.optim.diffgrad.diffgrad_update` (Adam step times xi_t = sigmoid(|g_{t-1} - g_t|));
- :class:`SGDSaIRule`: :func:`sims.optim.sgd_sai.sgd_sai_update` (theta <- theta (1 - lr wd) - lr gsnr m_t, gsnr of
  each run and tensor fixed from its first gradient);
- :class:`AdamRule`: torch.optim.Adam's update (no pure function elsewhere; written here, four lines):
  g <- g + wd theta, m_t = b1 m + (1-b1) g, v_t = b2 v + (1-b2) g^2 (amsgrad: v_max = max(v_max, v_t) used below),
  theta <- theta - lr / (1-b1^t) * m_t / (sqrt(v_t) / sqrt(1-b2^t) + eps).

Per-run hyper-parameters: ``lr`` and ``weight_decay`` (numbers or (R,) tensors, >= 0) are copied into the state at
``init`` so that they follow the runs through active-row compaction. ``betas``, ``eps``, ``momentum`` and the flags are
shared by the runs (the pure functions take them as numbers). Every check raises ValueError naming the argument.

Adapting the in-place, int-counted pure functions to the functional protocol:
- the step counter is the trainer's ``t`` (every active run has taken exactly t-1 steps before step t), not a field
  of the state, so that the state holds only (R, ...) tensors;
- ``step`` clones the parameters and the state before the in-place update, so that the tensors the trainer passes in
  are unchanged (``compact=False`` holds stopped runs with ``torch.where(active, new, old)``);
- SGD-SaI: its gsnr and momentum buffer start as zeros in the state (the pure function starts from None) and are
  filled at t = 1. A run whose first gradient is non-finite would make the pure function raise for the whole batch;
  here that run's gsnr and parameters become NaN instead (the trainer then flags it diverged) and the other runs go on.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import torch

from .adabelief import AdaBeliefHP, adabelief_update
from .checks import check_betas, check_nonneg, check_unit_interval
from .diffgrad import DiffGradHP, diffgrad_update
from .rules import Params, _check_grads, _runs_of, per_run
from .sgd_sai import SgdSaiHP, sgd_sai_update

__all__ = ["AdaBeliefRule", "AdamRule", "DiffGradRule", "SGDSaIRule"]

HyperParameter = torch.Tensor | float


def _check_t(t: int) -> int:
    if isinstance(t, bool) or not isinstance(t, int) or t < 1:
        raise ValueError(f"t must be an int >= 1 (the step number), got {t!r}")
    return t


def _check_flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return value


def _check_scalar_or_runs(name: str, value: HyperParameter) -> HyperParameter:
    """Early check of a per-run hyper-parameter given as a number (its shape is checked at ``init``, when R is
    known): a finite number >= 0, or a 1-d tensor."""
    if isinstance(value, torch.Tensor):
        if value.ndim != 1:
            raise ValueError(f"{name} must be a number or an (R,) tensor, got shape {tuple(value.shape)}")
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a finite number >= 0 or an (R,) tensor, got {value!r}")
    return check_nonneg(name, value)


def _per_run_state(params: Params, **hps: HyperParameter) -> dict[str, torch.Tensor]:
    r = _runs_of(params)
    return {k: per_run(v, r, k, low=0.0, dtype=params[0].dtype, device=params[0].device) for k, v in hps.items()}


def _copies(ts: tuple[torch.Tensor, ...]) -> list[torch.Tensor]:
    return [x.clone() for x in ts]


def _zeros(params: Params) -> tuple[torch.Tensor, ...]:
    return tuple(torch.zeros_like(p) for p in params)


class AdaBeliefRule:
    """AdaBelief on R runs (equations: :mod:`sims.optim.adabelief`); the defaults are those of
    :class:`sims.optim.adabelief.AdaBelief` (adabelief-pytorch 0.2.1): lr 1e-3, betas (0.9, 0.999), eps 1e-16,
    weight_decay 0, decoupled decay, rectified. lr, weight_decay: numbers or (R,) tensors >= 0."""

    def __init__(self, lr: HyperParameter = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-16,
                 weight_decay: HyperParameter = 0.0, *, amsgrad: bool = False, weight_decouple: bool = True,
                 fixed_decay: bool = False, rectify: bool = True, degenerated_to_sgd: bool = True) -> None:  # fmt: skip
        self._lr = _check_scalar_or_runs("lr", lr)
        self._wd = _check_scalar_or_runs("weight_decay", weight_decay)
        b1, b2 = check_betas(betas)
        self._hp = AdaBeliefHP(beta1=b1, beta2=b2, eps=check_nonneg("eps", eps),
                               amsgrad=_check_flag("amsgrad", amsgrad),
                               weight_decouple=_check_flag("weight_decouple", weight_decouple),
                               fixed_decay=_check_flag("fixed_decay", fixed_decay),
                               rectify=_check_flag("rectify", rectify),
                               degenerated_to_sgd=_check_flag("degenerated_to_sgd", degenerated_to_sgd))  # fmt: skip

    def init(self, params: Params) -> dict[str, Any]:
        st: dict[str, Any] = _per_run_state(params, lr=self._lr, weight_decay=self._wd)
        st["exp_avg"], st["exp_avg_var"] = _zeros(params), _zeros(params)
        if self._hp.amsgrad:
            st["max_exp_avg_var"] = _zeros(params)
        return st

    def step(self, params: Params, grads: Params, state: dict[str, Any], t: int) -> tuple[Params, dict[str, Any]]:
        _check_grads(params, grads)
        t = _check_t(t)
        new = _copies(params)
        inner: dict[str, Any] = {"step": t - 1, "exp_avg": _copies(state["exp_avg"]),
                                 "exp_avg_var": _copies(state["exp_avg_var"])}  # fmt: skip
        if self._hp.amsgrad:
            inner["max_exp_avg_var"] = _copies(state["max_exp_avg_var"])
        hp = replace(self._hp, lr=state["lr"], weight_decay=state["weight_decay"])
        adabelief_update(new, list(grads), inner, hp)
        out = {**state, "exp_avg": tuple(inner["exp_avg"]), "exp_avg_var": tuple(inner["exp_avg_var"])}
        if self._hp.amsgrad:
            out["max_exp_avg_var"] = tuple(inner["max_exp_avg_var"])
        return tuple(new), out


class DiffGradRule:
    """diffGrad (v2) on R runs (equations: :mod:`sims.optim.diffgrad`); defaults lr 1e-3, betas (0.9, 0.999),
    eps 1e-8, weight_decay 0 (L2). lr, weight_decay: numbers or (R,) tensors >= 0."""

    def __init__(self, lr: HyperParameter = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: HyperParameter = 0.0) -> None:  # fmt: skip
        self._lr = _check_scalar_or_runs("lr", lr)
        self._wd = _check_scalar_or_runs("weight_decay", weight_decay)
        self._b1, self._b2 = check_betas(betas)
        self._eps = check_nonneg("eps", eps)

    def init(self, params: Params) -> dict[str, Any]:
        st: dict[str, Any] = _per_run_state(params, lr=self._lr, weight_decay=self._wd)
        st["exp_avg"], st["exp_avg_sq"], st["previous_grad"] = _zeros(params), _zeros(params), _zeros(params)
        return st

    def step(self, params: Params, grads: Params, state: dict[str, Any], t: int) -> tuple[Params, dict[str, Any]]:
        _check_grads(params, grads)
        t = _check_t(t)
        new = _copies(params)
        keys = ("exp_avg", "exp_avg_sq", "previous_grad")
        inner: dict[str, Any] = {"step": t - 1, **{k: _copies(state[k]) for k in keys}}
        hp = DiffGradHP(lr=state["lr"], beta1=self._b1, beta2=self._b2, eps=self._eps,
                        weight_decay=state["weight_decay"])  # fmt: skip
        diffgrad_update(new, list(grads), inner, hp)
        return tuple(new), {**state, **{k: tuple(inner[k]) for k in keys}}


class SGDSaIRule:
    """SGD-SaI on R runs (equations: :mod:`sims.optim.sgd_sai`); defaults those of
    :class:`sims.optim.sgd_sai.SGDSaI` (sgd-sai 1.0.3): lr 1e-2, momentum 0.9, eps 1e-8, weight_decay 1e-2
    (decoupled); ``gsnr_normalize`` divides each run's gsnr by its largest over the tensors. lr, weight_decay: numbers
    or (R,) tensors >= 0; momentum in [0, 1) shared."""

    def __init__(self, lr: HyperParameter = 1e-2, momentum: float = 0.9, eps: float = 1e-8,
                 weight_decay: HyperParameter = 1e-2, *, gsnr_normalize: bool = False) -> None:  # fmt: skip
        self._lr = _check_scalar_or_runs("lr", lr)
        self._wd = _check_scalar_or_runs("weight_decay", weight_decay)
        self._mu = check_unit_interval("momentum", momentum)
        self._eps = check_nonneg("eps", eps)
        self._normalize = _check_flag("gsnr_normalize", gsnr_normalize)

    def init(self, params: Params) -> dict[str, Any]:
        st: dict[str, Any] = _per_run_state(params, lr=self._lr, weight_decay=self._wd)
        # gsnr is computed in float64 for float64 gradients and in float32 otherwise (sims.optim.sgd_sai.gsnr)
        gdt = torch.float64 if params[0].dtype == torch.float64 else torch.float32
        st["gsnr"] = tuple(torch.zeros(p.shape[0], dtype=gdt, device=p.device) for p in params)
        st["momentum_buffer"] = _zeros(params) if self._mu != 0.0 else ()
        return st

    def step(self, params: Params, grads: Params, state: dict[str, Any], t: int) -> tuple[Params, dict[str, Any]]:
        _check_grads(params, grads)
        t = _check_t(t)
        new = _copies(params)
        g = list(grads)
        bad = None
        if t == 1:
            bad = torch.zeros(params[0].shape[0], dtype=torch.bool, device=params[0].device)
            for x in g:
                bad |= ~torch.isfinite(x.reshape(x.shape[0], -1)).all(dim=1)
            if bool(bad.any()):  # give those runs a finite stand-in gradient, then NaN them out below
                g = [torch.where(bad.view(-1, *([1] * (x.ndim - 1))), torch.ones_like(x), x) for x in g]
            inner: dict[str, Any] = {"step": 0, "gsnr": None, "momentum_buffer": None}
        else:
            inner = {"step": t - 1, "gsnr": list(state["gsnr"]),
                     "momentum_buffer": _copies(state["momentum_buffer"]) if self._mu != 0.0 else None}  # fmt: skip
        hp = SgdSaiHP(lr=state["lr"], momentum=self._mu, eps=self._eps, weight_decay=state["weight_decay"],
                      gsnr_normalize=self._normalize)  # fmt: skip
        sgd_sai_update(new, g, inner, hp)
        gs = tuple(inner["gsnr"])
        if bad is not None and bool(bad.any()):
            gs = tuple(torch.where(bad, torch.full_like(x, math.nan), x) for x in gs)
            new = [torch.where(bad.view(-1, *([1] * (p.ndim - 1))), torch.full_like(p, math.nan), p) for p in new]
        buf = tuple(inner["momentum_buffer"]) if self._mu != 0.0 else ()
        return tuple(new), {**state, "gsnr": gs, "momentum_buffer": buf}


class AdamRule:
    """Adam on R runs, torch.optim.Adam's arithmetic (module docstring); defaults lr 1e-3, betas (0.9, 0.999),
    eps 1e-8, weight_decay 0 (L2), amsgrad off. lr, weight_decay: numbers or (R,) tensors >= 0."""

    def __init__(self, lr: HyperParameter = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: HyperParameter = 0.0, *, amsgrad: bool = False) -> None:  # fmt: skip
        self._lr = _check_scalar_or_runs("lr", lr)
        self._wd = _check_scalar_or_runs("weight_decay", weight_decay)
        self._b1, self._b2 = check_betas(betas)
        self._eps = check_nonneg("eps", eps)
        self._amsgrad = _check_flag("amsgrad", amsgrad)

    def init(self, params: Params) -> dict[str, Any]:
        st: dict[str, Any] = _per_run_state(params, lr=self._lr, weight_decay=self._wd)
        st["exp_avg"], st["exp_avg_sq"] = _zeros(params), _zeros(params)
        st["max_exp_avg_sq"] = _zeros(params) if self._amsgrad else ()
        return st

    def step(self, params: Params, grads: Params, state: dict[str, Any], t: int) -> tuple[Params, dict[str, Any]]:
        _check_grads(params, grads)
        t = _check_t(t)
        b1, b2, eps = self._b1, self._b2, self._eps
        c1, c2 = 1.0 - b1**t, math.sqrt(1.0 - b2**t)
        new, ms, vs, vmax = [], [], [], []
        for i, (p, g) in enumerate(zip(params, grads)):
            col = (-1,) + (1,) * (p.ndim - 1)
            lr, wd = state["lr"].view(col), state["weight_decay"].view(col)
            g = g + wd * p
            m = b1 * state["exp_avg"][i] + (1.0 - b1) * g
            v = b2 * state["exp_avg_sq"][i] + (1.0 - b2) * g * g
            ms.append(m)
            vs.append(v)
            if self._amsgrad:
                v = torch.maximum(state["max_exp_avg_sq"][i], v)
                vmax.append(v)
            new.append(p - (lr / c1) * m / (v.sqrt() / c2 + eps))
        return tuple(new), {**state, "exp_avg": tuple(ms), "exp_avg_sq": tuple(vs), "max_exp_avg_sq": tuple(vmax)}
