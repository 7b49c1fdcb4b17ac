"""PSGD optimizers (Li 2018; Pooladzandi & Li 2024, arXiv 2402.04553) as ``torch.optim.Optimizer`` classes.

The parameter step is ``theta <- theta - lr * P m`` with ``P = Q^T Q`` and ``m`` the gradient (or its moving average
``m <- beta m + (1 - beta) g`` when ``momentum = beta > 0``), optionally rescaled so that ``||lr P m|| <= lr *
grad_clip_max_norm``. ``Q`` is fitted on its Lie group by :mod:`sims.optim.psgd_fit`, from probe pairs ``(v, h)``:

* ``preconditioner_type="newton"``: ``v ~ N(0, I)``, ``h = H v`` exact (``hvp="exact"``, double backward) or by finite
  differences (``hvp="finite_difference"``: ``v = sqrt(eps) * N(0, I)``, ``h = g(theta + v) - g(theta)``; the
  parameters are moved to ``theta + v`` for the second gradient and the perturbation is removed in the step);
  the fit drives ``P -> |H|^{-1}``.
* ``preconditioner_type="whitening"``: ``h = g`` (the gradient), ``v ~ N(0, I)`` independent; ``P -> (E g g^T)^{-1/2}``.

Classes (the preconditioner spans all parameters, concatenated in order, except Kron which has one per tensor):
:class:`XMat` (``diag(a) + adiag(b)``), :class:`LRA` (``(I + U V^T) diag(d)``; ``UVd`` is an alias), :class:`Newton`
(dense ``Q``, with ``Q^{-1}`` kept by Woodbury, or upper triangular), :class:`Kron` (one factor per dimension).

API as the reference (psgd-torch 0.6.1): ``opt.step(closure)`` where ``closure()`` evaluates the loss (or a tuple whose
first entry is the loss) *without* calling ``backward``: the optimizer takes the gradients itself. Differences from the
reference, on purpose: every random number comes from ``generator`` (a ``torch.Generator``; the reference uses the
global RNG), drawn in the reference's order (the update-probability coin at every step, then the probes, then the
coins of the fitting step), so the iterates are identical when the global RNG and the generator start from the same
seed; out-of-range hyperparameters raise ``ValueError`` instead of being silently replaced; the state (including the
generator's) round-trips through ``state_dict``.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable
from typing import Any

import torch

from sims.optim import psgd_fit as F

PRECONDITIONER_TYPES = ("newton", "whitening")
HVP_MODES = ("exact", "finite_difference")
_STATE = "psgd"


def _check_finite_in(name: str, x: float, lo: float, hi: float, lo_open: bool = False, hi_open: bool = False) -> None:
    ok = isinstance(x, (int, float)) and math.isfinite(x) or (hi == math.inf and x == math.inf)
    if ok:
        ok = (x > lo if lo_open else x >= lo) and (x < hi if hi_open else x <= hi)
    if not ok:
        lb, rb = ("(" if lo_open else "["), (")" if hi_open else "]")
        raise ValueError(f"{name} must be a number in {lb}{lo}, {hi}{rb}, got {x!r}")


class _PSGDBase(torch.optim.Optimizer):
    """Shared machinery: probes, closure evaluation, momentum, clipping, state. Subclasses define the group."""

    _flat = True  # the preconditioner acts on the concatenation of all parameters

    def __init__(self, params: Iterable[torch.Tensor] | torch.Tensor, *, lr: float, lr_preconditioner: float | None,
                 momentum: float, grad_clip_max_norm: float | None, preconditioner_update_probability: float,
                 step_normalizer: str, hvp: str, preconditioner_type: str, preconditioner_init_scale: float | None,
                 generator: torch.Generator | None) -> None:
        if isinstance(params, torch.Tensor):
            params = [params]
        params = list(params)
        if params and isinstance(params[0], dict):
            if len(params) != 1:
                raise ValueError("PSGD fits one preconditioner over all parameters: pass one parameter group, "
                                 f"got {len(params)}")
            params = list(params[0]["params"])
        params = [p for p in params if p.requires_grad]
        if not params:
            raise ValueError("params must contain at least one tensor with requires_grad=True")
        for p in params:
            if p.is_complex() or not p.is_floating_point():
                raise ValueError(f"params must be real floating-point tensors, got dtype {p.dtype}")
            if p.is_sparse:
                raise ValueError("sparse parameters are not supported")
        if len({p.dtype for p in params}) > 1 and self._flat:
            raise ValueError("all parameters must share one dtype (the preconditioner spans them all)")
        ptype = str(preconditioner_type).lower()
        if ptype not in PRECONDITIONER_TYPES:
            raise ValueError(f"preconditioner_type must be one of {PRECONDITIONER_TYPES}, got {preconditioner_type!r}")
        if hvp not in HVP_MODES:
            raise ValueError(f"hvp must be one of {HVP_MODES}, got {hvp!r}")
        if step_normalizer not in F.NORMALIZERS:
            raise ValueError(f"step_normalizer must be one of {F.NORMALIZERS}, got {step_normalizer!r}")
        if lr_preconditioner is None:  # the reference's defaults (psgd-torch 0.6.1)
            lr_preconditioner = 0.1 if step_normalizer == "2nd" else 0.01
        _check_finite_in("lr", lr, 0.0, math.inf, hi_open=True)
        _check_finite_in("lr_preconditioner", lr_preconditioner, 0.0, 1.0, lo_open=True)
        _check_finite_in("momentum", momentum, 0.0, 1.0, hi_open=True)
        _check_finite_in("preconditioner_update_probability", preconditioner_update_probability, 0.0, 1.0)
        if grad_clip_max_norm is not None:
            _check_finite_in("grad_clip_max_norm", grad_clip_max_norm, 0.0, math.inf, lo_open=True, hi_open=True)
        if preconditioner_init_scale is not None:
            _check_finite_in("preconditioner_init_scale", preconditioner_init_scale, 0.0, math.inf, lo_open=True,
                             hi_open=True)
        if generator is None:
            generator = torch.Generator(device=params[0].device)
            generator.manual_seed(0)
        if not isinstance(generator, torch.Generator):
            raise ValueError(f"generator must be a torch.Generator, got {type(generator).__name__}")
        defaults = dict(lr=lr, lr_preconditioner=lr_preconditioner, momentum=momentum,
                        grad_clip_max_norm=grad_clip_max_norm,
                        preconditioner_update_probability=preconditioner_update_probability,
                        step_normalizer=step_normalizer, hvp=hvp, preconditioner_type=ptype,
                        preconditioner_init_scale=preconditioner_init_scale)
        super().__init__([{"params": params}], defaults)
        self._generator = generator
        dtype = params[0].dtype
        self._tiny = max(torch.finfo(p.dtype).tiny for p in params)
        self._fd_scale = max(torch.finfo(p.dtype).eps for p in params) ** 0.5
        self.state[_STATE] = {"step": 0, "precond": None, "momentum": None}  # type: ignore[index]
        self._dtype = dtype

    def _pstate(self) -> dict[str, Any]:
        """The optimizer's state (one preconditioner for the whole group), under a string key of ``self.state``."""
        return self.state[_STATE]  # type: ignore[index]

    # ---- random numbers, all from the one generator --------------------------------------------------------------
    def _rand(self) -> float:
        return float(torch.rand((), generator=self._generator, device=self._generator.device))

    def _randn(self, like: torch.Tensor) -> torch.Tensor:
        return torch.randn(like.shape, generator=self._generator, dtype=like.dtype,
                           device=self._generator.device).to(like.device)

    # ---- the group (subclasses) ----------------------------------------------------------------------------------
    def _init_precond(self, scale: Any, vs: list[torch.Tensor]) -> dict[str, Any]:
        raise NotImplementedError

    def _fit(self, pre: dict[str, Any], vs: list[torch.Tensor], hs: list[torch.Tensor], step: float,
             normalizer: str) -> None:
        raise NotImplementedError

    def _apply(self, pre: dict[str, Any], gs: list[torch.Tensor]) -> list[torch.Tensor]:
        raise NotImplementedError

    def _init_scale_newton(self, vs: list[torch.Tensor], hs: list[torch.Tensor]) -> list[torch.Tensor]:
        v, h = _cat(vs), _cat(hs)
        return [(torch.sum(v * v) / torch.sum(h * h)) ** 0.25]

    def _init_scale_whitening(self, gs: list[torch.Tensor]) -> list[torch.Tensor]:
        g = _cat(gs)
        return [(len(g) / torch.sum(g * g)) ** 0.25]

    def _whitening_probes(self, gs: list[torch.Tensor]) -> list[torch.Tensor]:
        """One probe for the concatenated gradient (flat groups), drawn as one tensor like the reference."""
        n = sum(g.numel() for g in gs)
        v = self._randn(torch.empty(self._probe_shape(n), dtype=gs[0].dtype, device=gs[0].device)).reshape(-1)
        out, i = [], 0
        for g in gs:
            out.append(v[i:i + g.numel()].view_as(g))
            i += g.numel()
        return out

    def _probe_shape(self, n: int) -> tuple[int, ...]:
        return (n, 1)

    # ---- one step -------------------------------------------------------------------------------------------------
    @staticmethod
    def _loss_of(ret: Any) -> torch.Tensor:
        loss = ret if isinstance(ret, torch.Tensor) else ret[0]
        if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
            raise ValueError("closure must return a scalar loss tensor (or a tuple whose first entry is one)")
        return loss

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:  # type: ignore[override]
        """One PSGD step; ``closure()`` returns the loss without calling backward. Returns what the closure returns."""
        if closure is None:
            raise ValueError("PSGD needs closure(): it evaluates gradients (and Hessian-vector products) itself")
        grp = self.param_groups[0]
        params: list[torch.Tensor] = grp["params"]
        st = self._pstate()
        newton = grp["preconditioner_type"] == "newton"
        fd = grp["hvp"] == "finite_difference"
        prob, normalizer = grp["preconditioner_update_probability"], grp["step_normalizer"]
        lr_pre = grp["lr_preconditioner"]
        vs: list[torch.Tensor] | None = None
        if newton and (self._rand() < prob or st["precond"] is None):
            if not fd:
                with torch.enable_grad():
                    ret = closure()
                    grads = torch.autograd.grad(self._loss_of(ret), params, create_graph=True)
                    vs = [self._randn(p) for p in params]
                    hs = torch.autograd.grad(grads, params, vs)
                grads = tuple(g.detach() for g in grads)
            else:
                with torch.enable_grad():
                    ret = closure()
                    grads = torch.autograd.grad(self._loss_of(ret), params)
                vs = [self._fd_scale * self._randn(p) for p in params]
                for p, v in zip(params, vs):
                    p.add_(v)
                with torch.enable_grad():
                    grads2 = torch.autograd.grad(self._loss_of(closure()), params)
                hs = tuple(g2 - g for g2, g in zip(grads2, grads))
            if st["precond"] is None:
                st["precond"] = self._init_precond(self._init_scale_newton(vs, list(hs)), vs)
            self._fit(st["precond"], vs, list(hs), lr_pre, normalizer)
        else:
            with torch.enable_grad():
                ret = closure()
                grads = torch.autograd.grad(self._loss_of(ret), params)
        gl = list(grads)
        if not newton and (self._rand() < prob or st["precond"] is None):
            if st["precond"] is None:
                st["precond"] = self._init_precond(self._init_scale_whitening(gl), gl)
            self._fit_whitening(st["precond"], gl, lr_pre, normalizer)
        beta = grp["momentum"]
        if beta > 0:
            if st["momentum"] is None:
                st["momentum"] = [(1 - beta) * g for g in gl]
            else:
                for m, g in zip(st["momentum"], gl):
                    m.mul_(beta).add_(g, alpha=1 - beta)
            pre = self._apply(st["precond"], st["momentum"])
        else:
            st["momentum"] = None
            pre = self._apply(st["precond"], gl)
        lr = grp["lr"]
        if grp["grad_clip_max_norm"] is not None:
            norm = self._norm(pre) + self._tiny
            lr = lr * min(grp["grad_clip_max_norm"] / float(norm), 1.0)
        for i, (p, g) in enumerate(zip(params, pre)):
            if newton and fd and vs is not None:
                p.sub_(lr * g + vs[i])
            else:
                p.sub_(lr * g)
        st["step"] += 1
        return ret

    def _norm(self, xs: list[torch.Tensor]) -> torch.Tensor:
        return torch.linalg.vector_norm(_cat(xs))

    def _fit_whitening(self, pre: dict[str, Any], grads: list[torch.Tensor], step: float, normalizer: str) -> None:
        self._fit(pre, self._whitening_probes(grads), grads, step, normalizer)

    # ---- state ----------------------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        sd = super().state_dict()
        sd["state"] = {k: copy.deepcopy(v) if k == _STATE else v for k, v in sd["state"].items()}
        sd["generator_state"] = self._generator.get_state().clone()
        return sd

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        if _STATE not in state_dict.get("state", {}) or "generator_state" not in state_dict:
            raise ValueError("state_dict was not produced by a PSGD optimizer (no 'psgd' state or generator state)")
        sd = dict(state_dict)
        gen = sd.pop("generator_state")
        device = self.param_groups[0]["params"][0].device
        moved = copy.deepcopy(sd["state"][_STATE])
        sd["state"] = {**sd["state"], _STATE: _to_device(moved, device)}
        super().load_state_dict(sd)
        self._generator.set_state(gen)

    # ---- the fitted preconditioner as a matrix (analysis) ---------------------------------------------------------
    def preconditioner_matrix(self) -> torch.Tensor:
        """The dense ``P = Q^T Q`` over the concatenated parameters (small problems only)."""
        st = self._pstate()
        if st["precond"] is None:
            raise ValueError("the preconditioner is not initialised yet: call step() first")
        Q = self.q_matrix()
        return Q.T @ Q

    def q_matrix(self) -> torch.Tensor:
        raise NotImplementedError


def _to_device(x: Any, device: torch.device) -> Any:
    if isinstance(x, torch.Tensor):
        return x.to(device)
    if isinstance(x, dict):
        return {k: _to_device(v, device) for k, v in x.items()}
    if isinstance(x, list):
        return [_to_device(v, device) for v in x]
    return x


def _cat(xs: list[torch.Tensor]) -> torch.Tensor:
    return torch.cat([x.reshape(-1, 1) for x in xs])


def _split(x: torch.Tensor, like: list[torch.Tensor]) -> list[torch.Tensor]:
    out, i = [], 0
    for p in like:
        out.append(x[i:i + p.numel()].view_as(p))
        i += p.numel()
    return out


class XMat(_PSGDBase):
    """PSGD with ``Q = diag(a) + adiag(b)`` (initial ``a = scale``, ``b = 0``)."""

    def __init__(self, params: Iterable[torch.Tensor] | torch.Tensor, lr: float = 0.01,
                 lr_preconditioner: float | None = None, momentum: float = 0.0,
                 grad_clip_max_norm: float | None = None, preconditioner_update_probability: float = 1.0,
                 step_normalizer: str = "2nd", hvp: str = "exact", preconditioner_type: str = "newton",
                 preconditioner_init_scale: float | None = None, generator: torch.Generator | None = None) -> None:
        super().__init__(params, lr=lr, lr_preconditioner=lr_preconditioner, momentum=momentum,
                         grad_clip_max_norm=grad_clip_max_norm,
                         preconditioner_update_probability=preconditioner_update_probability,
                         step_normalizer=step_normalizer, hvp=hvp, preconditioner_type=preconditioner_type,
                         preconditioner_init_scale=preconditioner_init_scale, generator=generator)
        s = self.defaults["preconditioner_init_scale"]
        if s is not None:
            p0 = self.param_groups[0]["params"][0]
            n = sum(p.numel() for p in self.param_groups[0]["params"])
            self._pstate()["precond"] = {"a": torch.full((n,), float(s), dtype=p0.dtype, device=p0.device),
                                             "b": torch.zeros(n, dtype=p0.dtype, device=p0.device)}

    def _probe_shape(self, n: int) -> tuple[int, ...]:
        return (n,)

    def _init_precond(self, scale: Any, vs: list[torch.Tensor]) -> dict[str, Any]:
        v = _cat(vs).reshape(-1)
        return {"a": scale[0] * torch.ones_like(v), "b": torch.zeros_like(v)}

    def _fit(self, pre: dict[str, Any], vs: list[torch.Tensor], hs: list[torch.Tensor], step: float,
             normalizer: str) -> None:
        F.xmat_update_(pre["a"], pre["b"], _cat(vs).reshape(-1), _cat(hs).reshape(-1), step, normalizer, self._tiny)

    def _apply(self, pre: dict[str, Any], gs: list[torch.Tensor]) -> list[torch.Tensor]:
        return _split(F.xmat_precondition(pre["a"], pre["b"], _cat(gs).reshape(-1)), gs)

    def q_matrix(self) -> torch.Tensor:
        pre = self._pstate()["precond"]
        return F.xmat_matrix(pre["a"], pre["b"])


class LRA(_PSGDBase):
    """PSGD with ``Q = (I + U V^T) diag(d)`` of rank ``rank_of_approximation``.

    ``U, V`` start at ``N(0, 1) / sqrt(n (r + 10))`` (drawn from ``generator`` at construction, ``U`` first),
    ``d = scale``. At each fitting step, with probability 0.01 ``U, V`` are rebalanced (same ``U V^T``), then a fair
    coin picks whether ``U`` or ``V`` moves (the reference's scheme).
    """

    def __init__(self, params: Iterable[torch.Tensor] | torch.Tensor, rank_of_approximation: int = 10,
                 lr: float = 0.01, lr_preconditioner: float | None = None, momentum: float = 0.0,
                 grad_clip_max_norm: float | None = None, preconditioner_update_probability: float = 1.0,
                 step_normalizer: str = "2nd", hvp: str = "exact", preconditioner_type: str = "newton",
                 preconditioner_init_scale: float | None = None, generator: torch.Generator | None = None) -> None:
        if not isinstance(rank_of_approximation, int) or rank_of_approximation < 0:
            raise ValueError(f"rank_of_approximation must be an integer >= 0, got {rank_of_approximation!r}")
        super().__init__(params, lr=lr, lr_preconditioner=lr_preconditioner, momentum=momentum,
                         grad_clip_max_norm=grad_clip_max_norm,
                         preconditioner_update_probability=preconditioner_update_probability,
                         step_normalizer=step_normalizer, hvp=hvp, preconditioner_type=preconditioner_type,
                         preconditioner_init_scale=preconditioner_init_scale, generator=generator)
        ps = self.param_groups[0]["params"]
        n, r = sum(p.numel() for p in ps), rank_of_approximation
        if r >= n:
            raise ValueError(f"rank_of_approximation must be < the number of parameters {n}, got {r}")
        like = torch.empty(n, r, dtype=ps[0].dtype, device=ps[0].device)
        # 1 / sqrt(n (r + 10)) rounded to float32 as the reference computes it (so seeded runs agree exactly)
        c = float(torch.tensor(float(n * (r + 10)), dtype=torch.float32) ** 0.5)
        U = self._randn(like) / c
        V = self._randn(like) / c
        s = self.defaults["preconditioner_init_scale"]
        d = None if s is None else torch.full((n, 1), float(s), dtype=ps[0].dtype, device=ps[0].device)
        self._uv = (U, V)
        if d is not None:
            self._pstate()["precond"] = {"U": U, "V": V, "d": d}
        else:
            self._pstate()["pending_uv"] = {"U": U, "V": V}

    def _init_precond(self, scale: Any, vs: list[torch.Tensor]) -> dict[str, Any]:
        uv = self._pstate().pop("pending_uv")
        return {"U": uv["U"], "V": uv["V"], "d": scale[0] * torch.ones_like(_cat(vs))}

    def _fit(self, pre: dict[str, Any], vs: list[torch.Tensor], hs: list[torch.Tensor], step: float,
             normalizer: str) -> None:
        if self._rand() < 0.01:
            F.uvd_balance_(pre["U"], pre["V"])
        update_u = self._rand() < 0.5
        F.uvd_update_(pre["U"], pre["V"], pre["d"], _cat(vs), _cat(hs), step, normalizer, self._tiny, update_u)

    def _apply(self, pre: dict[str, Any], gs: list[torch.Tensor]) -> list[torch.Tensor]:
        return _split(F.uvd_precondition(pre["U"], pre["V"], pre["d"], _cat(gs)).reshape(-1), gs)

    def q_matrix(self) -> torch.Tensor:
        pre = self._pstate()["precond"]
        return F.uvd_matrix(pre["U"], pre["V"], pre["d"])


UVd = LRA


class Newton(_PSGDBase):
    """PSGD with a dense ``Q``: general (``keep_inverse=True``: ``Q^{-1}`` kept by Woodbury, the reference default
    ``keep_invQ=True``) or upper triangular (``keep_inverse=False``). ``O(n^2)`` memory: small problems."""

    def __init__(self, params: Iterable[torch.Tensor] | torch.Tensor, lr: float = 0.01,
                 lr_preconditioner: float | None = None, momentum: float = 0.0,
                 grad_clip_max_norm: float | None = None, preconditioner_update_probability: float = 1.0,
                 keep_inverse: bool = True, step_normalizer: str = "2nd", hvp: str = "exact",
                 preconditioner_type: str = "newton", preconditioner_init_scale: float | None = None,
                 generator: torch.Generator | None = None) -> None:
        super().__init__(params, lr=lr, lr_preconditioner=lr_preconditioner, momentum=momentum,
                         grad_clip_max_norm=grad_clip_max_norm,
                         preconditioner_update_probability=preconditioner_update_probability,
                         step_normalizer=step_normalizer, hvp=hvp, preconditioner_type=preconditioner_type,
                         preconditioner_init_scale=preconditioner_init_scale, generator=generator)
        self._keep_inverse = bool(keep_inverse)
        s = self.defaults["preconditioner_init_scale"]
        if s is not None:
            p0 = self.param_groups[0]["params"][0]
            n = sum(p.numel() for p in self.param_groups[0]["params"])
            self._pstate()["precond"] = self._make(torch.tensor(float(s), dtype=p0.dtype, device=p0.device), n,
                                                       p0)

    def _make(self, scale: torch.Tensor, n: int, like: torch.Tensor) -> dict[str, Any]:
        eye = torch.eye(n, dtype=like.dtype, device=like.device)
        pre = {"Q": scale * eye}
        if self._keep_inverse:
            pre["invQ"] = eye / scale
        return pre

    def _init_precond(self, scale: Any, vs: list[torch.Tensor]) -> dict[str, Any]:
        return self._make(scale[0], sum(v.numel() for v in vs), vs[0])

    def _fit(self, pre: dict[str, Any], vs: list[torch.Tensor], hs: list[torch.Tensor], step: float,
             normalizer: str) -> None:
        if "invQ" in pre:
            F.dense_update_(pre["Q"], pre["invQ"], _cat(vs), _cat(hs), step, normalizer, self._tiny)
        else:
            F.triangular_update_(pre["Q"], _cat(vs), _cat(hs), step, normalizer, self._tiny)

    def _apply(self, pre: dict[str, Any], gs: list[torch.Tensor]) -> list[torch.Tensor]:
        return _split(F.dense_precondition(pre["Q"], _cat(gs)).reshape(-1), gs)

    def q_matrix(self) -> torch.Tensor:
        return self._pstate()["precond"]["Q"]


def kron_factor_shapes(shape: tuple[int, ...], max_size: float, max_skew: float) -> list[bool]:
    """Which dimensions get a triangular factor (True) rather than a diagonal one (psgd-torch's rule): diagonal when
    the size is 1, exceeds ``max_size``, or exceeds ``max_skew`` times the second-largest size (1 for a vector)."""
    beta = 1 if len(shape) <= 1 else sorted(shape)[-2]
    return [not (s == 1 or s > max_size or s > max_skew * beta) for s in shape]


class Kron(_PSGDBase):
    """PSGD with one Kronecker-factored ``Q`` per parameter tensor, ``Q = Q_1 (x) ... (x) Q_k`` (psgd-torch's Kron).

    A scalar is treated as a vector of length 1. Each factor starts at ``scale^(1/k) I``. With probability 0.01 per
    fitting step (tensors of order > 1) the factors are rebalanced (same product). ``lr`` defaults to 0.01 (Newton
    type) or 0.001 (whitening type), as the reference.
    """

    _flat = False

    def __init__(self, params: Iterable[torch.Tensor] | torch.Tensor, preconditioner_max_size: float = math.inf,
                 preconditioner_max_skew: float = 10.0, lr: float | None = None,
                 lr_preconditioner: float | None = None, momentum: float = 0.0,
                 grad_clip_max_norm: float | None = None, preconditioner_update_probability: float = 1.0,
                 step_normalizer: str = "2nd", hvp: str = "exact", preconditioner_type: str = "newton",
                 preconditioner_init_scale: float | None = None, generator: torch.Generator | None = None) -> None:
        _check_finite_in("preconditioner_max_size", preconditioner_max_size, 0.0, math.inf)
        _check_finite_in("preconditioner_max_skew", preconditioner_max_skew, 0.0, math.inf)
        if lr is None:
            lr = 0.01 if str(preconditioner_type).lower() == "newton" else 0.001
        super().__init__(params, lr=lr, lr_preconditioner=lr_preconditioner, momentum=momentum,
                         grad_clip_max_norm=grad_clip_max_norm,
                         preconditioner_update_probability=preconditioner_update_probability,
                         step_normalizer=step_normalizer, hvp=hvp, preconditioner_type=preconditioner_type,
                         preconditioner_init_scale=preconditioner_init_scale, generator=generator)
        self._max_size, self._max_skew = preconditioner_max_size, preconditioner_max_skew
        s = self.defaults["preconditioner_init_scale"]
        if s is not None:
            ps = self.param_groups[0]["params"]
            self._pstate()["precond"] = self._make([float(s)] * len(ps), ps)

    def _make(self, scales: list[Any], like: list[torch.Tensor]) -> dict[str, Any]:
        Qs = []
        for s, p in zip(scales, like):
            shape = tuple(p.shape) or (1,)
            tri = kron_factor_shapes(shape, self._max_size, self._max_skew)
            f = s ** (1.0 / len(shape))
            Qs.append([f * (torch.eye(n, dtype=p.dtype, device=p.device) if t else
                            torch.ones(n, dtype=p.dtype, device=p.device)) for n, t in zip(shape, tri)])
        return {"Q": Qs}

    def _init_scale_newton(self, vs: list[torch.Tensor], hs: list[torch.Tensor]) -> list[torch.Tensor]:
        return [(torch.sum(v * v) / torch.sum(h * h)) ** 0.25 for v, h in zip(vs, hs)]

    def _init_scale_whitening(self, gs: list[torch.Tensor]) -> list[torch.Tensor]:
        return [(g.numel() / torch.sum(g * g)) ** 0.25 for g in gs]

    def _init_precond(self, scale: Any, vs: list[torch.Tensor]) -> dict[str, Any]:
        return self._make(scale, vs)

    def _norm(self, xs: list[torch.Tensor]) -> torch.Tensor:
        return torch.sqrt(torch.stack([torch.sum(x * x) for x in xs]).sum().abs())

    def _fit_one(self, Q: list[torch.Tensor], v: torch.Tensor, h: torch.Tensor, step: float, normalizer: str) -> None:
        if len(Q) > 1 and self._rand() < 0.01:
            F.kron_balance_(Q)
        shape = tuple(q.shape[0] for q in Q)
        F.kron_update_(Q, v.reshape(shape), h.reshape(shape), step, normalizer, self._tiny)

    def _fit(self, pre: dict[str, Any], vs: list[torch.Tensor], hs: list[torch.Tensor], step: float,
             normalizer: str) -> None:
        for Q, v, h in zip(pre["Q"], vs, hs):
            self._fit_one(Q, v, h, step, normalizer)

    def _fit_whitening(self, pre: dict[str, Any], grads: list[torch.Tensor], step: float, normalizer: str) -> None:
        for Q, g in zip(pre["Q"], grads):  # probe, then the fit's coins, per tensor (the reference's order)
            self._fit_one(Q, self._randn(g), g, step, normalizer)

    def _apply(self, pre: dict[str, Any], gs: list[torch.Tensor]) -> list[torch.Tensor]:
        out = []
        for Q, g in zip(pre["Q"], gs):
            shape = tuple(q.shape[0] for q in Q)
            out.append(F.kron_precondition(Q, g.reshape(shape)).view_as(g))
        return out

    def q_matrix(self) -> torch.Tensor:
        """Block-diagonal ``Q`` over the concatenated parameters (one Kronecker block per tensor)."""
        return torch.block_diag(*[F.kron_matrix(Q) for Q in self._pstate()["precond"]["Q"]])
