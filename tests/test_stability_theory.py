"""Exact checks of theory/stability_*: second-moment operators against brute-force batch enumeration, dense vs matrix-free,
eta*, coherence facts, Theorem 1/2, bad input."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from theory.stability.coherence import (
    coherence,
    coherence_from_factors,
    coherence_from_gram,
    coherence_matrix,
    key_inequality,
    thm1_fires,
    thm1_threshold,
    thm2_boundary,
    thm2_construction,
    thm2_lyapunov,
    wu_ma_e,
)
from theory.stability.moments import (
    SAMPLINGS,
    SecondMomentOperator,
    eta_star,
    eta_star_bisect,
    second_moment_matrix,
    spectral_radius,
    spectral_radius_dense,
    spectral_radius_diagonal,
)


def random_hessians(rng: np.random.Generator, n: int, d: int, rank: int) -> np.ndarray:
    a = rng.normal(size=(n, d, rank)) * rng.uniform(0.2, 1.5, size=(n, 1, 1))
    return np.einsum("nir,njr->nij", a, a)


def enumerate_batches(n: int, b: int, sampling: str) -> list[tuple[float, np.ndarray]]:
    """All batch weight vectors c (H_hat = (1/B) sum c_i H_i) with their probabilities, by direct enumeration."""
    out: list[tuple[float, np.ndarray]] = []
    if sampling == "with_replacement":
        for seq in itertools.product(range(n), repeat=b):
            out.append((n ** -b, np.bincount(seq, minlength=n).astype(float)))
    elif sampling == "without_replacement":
        subsets = list(itertools.combinations(range(n), b))
        for s in subsets:
            c = np.zeros(n)
            c[list(s)] = 1.0
            out.append((1.0 / len(subsets), c))
    else:
        q = b / n
        for bits in itertools.product([0, 1], repeat=n):
            k = sum(bits)
            out.append((q**k * (1 - q) ** (n - k), np.array(bits, dtype=float)))
    return out


@pytest.mark.parametrize("sampling", SAMPLINGS)
@pytest.mark.parametrize("b", [1, 2, 4])
def test_dense_q_equals_enumeration(sampling: str, b: int) -> None:
    rng = np.random.default_rng(10 + b)
    n, d, eta = 4, 3, 0.37
    h = random_hessians(rng, n, d, 2)
    q_enum = np.zeros((d * d, d * d))
    for p, c in enumerate_batches(n, b, sampling):
        a = np.eye(d) - eta * np.einsum("n,nij->ij", c, h) / b
        q_enum += p * np.kron(a, a)
    np.testing.assert_allclose(second_moment_matrix(h, eta, b, sampling), q_enum, atol=1e-13, rtol=0)


@pytest.mark.parametrize("sampling", SAMPLINGS)
@pytest.mark.parametrize("rank", [1, 3])
def test_matrix_free_equals_dense(sampling: str, rank: int) -> None:
    rng = np.random.default_rng(rank)
    n, d, b = 9, 5, 3
    h = random_hessians(rng, n, d, rank)
    lam1 = np.linalg.eigvalsh(h.mean(0))[-1]
    for eta in [0.5 / lam1, 1.5 / lam1, 2.5 / lam1]:
        rd = spectral_radius_dense(h, eta, b, sampling)
        assert spectral_radius(h, eta, b, sampling) == pytest.approx(rd, rel=1e-10)
        assert spectral_radius(h, eta, b, sampling, method="power") == pytest.approx(rd, rel=1e-7)
        m = rng.normal(size=(d, d))
        op = SecondMomentOperator.from_hessians(h, eta, b, sampling)
        np.testing.assert_allclose(op.apply(m).reshape(-1), second_moment_matrix(h, eta, b, sampling) @ m.reshape(-1),
                                   atol=1e-12 * max(1.0, rd))
    if rank == 1:
        g = rng.normal(size=(n, d))
        hg = np.einsum("ni,nj->nij", g, g)
        assert spectral_radius(factors=g, eta=0.3, batch=b, sampling=sampling) == pytest.approx(
            spectral_radius_dense(hg, 0.3, b, sampling), rel=1e-10)


@pytest.mark.parametrize("sampling", SAMPLINGS)
def test_diagonal_radius_equals_dense(sampling: str) -> None:
    rng = np.random.default_rng(3)
    diag = rng.exponential(size=(7, 4)) * (rng.random(size=(7, 4)) < 0.6)
    h = np.einsum("nk,kl->nkl", diag, np.eye(4))
    for eta in [0.2, 0.9, 2.0]:
        assert spectral_radius_diagonal(diag, eta, 3, sampling) == pytest.approx(
            spectral_radius_dense(h, eta, 3, sampling), rel=1e-12)


@pytest.mark.parametrize("sampling", SAMPLINGS)
@pytest.mark.parametrize("rank", [1, 2])
def test_eta_star_is_the_threshold(sampling: str, rank: int) -> None:
    rng = np.random.default_rng(20 + rank)
    n, d, b = 8, 4, 3
    h = random_hessians(rng, n, d, rank)
    es = eta_star(h, b, sampling)
    assert spectral_radius_dense(h, es, b, sampling) == pytest.approx(1.0, abs=1e-11)
    assert spectral_radius_dense(h, es * (1 - 1e-6), b, sampling) <= 1.0 + 1e-12
    assert spectral_radius_dense(h, es * (1 + 1e-6), b, sampling) > 1.0
    assert eta_star_bisect(h, b, sampling) == pytest.approx(es, rel=1e-8)
    lam1 = np.linalg.eigvalsh(h.mean(0))[-1]
    assert es <= 2 / lam1 * (1 + 1e-12)


@pytest.mark.parametrize("sampling", ["without_replacement", "bernoulli"])
def test_eta_star_full_batch_and_monotone(sampling: str) -> None:
    rng = np.random.default_rng(5)
    n, d = 10, 3
    h = random_hessians(rng, n, d, 1)
    vals = np.array([eta_star(h, b, sampling) for b in range(1, n + 1)])
    assert np.all(np.diff(vals) >= -1e-12 * vals[1:])
    assert vals[-1] == pytest.approx(2 / np.linalg.eigvalsh(h.mean(0))[-1], rel=1e-12)
    assert vals[0] < vals[-1]


def test_coherence_facts_random() -> None:
    rng = np.random.default_rng(7)
    for trial in range(60):
        n, d = int(rng.integers(2, 12)), int(rng.integers(1, 6))
        rank = int(rng.integers(1, d + 1))
        h = random_hessians(rng, n, d, rank)
        s = coherence(h)
        assert s >= 1 - 1e-12
        lhs, rhs = key_inequality(h)
        assert lhs <= rhs * (1 + 1e-12)
        top = np.max(np.linalg.eigvalsh(h)[:, -1])
        assert n * np.linalg.eigvalsh(h.mean(0))[-1] <= s * top * (1 + 1e-12)
        if rank == 1:
            assert s <= n * (1 + 1e-12), trial


def test_coherence_rank_one_forms_agree() -> None:
    rng = np.random.default_rng(8)
    g = rng.normal(size=(12, 5))
    h = np.einsum("ni,nj->nij", g, g)
    assert coherence_from_factors(g) == pytest.approx(coherence(h), rel=1e-12)
    k = g @ g.T
    np.testing.assert_allclose(coherence_matrix(h), np.abs(k), atol=1e-12)
    assert coherence_from_gram(k) == pytest.approx(coherence(h), rel=1e-12)


@pytest.mark.parametrize("n", [1, 3, 10])
def test_identity_counterexample(n: int) -> None:
    h = np.repeat(np.eye(4)[None], n, axis=0)
    assert coherence(h) == pytest.approx(2 * n, rel=1e-13)
    assert coherence(h) > n


def test_thm1_never_fires_on_stable_instances() -> None:
    rng = np.random.default_rng(11)
    fired = 0
    for _ in range(150):
        n, d = int(rng.integers(2, 10)), int(rng.integers(1, 5))
        h = random_hessians(rng, n, d, int(rng.integers(1, d + 1)))
        b = int(rng.integers(1, n))
        lam1 = float(np.linalg.eigvalsh(h.mean(0))[-1])
        sig = coherence(h)
        thr = thm1_threshold(sig, 1.0, n, b)  # threshold at eta = 1, scales as 1/eta
        eta = float(rng.uniform(0.5, 1.5)) * thr / lam1
        rho = spectral_radius_dense(h, eta, b, "bernoulli")
        # the proof's lower bound holds on every instance
        assert rho >= eta**2 * (n / b - 1) * lam1**2 / sig**2 * (1 - 1e-10)
        if thm1_fires(lam1, sig, eta, n, b):
            fired += 1
            assert rho > 1.0
    assert fired > 20


@pytest.mark.parametrize("sigma", [1, 4, 10])
@pytest.mark.parametrize("b", [1, 5, 9])
def test_thm2_construction_and_boundary(sigma: int, b: int) -> None:
    n = 10
    g = thm2_construction(n, sigma, 2.0)
    assert g.shape == (n, n - sigma + 1)
    assert coherence_from_factors(g) == pytest.approx(sigma, rel=1e-12)
    assert np.linalg.eigvalsh(g.T @ g / n)[-1] == pytest.approx(2.0, rel=1e-12)
    for eta in [0.5, 0.8]:
        lc = thm2_boundary(n, b, sigma, eta)
        for fac, unstable in [(1 - 1e-6, False), (1 + 1e-6, True)]:
            gg = thm2_construction(n, sigma, lc * fac)
            rho = spectral_radius(factors=gg, eta=eta, batch=b, sampling="bernoulli")
            assert (rho > 1.0) == unstable


def test_wu_ma_e_values_and_one_dimensional_equivalence() -> None:
    """wu_ma_e against quantities computed here from their definitions (the batch noise by enumerating the batch law),
    its two flags against those values, and in d = 1 the exact identity rho(Q) = (1 - eta a)^2 + eta^2 V. Instances
    with each flag False occur, so a function that always says True (or a wrong noise constant) fails."""
    rng = np.random.default_rng(12)
    flags_false = {"sharpness_ok": 0, "noise_ok": 0}
    stable = 0
    for _ in range(120):
        n = int(rng.integers(2, 7))
        h = rng.exponential(size=(n, 1, 1))
        s = str(rng.choice(SAMPLINGS))
        b = int(rng.integers(1, (min(n, 3) if s == "with_replacement" else n) + 1))
        eta = float(rng.uniform(0.1, 3.0))
        w = wu_ma_e(h, eta, b, s)
        x = h[:, 0, 0]
        var = sum(p * (c @ x / b) ** 2 for p, c in enumerate_batches(n, b, s)) - x.mean() ** 2
        assert w["sharpness"] == pytest.approx(x.mean(), rel=1e-12)
        assert w["non_uniformity"] == pytest.approx(x.std(), rel=1e-9, abs=1e-12)
        assert w["noise_top"] == pytest.approx(var, rel=1e-9, abs=1e-12)
        assert w["sharpness_ok"] == (eta * x.mean() <= 2.0)
        assert w["noise_ok"] == (eta**2 * var <= 1.0)
        rho = spectral_radius_dense(h, eta, b, s)
        assert rho == pytest.approx((1 - eta * x.mean()) ** 2 + eta**2 * var, rel=1e-10)
        if rho <= 1.0:
            stable += 1
            assert w["sharpness_ok"] and w["noise_ok"]
        for k in flags_false:
            flags_false[k] += not w[k]
    assert stable > 10 and min(flags_false.values()) > 10


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: spectral_radius_dense(np.array([[[1.0, 2.0], [0.0, 1.0]]]), 0.1, 1, "bernoulli"), "hessians"),
        (lambda: spectral_radius_dense(np.array([[[1.0, 0.0], [0.0, -1.0]]]), 0.1, 1, "bernoulli"), "hessians"),
        (lambda: spectral_radius_dense(np.ones((3, 2, 2)), 0.1, 0, "bernoulli"), "B must"),
        (lambda: spectral_radius_dense(np.ones((3, 2, 2)), 0.1, 4, "bernoulli"), r"B must be an integer in \[1, n=3\]"),
        (lambda: spectral_radius_dense(np.ones((3, 2, 2)), 0.0, 1, "bernoulli"), "eta"),
        (lambda: spectral_radius_dense(np.ones((3, 2, 2)), -1.0, 1, "bernoulli"), "eta"),
        (lambda: spectral_radius_dense(np.ones((3, 2, 2)), math.nan, 1, "bernoulli"), "eta"),
        (lambda: spectral_radius_dense(np.ones((3, 2, 2)), 0.1, 1, "poisson"), "sampling"),
        (lambda: eta_star(np.ones((3, 2)), 1), "hessians"),
        (lambda: thm2_construction(10, 11, 2.0), "sigma"),
        (lambda: thm1_threshold(0.5, 1.0, 10, 2), "sigma"),
        (lambda: coherence(np.array([[[1.0, 0.0], [0.0, -0.5]]])), "hessians"),
    ],
)
def test_bad_input(call, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("sampling", SAMPLINGS)
def test_thm2_lyapunov_against_direct_average_and_jensen(sampling: str) -> None:
    # direct: the exact law of X_0 = 1 - eta c N / B by brute-force enumeration of batches (n = 5)
    n, sigma, lam, eta = 5, 2, 2.0, 0.3
    g = thm2_construction(n, sigma, lam)
    h = np.einsum("ni,nj->nij", g, g)
    for b in [1, 2, 4]:
        lyap = -np.inf
        for k in range(g.shape[1]):
            val = 0.0
            for p, c in enumerate_batches(n, b, sampling):
                x = abs(1 - eta * np.einsum("n,n->", c, h[:, k, k]) / b)
                val += p * math.log(x) if x > 0 else (-math.inf if p > 0 else 0.0)
            lyap = max(lyap, val)
        got = thm2_lyapunov(n, b, sigma, lam, eta, sampling)
        assert got == pytest.approx(lyap, rel=1e-12, abs=1e-14)
        assert got <= 0.5 * math.log(spectral_radius_dense(h, eta, b, sampling)) + 1e-12


def test_thm2_boundary_against_bisection() -> None:
    """The closed-form critical lambda of the Theorem 2 instance against bisection on the exact diagonal rho(Q) on random
    (n, sigma, B, eta). The second term of the minimum, 2 sigma B / (eta n), is never the smaller one: it is >= the
    first iff B (sigma - 1) >= 0, so the boundary is the first term alone (equal at sigma = 1)."""
    rng = np.random.default_rng(5)
    for _ in range(60):
        n = int(rng.integers(4, 30))
        sigma = int(rng.integers(1, n))
        b = int(rng.integers(1, n))
        eta = float(rng.uniform(0.2, 1.5))
        lo, hi = 1e-6, 1e3
        for _ in range(100):
            mid = math.sqrt(lo * hi)
            g = thm2_construction(n, sigma, mid)
            if spectral_radius_diagonal(g**2, eta, b, "bernoulli") > 1.0:
                hi = mid
            else:
                lo = mid
        got = thm2_boundary(n, b, sigma, eta)
        assert got == pytest.approx(hi, rel=1e-8)
        first = 2.0 / (eta * (1.0 + (n - b) / (b * sigma)))
        assert got == pytest.approx(first, rel=1e-12)
        assert 2.0 * sigma * b / (eta * n) >= first * (1 - 1e-12)


@pytest.mark.parametrize("sampling", SAMPLINGS)
def test_norm_moments_against_direct_gaussian_formulas(sampling: str) -> None:
    """E||w_t||^2 and E||w_t||^4 (w_0 ~ N(0, M)) from norm_moments against: t = 0, the Gaussian identity
    E||w||^4 = (tr M)^2 + 2 tr(M^2); t = 1, the same identity averaged over the enumerated batches (w_1 = A w_0 is
    Gaussian given the batch); E||w_t||^2 against the trace of the exact second-moment trajectory."""
    from theory.stability.moments import norm_moments, second_moment_trajectory

    rng = np.random.default_rng(8)
    h = random_hessians(rng, 4, 3, 2)
    a = rng.normal(size=(3, 3))
    m = a @ a.T
    eta, b = 0.4, 2
    m2, m4 = norm_moments(h, eta, b, sampling, m, [0, 1, 3])
    assert m4[0] == pytest.approx(np.trace(m) ** 2 + 2 * np.trace(m @ m), rel=1e-12)
    direct = 0.0
    for p, c in enumerate_batches(4, b, sampling):
        amat = np.eye(3) - eta / b * np.einsum("n,nij->ij", c, h)
        s = amat @ m @ amat.T
        direct += p * (np.trace(s) ** 2 + 2 * np.trace(s @ s))
    assert m4[1] == pytest.approx(direct, rel=1e-10)
    traj = second_moment_trajectory(h, eta, b, sampling, m, 3)
    assert m2 == pytest.approx([np.trace(traj[0]), np.trace(traj[1]), np.trace(traj[3])], rel=1e-10)
