"""theory/distributed/robust_nna.py: the reduction ratios of NNA."""

from __future__ import annotations

import numpy as np
import pytest

from theory.distributed.robust_nna import nna_outputs, nnm_bound, reduction_ratios, worst_case_ratios


def test_no_byzantine_k_equals_h_is_the_average():
    rng = np.random.default_rng(0)
    h = rng.normal(size=(6, 3))
    y = nna_outputs(h, np.zeros((0, 3)), 6)
    np.testing.assert_allclose(y, np.repeat(h.mean(0)[None], 6, 0), atol=1e-14)
    r = reduction_ratios(h, np.zeros((0, 3)), 0)
    assert r["kappa"] < 1e-28 and r["alpha"] < 1e-28


def test_kappa_is_alpha_plus_lambda():
    rng = np.random.default_rng(1)
    h = rng.normal(size=(10, 4))
    b = rng.normal(size=(3, 4)) * 2
    r = reduction_ratios(h, b, 3)
    assert abs(r["kappa"] - r["alpha"] - r["lambda"]) < 1e-12
    assert r["kappa_max"] >= r["kappa"]


def test_far_byzantine_vectors_are_filtered():
    rng = np.random.default_rng(2)
    h = rng.normal(size=(10, 4))
    r = reduction_ratios(h, np.full((3, 4), 1e6), 3)
    assert r["lambda"] < 1.0  # the n - f nearest are honest: the honest mean moves little


def test_bound_and_validation():
    assert nnm_bound(26, 5) == pytest.approx(40 / 21)
    with pytest.raises(ValueError):
        nnm_bound(10, 5)
    with pytest.raises(ValueError, match="finite"):
        reduction_ratios(np.full((3, 2), np.nan), np.zeros((1, 2)), 1)
    with pytest.raises(ValueError, match="coincide"):
        reduction_ratios(np.ones((4, 2)), np.zeros((1, 2)), 1)


def test_worst_case_grows_with_f():
    rng = np.random.default_rng(3)
    ks = [worst_case_ratios(np.random.default_rng(4).normal(size=(26 - f, 6)), f, rng, n_dirs=2)["kappa"]
          for f in (1, 5, 10)]
    assert ks[0] < ks[1] < ks[2]
