"""Noisy full-batch GD on a small MLP (sims.heavy_tails.noisy_mlp): batched runs equal separate runs, sigma = 0 is plain GD,
divergence is flagged, bad input raises."""

from __future__ import annotations

import pytest
import torch

from sims.heavy_tails.noisy_mlp import MLPShape, cross_entropy_per_run, noisy_gd


def _data(seed: int) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(40, 6, generator=g, dtype=torch.float64)
    y = (X[:, 0] > 0).long() + (X[:, 1] > 0).long()
    return X[:30], y[:30], X[30:], y[30:]


def test_batched_runs_are_independent_gd() -> None:
    """With sigma = 0 each run of the batch follows plain GD on its own parameters (checked against a manual loop)."""
    Xtr, ytr, Xte, yte = _data(0)
    shape = MLPShape((6, 5, 3))
    th0 = shape.init(3, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    res = noisy_gd(shape, th0, Xtr, ytr, Xte, yte, alpha=(1.5, 1.5, 2.0), sigma=(0.0, 0.0, 0.0), eta=0.3, steps=20,
                   generator=torch.Generator().manual_seed(2), avg_last=1)
    for r in range(3):
        th = th0[r : r + 1].clone()
        for _ in range(20):
            t = th.detach().requires_grad_(True)
            (gr,) = torch.autograd.grad(cross_entropy_per_run(shape, t, Xtr, ytr).sum(), t)
            th = th - 0.3 * gr
        ref = cross_entropy_per_run(shape, th, Xtr, ytr)[0]
        assert torch.allclose(res.train_loss[r], ref, atol=1e-12)
    assert not res.diverged.any()


def test_divergence_flagged_and_bad_input() -> None:
    Xtr, ytr, Xte, yte = _data(3)
    shape = MLPShape((6, 5, 3))
    th0 = shape.init(4, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    res = noisy_gd(shape, th0, Xtr, ytr, Xte, yte, alpha=(0.5, 0.5, 2.0, 2.0), sigma=(50.0, 50.0, 0.0, 0.0),
                   eta=0.1, steps=30, generator=torch.Generator().manual_seed(5), avg_last=5, max_norm=1e3)
    assert res.diverged[:2].all() and not res.diverged[2:].any()
    assert torch.isnan(res.gap[:2]).all() and torch.isfinite(res.gap[2:]).all()
    kw = dict(eta=0.1, steps=3, generator=torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match="alpha"):
        noisy_gd(shape, th0, Xtr, ytr, Xte, yte, alpha=(2.1,) * 4, sigma=(0.1,) * 4, **kw)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="sigma"):
        noisy_gd(shape, th0, Xtr, ytr, Xte, yte, alpha=(1.5,) * 4, sigma=(-0.1,) * 4, **kw)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="eta"):
        noisy_gd(shape, th0, Xtr, ytr, Xte, yte, alpha=(1.5,) * 4, sigma=(0.1,) * 4, eta=0.0, steps=3,
                 generator=torch.Generator())


def test_noisy_gd_more_bad_input() -> None:
    Xtr, ytr, Xte, yte = _data(3)
    shape = MLPShape((6, 5, 3))
    th0 = shape.init(2, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    base = dict(alpha=(1.5, 1.5), sigma=(0.1, 0.1), eta=0.1, steps=3, avg_last=2,
                generator=torch.Generator().manual_seed(0))
    cases = [({"max_norm": -1.0}, "max_norm"), ({"steps": 0}, "steps"), ({"avg_last": 5}, "avg_last"),
             ({"trace_every": 0}, "trace_every"), ({"alpha": ("1.5", 1.5)}, "alpha"), ({"sigma": (0.1,)}, "one entry"),
             ({"eta": float("nan")}, "eta")]
    for kw, name in cases:
        with pytest.raises(ValueError, match=name):
            noisy_gd(shape, th0, Xtr, ytr, Xte, yte, **(base | kw))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="theta0"):
        noisy_gd(shape, th0[:, :-1], Xtr, ytr, Xte, yte, **base)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="labels"):
        noisy_gd(shape, th0, Xtr, ytr + 5, Xte, yte, **base)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="finite"):
        noisy_gd(shape, th0, Xtr * float("nan"), ytr, Xte, yte, **base)  # type: ignore[arg-type]
