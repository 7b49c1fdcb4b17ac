"""The psgd claims' decision logic fails on synthetic results where it must; toys are what they say."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sgdlab import Tol
from sgdlab.papers.psgd import claims as C
from sims.optim.psgd_toys import rnn_logit, rnn_params, rosenbrock, run_rosenbrock, xor_batch

NORMS = (("2nd", 0.1), ("1st", 0.01))
TOL = Tol(k_se=3.0, max_rel_error=0.1)


def _fit_result(final: float, spread: float = 0.001):
    steps = np.array([0, 10, 100])
    r = {"steps": steps}
    for case in ("a", "b"):
        for norm, _ in NORMS:
            r[f"err_{case}_{norm}"] = np.array([[1.0, 0.5, final], [1.0, 0.5, final + spread]])
    return r


def test_decide_fit():
    assert C.decide_fit(_fit_result(0.01), NORMS, ["a", "b"], TOL).verdict == "holds"
    assert C.decide_fit(_fit_result(0.3), NORMS, ["a", "b"], TOL).verdict == "fails"
    r = _fit_result(0.01)
    r["err_b_1st"] = np.array([[1.0, 0.9, 0.5], [1.0, 0.9, 0.6]])  # one (case, normaliser) that does not converge
    assert C.decide_fit(r, NORMS, ["a", "b"], TOL).verdict == "fails"
    assert C.decide_fit(_fit_result(0.09, spread=0.05), NORMS, ["a", "b"], TOL).verdict == "inconclusive"


def test_decide_whitening():
    lrs = (0.1, 0.01)
    good = {"err_dense_lr0": np.array([[1, 0.3], [1, 0.31]]), "err_dense_lr1": np.array([[1, 0.05], [1, 0.06]])}
    assert C.decide_whitening(good, ("dense",), lrs, TOL).verdict == "holds"
    bad_floor = {"err_dense_lr0": np.array([[1, 0.03], [1, 0.031]]), "err_dense_lr1": np.array([[1, 0.05], [1, 0.06]])}
    assert C.decide_whitening(bad_floor, ("dense",), lrs, TOL).verdict == "fails"
    too_big = {"err_dense_lr0": np.array([[1, 0.5], [1, 0.5]]), "err_dense_lr1": np.array([[1, 0.3], [1, 0.31]])}
    assert C.decide_whitening(too_big, ("dense",), lrs, TOL).verdict == "fails"


def test_decide_rosenbrock():
    tol = Tol(target=1e-13)
    r = {"psgd_newton": np.array([[10, 1e-15], [10, 1e-14]]), "sgd": np.array([[10, 1.0]]),
         "adam": np.array([[10, 1e-4]]), "lbfgs": np.array([[10, 0.0]])}
    assert C.decide_rosenbrock(r, tol).verdict == "holds"
    assert C.decide_rosenbrock_lbfgs(r).verdict == "fails"
    r["psgd_newton"] = np.array([[10, 1e-15], [10, 1e-9]])  # one seed misses the target
    assert C.decide_rosenbrock(r, tol).verdict == "fails"
    r["psgd_newton"] = np.array([[10, 1e-15]])
    r["adam"] = np.array([[10, 1e-20]])  # Adam better
    assert C.decide_rosenbrock(r, tol).verdict == "fails"


def test_decide_xor():
    assert C.decide_xor({"solved_psgd_lra": np.array([100, 200]), "solved_adam": np.array([-1, 300])}).verdict \
        == "holds"
    assert C.decide_xor({"solved_psgd_lra": np.array([100, -1]), "solved_adam": np.array([50, 300])}).verdict \
        == "fails"
    assert C.decide_xor({"solved_psgd_lra": np.array([900, 800]), "solved_adam": np.array([50, 300])}).verdict \
        == "fails"
    assert C.decide_xor({"solved_psgd_lra": np.array([-1]), "solved_adam": np.array([-1])}).verdict \
        == "inconclusive"


def test_rosenbrock_and_xor_data():
    assert float(rosenbrock(torch.ones(6))) == 0.0
    assert float(rosenbrock(torch.zeros(4))) == 2.0
    with pytest.raises(ValueError, match="even length"):
        rosenbrock(torch.ones(3))
    g = torch.Generator().manual_seed(0)
    xs, y = xor_batch(200, 20, g)
    assert xs.shape == (20, 200, 2) and y.shape == (200, 1)
    marks = xs[:, :, 1]
    assert torch.all(marks.sum(0) == 2)
    idx = [torch.nonzero(marks[:, b]).flatten() for b in range(200)]
    for b in range(200):
        i1, i2 = idx[b]
        assert i1 < 2 and 2 <= i2 < 10
        expect = -1.0 if xs[i1, b, 0] == xs[i2, b, 0] else 1.0
        assert y[b, 0] == expect
    with pytest.raises(ValueError, match="seq_len"):
        xor_batch(4, 5, g)
    ps = rnn_params(8, g)
    assert rnn_logit(ps, xs).shape == (200, 1)
    f = run_rosenbrock("adam", 1e-2, 4, 20, generator=g)
    assert f[0] == 2.0 and f[-1] < f[0]
