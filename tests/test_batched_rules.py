"""The adaptive optimizers as update rules of the batched trainer (sims.optim.batched_rules): R runs trained at once
with per-run learning rates and weight decays, stopped at different steps (active-row compaction, or held rows with
compact=False), give in float64 the iterates of R separate runs of the torch.optim class to 1e-12; divergence is
flagged through the trainer without touching the other runs; bad hyper-parameters raise ValueError naming them."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
import torch

from sims.nets.trainer import train
from sims.optim.adabelief import AdaBelief
from sims.optim.batched_rules import AdaBeliefRule, AdamRule, DiffGradRule, SGDSaIRule
from sims.optim.diffgrad import DiffGrad
from sims.optim.sgd_sai import SGDSaI

F64 = torch.float64
D_IN, HIDDEN, BATCH = 3, 5, 6
R = 4
STOP_AT = torch.tensor([3, 7, 12, 10])  # step after which each run stops (AdaBelief's rectification starts at t = 6)
LR = torch.tensor([1e-3, 5e-3, 2e-2, 4e-2], dtype=F64)
WD = torch.tensor([0.0, 1e-2, 3e-2, 1e-1], dtype=F64)

Params = tuple[torch.Tensor, ...]


def loss(theta: Params, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean squared error of a one-hidden-layer tanh MLP, for one run."""
    w1, b1, w2, b2 = theta
    out = torch.tanh(x @ w1.T + b1) @ w2 + b2
    return ((out - y) ** 2).mean()


def problem(runs: int, steps: int, seed: int = 0) -> tuple[Params, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    params0 = (torch.randn(runs, HIDDEN, D_IN, generator=g, dtype=F64), 0.1 * torch.randn(runs, HIDDEN, generator=g,
               dtype=F64), torch.randn(runs, HIDDEN, generator=g, dtype=F64) / HIDDEN**0.5,
               torch.zeros(runs, dtype=F64))  # fmt: skip
    x = torch.randn(runs, steps, BATCH, D_IN, generator=g, dtype=F64)
    y = torch.sin(x.sum(-1)) + 0.1 * torch.randn(runs, steps, BATCH, generator=g, dtype=F64)
    return params0, x, y


def sampler(x: torch.Tensor, y: torch.Tensor) -> Callable[[int, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    return lambda s, rows: (x[rows, s - 1], y[rows, s - 1])


def reference(params0: Params, x: torch.Tensor, y: torch.Tensor, r: int, steps: int,
              make_opt: Callable[[list[torch.Tensor], float, float], torch.optim.Optimizer]) -> Params:  # fmt: skip
    """Run r alone, ``steps`` steps of the torch.optim class on its batches."""
    theta = [p[r].clone().requires_grad_(True) for p in params0]
    opt = make_opt(theta, float(LR[r]), float(WD[r]))
    for s in range(steps):
        opt.zero_grad()
        loss(tuple(theta), x[r, s], y[r, s]).backward()
        opt.step()
    return tuple(p.detach() for p in theta)


# (rule from per-run lr and wd, the torch.optim class for one run)
CASES: dict[str, tuple[Callable[[Any, Any], Any], Callable[[list[torch.Tensor], float, float], Any]]] = {
    "adabelief": (lambda lr, wd: AdaBeliefRule(lr, weight_decay=wd),
                  lambda ps, lr, wd: AdaBelief(ps, lr=lr, weight_decay=wd)),
    "adabelief_paper_amsgrad": (
        lambda lr, wd: AdaBeliefRule(lr, eps=1e-8, weight_decay=wd, weight_decouple=False, rectify=False,
                                     amsgrad=True),
        lambda ps, lr, wd: AdaBelief.paper(ps, lr=lr, weight_decay=wd, amsgrad=True)),
    "adabelief_fixed_decay_amsgrad_rectified": (
        lambda lr, wd: AdaBeliefRule(lr, weight_decay=wd, fixed_decay=True, amsgrad=True),
        lambda ps, lr, wd: AdaBelief(ps, lr=lr, weight_decay=wd, fixed_decay=True, amsgrad=True)),
    "diffgrad": (lambda lr, wd: DiffGradRule(lr, weight_decay=wd),
                 lambda ps, lr, wd: DiffGrad(ps, lr=lr, weight_decay=wd)),
    "sgd_sai": (lambda lr, wd: SGDSaIRule(lr, weight_decay=wd),
                lambda ps, lr, wd: SGDSaI(ps, lr=lr, weight_decay=wd)),
    "sgd_sai_normalized_no_momentum": (
        lambda lr, wd: SGDSaIRule(lr, momentum=0.0, weight_decay=wd, gsnr_normalize=True),
        lambda ps, lr, wd: SGDSaI.paper(ps, lr=lr, momentum=0.0, weight_decay=wd)),
    "adam": (lambda lr, wd: AdamRule(lr, weight_decay=wd),
             lambda ps, lr, wd: torch.optim.Adam(ps, lr=lr, weight_decay=wd)),
    "adam_amsgrad": (lambda lr, wd: AdamRule(lr, betas=(0.8, 0.99), weight_decay=wd, amsgrad=True),
                     lambda ps, lr, wd: torch.optim.Adam(ps, lr=lr, betas=(0.8, 0.99), weight_decay=wd,
                                                         amsgrad=True)),
}


@pytest.mark.parametrize("compact", [True, False])
@pytest.mark.parametrize("name", list(CASES))
def test_batched_rule_equals_separate_runs_of_the_optimizer(name: str, compact: bool) -> None:
    make_rule, make_opt = CASES[name]
    steps = int(STOP_AT.max())
    params0, x, y = problem(R, steps)
    res = train(params0, loss, sampler(x, y), make_rule(LR, WD), max_steps=steps, compact=compact,
                stop=lambda params, rows, s: s >= STOP_AT[rows])  # fmt: skip
    assert torch.equal(res.steps, STOP_AT) and bool(res.converged.all()) and not bool(res.diverged.any())
    for r in range(R):
        ref = reference(params0, x, y, r, int(STOP_AT[r]), make_opt)
        for k, (a, b) in enumerate(zip(res.params, ref)):
            assert torch.allclose(a[r], b, rtol=0.0, atol=1e-12), (name, r, k, (a[r] - b).abs().max().item())
        moved = max(float((a[r] - p0[r]).abs().max()) for a, p0 in zip(res.params, params0))
        assert moved > 1e-4, (name, r, moved)  # the runs did train: the comparison is not of untouched parameters


@pytest.mark.parametrize("name", list(CASES))
def test_divergence_is_flagged_and_spares_the_other_runs(name: str) -> None:
    make_rule, _ = CASES[name]
    steps = 8
    params0, x, y = problem(3, steps, seed=1)
    lr = torch.tensor([1e-2, 1e250, 2e-2], dtype=F64)
    res = train(params0, loss, sampler(x, y), make_rule(lr, 0.0), max_steps=steps)
    assert res.diverged.tolist() == [False, True, False], name
    assert 1 <= int(res.diverged_at[1]) <= steps and math.isnan(float(res.last_loss[1]))
    assert all(bool(torch.isnan(p[1]).all()) for p in res.params)
    keep = torch.tensor([0, 2])
    alone = train(tuple(p[keep] for p in params0), loss, sampler(x[keep], y[keep]), make_rule(lr[keep], 0.0),
                  max_steps=steps)  # fmt: skip
    for a, b in zip(res.params, alone.params):
        assert torch.equal(a[keep], b), name  # the diverged run did not leak into the others


def test_sgd_sai_non_finite_first_gradient_flags_that_run_only() -> None:
    """The pure sgd_sai_update raises on a non-finite first gradient (for the whole batch); the rule turns that run's
    parameters to NaN so the trainer flags it diverged at step 1 and the others train on."""
    steps = 5
    params0, x, y = problem(3, steps, seed=2)
    x[1, 0] = math.inf
    res = train(params0, loss, sampler(x, y), SGDSaIRule(1e-2), max_steps=steps)
    assert res.diverged.tolist() == [False, True, False] and int(res.diverged_at[1]) == 1
    keep = torch.tensor([0, 2])
    alone = train(tuple(p[keep] for p in params0), loss, sampler(x[keep], y[keep]), SGDSaIRule(1e-2),
                  max_steps=steps)  # fmt: skip
    for a, b in zip(res.params, alone.params):
        assert torch.equal(a[keep], b)


def test_step_leaves_its_inputs_unchanged() -> None:
    """The pure updates work in place; the rules must not (the trainer holds stopped rows with torch.where)."""
    params0, x, y = problem(2, 1)
    grads = tuple(torch.ones_like(p) for p in params0)
    for make_rule, _ in CASES.values():
        rule = make_rule(LR[:2], WD[:2])
        st = rule.init(params0)
        p_before = tuple(p.clone() for p in params0)
        _, st1 = rule.step(params0, grads, st, 1)
        snap = {k: tuple(t.clone() for t in v) if isinstance(v, tuple) else v.clone() for k, v in st1.items()}
        rule.step(params0, grads, st1, 2)
        assert all(torch.equal(a, b) for a, b in zip(params0, p_before))
        for k, v in st1.items():
            vs, ss = (v, snap[k]) if isinstance(v, tuple) else ((v,), (snap[k],))
            assert all(torch.equal(a, b) for a, b in zip(vs, ss)), k


@pytest.mark.parametrize(("make", "arg"), [
    (lambda: AdaBeliefRule(lr=-1e-3), "lr"),
    (lambda: AdaBeliefRule(lr=math.nan), "lr"),
    (lambda: AdaBeliefRule(lr=torch.ones(2, 2)), "lr"),
    (lambda: AdaBeliefRule(betas=(1.0, 0.999)), r"betas\[0\]"),
    (lambda: AdaBeliefRule(eps=-1.0), "eps"),
    (lambda: AdaBeliefRule(weight_decay=math.inf), "weight_decay"),
    (lambda: AdaBeliefRule(rectify="yes"), "rectify"),  # type: ignore[arg-type]
    (lambda: DiffGradRule(betas=(0.9, -0.1)), r"betas\[1\]"),
    (lambda: DiffGradRule(lr="0.1"), "lr"),  # type: ignore[arg-type]
    (lambda: SGDSaIRule(momentum=1.0), "momentum"),
    (lambda: SGDSaIRule(eps=math.nan), "eps"),
    (lambda: SGDSaIRule(gsnr_normalize=1), "gsnr_normalize"),  # type: ignore[arg-type]
    (lambda: AdamRule(weight_decay=-0.1), "weight_decay"),
    (lambda: AdamRule(amsgrad=None), "amsgrad"),  # type: ignore[arg-type]
    # per-run tensors are checked against R at init
    (lambda: AdaBeliefRule(lr=torch.ones(3, dtype=F64)).init(problem(2, 1)[0]), "lr"),
    (lambda: DiffGradRule(lr=torch.tensor([1e-3, math.nan])).init(problem(2, 1)[0]), "lr"),
    (lambda: SGDSaIRule(weight_decay=torch.tensor([0.1, -0.1])).init(problem(2, 1)[0]), "weight_decay"),
    (lambda: AdamRule(lr=torch.tensor([1e-3, math.inf])).init(problem(2, 1)[0]), "lr"),
    # step arguments
    (lambda: AdamRule().step(problem(2, 1)[0], problem(2, 1)[0][:2], AdamRule().init(problem(2, 1)[0]), 1),
     "grads"),
    (lambda: DiffGradRule().step(problem(2, 1)[0], problem(2, 1)[0], DiffGradRule().init(problem(2, 1)[0]), 0),
     "t"),
])  # fmt: skip
def test_bad_hyper_parameters_raise_naming_the_argument(make: Callable[[], Any], arg: str) -> None:
    with pytest.raises(ValueError, match=arg):
        make()
