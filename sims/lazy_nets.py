"""SGD until zero hinge loss for many (alpha, T, seed) configurations of noise_regimes networks at once, on the suite's
batched trainer (sims.nets.trainer; model and alpha-trick loss in sims.nets.alpha_mlp).

SGD: each step draws B distinct indices per configuration (no epochs), w <- w - dt grad (1/B) sum_batch l, with
dt = T h B (temperature T = dt / (B h)); time t = dt * steps. Training stops when every training point has
alpha y f~ >= 1 (zero hinge loss); a configuration that reaches the step budget first is *censored*, one whose
parameters or outputs stop being finite (or whose weights run away) is *diverged*; neither is reported as converged.
Zero loss is checked on the whole training set at steps s <= 32 and then every 2^(floor(log2 s) - 5) steps
(trainer.geometric_schedule(32)), so t* is resolved to a relative 1/32 (t* is the first checked time with zero loss).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch.func import vmap

from sims.datasets import parity_split
from sims.nets.alpha_mlp import Params, activation, hinge_loss, init_params, mlp
from sims.nets.trainer import Stop, distinct_batches, gather_rows, geometric_schedule, train
from sims.optim.rules import SGD


@dataclass
class NetRuns:
    """Per configuration (E,): steps, t* = dt steps (NaN unless converged), status flags (exactly one true),
    relative weight change ||w - w_0|| / ||w_0|| (all layers together), train/test error of sign(f~) (NaN where
    diverged)."""

    steps: torch.Tensor
    t_star: torch.Tensor
    converged: torch.Tensor
    censored: torch.Tensor
    diverged: torch.Tensor
    rel_weight_change: torch.Tensor
    train_error: torch.Tensor
    test_error: torch.Tensor


def _flat_norm(params: Params) -> torch.Tensor:
    return torch.sqrt(sum((p.reshape(p.shape[0], -1) ** 2).sum(1) for p in params))  # type: ignore[arg-type]


def _check_data(name: str, x: torch.Tensor, y: torch.Tensor, e: int, d: int) -> None:
    if not isinstance(x, torch.Tensor) or x.ndim not in (2, 3) or (x.ndim == 3 and x.shape[0] != e) \
            or x.shape[-1] != d or x.shape[-2] < 1:
        raise ValueError(f"x_{name} must have shape (P, {d}) or ({e}, P, {d}), got {tuple(getattr(x, 'shape', ()))}")
    want = tuple(x.shape[:-1])
    if not isinstance(y, torch.Tensor) or tuple(y.shape) not in (want, want[-1:]):
        raise ValueError(f"y_{name} must have shape {want} (or ({want[-1]},) for shared data), got "
                         f"{tuple(getattr(y, 'shape', ()))}")  # fmt: skip
    if not bool(torch.isfinite(x).all()):
        raise ValueError(f"x_{name} must be finite (no NaN/inf)")
    if not bool(((y == 1) | (y == -1)).all()):
        raise ValueError(f"y_{name} must be binary labels in {{-1, +1}}")


def train_until_fitted(
    params0: Params,
    x_train: torch.Tensor,
    y_train: torch.Tensor,
    x_test: torch.Tensor,
    y_test: torch.Tensor,
    *,
    alpha: torch.Tensor,
    temperature: torch.Tensor,
    batch_size: int,
    max_steps: int,
    generator: torch.Generator,
    act: str = "relu",
    max_rel_change: float = math.inf,
    progress: bool | None = None,
) -> NetRuns:
    """Train E = len(alpha) networks (stacked params0, leading dim E) by SGD with the alpha-trick hinge loss until zero
    training loss, all at once (vmap). x_*: (P, d) shared or (E, P, d) per configuration; y_*: +-1.
    alpha, temperature: (E,) finite positive tensors; dt = T h B per configuration. A configuration whose parameters
    or outputs stop being finite, or whose relative weight change ||w - w_0|| / ||w_0|| exceeds max_rel_change (a
    run-away), is stopped and flagged diverged. ValueError for: max_steps not an int >= 1, batch_size outside [1, P],
    non-finite or non-positive alpha / T, max_rel_change not > 0, data of the wrong shape, non-finite inputs, labels
    other than +-1, an unknown activation."""
    if not isinstance(params0, tuple) or not params0 or any(not isinstance(q, torch.Tensor) for q in params0):
        raise ValueError("params0 must be a non-empty tuple of stacked (E, ...) tensors")
    e = params0[0].shape[0]
    h = params0[-1].shape[-1]
    d = params0[0].shape[-1]
    _check_data("train", x_train, y_train, e, d)
    _check_data("test", x_test, y_test, e, d)
    per_cfg = x_train.ndim == 3
    p = x_train.shape[-2]
    for name, v in (("alpha", alpha), ("temperature", temperature)):
        if not isinstance(v, torch.Tensor) or v.shape != (e,):
            raise ValueError(f"{name} must be a tensor of shape ({e},), got {getattr(v, 'shape', v)!r}")
        if not bool((torch.isfinite(v) & (v > 0)).all()):
            raise ValueError(f"{name} must be finite and in (0, inf), got values from {v.min().item()} to "
                             f"{v.max().item()}")  # fmt: skip
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or not 1 <= batch_size <= p:
        raise ValueError(f"batch_size B must be an int with 1 <= B <= P = {p}, got {batch_size!r}")
    if isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 1:
        raise ValueError(f"max_steps must be an int >= 1, got {max_steps!r}")
    if isinstance(max_rel_change, bool) or not isinstance(max_rel_change, (int, float)) \
            or math.isnan(max_rel_change) or max_rel_change <= 0:
        raise ValueError(f"max_rel_change must be a number > 0 (inf allowed), got {max_rel_change!r}")
    phi = activation(act)
    xin = 0 if per_cfg else None
    fwd = vmap(lambda w, x: mlp(w, x, phi), in_dims=(0, xin))
    fwd_rows = vmap(lambda w, x: mlp(w, x, phi))
    with torch.no_grad():
        f0_tr, f0_te = fwd(params0, x_train), fwd(params0, x_test)
    ytr = y_train if y_train.ndim == 2 else y_train.expand(e, p)
    xtr = x_train if per_cfg else x_train.expand(e, *x_train.shape)
    dt = temperature * h * batch_size
    norm0 = _flat_norm(params0)
    dev = params0[0].device

    def batches(s: int, rows: torch.Tensor) -> tuple[torch.Tensor, ...]:
        idx = distinct_batches((rows.numel(), p), batch_size, generator=generator, device=dev)
        return (gather_rows(xtr[rows], idx), torch.gather(ytr[rows], 1, idx), torch.gather(f0_tr[rows], 1, idx),
                alpha[rows])  # fmt: skip

    def fitted(w: Params, rows: torch.Tensor, s: int) -> Stop:
        with torch.no_grad():
            marg = alpha[rows, None] * ytr[rows] * (fwd_rows(w, xtr[rows]) - f0_tr[rows])
        rel = _flat_norm(tuple(q - q0[rows] for q, q0 in zip(w, params0))) / norm0[rows]
        bad = ~torch.isfinite(marg).all(1) | ~torch.isfinite(rel) | (rel > max_rel_change)
        return Stop((marg >= 1.0).all(1), bad)

    res = train(params0, lambda w, x, y, f0, a: hinge_loss(w, x, y, f0, a, phi), batches, SGD(dt),
                max_steps=max_steps, stop=fitted, check_every=geometric_schedule(32), progress=progress,
                desc="sgd")  # fmt: skip
    conv, div = res.converged, res.diverged
    fparams = res.params
    with torch.no_grad():
        dw = _flat_norm(tuple(q - q0 for q, q0 in zip(fparams, params0))) / norm0
        pred_tr = fwd(fparams, x_train) - f0_tr
        pred_te = fwd(fparams, x_test) - f0_te
        yte = y_test if y_test.ndim == 2 else y_test.expand(e, -1)
        err_tr = (ytr * pred_tr <= 0).to(torch.float64).mean(1)
        err_te = (yte * pred_te <= 0).to(torch.float64).mean(1)
    t_star = torch.where(conv, dt * res.steps.to(dt.dtype), torch.full_like(dt, math.nan))
    nan = torch.full_like(dw, math.nan)
    return NetRuns(
        steps=res.steps, t_star=t_star, converged=conv, censored=res.censored, diverged=div,
        rel_weight_change=torch.where(div, nan, dw), train_error=torch.where(div, nan, err_tr),
        test_error=torch.where(div, nan, err_te),
    )


def train_grid(
    source: str, p: int, n_test: int, alphas: list[float], temps: list[float], *, depth: int, h: int, act: str,
    batch_size: int, max_steps: int, data_rngs: list[np.random.Generator], init_generators: list[torch.Generator],
    generator: torch.Generator, device: str = "cpu", dtype: torch.dtype = torch.float64,
    max_rel_change: float = math.inf, progress: bool | None = None,
) -> dict[str, np.ndarray]:
    """Train every (seed, alpha, T) at once: per seed s one parity train/test split (sims.datasets.parity_split with
    data_rngs[s]) and one initialisation (init_generators[s]), shared by its len(alphas) * len(temps)
    configurations. Returns arrays of shape (seed, len(alphas) * len(temps)) in row-major (alpha, T) order:
    steps, t_star, converged, censored, diverged, rel_weight_change, test_error."""
    if len(data_rngs) != len(init_generators) or not data_rngs:
        raise ValueError(f"data_rngs and init_generators must be non-empty and of equal length (one per seed), got "
                         f"{len(data_rngs)} and {len(init_generators)}")  # fmt: skip
    if not alphas or not temps:
        raise ValueError("alphas and temps must be non-empty")
    n_seeds = len(data_rngs)
    xs: list[torch.Tensor] = []
    ys: list[torch.Tensor] = []
    xts: list[torch.Tensor] = []
    yts: list[torch.Tensor] = []
    ps: list[Params] = []
    n_cfg = len(alphas) * len(temps)
    for s in range(n_seeds):
        xtr, ytr, xte, yte = parity_split(source, p, n_test, data_rngs[s])
        params = init_params(1, xtr.shape[1], h, depth, dtype=dtype, device=device, generator=init_generators[s])
        for arr, lst in ((xtr, xs), (ytr, ys), (xte, xts), (yte, yts)):
            lst.extend([torch.as_tensor(arr, dtype=dtype, device=device)] * n_cfg)
        ps.extend([params] * n_cfg)
    stacked = tuple(torch.cat([q[k] for q in ps]) for k in range(len(ps[0])))
    a = torch.tensor([al for al in alphas for _ in temps] * n_seeds, dtype=dtype, device=device)
    t = torch.tensor([tt for _ in alphas for tt in temps] * n_seeds, dtype=dtype, device=device)
    r = train_until_fitted(stacked, torch.stack(xs), torch.stack(ys), torch.stack(xts), torch.stack(yts), alpha=a,
                           temperature=t, batch_size=batch_size, max_steps=max_steps, act=act,
                           max_rel_change=max_rel_change, generator=generator, progress=progress)  # fmt: skip
    return {k: getattr(r, k).double().cpu().numpy().reshape(n_seeds, n_cfg)
            for k in ("steps", "t_star", "converged", "censored", "diverged", "rel_weight_change", "test_error")}
