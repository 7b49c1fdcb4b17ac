"""Small tanh MLPs trained by SGD to an interpolating minimum, the geometry of the minimum reached, and step-size
probes that restart SGD next to that minimum.

Loss: half mean squared error L(theta) = (1/n) sum_i (1/2) (f(theta, x_i) - y_i)^2, so at an interpolating minimum
(f_i = y_i) the sample Hessians are H_i = g_i g_i^T with g_i = grad_theta f(theta, x_i) (rank one) and the mean Hessian
is H = J^T J / n, J the (n, P) output Jacobian. SGD with batch weights c_t (``sims.stability.linear_sgd``):

    theta_{t+1} = theta_t - (eta / B) sum_i c_{t,i} grad l_i(theta_t).

All runs of a sweep (one per (eta, B) pair, or one per perturbation) are one (R, P) tensor, trained by the shared
batched trainer (sims.nets.trainer.train with the SGD rule of sims.optim.rules; per-run gradients by
torch.func.vmap). Device, dtype and generators are passed explicitly; nn.Linear's initialisation draws from the global
torch generator, so models are built inside a forked RNG seeded by the caller.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import torch
from torch import nn

from sims.nets.hessian import HessianOperator, ntk_gram, output_jacobian, unflatten
from sims.nets.trainer import Stop, train
from sims.optim.rules import SGD
from sims.stability.linear_sgd import SAMPLINGS, batch_weights
from theory.stability import coherence as SC
from theory.stability import moments as SM

Array = npt.NDArray[np.float64]
MAX_STEPS = 10_000_000


def _check_int(value: int, name: str, lo: int, hi: int = MAX_STEPS) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not lo <= int(value) <= hi:
        raise ValueError(f"{name} must be an integer in [{lo}, {hi}], got {value!r}")
    return int(value)


def _check_positive(value: float, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) or not math.isfinite(value) \
            or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


def tanh_mlp(d_in: int, width: int, *, seed: int, device: torch.device | str, dtype: torch.dtype) -> nn.Module:
    """x -> Linear(d_in, width) -> tanh -> Linear(width, width) -> tanh -> Linear(width, 1), PyTorch's default
    initialisation drawn from a forked global generator seeded with ``seed`` (the caller's stream)."""
    _check_int(d_in, "d_in", 1, 1 << 20)
    _check_int(width, "width", 1, 1 << 20)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        model = nn.Sequential(nn.Linear(d_in, width), nn.Tanh(), nn.Linear(width, width), nn.Tanh(),
                              nn.Linear(width, 1))
    return model.to(device=device, dtype=dtype)


def teacher_data(n: int, d_in: int, *, teacher_width: int, data_generator: torch.Generator, teacher_seed: int,
                 device: torch.device | str, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """n points x ~ N(0, I_{d_in}) and labels y = teacher(x) standardised to mean 0, std 1 (a random tanh MLP)."""
    _check_int(n, "n", 2, 1 << 24)
    x = torch.randn(n, d_in, generator=data_generator, device=device, dtype=dtype)
    teacher = tanh_mlp(d_in, teacher_width, seed=teacher_seed, device=device, dtype=dtype)
    with torch.no_grad():
        y = teacher(x)
        y = (y - y.mean()) / y.std()
    return x, y


def half_mse(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """L = (1/n) sum_i (1/2)(f_i - y_i)^2, so H_i = g_i g_i^T at interpolation and lambda_1(H) = lambda_1(K) / n."""
    return 0.5 * torch.mean((out - y) ** 2)


def _residual_weighted(out: torch.Tensor, resid: torch.Tensor) -> torch.Tensor:
    """(1/n) sum_i r_i f_i with the residuals r held fixed: its Hessian is the non-Gauss-Newton part of H."""
    return torch.mean(resid.detach() * out)


@dataclass
class SGDRuns:
    """theta (R, P) final parameters; converged/diverged (R,) masks; steps (R,) steps taken (max_steps if neither);
    final_loss (R,) full-batch loss; max_dist_ratio (R,) max_t ||theta_t - anchor||^2 / ||theta_0 - anchor||^2 over
    the checked steps (NaN without an anchor)."""

    theta: torch.Tensor
    converged: torch.Tensor
    diverged: torch.Tensor
    steps: torch.Tensor
    final_loss: torch.Tensor
    max_dist_ratio: torch.Tensor


def sgd_runs(model: nn.Module, x: torch.Tensor, y: torch.Tensor, theta0: torch.Tensor, eta: torch.Tensor,
             batch: torch.Tensor, *, sampling: str, max_steps: int, generator: torch.Generator,
             check_every: int = 100, tol: float = 0.0, blowup: float = 1e6, anchor: torch.Tensor | None = None,
             escape_ratio: float = math.inf, desc: str = "sgd") -> SGDRuns:
    """R SGD runs on the half-MSE (module docstring), one per row of ``theta0`` (R, P) with step ``eta`` (R,) and
    batch size ``batch`` (R,) drawn with ``sampling``. Every ``check_every`` steps a run stops as *converged* when its
    full-batch loss is below ``tol`` (tol = 0: never), as *diverged* when the loss is non-finite or above
    ``blowup`` x the first run's initial loss, or, with an ``anchor`` (P,), when ||theta_t - anchor||^2 >=
    ``escape_ratio`` ||theta_0 - anchor||^2 (first passage; checked at every step)."""
    if sampling not in SAMPLINGS:
        raise ValueError(f"sampling must be one of {SAMPLINGS}, got {sampling!r}")
    if theta0.ndim != 2:
        raise ValueError(f"theta0 must have shape (runs, P), got {tuple(theta0.shape)}")
    runs, n = int(theta0.shape[0]), int(x.shape[0])
    if tuple(eta.shape) != (runs,) or not bool(torch.all(torch.isfinite(eta) & (eta > 0))):
        raise ValueError(f"eta must hold one finite step size > 0 per run ({runs}), got shape {tuple(eta.shape)}")
    if tuple(batch.shape) != (runs,):
        raise ValueError(f"batch must hold one batch size per run ({runs}), got shape {tuple(batch.shape)}")
    max_steps = _check_int(max_steps, "max_steps", 1)
    check_every = _check_int(check_every, "check_every", 1)
    if not (math.isfinite(tol) and tol >= 0):
        raise ValueError(f"tol must be a finite number >= 0, got {tol!r}")
    _check_positive(blowup, "blowup")
    if not (escape_ratio > 1):
        raise ValueError(f"escape_ratio must be > 1 (inf: off), got {escape_ratio!r}")
    dtype, dev = theta0.dtype, theta0.device
    p = int(theta0.shape[1])
    if anchor is not None and tuple(anchor.shape) != (p,):
        raise ValueError(f"anchor must have shape (P,) = ({p},), got {tuple(anchor.shape)}")

    def weighted_loss(params: tuple[torch.Tensor, ...], c: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        out = torch.func.functional_call(model, unflatten(model, params[0]), (x,))
        return 0.5 * torch.sum(c[:, None] * (out - y) ** 2) / b

    def full_loss(th: torch.Tensor) -> torch.Tensor:
        return half_mse(torch.func.functional_call(model, unflatten(model, th), (x,)), y)

    losses = torch.vmap(full_loss)
    loss0 = float(full_loss(theta0[0]))
    bf = batch.to(dtype)
    track = anchor is not None and math.isfinite(escape_ratio)
    d0 = ((theta0 - anchor) ** 2).sum(1) if anchor is not None else None

    def batches(step: int, rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # compact=False: every step draws for all R runs, so the draws do not depend on which runs stopped
        c = batch_weights(int(rows.numel()), n, batch[rows], sampling, generator=generator, device=dev, dtype=dtype)
        return c, bf[rows]

    def ratio_of(th: torch.Tensor) -> torch.Tensor:
        assert anchor is not None and d0 is not None
        r = ((th - anchor) ** 2).sum(1) / d0
        return torch.where(torch.isfinite(r), r, torch.full_like(r, math.inf))

    def stop(params: tuple[torch.Tensor, ...], rows: torch.Tensor, step: int) -> Stop:
        th = params[0]
        bad = torch.zeros(th.shape[0], dtype=torch.bool, device=dev)
        fitted = torch.zeros_like(bad)
        if track:
            bad |= ratio_of(th) >= escape_ratio
        if step % check_every == 0 or step == max_steps:
            cur = losses(th)
            bad |= ~torch.isfinite(cur) | (cur > blowup * loss0)
            fitted = ~bad & (cur < tol)
        return Stop(fitted, bad)

    max_ratio = torch.ones(runs, dtype=dtype, device=dev) if anchor is not None else \
        torch.full((runs,), math.nan, dtype=dtype, device=dev)

    def watch(step: int, params: tuple[torch.Tensor, ...], rows: torch.Tensor, losses: torch.Tensor) -> None:
        nonlocal max_ratio
        if anchor is not None:
            with torch.no_grad():
                max_ratio[rows] = torch.maximum(max_ratio[rows], ratio_of(params[0]))

    res = train((theta0.clone(),), weighted_loss, batches, SGD(eta), max_steps=max_steps, stop=stop,
                check_every=1 if track else check_every, compact=False, observers=(watch,), desc=desc)
    theta = res.params[0]
    final = torch.full((runs,), math.nan, dtype=dtype, device=dev)
    ok = ~res.diverged
    if bool(ok.any()):
        final[ok] = losses(theta[ok]).detach()
    return SGDRuns(theta, res.converged, res.diverged, res.steps, final, max_ratio)


@dataclass
class Geometry:
    """At an interpolating solution: lambda_1(H) by HVP-Lanczos, lambda_1(K)/n from the NTK Gram K, the norm of the
    residual (non-Gauss-Newton) term, sigma = lambda_1(|K|) / max_i K_ii, and the reduced rank-one factors
    (n, r): the rows g_i expressed in an orthonormal basis of the row space of J (H_i = g_i g_i^T live there)."""

    lambda1: float
    lambda1_ntk: float
    nme_norm: float
    sigma: float
    factors: Array


def solution_geometry(model: nn.Module, x: torch.Tensor, y: torch.Tensor, theta: torch.Tensor, *,
                      physical_batch: int, lanczos_seed: int, lanczos_tol: float = 1e-10) -> Geometry:
    """The quantities of :class:`Geometry` at the flat parameters ``theta`` (P,)."""
    th = theta.detach()
    op = HessianOperator(model, half_mse, x, y, theta=th, batch_size=physical_batch)
    lam1 = float(op.top_eigenpairs(1, seed=lanczos_seed, tol=lanczos_tol)[0][0])
    with torch.no_grad():
        resid = torch.func.functional_call(model, unflatten(model, th), (x,)) - y
    nme_op = HessianOperator(model, _residual_weighted, x, resid, theta=th, batch_size=physical_batch)
    nme = abs(float(nme_op.top_eigenpairs(1, seed=0, tol=1e-6, which="LM")[0][0]))
    k = ntk_gram(model, x, theta=th, batch_size=physical_batch).cpu().numpy()
    lam_k = float(np.linalg.eigvalsh(k)[-1]) / int(x.shape[0])
    sigma = SC.coherence_from_gram(k)
    jac = output_jacobian(model, x, theta=th, batch_size=physical_batch).cpu().numpy()
    _, sv, vt = np.linalg.svd(jac, full_matrices=False)
    reduced = np.asarray(jac @ vt[sv > 1e-12 * sv[0]].T, dtype=np.float64)
    return Geometry(lam1, lam_k, nme, sigma, reduced)


def linearised_eta_star(factors: npt.ArrayLike, batch: int, sampling: str) -> float:
    """eta* (Mulayoff-Michaeli, exact) of the linearisation at the solution: H_i = g_i g_i^T from ``factors``."""
    g = SM.check_factors(factors)
    return SM.eta_star(np.einsum("ni,nj->nij", g, g), batch, sampling)

