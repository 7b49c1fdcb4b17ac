"""The shared trainer reproduces the three loops it replaced (noise_regimes' train_until_fitted, heavy_tail's
noisy GD, the stability.nn loop), each frozen here as the reference, with the same generator draws."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn
from torch.func import grad, vmap
from tqdm.auto import tqdm

from sims.heavy_tails.noisy_mlp import MLPShape, NoisyGDResult, cross_entropy_per_run
from sims.lazy_nets import NetRuns, train_until_fitted
from sims.nets.alpha_mlp import Params, activation, hinge_loss, init_params, mlp
from sims.nets.hessian import param_vector, unflatten
from sims.nets.trainer import Stop, TailAverage, Trace, distinct_batches, gather_rows, geometric_schedule, train
from sims.noise.stable import rotational_stable
from sims.optim.rules import SGD, NoisySGD
from sims.stability.linear_sgd import batch_weights

F64 = torch.float64


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# the old noise_regimes loop, frozen as a reference
def _check_step(s: int) -> bool:
    return s <= 32 or s % (1 << (s.bit_length() - 1 - 5)) == 0


def _flat_norm(params: Params) -> torch.Tensor:
    return torch.sqrt(sum((p.reshape(p.shape[0], -1) ** 2).sum(1) for p in params))  # type: ignore[arg-type]


def _reference_train_until_fitted(
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
    """The loop of sims/lazy_nets.py as of commit ab12e3d (reference for the port onto the trainer). Train E = len(alpha) networks (stacked params0, leading dim E) by SGD with the alpha-trick hinge loss until zero
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


# ---------------------------------------------------------------------------------------------------------------
# noise_regimes: SGD on B distinct indices, alpha-trick hinge loss, stop when fitted, compaction, geometric checks
# ---------------------------------------------------------------------------------------------------------------
def _lazy_case(e: int = 6) -> dict[str, Any]:
    d, h, p = 5, 16, 24
    x = torch.randn(p, d, generator=gen(1), dtype=F64)
    y = torch.where(x[:, 0] * x[:, 1] > 0, 1.0, -1.0).to(F64)
    xte = torch.randn(40, d, generator=gen(2), dtype=F64)
    yte = torch.where(xte[:, 0] * xte[:, 1] > 0, 1.0, -1.0).to(F64)
    alpha = torch.tensor([1.0, 4.0, 32.0, 1.0, 4.0, 32.0][:e], dtype=F64)
    temp = torch.tensor([0.01, 0.01, 0.01, 0.1, 0.1, 0.1][:e], dtype=F64)
    return {"params0": init_params(e, d, h, 2, generator=gen(3)), "x": x, "y": y, "xte": xte, "yte": yte,
            "alpha": alpha, "temp": temp, "h": h, "B": 4}  # fmt: skip


def _lazy_on_trainer(c: dict[str, Any], max_steps: int, seed: int, max_rel: float = math.inf) -> Any:
    phi = activation("relu")
    p0, x, y, alpha = c["params0"], c["x"], c["y"], c["alpha"]
    e, p = p0[0].shape[0], x.shape[0]
    fwd = torch.func.vmap(lambda w, xx: mlp(w, xx, phi), in_dims=(0, None))
    f0 = fwd(p0, x)
    xs, ys = x.expand(e, *x.shape), y.expand(e, p)
    g = gen(seed)

    def batches(s: int, rows: torch.Tensor) -> tuple[torch.Tensor, ...]:
        idx = distinct_batches((rows.numel(), p), c["B"], generator=g, device="cpu")
        return gather_rows(xs[rows], idx), torch.gather(ys[rows], 1, idx), torch.gather(f0[rows], 1, idx), alpha[rows]

    norm0 = torch.sqrt(sum((q.reshape(e, -1) ** 2).sum(1) for q in p0))

    def stop(w: tuple[torch.Tensor, ...], rows: torch.Tensor, s: int) -> Stop:
        with torch.no_grad():
            marg = alpha[rows, None] * ys[rows] * (fwd(w, x) - f0[rows])
        rel = torch.sqrt(sum(((q - q0[rows]).reshape(len(rows), -1) ** 2).sum(1) for q, q0 in zip(w, p0)))
        rel = rel / norm0[rows]
        bad = ~torch.isfinite(marg).all(1) | ~torch.isfinite(rel) | (rel > max_rel)
        return Stop((marg >= 1.0).all(1), bad)

    res = train(p0, lambda w, xb, yb, fb, a: hinge_loss(w, xb, yb, fb, a, phi), batches,
                SGD(c["temp"] * c["h"] * c["B"]), max_steps=max_steps, stop=stop, check_every=geometric_schedule(32),
                progress=False)  # fmt: skip
    return res, fwd, f0


def test_reproduces_train_until_fitted_bitwise() -> None:
    c = _lazy_case()
    old = _reference_train_until_fitted(c["params0"], c["x"], c["y"], c["xte"], c["yte"], alpha=c["alpha"],
                             temperature=c["temp"], batch_size=c["B"], max_steps=500, generator=gen(7),
                             progress=False)  # fmt: skip
    res, fwd, f0 = _lazy_on_trainer(c, 500, 7)
    assert bool(old.converged.any()) and bool(old.censored.any())  # the case exercises both outcomes and compaction
    assert torch.equal(res.steps, old.steps)
    assert torch.equal(res.converged, old.converged) and torch.equal(res.censored, old.censored)
    assert torch.equal(res.diverged, old.diverged)
    p0 = c["params0"]
    dw = torch.sqrt(sum(((q - q0).reshape(6, -1) ** 2).sum(1) for q, q0 in zip(res.params, p0)))
    dw = dw / torch.sqrt(sum((q.reshape(6, -1) ** 2).sum(1) for q in p0))
    assert torch.equal(dw, old.rel_weight_change)
    err = (c["y"] * (fwd(res.params, c["x"]) - f0) <= 0).to(F64).mean(1)
    assert torch.equal(err, old.train_error)


def test_lazy_divergence_flagged_as_in_old_loop() -> None:
    c = _lazy_case()
    old = _reference_train_until_fitted(c["params0"], c["x"], c["y"], c["xte"], c["yte"], alpha=c["alpha"],
                             temperature=c["temp"], batch_size=c["B"], max_steps=400, generator=gen(9),
                             max_rel_change=0.05, progress=False)  # fmt: skip
    res, _, _ = _lazy_on_trainer(c, 400, 9, max_rel=0.05)
    assert bool(old.diverged.any())
    assert torch.equal(res.diverged, old.diverged) and torch.equal(res.steps, old.steps)
    assert torch.equal(res.converged, old.converged)
    assert bool(torch.isnan(res.params[0][res.diverged]).all()) and bool(torch.isnan(res.last_loss[res.diverged]).all())
    assert torch.equal(res.diverged_at[res.diverged], res.steps[res.diverged])


# ---------------------------------------------------------------------------------------------------------------
# heavy_tail: full-batch GD + injected alpha-stable noise, no compaction, averages over the last iterates, traces
# ---------------------------------------------------------------------------------------------------------------
def _reference_noisy_gd(
    shape: MLPShape,
    theta0: torch.Tensor,
    Xtr: torch.Tensor,
    ytr: torch.Tensor,
    Xte: torch.Tensor,
    yte: torch.Tensor,
    *,
    alpha: tuple[float, ...],
    sigma: tuple[float, ...],
    eta: float,
    steps: int,
    generator: torch.Generator,
    avg_last: int = 100,
    trace_every: int = 10,
    max_norm: float = 1e6,
    progress: bool | None = False,
) -> NoisyGDResult:
    """The loop the trainer replaced (sims/heavy_tail_nn.py at cda3fb9), frozen here as the reference: full-batch GD
    with injected noise for R = len(alpha) runs (alpha[r], sigma[r] per run; theta0 (R, P)).

    Raises ValueError for alpha outside (0, 2], sigma < 0, eta <= 0. A run is diverged once its loss or parameters are
    non-finite or ||theta|| > max_norm; it is frozen and excluded (NaN) from the averages."""
    R = theta0.shape[0]
    if len(alpha) != R or len(sigma) != R:
        raise ValueError(f"alpha and sigma must have one entry per run ({R}), got {len(alpha)} and {len(sigma)}")
    if any(not (0.0 < a <= 2.0) for a in alpha):
        raise ValueError(f"alpha must lie in (0, 2], got {sorted(set(alpha))}")
    if any(not (s >= 0.0 and math.isfinite(s)) for s in sigma):
        raise ValueError(f"sigma must be >= 0, got {sorted(set(sigma))}")
    if not (eta > 0 and math.isfinite(eta)):
        raise ValueError(f"eta must be > 0, got {eta!r}")
    if not 1 <= avg_last <= steps:
        raise ValueError(f"avg_last must lie in [1, steps] = [1, {steps}], got {avg_last!r}")
    dev, dt = theta0.device, theta0.dtype
    P = theta0.shape[1]
    scale = torch.tensor([s * eta ** (1.0 / a) for a, s in zip(alpha, sigma)], device=dev, dtype=dt).unsqueeze(1)
    groups = {a: torch.tensor([r for r in range(R) if alpha[r] == a], device=dev) for a in sorted(set(alpha))}
    theta = theta0.clone()
    diverged = torch.zeros(R, dtype=torch.bool, device=dev)
    acc = {k: torch.zeros(R, device=dev, dtype=dt) for k in ("trl", "tel", "tra", "tea")}
    tr_trace, te_trace = [], []
    for k in tqdm(range(steps), disable=None if progress is None else not progress, desc="noisy GD"):
        th = theta.detach().requires_grad_(True)
        loss = cross_entropy_per_run(shape, th, Xtr, ytr)
        (grad,) = torch.autograd.grad(loss.sum(), th)
        xi = torch.empty(R, P, device=dev, dtype=dt)
        for a, idx in groups.items():
            xi[idx] = rotational_stable((len(idx), P), a, generator=generator, device=dev, dtype=dt)
        theta = theta - eta * grad + scale * xi
        bad = ~torch.isfinite(theta).all(dim=1) | ~torch.isfinite(loss) | (theta.norm(dim=1) > max_norm)
        if bool(bad.any()):
            diverged |= bad
            theta = torch.where(diverged.unsqueeze(1), torch.zeros((), device=dev, dtype=dt), theta)
        record = k >= steps - avg_last
        if record or k % trace_every == 0:
            with torch.no_grad():
                ztr, zte = shape.logits(theta, Xtr), shape.logits(theta, Xte)
                ce = torch.nn.functional.cross_entropy
                trl = ce(ztr.transpose(1, 2), ytr.expand(R, -1), reduction="none").mean(1)
                tel = ce(zte.transpose(1, 2), yte.expand(R, -1), reduction="none").mean(1)
                if record:
                    acc["trl"] += trl
                    acc["tel"] += tel
                    acc["tra"] += (ztr.argmax(-1) == ytr).to(dt).mean(1)
                    acc["tea"] += (zte.argmax(-1) == yte).to(dt).mean(1)
                if k % trace_every == 0:
                    tr_trace.append(trl)
                    te_trace.append(tel)
    nan = torch.tensor(float("nan"), device=dev, dtype=dt)
    m = {key: torch.where(diverged, nan, v / avg_last) for key, v in acc.items()}
    return NoisyGDResult(m["trl"], m["tel"], m["tra"], m["tea"], diverged, torch.stack(tr_trace), torch.stack(te_trace))


def _heavy_case(max_norm: float, sigma: tuple[float, ...]) -> tuple[Any, ...]:
    shape = MLPShape((4, 6, 3))
    xtr = torch.randn(20, 4, generator=gen(11), dtype=F64)
    ytr = torch.randint(0, 3, (20,), generator=gen(12))
    xte = torch.randn(15, 4, generator=gen(13), dtype=F64)
    yte = torch.randint(0, 3, (15,), generator=gen(14))
    theta0 = shape.init(4, generator=gen(15), dtype=F64)
    alpha = (1.5, 2.0, 1.5, 1.8)
    kw: dict[str, Any] = {"alpha": alpha, "sigma": sigma, "eta": 0.1, "steps": 60, "avg_last": 20, "trace_every": 7,
          "max_norm": max_norm}  # fmt: skip
    old = _reference_noisy_gd(shape, theta0, xtr, ytr, xte, yte, generator=gen(16), **kw)

    g = gen(16)
    groups = {a: [r for r in range(4) if alpha[r] == a] for a in sorted(set(alpha))}

    def noise(rows: torch.Tensor, params: tuple[torch.Tensor, ...], t: int) -> tuple[torch.Tensor]:
        xi = torch.empty_like(params[0])
        for a, idx in groups.items():
            xi[idx] = rotational_stable((len(idx), xi.shape[1]), a, generator=g, dtype=F64)
        return (xi,)

    def metrics(params: tuple[torch.Tensor, ...]) -> dict[str, torch.Tensor]:
        th = params[0]
        ztr, zte = shape.logits(th, xtr), shape.logits(th, xte)
        ce = torch.nn.functional.cross_entropy
        return {"trl": ce(ztr.transpose(1, 2), ytr.expand(th.shape[0], -1), reduction="none").mean(1),
                "tel": ce(zte.transpose(1, 2), yte.expand(th.shape[0], -1), reduction="none").mean(1),
                "tra": (ztr.argmax(-1) == ytr).to(F64).mean(1), "tea": (zte.argmax(-1) == yte).to(F64).mean(1)}

    avg = TailAverage(metrics, 4, first_step=60 - 20 + 1)
    trace = Trace(lambda p: {k: v for k, v in metrics(p).items() if k in ("trl", "tel")}, 4, every=7)
    scale = torch.tensor([s * 0.1 ** (1.0 / a) for a, s in zip(alpha, sigma)], dtype=F64)
    res = train((theta0,), lambda w: cross_entropy_per_run(shape, w[0].unsqueeze(0), xtr, ytr)[0],
                lambda s, rows: (), NoisySGD(0.1, scale, noise), max_steps=60, check_every=1, max_norm=max_norm,
                compact=False, observers=(avg, trace), progress=False)  # fmt: skip
    return old, res, avg, trace


def test_reproduces_noisy_gd() -> None:
    old, res, avg, trace = _heavy_case(1e6, (0.05, 0.05, 0.2, 0.1))
    assert not bool(old.diverged.any())
    assert torch.equal(res.diverged, old.diverged)
    m = avg.mean()
    for k, v in (("trl", old.train_loss), ("tel", old.test_loss), ("tra", old.train_acc), ("tea", old.test_acc)):
        torch.testing.assert_close(m[k], v, rtol=0, atol=1e-12)
    tr = trace.stacked()
    assert trace.steps == list(range(1, 61, 7))
    torch.testing.assert_close(tr["trl"], old.trace_train, rtol=0, atol=1e-12)
    torch.testing.assert_close(tr["tel"], old.trace_test, rtol=0, atol=1e-12)


def test_noisy_gd_divergence_matches() -> None:
    old, res, avg, _ = _heavy_case(12.0, (0.05, 0.05, 3.0, 0.1))
    assert bool(old.diverged.any()) and not bool(old.diverged.all())
    assert torch.equal(res.diverged, old.diverged)
    alive = ~old.diverged
    torch.testing.assert_close(avg.mean()["trl"][alive], old.train_loss[alive], rtol=0, atol=1e-12)
    assert bool((res.diverged_at[res.diverged] >= 1).all())


# ---------------------------------------------------------------------------------------------------------------
# stability.nn: Bernoulli batch weights for all runs every step, masked updates, stop at loss < tol or diverged
# ---------------------------------------------------------------------------------------------------------------
def _mlp(d_in: int, width: int) -> nn.Module:
    return nn.Sequential(nn.Linear(d_in, width), nn.Tanh(), nn.Linear(width, width), nn.Tanh(), nn.Linear(width, 1))


def _stability_case() -> tuple[Any, ...]:
    n, d_in, width = 8, 4, 8
    x = torch.randn(n, d_in, generator=gen(21), dtype=F64)
    torch.manual_seed(22)
    teacher = _mlp(d_in, 4).to(F64)
    model = _mlp(d_in, width).to(F64)
    with torch.no_grad():
        y = teacher(x)
        y = (y - y.mean()) / y.std()
    grid = [(e, b) for e in (1.0, 5.0) for b in (2, 8)]
    eta = torch.tensor([e for e, _ in grid], dtype=F64)
    bsz = torch.tensor([b for _, b in grid])
    return n, x, y, model, eta, bsz


def _stability_reference(max_steps: int, tol: float, check_every: int) -> dict[str, torch.Tensor]:
    """The training loop of sgdlab/papers/stability.py's stability.nn experiment as of commit ab12e3d (reference)."""
    n, x, y, model, eta, bsz = _stability_case()
    theta0 = param_vector(model)
    runs = len(eta)
    theta = theta0.expand(runs, -1).clone()

    def weighted_loss(th: torch.Tensor, c: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        out = torch.func.functional_call(model, unflatten(model, th), (x,))
        return 0.5 * torch.sum(c[:, None] * (out - y) ** 2) / b

    def full_loss(th: torch.Tensor) -> torch.Tensor:
        return 0.5 * torch.mean((torch.func.functional_call(model, unflatten(model, th), (x,)) - y) ** 2)

    step_grad = torch.vmap(torch.func.grad(weighted_loss))
    losses = torch.vmap(full_loss)
    g_batch = gen(23)
    loss0 = float(full_loss(theta0))
    diverged = torch.zeros(runs, dtype=torch.bool)
    done = torch.zeros(runs, dtype=torch.bool)
    steps_taken = torch.full((runs,), max_steps)
    for t in range(max_steps):
        active = ~(diverged | done)
        if not bool(active.any()):
            break
        c = batch_weights(runs, n, bsz, "bernoulli", generator=g_batch, device="cpu", dtype=F64)
        grads = step_grad(theta, c, bsz.to(F64))
        theta = theta - (eta * active.to(F64))[:, None] * grads
        if (t + 1) % check_every == 0:
            cur = losses(theta)
            newly_div = active & (~torch.isfinite(cur) | (cur > 1e6 * loss0))
            newly_done = active & ~newly_div & (cur < tol)
            diverged |= newly_div
            done |= newly_done
            steps_taken[newly_div | newly_done] = t + 1
    return {"theta": theta, "done": done, "diverged": diverged, "steps": steps_taken}


def test_reproduces_stability_loop() -> None:
    max_steps, tol, every = 600, 1e-4, 25
    ref = _stability_reference(max_steps, tol, every)
    n, x, y, model, eta, bsz = _stability_case()
    theta0 = param_vector(model)
    runs = len(eta)
    g_batch = gen(23)

    def out(th: torch.Tensor) -> torch.Tensor:
        return torch.func.functional_call(model, unflatten(model, th), (x,))

    def weighted_loss(w: tuple[torch.Tensor], c: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return 0.5 * torch.sum(c[:, None] * (out(w[0]) - y) ** 2) / b

    losses = torch.vmap(lambda th: 0.5 * torch.mean((out(th) - y) ** 2))
    loss0 = float(losses(theta0[None])[0])

    def stop(w: tuple[torch.Tensor, ...], rows: torch.Tensor, s: int) -> Stop:
        cur = losses(w[0])
        return Stop(cur < tol, ~torch.isfinite(cur) | (cur > 1e6 * loss0))

    res = train((theta0.expand(runs, -1).clone(),), weighted_loss,
                lambda s, rows: (batch_weights(runs, n, bsz, "bernoulli", generator=g_batch, device="cpu", dtype=F64),
                                 bsz.to(F64)),
                SGD(eta), max_steps=max_steps, stop=stop, check_every=every, compact=False, progress=False)  # fmt: skip
    assert bool(ref["done"].any()) and bool(ref["diverged"].any())
    assert torch.equal(res.converged, ref["done"]) and torch.equal(res.diverged, ref["diverged"])
    assert torch.equal(res.steps, ref["steps"])
    ok = ref["done"]
    assert torch.equal(res.params[0][ok], ref["theta"][ok])



def test_ported_train_until_fitted_equals_the_old_loop() -> None:
    """sims.lazy_nets.train_until_fitted (now on the trainer) gives the old loop's results bit for bit, including a
    run-away flagged diverged."""
    c = _lazy_case()
    for max_rel, steps in ((math.inf, 500), (0.05, 400)):
        kw: dict[str, Any] = {"alpha": c["alpha"], "temperature": c["temp"], "batch_size": c["B"], "max_steps": steps,
                              "max_rel_change": max_rel, "progress": False}  # fmt: skip
        old = _reference_train_until_fitted(c["params0"], c["x"], c["y"], c["xte"], c["yte"], generator=gen(7), **kw)
        new = train_until_fitted(c["params0"], c["x"], c["y"], c["xte"], c["yte"], generator=gen(7), **kw)
        for f in ("steps", "converged", "censored", "diverged"):
            assert torch.equal(getattr(new, f), getattr(old, f)), f
        for f in ("t_star", "rel_weight_change", "train_error", "test_error"):
            assert torch.allclose(getattr(new, f), getattr(old, f), rtol=0, atol=0, equal_nan=True), f
