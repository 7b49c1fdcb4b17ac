"""sims/stability/linear_sgd: batch samplers against their exact moments, Monte-Carlo second moments against the exact
recursion M_{t+1} = T(M_t), divergence detection, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from sims.stability.linear_sgd import batch_weights, simulate_linear_sgd
from theory.stability.moments import SAMPLINGS, noise_coefficients, second_moment_trajectory

F64 = torch.float64


@pytest.mark.parametrize("sampling", SAMPLINGS)
def test_batch_weights_moments(sampling: str) -> None:
    n, r = 7, 60_000
    g = torch.Generator().manual_seed(1)
    bvec = torch.tensor([3, 5, 7]).repeat(r // 3)  # one batch size per run
    call = batch_weights(r, n, bvec, sampling, generator=g, device="cpu", dtype=F64)
    for b in (3, 5, 7):
        c = call[bvec == b]
        if sampling != "bernoulli":
            assert torch.all(c.sum(1) == b)
        if sampling != "with_replacement":
            assert torch.all((c == 0) | (c == 1))
        # E[c_i c_j] / B^2 gives E[H_hat M H_hat] = alpha HMH + beta (1/n) sum H_i M H_i: diagonal alpha/n^2 + beta/n,
        # off-diagonal alpha / n^2
        alpha, beta = noise_coefficients(n, b, sampling)
        prod = torch.einsum("ri,rj->rij", c, c) / b**2
        mean = prod.mean(0).numpy()
        se = (prod.std(0) / math.sqrt(c.shape[0])).numpy()
        expect = np.full((n, n), alpha / n**2) + np.eye(n) * beta / n
        assert np.all(np.abs(mean - expect) <= 5 * se + 1e-15)
        m1 = (c.mean(0) / b).numpy()
        assert np.all(np.abs(m1 - 1 / n) <= 5 * (c.std(0) / b / math.sqrt(c.shape[0])).numpy() + 1e-15)


@pytest.mark.parametrize("sampling", SAMPLINGS)
def test_second_moment_matches_exact_recursion(sampling: str) -> None:
    rng = np.random.default_rng(2)
    n, d, b, steps, r = 6, 3, 2, 4, 30_000
    a = rng.normal(size=(n, d, 2))
    h = np.einsum("nir,njr->nij", a, a)
    eta = 0.6 / np.linalg.eigvalsh(h.mean(0))[-1]
    w0 = np.array([1.0, -0.5, 0.3])
    exact = second_moment_trajectory(h, eta, b, sampling, np.outer(w0, w0), steps)[-1]
    res = simulate_linear_sgd(eta, b, sampling, steps, r, hessians=torch.tensor(h),
                              w0=torch.tensor(w0).expand(r, d).clone(), generator=torch.Generator().manual_seed(3))
    w = res.final_w()
    outer = torch.einsum("ri,rj->rij", w, w)
    mean, se = outer.mean(0).numpy(), (outer.std(0) / math.sqrt(r)).numpy()
    assert np.all(np.abs(mean - exact) <= 5 * se)
    # the exact answer differs from the noiseless (full-batch) one by much more than the tolerance somewhere
    gd = np.linalg.matrix_power(np.eye(d) - eta * h.mean(0), steps) @ w0
    assert np.max(np.abs(np.outer(gd, gd) - exact) / se) > 10


def test_factors_and_dense_paths_identical() -> None:
    rng = np.random.default_rng(4)
    gmat = torch.tensor(rng.normal(size=(8, 5)))
    h = torch.einsum("ni,nj->nij", gmat, gmat)
    kw = dict(eta=0.1, batch=3, sampling="bernoulli", steps=50, runs=16)
    r1 = simulate_linear_sgd(**kw, factors=gmat, generator=torch.Generator().manual_seed(5))  # type: ignore[arg-type]
    r2 = simulate_linear_sgd(**kw, hessians=h, generator=torch.Generator().manual_seed(5))  # type: ignore[arg-type]
    torch.testing.assert_close(r1.log_sq_ratio, r2.log_sq_ratio, atol=1e-12, rtol=0)
    torch.testing.assert_close(r1.direction, r2.direction, atol=1e-12, rtol=0)


@pytest.mark.parametrize("eta, diverges", [(0.9, False), (1.1, True)])
def test_full_batch_growth_and_divergence(eta: float, diverges: bool) -> None:
    # B = n without replacement is gradient descent: ||w_t||^2 = (1 - eta lam)^(2t) ||w_0||^2 for H = lam I
    n, lam, steps = 4, 2.0, 400
    gmat = torch.zeros(n, 2, dtype=F64)
    gmat[:2, 0] = math.sqrt(2 * lam)
    gmat[2:, 1] = math.sqrt(2 * lam)
    res = simulate_linear_sgd(eta, n, "without_replacement", steps, 3, factors=gmat,
                              generator=torch.Generator().manual_seed(0), record_every=100)
    expect = 2 * res.times.to(F64) * math.log(abs(1 - eta * lam))
    torch.testing.assert_close(res.log_sq_ratio, expect.expand(3, -1), atol=1e-9, rtol=1e-12)
    assert bool(res.diverged().all()) == diverges
    assert torch.all(torch.isfinite(res.log_sq_ratio))


def test_bad_input() -> None:
    g = torch.Generator().manual_seed(0)
    f = torch.ones(5, 2, dtype=F64)
    with pytest.raises(ValueError, match="batch"):
        simulate_linear_sgd(0.1, 6, "bernoulli", 10, 2, factors=f, generator=g)
    with pytest.raises(ValueError, match="batch"):
        simulate_linear_sgd(0.1, 0, "bernoulli", 10, 2, factors=f, generator=g)
    with pytest.raises(ValueError, match="eta"):
        simulate_linear_sgd(0.0, 2, "bernoulli", 10, 2, factors=f, generator=g)
    with pytest.raises(ValueError, match="sampling"):
        simulate_linear_sgd(0.1, 2, "poisson", 10, 2, factors=f, generator=g)
    with pytest.raises(ValueError, match="factors"):
        simulate_linear_sgd(0.1, 2, "bernoulli", 10, 2, generator=g)


def test_first_passage_is_the_running_maximum() -> None:
    """max_log_sq_ratio equals the maximum over every recorded step, and first-passage divergence counts runs that
    crossed the threshold and came back (which the last-step criterion misses)."""
    gen = torch.Generator().manual_seed(3)
    g = torch.tensor(np.random.default_rng(0).normal(size=(6, 3)))
    res = simulate_linear_sgd(0.35, 1, "bernoulli", 60, 400, factors=g, generator=gen, record_every=1)
    assert torch.equal(res.max_log_sq_ratio, res.log_sq_ratio.max(dim=1).values)
    thr = float(torch.quantile(torch.exp(res.max_log_sq_ratio), 0.5))
    first, last = res.diverged(thr, first_passage=True), res.diverged(thr)
    assert bool(torch.all(first | ~last))                    # last-step divergence implies first passage
    assert int((first & ~last).sum()) > 0                    # and some runs crossed then came back
    assert int(first.sum()) == int((res.log_sq_ratio >= math.log(thr)).any(dim=1).sum())
