"""Optimizer behaviour: foreach and loop paths agree, state_dict resume, closure, zero_grad modes, dtypes, param
groups, validation, sparse gradients; batched rules equal the Optimizer classes run per run."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
import torch

from sims.optim.adabelief import AdaBelief, AdaBeliefHP, adabelief_init, adabelief_update
from sims.optim.diffgrad import DiffGrad, DiffGradHP, diffgrad_init, diffgrad_update
from sims.optim.sgd_sai import SGDSaI, SgdSaiHP, gsnr, sgd_sai_init, sgd_sai_update

MAKERS: dict[str, Callable[..., torch.optim.Optimizer]] = {
    "adabelief": lambda p, **k: AdaBelief(p, lr=1e-2, **k),
    "adabelief_paper": lambda p, **k: AdaBelief.paper(p, lr=1e-2, weight_decay=1e-3, **k),
    "adabelief_ams_l2": lambda p, **k: AdaBelief(p, lr=1e-2, amsgrad=True, weight_decouple=False, weight_decay=0.1,
                                                 **k),
    "diffgrad": lambda p, **k: DiffGrad(p, lr=1e-2, weight_decay=1e-2, **k),
    "sgd_sai": lambda p, **k: SGDSaI(p, lr=1e-2, **k),
    "sgd_sai_paper": lambda p, **k: SGDSaI.paper(p, lr=1e-2, **k),
}


def _problem(dtype: torch.dtype, seed: int = 0) -> tuple[list[torch.nn.Parameter], Callable[[int], torch.Tensor]]:
    g = torch.Generator().manual_seed(seed)
    ps = [torch.nn.Parameter(torch.randn(*s, generator=g).to(dtype)) for s in ((5, 4), (4,), (3, 4), (2, 3, 2))]
    xs = [torch.randn(8, 5, generator=g).to(dtype) for _ in range(64)]

    def loss(t: int) -> torch.Tensor:
        x = xs[t % len(xs)]
        h = torch.tanh(x @ ps[0] + ps[1])
        return (h @ ps[2].T).pow(2).mean() + ps[3].pow(4).sum() * 1e-2
    return ps, loss


def _train(name: str, steps: int, dtype: torch.dtype = torch.float64, foreach: bool | None = None,
           set_to_none: bool = True, resume_at: int | None = None) -> list[torch.Tensor]:
    ps, loss = _problem(dtype)
    opt = MAKERS[name](ps, foreach=foreach)
    for t in range(steps):
        if resume_at is not None and t == resume_at:
            sd = opt.state_dict()
            opt = MAKERS[name](ps, foreach=foreach)
            opt.load_state_dict(sd)
        opt.zero_grad(set_to_none=set_to_none)
        loss(t).backward()
        opt.step()
    return [p.detach().clone() for p in ps]


@pytest.mark.parametrize("name", MAKERS)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32, torch.bfloat16])
def test_foreach_equals_loop(name: str, dtype: torch.dtype) -> None:
    a = _train(name, 30, dtype, foreach=True)
    b = _train(name, 30, dtype, foreach=False)
    for x, y in zip(a, b):
        assert x.dtype == dtype and bool(torch.isfinite(x.float()).all())
        if dtype == torch.bfloat16:  # foreach bf16 kernels round intermediates differently: a few bf16 ulps
            torch.testing.assert_close(x.float(), y.float(), rtol=2**-6, atol=2**-6)
        else:  # CPU foreach = the same per-tensor kernels: identical
            torch.testing.assert_close(x, y, rtol=0, atol=0)


@pytest.mark.parametrize("name", MAKERS)
def test_resume_gives_identical_iterates(name: str) -> None:
    a = _train(name, 20)
    b = _train(name, 20, resume_at=7)
    for x, y in zip(a, b):
        torch.testing.assert_close(x, y, rtol=0, atol=0)


@pytest.mark.parametrize("name", MAKERS)
def test_set_to_none_false_same_iterates(name: str) -> None:
    for x, y in zip(_train(name, 10, set_to_none=True), _train(name, 10, set_to_none=False)):
        torch.testing.assert_close(x, y, rtol=0, atol=0)


@pytest.mark.parametrize("name", MAKERS)
def test_closure_is_called_once_and_returned(name: str) -> None:
    ps, loss = _problem(torch.float64)
    opt = MAKERS[name](ps)
    calls = []

    def closure() -> torch.Tensor:
        calls.append(1)
        opt.zero_grad()
        out = loss(0)
        out.backward()
        return out
    out = opt.step(closure)
    assert len(calls) == 1 and torch.is_tensor(out)


@pytest.mark.parametrize("name", MAKERS)
def test_sparse_gradient_rejected(name: str) -> None:
    w = torch.nn.Parameter(torch.zeros(4, 3))
    w.grad = torch.zeros(4, 3).to_sparse()
    with pytest.raises(ValueError, match="sparse"):
        MAKERS[name]([w]).step()


@pytest.mark.parametrize("cls,arg,bad", [
    (AdaBelief, "lr", -1e-3), (AdaBelief, "lr", float("nan")), (AdaBelief, "eps", float("inf")),
    (AdaBelief, "betas", (0.9, 1.0)), (AdaBelief, "betas", (-0.1, 0.9)), (AdaBelief, "weight_decay", -1.0),
    (DiffGrad, "lr", float("-inf")), (DiffGrad, "betas", (1.0, 0.9)), (DiffGrad, "eps", -1.0),
    (SGDSaI, "momentum", 1.0), (SGDSaI, "momentum", float("nan")), (SGDSaI, "weight_decay", -0.1),
    (SGDSaI, "lr", "fast"),
])
def test_invalid_hyperparameters_named(cls: type, arg: str, bad: object) -> None:
    w = torch.nn.Parameter(torch.zeros(3))
    name = "betas" if arg == "betas" else arg
    with pytest.raises(ValueError, match=name):
        cls([w], **{arg: bad})
    with pytest.raises(ValueError, match=name):  # also in a param group
        cls([{"params": [w], arg: bad}])


def test_param_groups_use_their_own_lr() -> None:
    a, b = torch.nn.Parameter(torch.ones(3, dtype=torch.float64)), torch.nn.Parameter(torch.ones(3, dtype=torch.float64))
    opt = DiffGrad([{"params": [a]}, {"params": [b], "lr": 0.0}], lr=0.1)
    a.grad, b.grad = torch.ones(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    opt.step()
    assert float(b.detach().sum()) == 3.0 and float(a.detach().sum()) < 3.0


def test_tensor_without_grad_is_skipped_and_keeps_its_own_step() -> None:
    a, b = torch.nn.Parameter(torch.ones(3, dtype=torch.float64)), torch.nn.Parameter(torch.ones(3, dtype=torch.float64))
    opt = AdaBelief([a, b], lr=0.1)
    a.grad = torch.ones(3, dtype=torch.float64)
    opt.step()
    assert float(b.detach().sum()) == 3.0 and b not in opt.state
    b.grad = torch.ones(3, dtype=torch.float64)
    opt.step()
    assert opt.state[a]["step"] == 2 and opt.state[b]["step"] == 1


def test_sgd_sai_gsnr_and_paper_normalisation() -> None:
    g = torch.tensor([[1.0, 2.0], [3.0, 6.0]], dtype=torch.float64)
    expect = math.sqrt(50.0) / (float(g.std()) + 1e-8)
    assert float(gsnr(g, 1e-8)) == pytest.approx(expect, rel=1e-15)
    a, b = torch.nn.Parameter(torch.zeros(2, 2, dtype=torch.float64)), torch.nn.Parameter(torch.zeros(3, dtype=torch.float64))
    opt = SGDSaI.paper([a, b])
    a.grad, b.grad = g.clone(), torch.tensor([1.0, 1.0, 1.1], dtype=torch.float64)
    opt.step()
    vals = [opt.state[a]["gsnr"], opt.state[b]["gsnr"]]
    assert max(vals) == 1.0 and min(vals) == pytest.approx(expect / float(gsnr(b.grad, 1e-8)), rel=1e-14)
    c = torch.nn.Parameter(torch.zeros(2, dtype=torch.float64))
    c.grad = torch.ones(2, dtype=torch.float64)
    with pytest.raises(ValueError, match="NaN or inf"):
        c.grad[0] = float("nan")
        SGDSaI([c]).step()


# ----------------------------------------------------------------------------------------------------------------
# batched rules == the Optimizer classes, run by run
# ----------------------------------------------------------------------------------------------------------------
R = 3
LRS = torch.tensor([1e-3, 1e-2, 3e-2], dtype=torch.float64)
WDS = torch.tensor([0.0, 1e-2, 1e-1], dtype=torch.float64)


def _batched_vs_single(update, init_state, hp_of, make_single) -> None:
    g = torch.Generator().manual_seed(3)
    shapes = [(4, 3), (3,), (2, 2, 2)]
    w0 = [torch.randn(R, *s, generator=g, dtype=torch.float64) for s in shapes]
    grads = [[torch.randn(R, *s, generator=g, dtype=torch.float64) for s in shapes] for _ in range(25)]
    ws = [w.clone() for w in w0]
    state = init_state(ws)
    for gs in grads:
        update(ws, [x + 0.5 * w for x, w in zip(gs, ws)], state, hp_of(LRS, WDS))
    for r in range(R):
        ps = [torch.nn.Parameter(w[r].clone()) for w in w0]
        opt = make_single(ps, float(LRS[r]), float(WDS[r]))
        for gs in grads:
            for p, x in zip(ps, gs):
                p.grad = x[r] + 0.5 * p.detach()
            opt.step()
        for p, w in zip(ps, ws):
            torch.testing.assert_close(p.detach(), w[r], rtol=0, atol=1e-12)


@pytest.mark.parametrize("rectify,amsgrad,decouple", [(True, False, True), (False, True, False), (False, False, True),
                                                       (True, True, False)])
def test_adabelief_batched_equals_class(rectify: bool, amsgrad: bool, decouple: bool) -> None:
    kw = dict(rectify=rectify, amsgrad=amsgrad, weight_decouple=decouple, eps=1e-8)
    _batched_vs_single(adabelief_update, lambda ws: adabelief_init(ws, AdaBeliefHP(**kw)),
                       lambda lr, wd: AdaBeliefHP(lr=lr, weight_decay=wd, **kw),
                       lambda ps, lr, wd: AdaBelief(ps, lr=lr, weight_decay=wd, **kw))


def test_diffgrad_batched_equals_class() -> None:
    _batched_vs_single(diffgrad_update, diffgrad_init, lambda lr, wd: DiffGradHP(lr=lr, weight_decay=wd),
                       lambda ps, lr, wd: DiffGrad(ps, lr=lr, weight_decay=wd))


@pytest.mark.parametrize("momentum,normalize", [(0.9, False), (0.0, False), (0.9, True)])
def test_sgd_sai_batched_equals_class(momentum: float, normalize: bool) -> None:
    _batched_vs_single(sgd_sai_update, sgd_sai_init,
                       lambda lr, wd: SgdSaiHP(lr=lr, weight_decay=wd, momentum=momentum, gsnr_normalize=normalize),
                       lambda ps, lr, wd: SGDSaI(ps, lr=lr, weight_decay=wd, momentum=momentum,
                                                 gsnr_normalize=normalize))


def test_batched_hp_shape_checked() -> None:
    w = [torch.zeros(3, 2, dtype=torch.float64)]
    with pytest.raises(ValueError, match="lr"):
        diffgrad_update(w, [torch.ones(3, 2, dtype=torch.float64)], diffgrad_init(w), DiffGradHP(lr=torch.ones(2)))


def test_diffgrad_v1_with_l2_decay_is_stuck_at_half_too() -> None:
    """v1 decayed p.grad in place, so with L2 decay the alias also holds the decayed gradient: friction 1/2 from
    step 2 with in-place zero_grad; v2 (a copy) is unaffected."""
    from sims.optim.diffgrad import DiffGradV1, friction

    w = torch.nn.Parameter(torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64))
    opt = DiffGradV1([w], lr=1e-2, weight_decay=0.1)
    for t in range(4):
        opt.zero_grad(set_to_none=False)
        (w * torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64) * (t + 1)).sum().backward()
        if t >= 1:
            st = opt.state[w]
            assert w.grad is not None
            xi = friction(st["previous_grad"], w.grad.add(w.detach(), alpha=0.1))
            assert float((xi - 0.5).abs().max()) > 0  # what v2 would use
            assert st["previous_grad"] is w.grad  # the alias: v1 will compare the gradient with itself
        opt.step()
