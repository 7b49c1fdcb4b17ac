"""Behaviour of the fake quantiser and of SignRound tuning: grids, STE gradients, errors, best-iterate restore."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from torch import nn

from sims.nets.transformer import GPT, GPTConfig
from sims.quant.fake_quant import QuantSpec, fake_quant, n_groups, rtn
from sims.quant.signround import capture_inputs, linear_targets, rtn_blocks, signround_blocks, tune_block


def _w(seed: int = 0, shape: tuple[int, int] = (16, 128)) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) * 0.05


@pytest.mark.parametrize("bits", [0, 9, 2.0, True, -1])
def test_bits_outside_1_to_8_are_rejected(bits: object) -> None:
    with pytest.raises(ValueError, match="bits must be an integer in 1..8"):
        QuantSpec(bits, 32)  # type: ignore[arg-type]


@pytest.mark.parametrize("g", [0, -2, 1.5])
def test_bad_group_sizes_are_rejected(g: object) -> None:
    with pytest.raises(ValueError, match="group_size"):
        QuantSpec(4, g)  # type: ignore[arg-type]


def test_group_size_must_divide_the_width() -> None:
    with pytest.raises(ValueError, match="does not divide the input width 100"):
        fake_quant(_w(shape=(4, 100)), QuantSpec(4, 32))
    with pytest.raises(ValueError, match="does not divide the input width 64"):
        fake_quant(_w(shape=(4, 64)), QuantSpec(4, 128))  # wider than the row: an error, not silent per-channel


def test_bad_weights_and_offsets_are_rejected() -> None:
    w = _w()
    w[0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        fake_quant(w, QuantSpec(4, 32))
    with pytest.raises(ValueError, match="2-D"):
        fake_quant(_w()[0], QuantSpec(4, 32))
    with pytest.raises(ValueError, match="v must have"):
        fake_quant(_w(), QuantSpec(4, 32), v=torch.zeros(3))


@pytest.mark.parametrize("sym", [False, True])
@pytest.mark.parametrize("g", [32, 64, 128, -1])
@pytest.mark.parametrize("bits", [2, 3, 4, 8])
def test_rtn_is_on_a_grid_of_2_to_the_b_levels_within_half_a_step(bits: int, g: int, sym: bool) -> None:
    w = _w(bits)
    q = rtn(w, QuantSpec(bits, g, sym))
    gs = 128 if g == -1 else g
    wg, qg = w.reshape(-1, gs), q.reshape(-1, gs)
    for row_w, row_q in zip(wg, qg):
        assert len(torch.unique(row_q)) <= 2**bits
        lo, hi = float(row_w.min().clamp(max=0)), float(row_w.max().clamp(min=0))
        step = max(-lo, hi) / 2 ** (bits - 1) if sym else (hi - lo) / (2**bits - 1)
        k = row_q / step  # every value is a whole number of steps (asym: k - z with integer z)
        assert torch.allclose(k, k.round(), atol=1e-9)
        if not sym:  # asymmetric: the whole group range is representable, error <= s/2
            assert float((row_w - row_q).abs().max()) <= step / 2 + 1e-12


def test_per_channel_equals_group_size_equal_to_the_width() -> None:
    w = _w()
    assert torch.equal(rtn(w, QuantSpec(3, -1)), rtn(w, QuantSpec(3, 128)))
    assert n_groups(w, QuantSpec(3, -1)) == 16 and n_groups(w, QuantSpec(3, 32)) == 64


def test_v_shifts_rounding_and_the_ste_gradient_is_the_scale() -> None:
    """V = +-0.49 keeps round-to-nearest wherever the fractional part allows; dW~/dV = s inside the range."""
    w = _w()
    spec = QuantSpec(4, 32)
    v = torch.zeros_like(w, requires_grad=True)
    q = fake_quant(w, spec, v)
    q.sum().backward()
    assert v.grad is not None
    g = w.reshape(-1, 32)
    s = (g.max(1)[0].clamp(min=0) - g.min(1)[0].clamp(max=0)) / 15
    grad = v.grad.reshape(-1, 32)
    inside = grad != 0
    assert inside.float().mean() > 0.9
    torch.testing.assert_close(grad[inside], s[:, None].expand_as(grad)[inside])
    up = fake_quant(w, spec, torch.full_like(w, 0.49))
    assert bool((up >= q.detach() - 1e-12).all()) and bool((up > q.detach() + 1e-12).any())


def _mlp(seed: int) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(64, 128), nn.GELU(), nn.Linear(128, 64)).double()


def test_tuning_beats_rtn_restores_the_linear_layers_and_keeps_v_below_the_schedule_sum() -> None:
    blk = _mlp(0)
    x = torch.randn(16, 8, 64, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    y = blk(x).detach()
    ref = copy.deepcopy(blk)
    T = 40
    rec = tune_block(blk, x, y, QuantSpec(2, 32), iters=T, batch_size=16, generator=torch.Generator().manual_seed(2))
    assert [type(m) for m in blk] == [nn.Linear, nn.GELU, nn.Linear]  # the wrappers are gone
    assert all(p.requires_grad for p in blk.parameters())
    # full batch: step 0 is RTN, the restored best iterate is no worse than it, and far better here
    assert rec.losses[0] == pytest.approx(rec.mse_rtn, rel=1e-12)
    assert rec.mse_tuned == pytest.approx(rec.best_loss, rel=1e-12)
    assert rec.mse_tuned < 0.9 * rec.mse_rtn
    assert rec.best_loss == rec.losses.min()
    assert rec.v_max <= (T - 1) * (T + 2) / (2 * T**2) + 1e-12
    # the written weights lie on each group's grid of 4 levels, and differ from the full-precision ones
    for lin in (blk[0], blk[2]):
        assert all(len(torch.unique(r)) <= 4 for r in lin.weight.detach().reshape(-1, 32))
    assert not torch.equal(blk[0].weight, ref[0].weight)


def test_adam_variant_runs_and_bad_arguments_are_rejected() -> None:
    blk = _mlp(1)
    x = torch.randn(4, 8, 64, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    y = blk(x).detach()
    gen = torch.Generator().manual_seed(0)
    rec = tune_block(copy.deepcopy(blk), x, y, QuantSpec(3, 64), iters=5, batch_size=2, generator=gen,
                     optimizer="adam")  # fmt: skip
    assert np.all(np.isfinite(rec.losses))
    for kw, msg in (({"iters": 0}, "iters"), ({"optimizer": "sgd"}, "optimizer"), ({"lr": -1.0}, "lr"),
                    ({"batch_size": 0}, "batch_size")):  # fmt: skip
        args = {"iters": 3, **kw}
        with pytest.raises(ValueError, match=msg):
            tune_block(copy.deepcopy(blk), x, y, QuantSpec(3, 64), generator=gen, **args)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="same number"):
        tune_block(copy.deepcopy(blk), x, y[:2], QuantSpec(3, 64), iters=2, generator=gen)
    with pytest.raises(ValueError, match="does not divide"):
        tune_block(copy.deepcopy(blk), x, y, QuantSpec(3, 128), iters=2, generator=gen)


def test_non_linear_targets_are_rejected() -> None:
    blk = _mlp(0)
    with pytest.raises(ValueError, match="not an nn.Linear"):
        linear_targets(blk, ["1"])
    with pytest.raises(ValueError, match="not a sub-module"):
        linear_targets(blk, ["nope"])
    with pytest.raises(ValueError, match="no nn.Linear"):
        linear_targets(nn.Sequential(nn.GELU(), nn.LayerNorm(4)))
    assert linear_targets(blk) == ["0", "2"]


def test_gpt_blocks_quantise_in_sequence() -> None:
    gen = torch.Generator().manual_seed(0)
    cfg = GPTConfig(block_size=16, n_layer=2, n_head=2, n_embd=32)
    model = GPT(cfg, generator=gen)
    idx = torch.randint(0, 256, (4, 16), generator=gen)
    x0 = capture_inputs(model, model.blocks[0], idx)
    assert x0.shape == (4, 16, 32)
    a, b = copy.deepcopy(model), copy.deepcopy(model)
    r_rtn = rtn_blocks(a.blocks, x0, QuantSpec(2, 32))
    r_sr = signround_blocks(b.blocks, x0, QuantSpec(2, 32), iters=10, batch_size=4, generator=gen)
    assert r_rtn.block_mse.shape == r_sr.block_mse.shape == (2,)
    assert len(r_sr.tunings) == 2 and r_rtn.tunings == ()
    assert np.all(r_sr.block_mse <= r_rtn.block_mse * (1 + 1e-6))  # full batch: never worse than step 0
    assert torch.equal(b.head.weight, model.head.weight)  # the tied head stays in full precision
    assert torch.isfinite(b.loss(idx[:, :-1], idx[:, 1:]))
