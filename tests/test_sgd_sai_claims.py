"""sgd_sai paper: registrations, the parameter counts, and each claim's decision on synthetic results where it must
fail (and hold)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sgdlab import REGISTRY, Tol, load_all
from sgdlab.papers.sgd_sai import claims as C
from sgdlab.papers.sgd_sai.experiments import GsnrConfig, MemoryConfig
from sims.optim.sgd_sai import SGDSaI, gsnr
from sims.optim.state_memory import gpt2_params, llama2_params, state_bytes


def test_registered() -> None:
    load_all()
    ids = {c.id for c in REGISTRY.select_claims(["sgd_sai"])}
    assert ids == {"sgd_sai.state_bytes", "sgd_sai.memory_extrapolation", "sgd_sai.gsnr_constant",
                   "sgd_sai.gsnr_is_sqrt_numel", "sgd_sai.mnist_vs_adamw"}


def test_parameter_counts_match_the_published_sizes() -> None:
    assert gpt2_params() == 1_557_611_200  # GPT-2 XL (Hugging Face's count)
    assert llama2_params() == 6_738_415_616  # Llama-2 7B
    with pytest.raises(ValueError, match="d"):
        gpt2_params(d=0)


def test_state_bytes_counts_a_real_optimizer() -> None:
    ps = [torch.nn.Parameter(torch.zeros(3, 4)), torch.nn.Parameter(torch.zeros(5))]
    for p in ps:
        p.grad = torch.randn(p.shape)
    opt = SGDSaI(ps)
    opt.step()
    assert state_bytes(opt) == (4 * 17, 0, 16)
    adam = torch.optim.AdamW(ps)
    adam.step()
    full, other, _ = state_bytes(adam)
    assert full == 8 * 17 and other == 2 * 4  # exp_avg, exp_avg_sq; a float32 step per tensor


def test_gsnr_identity() -> None:
    g = torch.randn(1000, dtype=torch.float64) + 0.3
    n = g.numel()
    assert float(gsnr(g, 0.0)) ** 2 == pytest.approx((n - 1) + n * float(g.mean()) ** 2 / float(g.var()), rel=1e-12)


def test_decisions_can_fail() -> None:
    cfg = MemoryConfig(models=("mlp",))
    r = {"mlp_sgd_sai_bytes": np.array([400, 0, 8]), "mlp_adamw_bytes": np.array([800, 8, 0]), "mlp_n_params": 100,
         "mlp_n_tensors": 1}
    assert C.decide_state_bytes(r, cfg).verdict == "holds"
    r["mlp_sgd_sai_bytes"] = np.array([800, 0, 8])
    assert C.decide_state_bytes(r, cfg).verdict == "fails"
    assert C.decide_extrapolation(2.0, Tol(rtol=0.01)).verdict == "fails"
    g = GsnrConfig(models=("mlp",))
    steady = {"mlp_gsnr": np.full((20, 2), [np.sqrt(99.0), np.sqrt(9.0)]), "mlp_numel": np.array([100, 10])}
    assert C.decide_gsnr_constant(steady, g, Tol(max_ratio=2.0)).verdict == "holds"
    assert C.decide_gsnr_sqrt_numel(steady, g, Tol(rel=0.1)).verdict == "holds"
    moving = {"mlp_gsnr": steady["mlp_gsnr"] * np.linspace(1, 3, 20)[:, None], "mlp_numel": steady["mlp_numel"]}
    assert C.decide_gsnr_constant(moving, g, Tol(max_ratio=2.0)).verdict == "fails"
    assert C.decide_gsnr_sqrt_numel(moving, g, Tol(rel=0.1)).verdict == "fails"
