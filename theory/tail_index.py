"""Tail indices: the Gurbuzbalaban-Simsekli-Zhu (GSZ) moment equation for online SGD on linear regression, and two
estimators of a tail index from samples (Mohammadi et al.'s block-sum estimator and Hill's estimator).

GSZ (ICML 2021): online SGD x_{k+1} = M_k x_k + q_k with M_k = I - (eta/b) sum_{i<=b} a_i a_i^T, a_i ~ N(0, s_a^2 I_d)
fresh at every step, has a stationary law with power-law tails P(|<u, x_inf>| > t) ~ c t^(-alpha) whose index alpha is
the positive root of (Kesten-Goldie)

    h(s) = E ||M e_1||^s = 1,                                                                    (GSZ)

provided the Lyapunov exponent E log ||M e_1|| < 0 (otherwise the iteration diverges). Reduction used here: with
kappa = eta s_a^2 / b, U ~ chi^2_b and V ~ chi^2_{d-1} independent, ||M e_1||^2 = (1 - kappa U)^2 + kappa^2 U V.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import numpy.typing as npt
from scipy import integrate, optimize, special, stats

from theory.stable import check_positive


def _check_gsz(eta: float, b: int, d: int, sigma_a: float) -> tuple[float, int, int, float]:
    eta = check_positive(eta, "eta")
    sigma_a = check_positive(sigma_a, "sigma_a")
    if int(b) != b or b < 1:
        raise ValueError(f"b must be an integer >= 1, got {b!r}")
    if int(d) != d or d < 1:
        raise ValueError(f"d must be an integer >= 1, got {d!r}")
    return eta, int(b), int(d), sigma_a


@lru_cache(maxsize=8)
def _laguerre(k: float, n: int = 80) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    x, w = special.roots_genlaguerre(n, k - 1.0)
    return x, w / math.gamma(k)


def _inner(u: float, s: float, kappa: float, d: int, fn: str) -> float:
    """E_V[g((1 - kappa u)^2 + kappa^2 u V)], V ~ chi^2_{d-1} = 2 Gamma((d-1)/2), by generalised Gauss-Laguerre."""
    p = (1.0 - kappa * u) ** 2
    if d == 1:
        vals = np.array([p])
        w = np.array([1.0])
    else:
        x, w = _laguerre((d - 1) / 2.0)
        vals = p + kappa**2 * u * 2.0 * x
    if fn == "pow":
        return float(w @ vals ** (s / 2.0))
    return float(w @ (0.5 * np.log(vals)))


def _expect(s: float, eta: float, b: int, d: int, sigma_a: float, fn: str) -> float:
    kappa = eta * sigma_a**2 / b
    dens = stats.chi2(b).pdf
    root = 1.0 / kappa  # ||M e_1|| is smallest near U = 1/kappa: split the integral there
    f = lambda u: _inner(u, s, kappa, d, fn) * dens(u)
    hi = max(root, float(stats.chi2(b).ppf(1.0 - 1e-15)))
    parts = [(0.0, root), (root, hi)] if root < hi else [(0.0, hi)]
    total = 0.0
    for lo_, hi_ in parts:
        val, _ = integrate.quad(f, lo_, hi_, limit=200, epsabs=1e-13, epsrel=1e-11)
        total += val
    return total


def gsz_moment(s: float, eta: float, b: int = 1, d: int = 10, sigma_a: float = 1.0) -> float:
    """h(s) = E ||(I - (eta/b) sum_{i<=b} a_i a_i^T) e_1||^s for a_i ~ N(0, sigma_a^2 I_d), s > 0 (equation (GSZ))."""
    eta, b, d, sigma_a = _check_gsz(eta, b, d, sigma_a)
    s = check_positive(s, "s")
    return _expect(s, eta, b, d, sigma_a, "pow")


def gsz_lyapunov(eta: float, b: int = 1, d: int = 10, sigma_a: float = 1.0) -> float:
    """E log ||M e_1|| = h'(0); the online SGD iteration has a stationary law iff it is negative."""
    eta, b, d, sigma_a = _check_gsz(eta, b, d, sigma_a)
    return _expect(0.0, eta, b, d, sigma_a, "log")


def gsz_tail_index(eta: float, b: int = 1, d: int = 10, sigma_a: float = 1.0, s_max: float = 64.0) -> float:
    """Positive root alpha of h(alpha) = 1 (equation (GSZ)); h is convex with h(0) = 1.

    Returns 0.0 when E log||M e_1|| >= 0 (no stationary law: the iteration diverges) and inf when h(s) < 1 up to
    s_max (tails lighter than any power the caller cares about). PAPERS.md (b = 1, d = 10, sigma_a = 1):
    eta = 0.12 -> ~8.5, 0.15 -> 4.6, 0.16 -> 2.9, 0.17 -> 1.5, divergence near 0.19."""
    eta, b, d, sigma_a = _check_gsz(eta, b, d, sigma_a)
    if gsz_lyapunov(eta, b, d, sigma_a) >= 0.0:
        return 0.0
    g = lambda s: math.log(gsz_moment(s, eta, b, d, sigma_a))
    lo, hi = 1e-3, 0.5
    while g(hi) < 0.0:
        lo, hi = hi, 2.0 * hi
        if hi > s_max:
            return math.inf
    if g(lo) > 0.0:  # root below 1e-3: the chain is at the edge of divergence
        return float(optimize.brentq(g, 1e-9, lo, xtol=1e-12))
    return float(optimize.brentq(g, lo, hi, xtol=1e-10))


# ---------------------------------------------------------------------------------------------------------------
# Estimators


def mohammadi_tail_index(x: npt.ArrayLike, k1: int | None = None) -> float:
    """Block-sum estimator of the stability index (Mohammadi, Mohammadpour, Ogata 2015; used by Simsekli et al. 2019).

    Assumes x_1..x_K iid symmetric strictly alpha-stable (then a sum of k1 of them equals k1^(1/alpha) x_1 in law).
    With K = k1 k2 (the sample is truncated to a multiple of k1) and Y_i the sum of the i-th block of k1 samples:

        1/alpha_hat = (1 / log k1) [ (1/k2) sum_i log|Y_i| - (1/K) sum_j log|x_j| ].

    Default k1 = round(sqrt(K)). Not clipped to (0, 2]. Trap: pooling Gaussian samples of unequal scales breaks the
    iid assumption and returns alpha_hat well below 2."""
    v = np.asarray(x, dtype=np.float64).ravel()
    if not np.all(np.isfinite(v)):
        raise ValueError("x must be finite (drop diverged runs first)")
    K = v.size
    if k1 is None:
        k1 = max(2, int(round(math.sqrt(K))))
    if int(k1) != k1 or k1 < 2 or k1 > K // 2:
        raise ValueError(f"k1 must be an integer in [2, K/2] = [2, {K // 2}], got {k1!r}")
    k2 = K // k1
    v = v[: k1 * k2]
    Y = v.reshape(k2, k1).sum(axis=1)
    inv = (np.mean(np.log(np.abs(Y))) - np.mean(np.log(np.abs(v)))) / math.log(k1)
    return float(1.0 / inv)


def hill_tail_index(x: npt.ArrayLike, k: int) -> tuple[float, float]:
    """Hill's estimator from the k largest |x|: 1/alpha_hat = (1/k) sum_{i<=k} log(|x|_(i) / |x|_(k+1)).

    Assumes iid samples with a regularly varying tail P(|x| > t) = t^(-alpha) L(t). Returns (alpha_hat, se) with the
    asymptotic standard error alpha_hat / sqrt(k) (exact Pareto tail; the bias from L is not included)."""
    v = np.abs(np.asarray(x, dtype=np.float64).ravel())
    if not np.all(np.isfinite(v)):
        raise ValueError("x must be finite (drop diverged runs first)")
    if int(k) != k or not 2 <= k < v.size:
        raise ValueError(f"k must be an integer in [2, n) = [2, {v.size}), got {k!r}")
    top = np.sort(v)[::-1][: k + 1]
    if top[k] <= 0:
        raise ValueError("the (k+1)-th largest |x| is zero: choose a smaller k")
    inv = float(np.mean(np.log(top[:k] / top[k])))
    a = 1.0 / inv
    return a, a / math.sqrt(k)
