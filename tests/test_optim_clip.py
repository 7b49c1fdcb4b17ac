"""Coordinate-wise clipping does what it says: exactly floor(c n) coordinates clipped (up to ties), c = 0 is the
identity, the three threshold methods agree, and Adam-clip(0) is torch's Adam in float64."""

from __future__ import annotations

import math

import pytest
import torch

from sims.optim.clip import ClippedAdam, ClippedSGD, Lion, NormalizedSGD, SignSGD, clip_threshold, clip_top_fraction


def _grads(seed: int = 0) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(s, generator=g, dtype=torch.float64) for s in ((30, 7), (13,), (5, 2, 3))]


@pytest.mark.parametrize("c", [0.01, 0.1, 0.5, 0.9])
def test_exactly_floor_cn_coordinates_are_clipped(c: float) -> None:
    gs = _grads()
    n = sum(g.numel() for g in gs)
    out = clip_top_fraction(gs, c)
    changed = sum(int((a != b).sum()) for a, b in zip(gs, out))
    assert changed == math.floor(c * n)
    tau = clip_threshold(gs, c)
    assert tau is not None and all(bool((o.abs() <= tau).all()) for o in out)
    assert all(torch.equal(torch.sign(o), torch.sign(g)) for o, g in zip(out, gs))
    for method in ("kthvalue", "sort"):
        assert float(clip_threshold(gs, c, method=method)) == float(tau)  # type: ignore[arg-type]


def test_c_zero_is_the_identity_and_bad_input_is_refused() -> None:
    gs = _grads()
    assert all(torch.equal(a, b) for a, b in zip(gs, clip_top_fraction(gs, 0.0)))
    for c in (-0.1, 1.0, float("nan"), "0.1"):
        with pytest.raises(ValueError, match="clip fraction c"):
            clip_top_fraction(gs, c)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="finite"):
        clip_top_fraction([torch.tensor([1.0, float("nan")])], 0.5)
    with pytest.raises(ValueError, match="method"):
        clip_threshold(gs, 0.5, method="quantile")


def _run(opt_fn, steps: int = 50) -> list[torch.Tensor]:  # type: ignore[no-untyped-def]
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(1)
    net = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1)).double()
    x, y = torch.randn(32, 6, generator=g, dtype=torch.float64), torch.randn(32, 1, generator=g, dtype=torch.float64)
    opt = opt_fn(net.parameters())
    for _ in range(steps):
        opt.zero_grad()
        torch.nn.functional.mse_loss(net(x), y).backward()
        opt.step()
    return [p.detach().clone() for p in net.parameters()]


def test_adam_clip_zero_equals_torch_adam() -> None:
    ours = _run(lambda p: ClippedAdam(p, lr=1e-2, c=0.0))
    ref = _run(lambda p: torch.optim.Adam(p, lr=1e-2, foreach=False))
    assert max(float((a - b).abs().max()) for a, b in zip(ours, ref)) < 1e-12


def test_sgd_clip_zero_equals_sgd_and_clipping_changes_the_run() -> None:
    ours = _run(lambda p: ClippedSGD(p, lr=0.1, c=0.0))
    ref = _run(lambda p: torch.optim.SGD(p, lr=0.1))
    assert max(float((a - b).abs().max()) for a, b in zip(ours, ref)) < 1e-12
    clipped = _run(lambda p: ClippedSGD(p, lr=0.1, c=0.1))
    assert max(float((a - b).abs().max()) for a, b in zip(clipped, ref)) > 1e-6
    ours_m = _run(lambda p: ClippedSGD(p, lr=0.05, c=0.0, momentum=0.9))
    ref_m = _run(lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, foreach=False))
    assert max(float((a - b).abs().max()) for a, b in zip(ours_m, ref_m)) < 1e-12
    with pytest.raises(ValueError, match="momentum"):
        ClippedSGD([torch.nn.Parameter(torch.zeros(1))], momentum=1.0)


def test_sign_normalized_lion_take_their_steps() -> None:
    p = torch.nn.Parameter(torch.tensor([1.0, -2.0, 0.0], dtype=torch.float64))
    p.grad = torch.tensor([3.0, -4.0, 0.0], dtype=torch.float64)
    SignSGD([p], lr=0.5).step()
    assert torch.equal(p.detach(), torch.tensor([0.5, -1.5, 0.0], dtype=torch.float64))
    NormalizedSGD([p], lr=1.0).step()
    assert torch.allclose(p.detach(), torch.tensor([0.5 - 0.6, -1.5 + 0.8, 0.0], dtype=torch.float64))
    q = torch.nn.Parameter(torch.tensor([1.0], dtype=torch.float64))
    q.grad = torch.tensor([-0.2], dtype=torch.float64)
    Lion([q], lr=0.1, weight_decay=0.5).step()  # m = 0: u = sign(0.1 * -0.2) = -1
    assert math.isclose(float(q.detach()), 1.0 * (1 - 0.05) + 0.1, rel_tol=1e-15)
    with pytest.raises(ValueError, match="lr"):
        SignSGD([q], lr=-1.0)


def test_masking_zeroes_exactly_k_coordinates_even_with_ties() -> None:
    from sims.nets.directional import _masked

    u = [torch.ones(10, 10), torch.full((50,), 2.0), torch.tensor([3.0, -3.0, 0.5])]  # heavy ties
    n = sum(x.numel() for x in u)
    for frac in (0.01, 0.1, 0.5):
        out = _masked(u, frac)
        zeroed = sum(int((a == 0).sum()) - int((b == 0).sum()) for a, b in zip(out, u))
        assert zeroed == math.floor(frac * n)
    out = _masked(u, 0.015)  # floor(0.015 * 153) = 2: exactly the two |u| = 3 coordinates
    assert torch.equal(out[2], torch.tensor([0.0, 0.0, 0.5])) and torch.equal(out[1], u[1])
