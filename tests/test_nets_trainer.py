"""The shared batched trainer (sims.nets.trainer) and its update rules (sims.optim.rules): exact iterates, stopping,
compaction, divergence, validation."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch

from sims.nets.trainer import TailAverage, Trace, distinct_batches, gather_rows, geometric_schedule, train
from sims.optim.rules import SGD, MomentumSGD, NoisySGD, per_run

F64 = torch.float64


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


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
