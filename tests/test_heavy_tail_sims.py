"""Heavy-tailed Euler chain and GSZ online SGD (sims.heavy_tails) against exact stationary laws and recursions."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from sims.heavy_tails.euler_chain import LeastSquares, euler_chain
from sims.heavy_tails.gsz_sgd import gsz_online_sgd
from theory.heavy_tails.levy_ou import euler_stationary_scale, least_squares_quadratic
from theory.heavy_tails.stable import char_fn


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _isotropic(lam: float, d: int, K: int = 1) -> LeastSquares:
    X = math.sqrt(lam) * torch.eye(d, dtype=torch.float64).expand(K, d, d).contiguous() * math.sqrt(d)
    y = torch.zeros(K, d, dtype=torch.float64)
    return LeastSquares(X, y)  # A = X^T X / n = lam I, b = 0


@pytest.mark.parametrize(("alpha", "eta"), [(1.5, 0.2), (1.0, 0.1), (2.0, 0.3), (1.8, 0.9)])
def test_euler_stationary_law_matches_closed_form(alpha: float, eta: float) -> None:
    """Final states of R independent runs: ECF along e_1 vs exp(-(c_E t)^alpha), c_E the exact Euler scale."""
    lam, sigma, d, R = 2.0, 0.7, 3, 20_000
    ls = _isotropic(lam, d)
    res = euler_chain(ls.grad, torch.zeros(1, R, d, dtype=torch.float64), alpha=alpha, sigma=sigma, eta=eta,
                      steps=int(30 / (eta * lam)), generator=_gen(1))
    assert res.diverged_fraction == 0.0
    c = euler_stationary_scale(alpha, lam, sigma, eta)
    x = res.theta[0, :, 0].numpy()
    for t in [0.5 / c, 1.0 / c, 2.0 / c]:
        phi = char_fn(t, alpha, c)
        se = math.sqrt(((1 + char_fn(2 * t, alpha, c)) / 2 - phi**2) / R)
        assert abs(np.cos(t * x).mean() - phi) <= 5 * se


def test_minibatch_gradient_is_unbiased_and_matches_loop() -> None:
    g = _gen(2)
    K, n, d, R, B = 2, 7, 3, 5, 4
    X = torch.randn(K, n, d, generator=g, dtype=torch.float64)
    y = torch.randn(K, n, generator=g, dtype=torch.float64)
    ls = LeastSquares(X, y)
    A, b = least_squares_quadratic(X[1].numpy(), y[1].numpy())
    assert np.allclose(ls.A[1].numpy(), A, atol=1e-14) and np.allclose(ls.b[1].numpy(), b, atol=1e-14)
    theta = torch.randn(K, R, d, generator=g, dtype=torch.float64)
    idx = torch.randint(n, (R, B), generator=g)
    gb = ls.grad(theta, idx)
    for k in range(K):
        for r in range(R):
            a = X[k, idx[r]]
            ref = a.T @ (a @ theta[k, r] - y[k, idx[r]]) / B
            assert torch.allclose(gb[k, r], ref, atol=1e-13)
    full = ls.grad(theta, None)
    assert torch.allclose(full[0, 0], X[0].T @ (X[0] @ theta[0, 0] - y[0]) / n, atol=1e-13)
    # every index once: the average over the n single-point "batches" is the full gradient
    one = torch.stack([ls.grad(theta, torch.full((R, 1), i)) for i in range(n)]).mean(0)
    assert torch.allclose(one, full, atol=1e-13)


def test_coupled_chains_share_noise_and_batches() -> None:
    g = _gen(3)
    n, d, R = 20, 4, 50
    X = torch.randn(1, n, d, generator=g, dtype=torch.float64).expand(2, n, d).clone()
    y = torch.randn(1, n, generator=g, dtype=torch.float64).expand(2, n).clone()
    ls = LeastSquares(X, y)
    kw = dict(alpha=1.4, sigma=0.5, eta=0.05, steps=200, batch=(n, 5))
    res = euler_chain(ls.grad, torch.zeros(2, R, d, dtype=torch.float64), generator=_gen(4), batch_generator=_gen(5),
                      **kw)  # type: ignore[arg-type]
    assert torch.equal(res.theta[0], res.theta[1])  # identical datasets: the coupling leaves no gap
    X2 = X.clone()
    X2[1, -1] += 1.0  # neighbouring datasets
    res2 = euler_chain(LeastSquares(X2, y).grad, torch.zeros(2, R, d, dtype=torch.float64), generator=_gen(4),
                       batch_generator=_gen(5), **kw)  # type: ignore[arg-type]
    assert torch.equal(res2.theta[0], res.theta[0])  # same streams, same first chain
    assert (res2.theta[0] - res2.theta[1]).abs().max() > 0


def test_divergence_is_detected_not_averaged() -> None:
    ls = _isotropic(1.0, 2)
    obs = lambda th: {"sq": (th**2).sum(-1)}
    res = euler_chain(ls.grad, torch.ones(1, 100, 2, dtype=torch.float64), alpha=1.5, sigma=0.1, eta=2.5, steps=200,
                      generator=_gen(6), observe=obs)
    assert res.diverged_fraction == 1.0 and bool(torch.isnan(res.means["sq"]).all())
    # heavy noise, a finite max_norm: a fraction of runs leaves the range, the rest stay finite and are averaged
    res = euler_chain(ls.grad, torch.zeros(1, 2000, 2, dtype=torch.float64), alpha=0.6, sigma=1.0, eta=0.5,
                      steps=50, generator=_gen(7), observe=obs, max_norm=1e6)
    f = res.diverged_fraction
    assert 0.0 < f < 1.0
    assert torch.isfinite(res.means["sq"][res.ok]).all() and torch.isfinite(res.theta[res.ok]).all()


def test_bad_input() -> None:
    ls = _isotropic(1.0, 2)
    th = torch.zeros(1, 3, 2, dtype=torch.float64)
    for kw, name in [({"alpha": 0.0}, "alpha"), ({"alpha": 2.5}, "alpha"), ({"sigma": -1.0}, "sigma"),
                     ({"eta": 0.0}, "eta"), ({"eta": -0.1}, "eta")]:
        args = {"alpha": 1.5, "sigma": 1.0, "eta": 0.1} | kw
        with pytest.raises(ValueError, match=name):
            euler_chain(ls.grad, th, steps=3, generator=_gen(0), **args)
    with pytest.raises(ValueError, match="batch size"):
        euler_chain(ls.grad, th, alpha=1.5, sigma=1.0, eta=0.1, steps=3, generator=_gen(0), batch=(2, 3),
                    batch_generator=_gen(1))
    with pytest.raises(ValueError, match="theta0"):
        euler_chain(ls.grad, th[0], alpha=1.5, sigma=1.0, eta=0.1, steps=3, generator=_gen(0))
    with pytest.raises(ValueError, match="X and y must be finite"):
        LeastSquares(torch.full((1, 2, 2), float("nan")), torch.zeros(1, 2))
    with pytest.raises(ValueError, match="eta"):
        gsz_online_sgd(10, 3, 1, -0.1, 5, generator=_gen(0))


def test_gsz_second_moment_recursion() -> None:
    """b = 1, sigma_a = 1, x_0 = 0: E x x^T = s_k I with the exact recursion (Gaussian fourth moments)
    s_{k+1} = s_k (1 - 2 eta + eta^2 (d + 2)) + eta^2 sigma_y^2; compared with R runs after 60 steps."""
    d, eta, R, steps = 5, 0.05, 40_000, 60
    res = gsz_online_sgd(R, d, 1, eta, steps, generator=_gen(8), sigma_y=0.5)
    s = 0.0
    for _ in range(steps):
        s = s * (1 - 2 * eta + eta**2 * (d + 2)) + eta**2 * 0.25
    v = (res.x**2).mean(dim=1).numpy()  # per-run average over the d exchangeable coordinates
    assert res.diverged_fraction == 0.0
    assert abs(v.mean() - s) <= 5 * v.std() / math.sqrt(R)


# ---------------------------------------------------------------------------------------------------------------------
# bad input: every public entry point refuses it with a ValueError naming the argument (issue 10)
def _chain_kw(**kw: object) -> dict[str, object]:
    return {"alpha": 1.5, "sigma": 1.0, "eta": 0.1, "steps": 3, "generator": _gen(0)} | kw


@pytest.mark.parametrize(("kw", "name"), [
    ({"max_norm": -1.0}, "max_norm"), ({"max_norm": 0.0}, "max_norm"), ({"max_norm": float("nan")}, "max_norm"),
    ({"max_norm": "1e6"}, "max_norm"), ({"steps": 0}, "steps"), ({"steps": 2.5}, "steps"), ({"steps": "10"}, "steps"),
    ({"steps": 10**12}, "steps"), ({"burn_in": 3}, "burn_in"), ({"burn_in": -1}, "burn_in"),
    ({"check_every": 0}, "check_every"), ({"alpha": "1.5"}, "alpha"), ({"alpha": float("nan")}, "alpha"),
    ({"sigma": float("inf")}, "sigma"), ({"eta": None}, "eta"), ({"alpha": True}, "alpha"),
])
def test_euler_chain_bad_arguments(kw: dict[str, object], name: str) -> None:
    ls = _isotropic(1.0, 2)
    with pytest.raises(ValueError, match=name):
        euler_chain(ls.grad, torch.zeros(1, 3, 2, dtype=torch.float64), **_chain_kw(**kw))  # type: ignore[arg-type]


def test_euler_chain_bad_state_and_gradient() -> None:
    ls = _isotropic(1.0, 2)
    with pytest.raises(ValueError, match="theta0 must be finite"):
        euler_chain(ls.grad, torch.full((1, 3, 2), float("nan"), dtype=torch.float64), **_chain_kw())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="theta0"):
        euler_chain(ls.grad, torch.zeros(1, 0, 2, dtype=torch.float64), **_chain_kw())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="grad must return"):
        euler_chain(lambda th, idx: th[..., :1], torch.zeros(1, 3, 2, dtype=torch.float64), **_chain_kw())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="batch size"):
        euler_chain(ls.grad, torch.zeros(1, 3, 2, dtype=torch.float64), batch=(2, 0), batch_generator=_gen(1),
                    **_chain_kw())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="batch_generator"):
        euler_chain(ls.grad, torch.zeros(1, 3, 2, dtype=torch.float64), batch=(2, 1), **_chain_kw())  # type: ignore[arg-type]


@pytest.mark.parametrize(("args", "kw", "name"), [
    ((10, 3, 1, -0.1, 5), {}, "eta"), ((10, 3, 1, float("nan"), 5), {}, "eta"), ((0, 3, 1, 0.1, 5), {}, "runs"),
    ((10, 0, 1, 0.1, 5), {}, "d"), ((10, 3, 0, 0.1, 5), {}, "b"), ((10, 3, 1, 0.1, 0), {}, "steps"),
    ((10, 3, 1, 0.1, 5.5), {}, "steps"), ((10, 3, 1, 0.1, 5), {"max_norm": -1.0}, "max_norm"),
    ((10, 3, 1, 0.1, 5), {"sigma_a": 0.0}, "sigma_a"), ((10, 3, 1, 0.1, 5), {"sigma_y": -1.0}, "sigma_y"),
    ((10, 3, 1, 0.1, 5), {"check_every": 0}, "check_every"), (("10", 3, 1, 0.1, 5), {}, "runs"),
])
def test_gsz_online_sgd_bad_arguments(args: tuple[object, ...], kw: dict[str, object], name: str) -> None:
    with pytest.raises(ValueError, match=name):
        gsz_online_sgd(*args, generator=_gen(0), **kw)  # type: ignore[arg-type]


def test_losses_and_data_bad_input() -> None:
    from sims.heavy_tails.euler_chain import PseudoHuberRidge, Quadratic
    from sims.heavy_tails.neighbour_data import neighbour_pools

    X, y = torch.zeros(2, 5, 3, dtype=torch.float64), torch.zeros(2, 5, dtype=torch.float64)
    for kw, name in [({"delta": 0.0}, "delta"), ({"delta": float("nan")}, "delta"), ({"mu": -0.1}, "mu"),
                     ({"mu": 0.0}, "mu")]:
        with pytest.raises(ValueError, match=name):
            PseudoHuberRidge(X, y, **kw)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="X must be"):
        PseudoHuberRidge(X[0], y)
    with pytest.raises(ValueError, match="finite"):
        PseudoHuberRidge(X.clone().fill_(float("inf")), y)
    with pytest.raises(ValueError, match="idx"):
        PseudoHuberRidge(X, y).grad(torch.zeros(2, 1, 3, dtype=torch.float64), torch.zeros(1, 1, dtype=torch.long))
    with pytest.raises(ValueError, match="A must be"):
        Quadratic(torch.zeros(1, 2, 3), torch.zeros(1, 2))
    rng = np.random.default_rng(0)
    for kw, name in [({"replicates": 0}, "replicates"), ({"n_max": 1}, "n_max"), ({"d": 2.0}, "d"),
                     ({"noise_y": -1.0}, "noise_y"), ({"noise_y": float("nan")}, "noise_y"),
                     ({"replicates": 10**6, "n_max": 10**4}, "exceeds")]:
        with pytest.raises(ValueError, match=name):
            neighbour_pools(rng, **({"replicates": 2, "n_max": 5, "d": 2, "noise_y": 0.5} | kw))  # type: ignore[arg-type]
    pools = neighbour_pools(rng, replicates=2, n_max=5, d=2, noise_y=0.5)
    for n in (0, 6, 2.0):
        with pytest.raises(ValueError, match="n must"):
            pools.datasets(n)  # type: ignore[arg-type]


def test_pseudo_huber_gradient_matches_autograd_and_is_not_affine() -> None:
    from sims.heavy_tails.euler_chain import PseudoHuberRidge

    g = _gen(9)
    X, y = torch.randn(2, 6, 3, generator=g, dtype=torch.float64), torch.randn(2, 6, generator=g, dtype=torch.float64)
    loss = PseudoHuberRidge(X, y, delta=0.7, mu=0.3)
    th = torch.randn(2, 4, 3, generator=g, dtype=torch.float64, requires_grad=True)
    r = torch.einsum("knd,krd->krn", X, th) - y[:, None, :]
    F = (0.49 * (torch.sqrt(1 + (r / 0.7) ** 2) - 1)).mean(-1) + 0.15 * (th**2).sum(-1)
    (ref,) = torch.autograd.grad(F.sum(), th)
    assert torch.allclose(loss.grad(th.detach()), ref, atol=1e-13)
    t = th.detach()
    mid = loss.grad(0.5 * (t + 3 * t))
    assert (mid - 0.5 * (loss.grad(t) + loss.grad(3 * t))).abs().max() > 1e-3  # not affine in theta


def test_neighbour_datasets_differ_in_one_point() -> None:
    from sims.heavy_tails.neighbour_data import neighbour_pools

    pools = neighbour_pools(np.random.default_rng(1), replicates=3, n_max=8, d=2, noise_y=0.5)
    Xs, ys = pools.datasets(5)
    assert Xs.shape == (6, 5, 2) and ys.shape == (6, 5)
    diff = np.any(Xs[:3] != Xs[3:], axis=-1) | (ys[:3] != ys[3:])
    assert diff[:, :-1].sum() == 0 and diff[:, -1].all()
    assert np.array_equal(Xs[:3, -1], pools.X[:, -1]) and np.array_equal(Xs[:3, :4], pools.X[:, :4])
