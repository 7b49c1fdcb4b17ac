"""The batched trainer (sims.nets.trainer) and the update rules (sims.optim.rules): it reproduces the three training
loops it replaces (noise_regimes' train_until_fitted, heavy_tail's noisy_gd, the stability.nn loop) with the same
generator draws in the same order, flags divergence, stops, and refuses bad inputs."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch
from torch import nn

from sims.heavy_tail_nn import MLPShape, cross_entropy_per_run, noisy_gd
from sims.hessian import param_vector, unflatten
from sims.lazy_nets import activation, hinge_loss, init_params, mlp, train_until_fitted
from sims.linear_stability import batch_weights
from sims.nets.trainer import Stop, TailAverage, Trace, distinct_batches, gather_rows, geometric_schedule, train
from sims.optim.rules import SGD, MomentumSGD, NoisySGD, per_run
from sims.stable import rotational_stable

F64 = torch.float64


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


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
    old = train_until_fitted(c["params0"], c["x"], c["y"], c["xte"], c["yte"], alpha=c["alpha"],
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
    old = train_until_fitted(c["params0"], c["x"], c["y"], c["xte"], c["yte"], alpha=c["alpha"],
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
    old = noisy_gd(shape, theta0, xtr, ytr, xte, yte, generator=gen(16), **kw)

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


# ---------------------------------------------------------------------------------------------------------------
# behaviour of the trainer itself
# ---------------------------------------------------------------------------------------------------------------
def _quadratic(runs: int = 3) -> tuple[tuple[torch.Tensor], Any]:
    """f_r(w) = (1/2) a w^2 per run with curvature a = 1: GD with lr converges iff lr < 2."""
    return (torch.ones(runs, 2, dtype=F64),), lambda w: 0.5 * (w[0] ** 2).sum()


def test_gd_on_quadratic_exact_iterates_and_stopping() -> None:
    p0, loss = _quadratic()
    lr = torch.tensor([0.5, 1.0, 2.5], dtype=F64)
    res = train(p0, loss, lambda s, r: (), SGD(lr), max_steps=50, max_norm=1e3,
                stop=lambda w, rows, s: (w[0] ** 2).sum(1) < 1e-12, progress=False)  # fmt: skip
    # lr = 0.5: w_s = 0.5^s, 2 * 0.25^s < 1e-12 first at s = 21; lr = 1: w_1 = 0 exactly; lr = 2.5: |w_s| = 1.5^s,
    # sqrt(2) 1.5^s > 1e3 first at s = 17
    assert res.steps.tolist() == [21, 1, 17]
    assert res.converged.tolist() == [True, True, False] and res.diverged.tolist() == [False, False, True]
    assert res.diverged_at.tolist() == [-1, -1, 17]
    torch.testing.assert_close(res.params[0][0], torch.full((2,), 0.5**21, dtype=F64), rtol=1e-15, atol=0)
    assert bool(torch.isnan(res.params[0][2]).all())


def test_censored_at_max_steps_and_check_schedule() -> None:
    p0, loss = _quadratic(2)
    seen: list[int] = []

    def stop(w: tuple[torch.Tensor, ...], rows: torch.Tensor, s: int) -> torch.Tensor:
        seen.append(s)
        return torch.zeros(len(rows), dtype=torch.bool)

    res = train(p0, loss, lambda s, r: (), SGD(0.1), max_steps=70, stop=stop, check_every=geometric_schedule(4),
                progress=False)  # fmt: skip
    assert res.censored.all() and res.steps.tolist() == [70, 70]
    assert seen == [1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 20, 24, 28, 32, 40, 48, 56, 64, 70]


def test_compaction_asks_sampler_only_for_active_rows() -> None:
    p0, _ = _quadratic(3)
    asked: list[list[int]] = []

    def batches(s: int, rows: torch.Tensor) -> tuple[torch.Tensor]:
        asked.append(rows.tolist())
        return (torch.ones(len(rows), dtype=F64),)

    res = train(p0, lambda w, c: 0.5 * c * (w[0] ** 2).sum(), batches, SGD(torch.tensor([1.0, 0.5, 0.5],
                dtype=F64)), max_steps=3, stop=lambda w, rows, s: (w[0] ** 2).sum(1) == 0, progress=False)  # fmt: skip
    assert asked == [[0, 1, 2], [1, 2], [1, 2]]
    assert res.converged.tolist() == [True, False, False]


def test_nonfinite_loss_is_divergence() -> None:
    p0 = (torch.ones(2, 1, dtype=F64),)
    res = train(p0, lambda w, c: c * (w[0] ** 2).sum(), lambda s, r: (torch.tensor([1.0, math.inf], dtype=F64)[r],),
                SGD(0.01), max_steps=5, progress=False)  # fmt: skip
    assert res.diverged.tolist() == [False, True] and res.diverged_at.tolist() == [-1, 1]


def test_momentum_rule_matches_torch_sgd() -> None:
    w0 = torch.randn(2, 3, generator=gen(31), dtype=F64)
    a = torch.tensor([1.0, 2.0, 3.0], dtype=F64)
    loss = lambda w: 0.5 * (a * w[0] ** 2).sum()  # noqa: E731
    for nesterov in (False, True):
        lr, mu = torch.tensor([0.1, 0.05], dtype=F64), torch.tensor([0.9, 0.5], dtype=F64)
        res = train((w0.clone(),), loss, lambda s, r: (), MomentumSGD(lr, mu, nesterov=nesterov), max_steps=25,
                    progress=False)  # fmt: skip
        for r in range(2):
            p = torch.nn.Parameter(w0[r].clone())
            opt = torch.optim.SGD([p], lr=float(lr[r]), momentum=float(mu[r]), nesterov=nesterov)
            for _ in range(25):
                opt.zero_grad()
                (0.5 * (a * p**2).sum()).backward()
                opt.step()
            torch.testing.assert_close(res.params[0][r], p.detach(), rtol=0, atol=1e-12)


def test_noisy_rule_is_gd_plus_scaled_noise() -> None:
    w0 = torch.zeros(3, 2, dtype=F64)
    draws: list[torch.Tensor] = []

    def noise(rows: torch.Tensor, params: tuple[torch.Tensor, ...], t: int) -> tuple[torch.Tensor]:
        xi = torch.full_like(params[0], float(t)) + rows[:, None].to(F64)
        draws.append(xi)
        return (xi,)

    scale = torch.tensor([0.0, 1.0, 2.0], dtype=F64)
    res = train((w0,), lambda w: 0.0 * w[0].sum(), lambda s, r: (), NoisySGD(0.1, scale, noise), max_steps=2,
                progress=False)  # fmt: skip
    # zero gradient: w_2 = scale * (xi_1 + xi_2) = scale * (1 + 2 + 2 r)
    want = scale[:, None] * (3.0 + 2.0 * torch.arange(3, dtype=F64))[:, None].expand(3, 2)
    torch.testing.assert_close(res.params[0], want, rtol=0, atol=0)


@pytest.mark.parametrize("kw, match", [
    ({"max_steps": 0}, "max_steps"), ({"max_steps": -3}, "max_steps"), ({"max_steps": 2.5}, "max_steps"),
    ({"max_steps": True}, "max_steps"), ({"check_every": 0}, "check_every"), ({"check_every": "often"}, "check_every"),
    ({"max_norm": 0.0}, "max_norm"), ({"max_norm": math.nan}, "max_norm"), ({"max_norm": -1.0}, "max_norm"),
    ({"stop": 3}, "stop"),
])  # fmt: skip
def test_bad_arguments(kw: dict[str, Any], match: str) -> None:
    p0, loss = _quadratic()
    args: dict[str, Any] = {"max_steps": 5, "progress": False} | kw
    with pytest.raises(ValueError, match=match):
        train(p0, loss, lambda s, r: (), SGD(0.1), **args)


@pytest.mark.parametrize("params0, match", [
    ((), "params0"), ([torch.ones(2, 2)], "params0"), ((torch.ones(2, 2), torch.ones(3, 2)), "leading"),
    ((torch.ones(2, 2, dtype=torch.int64),), "floating"), ((torch.tensor([[1.0, math.nan]]),), "finite"),
    ((torch.ones(2, 2, dtype=F64), torch.ones(2, dtype=torch.float32)), "dtype"), ((torch.tensor(1.0),), "leading"),
])  # fmt: skip
def test_bad_params(params0: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        train(params0, lambda w: w[0].sum(), lambda s, r: (), SGD(0.1), max_steps=3, progress=False)


def test_bad_sampler_and_criterion_shapes() -> None:
    p0, loss = _quadratic()
    with pytest.raises(ValueError, match="batches"):
        train(p0, lambda w, c: loss(w) * c, lambda s, r: (torch.ones(2, dtype=F64),), SGD(0.1), max_steps=3,
              progress=False)  # fmt: skip
    with pytest.raises(ValueError, match="stop must return fitted"):
        train(p0, loss, lambda s, r: (), SGD(0.1), max_steps=3, stop=lambda w, r, s: torch.zeros(2, dtype=torch.bool),
              progress=False)  # fmt: skip


@pytest.mark.parametrize("make, match", [
    (lambda: SGD(0.0), "lr"), (lambda: SGD(-1.0), "lr"), (lambda: SGD(math.nan), "lr"), (lambda: SGD(math.inf), "lr"),
    (lambda: SGD(torch.ones(2)), "shape"), (lambda: SGD("0.1"), "lr"),  # type: ignore[arg-type]
    (lambda: MomentumSGD(0.1, 1.0), "momentum"), (lambda: MomentumSGD(0.1, -0.1), "momentum"),
    (lambda: NoisySGD(0.1, -1.0, lambda r, p, t: p), "scale"),
])  # fmt: skip
def test_bad_rule_hyperparameters(make: Any, match: str) -> None:
    p0, _ = _quadratic()
    with pytest.raises(ValueError, match=match):
        make().init(p0)


def test_noise_sampler_checked() -> None:
    with pytest.raises(ValueError, match="noise"):
        NoisySGD(0.1, 1.0, "gauss")  # type: ignore[arg-type]
    p0, loss = _quadratic()
    with pytest.raises(ValueError, match="noise must return"):
        train(p0, loss, lambda s, r: (), NoisySGD(0.1, 1.0, lambda r, p, t: (torch.ones(1),)), max_steps=2,
              progress=False)  # fmt: skip


def test_per_run_broadcasts_and_validates() -> None:
    assert per_run(0.5, 3, "lr").tolist() == [0.5] * 3
    with pytest.raises(ValueError, match="eta"):
        per_run(True, 3, "eta")


def test_schedule_and_helpers_validate() -> None:
    for bad in (0, 3, -4, 2.0, True):
        with pytest.raises(ValueError, match="resolution"):
            geometric_schedule(bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="batch_size"):
        distinct_batches((2, 5), 6, generator=gen(0), device="cpu")
    with pytest.raises(ValueError, match="idx"):
        gather_rows(torch.ones(2, 5), torch.zeros(3, 2, dtype=torch.long))
    with pytest.raises(ValueError, match="first_step"):
        TailAverage(lambda p: {}, 2, 0)
    with pytest.raises(ValueError, match="every"):
        Trace(lambda p: {}, 2, 0)
    idx = distinct_batches((50, 7), 7, generator=gen(1), device="cpu")
    assert all(sorted(r) == list(range(7)) for r in idx.tolist())
