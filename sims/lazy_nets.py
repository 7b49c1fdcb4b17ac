"""Networks in the noise_regimes parameterisation, the alpha-trick, and SGD until zero hinge loss for many
(alpha, T, seed) configurations at once (torch.func.vmap).

Parameterisation (the authors'): hidden layers z <- phi(W z / sqrt(fan_in)) with W ~ N(0, 1) (NTK scaling) and phi
normalised so that E[phi(g)^2] = 1 for g ~ N(0, 1); output f(w, x) = w_out . z / h (mean-field 1/h).
Alpha-trick: the predictor is f~(w, x) = f(w, x) - f(w_0, x) and the loss l = (1/alpha) max(0, 1 - alpha y f~): its
gradient -y grad f~ on unfitted points does not depend on alpha, alpha only sets the margin 1/alpha (large alpha: lazy /
kernel regime, small alpha: feature learning).
SGD: each step draws B distinct indices (no epochs), w <- w - dt grad (1/B) sum_batch l, dt = T h B (temperature
T = dt / (B h)); time t = dt * steps. Training stops when every training point has alpha y f~ >= 1 (zero hinge loss);
a configuration that reaches the step budget first is *censored*, one whose parameters or outputs stop being finite is
*diverged*; neither is reported as converged.
Zero loss is checked on the whole training set at steps s <= 32 and then every 2^(floor(log2 s) - 5) steps, so
t* is resolved to a relative 1/32 (t* is the first checked time with zero loss).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch.func import grad, vmap
from tqdm.auto import tqdm

Params = tuple[torch.Tensor, ...]
ACTIVATIONS = ("relu", "gelu")


def _second_moment(phi: Callable[[torch.Tensor], torch.Tensor]) -> float:
    """E[phi(g)^2], g ~ N(0, 1), by Gauss-Hermite quadrature (probabilists' weights, 200 nodes)."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(200)
    vals = phi(torch.as_tensor(nodes, dtype=torch.float64)).numpy()
    return float(np.sum(weights * vals**2) / math.sqrt(2.0 * math.pi))


def activation(name: str) -> Callable[[torch.Tensor], torch.Tensor]:
    """phi / sqrt(E[phi(g)^2]) for phi in ACTIVATIONS (ReLU: sqrt(2) relu exactly)."""
    if name == "relu":
        return lambda z: math.sqrt(2.0) * torch.relu(z)
    if name == "gelu":
        c = math.sqrt(_second_moment(torch.nn.functional.gelu))
        return lambda z: torch.nn.functional.gelu(z) / c
    raise ValueError(f"activation must be one of {ACTIVATIONS}, got {name!r}")


def init_params(
    n_nets: int, d: int, h: int, depth: int, *, generator: torch.Generator, device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float64,
) -> Params:
    """Stacked N(0, 1) weights of n_nets MLPs: W_1 (n, h, d), W_2..W_depth (n, h, h), w_out (n, h)."""
    if n_nets < 1 or d < 1 or h < 1 or depth < 1:
        raise ValueError(f"n_nets, d, h, depth must be >= 1, got {n_nets}, {d}, {h}, {depth}")
    shapes = [(h, d)] + [(h, h)] * (depth - 1) + [(h,)]
    return tuple(torch.randn((n_nets, *s), generator=generator, device=device, dtype=dtype) for s in shapes)


def mlp(params: Params, x: torch.Tensor, phi: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
    """f(w, x) for one net: z <- phi(z W^T / sqrt(fan_in)) per hidden layer, f = z . w_out / h. x: (n, d) -> (n,)."""
    z = x
    for w in params[:-1]:
        z = phi(z @ w.T / math.sqrt(z.shape[-1]))
    return z @ params[-1] / params[-1].shape[-1]


def hinge_loss(
    params: Params, x: torch.Tensor, y: torch.Tensor, f0: torch.Tensor, alpha: torch.Tensor,
    phi: Callable[[torch.Tensor], torch.Tensor],
) -> torch.Tensor:
    """Mean over the batch of (1/alpha) max(0, 1 - alpha y f~), f~ = f(w, x) - f(w_0, x) (alpha-trick)."""
    ft = mlp(params, x, phi) - f0
    return (torch.relu(1.0 - alpha * y * ft) / alpha).mean()


@dataclass
class NetRuns:
    """Per configuration (E,): steps, t* = dt steps (NaN unless converged), status flags (exactly one true),
    relative weight change ||w - w_0|| / ||w_0|| (all layers together), train/test error of sign(f~)."""

    steps: torch.Tensor
    t_star: torch.Tensor
    converged: torch.Tensor
    censored: torch.Tensor
    diverged: torch.Tensor
    rel_weight_change: torch.Tensor
    train_error: torch.Tensor
    test_error: torch.Tensor


def _check_step(s: int) -> bool:
    return s <= 32 or s % (1 << (s.bit_length() - 1 - 5)) == 0


def _flat_norm(params: Params) -> torch.Tensor:
    return torch.sqrt(sum((p.reshape(p.shape[0], -1) ** 2).sum(1) for p in params))  # type: ignore[arg-type]


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
    training loss, all at once with torch.func.vmap. x_*: (P, d) shared or (E, P, d) per configuration; y_*: +-1.
    alpha, temperature: (E,) tensors; dt = T h B per configuration. A configuration whose parameters or outputs stop
    being finite, or whose relative weight change ||w - w_0|| / ||w_0|| exceeds max_rel_change (a run-away), is
    stopped and flagged diverged."""
    e = params0[0].shape[0]
    h = params0[-1].shape[-1]
    per_cfg = x_train.ndim == 3
    p = x_train.shape[-2]
    if alpha.shape != (e,) or temperature.shape != (e,):
        raise ValueError(f"alpha and temperature must have shape ({e},)")
    if not bool((alpha > 0).all()):
        raise ValueError("alpha must be in (0, inf)")
    if not bool((temperature > 0).all()):
        raise ValueError("temperature T must be > 0")
    if not 1 <= batch_size <= p:
        raise ValueError(f"batch_size B must satisfy 1 <= B <= P = {p}, got {batch_size}")
    for name, yy in (("y_train", y_train), ("y_test", y_test)):
        if not bool(((yy == 1) | (yy == -1)).all()):
            raise ValueError(f"{name} must be binary labels in {{-1, +1}}")
    phi = activation(act)
    xin = 0 if per_cfg else None
    fwd = vmap(lambda w, x: mlp(w, x, phi), in_dims=(0, xin))
    gstep = vmap(grad(lambda w, x, y, f0, a: hinge_loss(w, x, y, f0, a, phi)), in_dims=(0, 0, 0, 0, 0))
    with torch.no_grad():
        f0_tr, f0_te = fwd(params0, x_train), fwd(params0, x_test)
    ytr = y_train if per_cfg else y_train.expand(e, p)
    xtr = x_train if per_cfg else x_train.expand(e, *x_train.shape)
    dt = temperature * h * batch_size
    dev = params0[0].device
    out_steps = torch.zeros(e, dtype=torch.int64, device=dev)
    conv = torch.zeros(e, dtype=torch.bool, device=dev)
    div = torch.zeros(e, dtype=torch.bool, device=dev)
    final: list[torch.Tensor] = [torch.empty_like(q) for q in params0]
    rows = torch.arange(e, device=dev)
    w = tuple(q.clone() for q in params0)
    norm0 = _flat_norm(params0)
    a_, dt_, xs, ys, f0s = alpha, dt, xtr, ytr, f0_tr
    bar = tqdm(total=max_steps, disable=progress is False if progress is not None else None, leave=False,
               desc="sgd", mininterval=2.0)
    s = 0
    while rows.numel() > 0 and s < max_steps:
        s += 1
        keys = torch.rand(xs.shape[:2], generator=generator, device=dev, dtype=torch.float64)
        idx = torch.topk(keys, batch_size, dim=1, largest=False).indices
        xb = torch.gather(xs, 1, idx[:, :, None].expand(-1, -1, xs.shape[-1]))
        g = gstep(w, xb, torch.gather(ys, 1, idx), torch.gather(f0s, 1, idx), a_)
        w = tuple(q - dt_.view(-1, *([1] * (q.ndim - 1))) * gq for q, gq in zip(w, g))
        if _check_step(s) or s == max_steps:
            with torch.no_grad():
                marg = a_[:, None] * ys * (vmap(lambda ww, x: mlp(ww, x, phi))(w, xs) - f0s)
            rel = _flat_norm(tuple(q - q0[rows] for q, q0 in zip(w, params0))) / norm0[rows]
            bad = ~torch.isfinite(marg).all(1) | ~torch.isfinite(rel) | (rel > max_rel_change)
            fit = (marg >= 1.0).all(1) & ~bad
            stop = fit | bad | torch.full_like(fit, s == max_steps)
            if bool(stop.any()):
                r = rows[stop]
                out_steps[r] = s
                conv[r] = fit[stop]
                div[r] = bad[stop]
                for k, q in enumerate(w):
                    final[k][r] = q[stop]
                keep = ~stop
                rows, a_, dt_, xs, ys, f0s = rows[keep], a_[keep], dt_[keep], xs[keep], ys[keep], f0s[keep]
                w = tuple(q[keep] for q in w)
            bar.update(s - bar.n)
    bar.close()
    cens = ~conv & ~div
    fparams = tuple(final)
    with torch.no_grad():
        dw = _flat_norm(tuple(q - q0 for q, q0 in zip(fparams, params0))) / _flat_norm(params0)
        pred_tr = fwd(fparams, x_train) - f0_tr
        pred_te = fwd(fparams, x_test) - f0_te
        yte = y_test if y_test.ndim == 2 else y_test.expand(e, -1)
        err_tr = (ytr * pred_tr <= 0).to(torch.float64).mean(1)
        err_te = (yte * pred_te <= 0).to(torch.float64).mean(1)
    t_star = torch.where(conv, dt * out_steps.to(dt.dtype), torch.full_like(dt, math.nan))
    nan = torch.full_like(dw, math.nan)
    return NetRuns(
        steps=out_steps, t_star=t_star, converged=conv, censored=cens, diverged=div,
        rel_weight_change=torch.where(div, nan, dw), train_error=torch.where(div, nan, err_tr),
        test_error=torch.where(div, nan, err_te),
    )
