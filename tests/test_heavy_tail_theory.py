"""Closed forms of theory.heavy_tails (levy_ou, gsz, tail_estimators) against independent computations (series, Monte
Carlo, exact rational moments, hand-computed samples) and literature values (with the tolerance stated)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from theory.heavy_tails.gsz import gsz_lyapunov, gsz_moment, gsz_tail_index
from theory.heavy_tails.levy_ou import (
    coupling_w1_bound,
    euler_stationary_scale,
    least_squares_quadratic,
    ou_abs_moment,
    ou_optimal_alpha,
    sde_stationary_scale,
)
from theory.heavy_tails.tail_estimators import hill_tail_index, mohammadi_tail_index


@pytest.mark.parametrize(("alpha", "lam", "eta"), [(1.5, 2.0, 0.05), (1.1, 0.3, 1.9), (2.0, 1.0, 0.5), (0.7, 5.0, 0.3)])
def test_euler_scale_is_the_series(alpha: float, lam: float, eta: float) -> None:
    """scale^alpha = sigma^alpha eta sum_j |1 - eta lam|^(alpha j), summed term by term."""
    sigma = 1.3
    j = np.arange(200_000)
    series = sigma**alpha * eta * np.sum(np.abs(1 - eta * lam) ** (alpha * j))
    assert abs(euler_stationary_scale(alpha, lam, sigma, eta) ** alpha - series) <= 1e-10 * series


def test_euler_to_sde_limit() -> None:
    # PAPERS.md: alpha = 1.5, lam = 2, eta = 0.05 -> 0.489 vs 0.481 (three digits)
    assert abs(euler_stationary_scale(1.5, 2.0, 1.0, 0.05) - 0.489) < 5e-4
    assert abs(sde_stationary_scale(1.5, 2.0) - 0.481) < 5e-4
    gaps = [abs(euler_stationary_scale(1.5, 2.0, 1.0, eta) - sde_stationary_scale(1.5, 2.0)) for eta in (0.1, 0.01, 0.001)]
    assert gaps[0] > gaps[1] > gaps[2] and gaps[2] < 1e-3 * sde_stationary_scale(1.5, 2.0)
    # first order in eta: gap / eta is roughly constant
    assert 0.8 < (gaps[1] / 0.01) / (gaps[2] / 0.001) < 1.25


@pytest.mark.parametrize(("lam", "ref"), [(100.0, 1.37), (1e3, 1.21), (1e4, 1.14)])
def test_ou_optimal_alpha_literature(lam: float, ref: float) -> None:
    a, interior = ou_optimal_alpha(lam)
    assert interior and abs(a - ref) <= 0.01
    # independent: finite differences of the closed form change sign at a
    f = lambda x: ou_abs_moment(1.0, x, lam)
    assert f(a - 1e-3) > f(a) < f(a + 1e-3)


def test_ou_no_interior_optimum_small_curvature() -> None:
    a, interior = ou_optimal_alpha(1.0)
    assert not interior and a == 2.0
    grid = np.linspace(1.05, 2.0, 50)
    vals = [ou_abs_moment(1.0, x, 1.0) for x in grid]
    assert np.all(np.diff(vals) < 0)


@pytest.mark.parametrize(("eta", "s"), [(0.16, 1.0), (0.16, 3.0), (0.1, 2.0)])
def test_gsz_moment_monte_carlo(eta: float, s: float) -> None:
    rng = np.random.default_rng(11)
    d, n = 10, 400_000
    a = rng.standard_normal((n, d))
    v = -eta * a * a[:, :1]
    v[:, 0] += 1.0
    r = np.linalg.norm(v, axis=1) ** s
    se = r.std() / math.sqrt(n)
    assert abs(r.mean() - gsz_moment(s, eta)) <= 5 * se
    lg = np.log(np.linalg.norm(v, axis=1))
    assert abs(lg.mean() - gsz_lyapunov(eta)) <= 5 * lg.std() / math.sqrt(n)


def test_gsz_tail_index_literature_and_monotone() -> None:
    # PAPERS.md (b = 1, d = 10): 0.15 -> 4.6, 0.16 -> 2.9, 0.17 -> 1.5 ("~", read off curves): 5 % tolerance
    for eta, ref in [(0.15, 4.6), (0.16, 2.9), (0.17, 1.5)]:
        a = gsz_tail_index(eta)
        assert abs(a - ref) <= 0.05 * ref, (eta, a)
        assert abs(gsz_moment(a, eta) - 1.0) < 1e-8
    etas = [0.1, 0.13, 0.15, 0.17]
    al = [gsz_tail_index(e) for e in etas]
    assert all(x > y for x, y in zip(al, al[1:]))
    assert gsz_tail_index(0.17, b=2) > gsz_tail_index(0.17, b=1)
    assert gsz_tail_index(0.25) == 0.0 and gsz_lyapunov(0.25) > 0


@pytest.mark.parametrize("alpha", [1.2, 1.5, 1.8])
def test_mohammadi_recovers_alpha(alpha: float) -> None:
    """PAPERS.md: within 0.1 of alpha for N = 10^5 clean samples (scipy's sampler, independent of ours)."""
    from scipy import stats

    x = stats.levy_stable(alpha, 0.0).rvs(size=100_000, random_state=np.random.default_rng(12))
    assert abs(mohammadi_tail_index(x) - alpha) <= 0.1


def test_mohammadi_gaussian_trap() -> None:
    """Clean Gaussians give ~2; pooling Gaussian coordinates of very unequal scales fakes heavy tails."""
    rng = np.random.default_rng(13)
    assert abs(mohammadi_tail_index(rng.standard_normal(100_000)) - 2.0) <= 0.1
    scales = np.logspace(-3, 3, 316)
    pooled = (rng.standard_normal((316, 316)) * scales[:, None]).ravel()  # block = one coordinate's samples
    assert mohammadi_tail_index(pooled.reshape(316, 316).T.ravel()) < 1.5


def test_hill_on_pareto() -> None:
    rng = np.random.default_rng(14)
    for alpha in [0.8, 1.5, 3.0]:
        x = rng.pareto(alpha, 50_000) + 1.0  # exact Pareto tail P(X > t) = t^-alpha, t >= 1
        a, se = hill_tail_index(x, 2000)
        assert abs(a - alpha) <= 4 * se


def test_coupling_bound_is_a_bound_noise_free() -> None:
    """Independent check: with sigma = 0 both chains sit at their least-squares solutions, so the coupling distance
    is ||theta_hat - theta_hat'|| (two linear solves); the bound must exceed it, and fall like 1/n."""
    rng = np.random.default_rng(5)
    d = 3
    ratios = []
    for n in (20, 80, 320):
        X = rng.standard_normal((n, d))
        y = X @ np.ones(d) + 0.3 * rng.standard_normal(n)
        a2, y2 = rng.standard_normal(d), float(rng.standard_normal())
        X2, yy2 = X.copy(), y.copy()
        X2[-1], yy2[-1] = a2, y2
        th = np.linalg.lstsq(X, y, rcond=None)[0]
        th2 = np.linalg.lstsq(X2, yy2, rcond=None)[0]
        A, _ = least_squares_quadratic(X, y)
        bound = coupling_w1_bound(X[-1], y[-1], a2, y2, n=n, lam_min=float(np.linalg.eigvalsh(A)[0]),
                                  mean_norm_theta=float(np.linalg.norm(th2)))
        dist = float(np.linalg.norm(th - th2))
        assert 0 < dist <= bound
        ratios.append(n * bound)
    assert max(ratios) / min(ratios) < 3.0  # n * bound stays O(1)


@pytest.mark.parametrize("kw", [{"n": 0}, {"n": 2.5}, {"lam_min": 0.0}, {"lam_min": float("nan")},
                                {"mean_norm_theta": -1.0}, {"y_n": float("inf")}, {"a_n": [1.0, np.nan]},
                                {"a_n": [1.0, 2.0, 3.0]}, {"y_n": "1"}])
def test_coupling_bound_bad_input(kw: dict[str, object]) -> None:
    args: dict[str, object] = {"a_n": [3.0, 4.0], "y_n": 2.0, "a_n_prime": [0.0, 1.0], "y_n_prime": -1.0, "n": 10,
                               "lam_min": 0.5, "mean_norm_theta": 2.0} | kw
    with pytest.raises(ValueError):
        coupling_w1_bound(**args)  # type: ignore[arg-type]


def test_theory_bad_input() -> None:
    with pytest.raises(ValueError, match="eta"):
        euler_stationary_scale(1.5, 1.0, 1.0, 0.0)
    with pytest.raises(ValueError, match="eta \\* lam"):
        euler_stationary_scale(1.5, 1.0, 1.0, 2.5)
    with pytest.raises(ValueError, match="sigma"):
        sde_stationary_scale(1.5, 1.0, -0.1)
    with pytest.raises(ValueError, match="alpha"):
        sde_stationary_scale(2.5, 1.0)
    with pytest.raises(ValueError, match="alpha"):
        sde_stationary_scale("1.5", 1.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="lam"):
        ou_optimal_alpha(float("nan"))
    with pytest.raises(ValueError, match="k must"):
        hill_tail_index(np.ones(10), 10)
    with pytest.raises(ValueError, match="k must"):
        hill_tail_index(np.arange(1.0, 11.0), 2.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="finite"):
        mohammadi_tail_index(np.array([1.0, np.nan, 2.0, 3.0]))
    for s_, kw in [(-1.0, {}), (float("nan"), {}), (250.0, {}), (2.0, {"b": 0}), (2.0, {"d": 1.5}),
                   (2.0, {"eta": -0.1}), (2.0, {"sigma_a": 0.0})]:
        with pytest.raises(ValueError):
            gsz_moment(s_, **({"eta": 0.1} | kw))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="s_max"):
        gsz_tail_index(0.1, s_max=-1.0)


def test_tail_estimators_refuse_zero_and_empty_samples() -> None:
    """Exact zeros (e.g. frozen runs) made Mohammadi's estimator return 0.0 with a numpy warning: now an error."""
    x = np.random.default_rng(4).standard_normal(1000)
    x[::10] = 0.0
    with pytest.raises(ValueError, match="zeros"):
        mohammadi_tail_index(x)
    for empty in (np.array([]), np.zeros(0)):
        with pytest.raises(ValueError, match="at least"):
            mohammadi_tail_index(empty)
        with pytest.raises(ValueError, match="at least"):
            hill_tail_index(empty, 2)
    with pytest.raises(ValueError, match="zero"):
        hill_tail_index(np.r_[np.ones(3), np.zeros(10)], 5)
    with pytest.raises(ValueError, match="equal"):
        hill_tail_index(np.ones(20), 5)


def _h_exact(m: int, eta: float, b: int, d: int) -> float:
    """Independent computation of h(2m) = E[((1 - kU)^2 + k^2 U V)^m] (U ~ chi2_b, V ~ chi2_{d-1}) in exact rational
    arithmetic from the chi-square moments E U^i = b (b+2) ... (b + 2i - 2)."""
    from fractions import Fraction
    from math import comb

    def mom(k: int, i: int) -> Fraction:
        r = Fraction(1)
        for j in range(i):
            r *= k + 2 * j
        return r

    kap = Fraction(eta) / b
    tot = Fraction(0)
    for j in range(m + 1):
        q = 2 * (m - j)
        eu = sum(comb(q, i) * (-kap) ** i * mom(b, i + j) for i in range(q + 1))
        tot += comb(m, j) * kap ** (2 * j) * eu * mom(d - 1, j)
    return float(tot)


@pytest.mark.parametrize(("eta", "b"), [(0.17, 2), (0.12, 1), (0.17, 1)])
@pytest.mark.parametrize("m", [1, 5, 10, 15, 25])
def test_gsz_moment_exact_even_exponents(eta: float, b: int, m: int) -> None:
    """Large exponents: a fixed integration range lost 0.04% at s = 16 and 28% at s = 30; now 1e-10 up to s = 50."""
    assert abs(gsz_moment(2 * m, eta, b) / _h_exact(m, eta, b, 10) - 1) < 1e-10


def test_tail_estimators_on_hand_computed_samples() -> None:
    """Deterministic values computed by hand (catch off-by-one and constant mutations a statistical test cannot)."""
    # Hill, k = 2 of |x| = 8, 4, 2, 1: 1/alpha = (log(8/2) + log(4/2)) / 2 = 1.5 log 2
    a, se = hill_tail_index(np.array([1.0, -8.0, 2.0, 4.0]), 2)
    assert abs(a - 1.0 / (1.5 * math.log(2.0))) < 1e-14 and abs(se - a / math.sqrt(2)) < 1e-14
    # Mohammadi, k1 = 2 of (1, 1, 1, 1): Y = (2, 2), 1/alpha = (log 2 - 0) / log 2 = 1
    assert abs(mohammadi_tail_index(np.ones(4), k1=2) - 1.0) < 1e-14
    # k1 = 3 of (1, 2, 4, 1, 2, 4): Y = (7, 7), 1/alpha = (log 7 - log 2) / log 3
    assert abs(mohammadi_tail_index([1.0, 2.0, 4.0, 1.0, 2.0, 4.0], k1=3) - math.log(3) / math.log(3.5)) < 1e-14
