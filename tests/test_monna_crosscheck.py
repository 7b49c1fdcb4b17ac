"""Cross-check against byzfl 0.0.11 (numpy path, float64): NNA, trimmed mean, geometric median, centered clipping,
the attacks and the line-searched IPM factor. byzfl's package __init__ imports torchvision; we register a stub parent
package so that only byzfl.aggregators / byzfl.attacks are imported."""

from __future__ import annotations

import importlib.util
import sys
import types

import numpy as np
import pytest
import torch

from sims.distributed import aggregators as A
from sims.distributed import attacks as K
from sims.distributed.nna import nna


def _byzfl():
    spec = importlib.util.find_spec("byzfl")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("byzfl not installed")
    if "byzfl" not in sys.modules or not hasattr(sys.modules["byzfl"], "__path__"):
        stub = types.ModuleType("byzfl")
        stub.__path__ = list(spec.submodule_search_locations)
        sys.modules["byzfl"] = stub
    import byzfl.aggregators as agg
    import byzfl.attacks as att
    return agg, att


@pytest.fixture(scope="module")
def byz():
    return _byzfl()


def _vectors(seed: int, n: int = 26, d: int = 40) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)) + rng.normal(size=(1, d))


@pytest.mark.parametrize("seed", range(3))
def test_nna_matches_byzfl_monna_and_nnm(byz, seed):
    agg, _ = byz
    f = 5
    v = _vectors(seed)
    t = torch.tensor(v)
    ours = nna(t[None], t[None], len(v) - f)[0].numpy()
    for i in range(len(v)):
        np.testing.assert_allclose(ours[i], agg.MoNNA(f=f, idx=i)(v), rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours, agg.NNM(f=f)(v), rtol=0, atol=1e-12)


@pytest.mark.parametrize("seed", range(3))
def test_baselines_match_byzfl(byz, seed):
    agg, _ = byz
    f = 5
    v = _vectors(seed)
    t = torch.tensor(v)
    np.testing.assert_allclose(A.trimmed_mean(t, f).numpy(), agg.TrMean(f=f)(v), rtol=0, atol=1e-12)
    np.testing.assert_allclose(A.average(t).numpy(), agg.Average()(v), rtol=0, atol=1e-12)
    np.testing.assert_allclose(A.geometric_median(t, nu=0.1, T=5).numpy(),
                               agg.GeometricMedian(nu=0.1, T=5)(v), rtol=0, atol=1e-12)
    cc = agg.CenteredClipping(L=3, tau=2.0)
    np.testing.assert_allclose(A.centered_clipping(t, torch.zeros(v.shape[1], dtype=t.dtype), tau=2.0, L=3).numpy(),
                               cc(v), rtol=0, atol=1e-12)


@pytest.mark.parametrize("seed", range(3))
def test_attacks_match_byzfl(byz, seed):
    _, att = byz
    h = _vectors(seed, n=21)
    t = torch.tensor(h)[None]
    np.testing.assert_allclose(K.sign_flip(t)[0].numpy(), att.SignFlipping()(h), rtol=0, atol=1e-12)
    np.testing.assert_allclose(K.ipm(t, 2.0)[0].numpy(), att.InnerProductManipulation(tau=2.0)(h), rtol=0, atol=1e-12)
    np.testing.assert_allclose(K.foe(t, 3.0)[0].numpy(), att.InnerProductManipulation(tau=2.0)(h), rtol=0, atol=1e-12)
    np.testing.assert_allclose(K.alie(t, 1.5)[0].numpy(), att.ALittleIsEnough(tau=1.5)(h), rtol=0, atol=1e-12)
    np.testing.assert_allclose(K.mimic(t, 3)[0].numpy(), att.Mimic(epsilon=3)(h), rtol=0, atol=1e-12)


@pytest.mark.parametrize("seed", range(3))
def test_line_search_matches_byzfl_optimal_ipm(byz, seed):
    agg, att = byz
    f = 5
    h = _vectors(seed, n=21, d=10)
    t = torch.tensor(h)[None]
    ref = att.Optimal_InnerProductManipulation(agg=agg.TrMean(f=f), pre_agg_list=[], f=f, evals=12, start=0.0,
                                               delta=10.0, ratio=0.8)(h)
    avg = t.mean(1)

    def objective(tau: torch.Tensor) -> torch.Tensor:
        z = K.ipm(t, tau).unsqueeze(1).expand(-1, f, -1)
        return torch.linalg.vector_norm(A.trimmed_mean(torch.cat([t, z], 1), f) - avg, dim=-1)

    tau = K.line_maximize(objective, 1, start=0.0, delta=10.0, evals=12, ratio=0.8)
    np.testing.assert_allclose(K.ipm(t, tau)[0].numpy(), ref, rtol=0, atol=1e-12)
