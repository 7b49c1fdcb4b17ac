"""The Gurbuzbalaban-Simsekli-Zhu (GSZ, ICML 2021) tail index of online SGD on Gaussian linear regression.

Online SGD x_{k+1} = M_k x_k + q_k with M_k = I - (eta/b) sum_{i<=b} a_i a_i^T, a_i ~ N(0, s_a^2 I_d) fresh at every
step, has a stationary law with power-law tails P(|<u, x_inf>| > t) ~ c t^(-alpha) whose index alpha is the positive
root of (Kesten-Goldie)

    h(s) = E ||M e_1||^s = 1,                                                                    (GSZ)

provided the Lyapunov exponent E log ||M e_1|| < 0 (otherwise the iteration diverges). Reduction used here: with
kappa = eta s_a^2 / b, U ~ chi^2_b and V ~ chi^2_{d-1} independent, ||M e_1||^2 = (1 - kappa U)^2 + kappa^2 U V.

Quadrature: the V expectation by generalised Gauss-Laguerre (nodes grow with s), the U integral by adaptive quadrature
split at U = 1/kappa (where ||M e_1|| is smallest) and at the peak of the integrand. For large s the U-integrand
(kappa U)^s chi^2_b(U) peaks near U = 2 s + b - 2, far beyond any fixed quantile of chi^2_b: the upper limit is
extended until the integrand has fallen by a factor 1e-18 below its peak (a fixed range loses mass above s ~ 15).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import numpy.typing as npt
from scipy import integrate, optimize, special, stats

from theory.heavy_tails.checks import check_int, check_positive

S_MAX = 200.0  # largest exponent h(s) is computed for (the quadrature is checked against exact moments up to here)


def _check_gsz(eta: float, b: int, d: int, sigma_a: float) -> tuple[float, int, int, float]:
    eta = check_positive(eta, "eta")
    sigma_a = check_positive(sigma_a, "sigma_a")
    b = check_int(b, "b", low=1, high=100_000)
    d = check_int(d, "d", low=1, high=100_000)
    return eta, b, d, sigma_a


@lru_cache(maxsize=32)
def _laguerre(k: float, n: int) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    x, w = special.roots_genlaguerre(n, k - 1.0)
    return x, w / math.gamma(k)


def _nodes(s: float) -> int:
    return int(80 + 2 * math.ceil(s))  # the V-integrand (p + c V)^(s/2) V^(k-1) e^-V peaks near V = s/2 + k


def _inner(u: float, s: float, kappa: float, d: int, fn: str) -> float:
    """E_V[g((1 - kappa u)^2 + kappa^2 u V)], V ~ chi^2_{d-1} = 2 Gamma((d-1)/2), by generalised Gauss-Laguerre."""
    p = (1.0 - kappa * u) ** 2
    if d == 1:
        vals = np.array([p])
        w = np.array([1.0])
    else:
        x, w = _laguerre((d - 1) / 2.0, _nodes(s))
        vals = p + kappa**2 * u * 2.0 * x
    if fn == "pow":
        return float(w @ vals ** (s / 2.0))
    return float(w @ (0.5 * np.log(vals)))


def _expect(s: float, eta: float, b: int, d: int, sigma_a: float, fn: str) -> float:
    kappa = eta * sigma_a**2 / b
    chi = stats.chi2(b)
    log_norm = -0.5 * b * math.log(2.0) - math.lgamma(0.5 * b)

    def dens(u: float) -> float:  # chi^2_b density (scipy's frozen pdf costs ~50 us per scalar call)
        if u <= 0.0:
            return 0.0 if b != 2 else 0.5
        return math.exp(log_norm + (0.5 * b - 1.0) * math.log(u) - 0.5 * u)

    root = 1.0 / kappa  # ||M e_1|| is smallest near U = 1/kappa: split the integral there
    f = lambda u: _inner(u, s, kappa, d, fn) * dens(u)
    peak = max(2.0 * s + b - 2.0, float(b))  # where (kappa u)^s chi^2_b(u) peaks for large u (s > 0)
    hi = max(root, float(chi.ppf(1.0 - 1e-15)), peak + 10.0 * math.sqrt(peak + 1.0))
    if fn == "pow":
        grid = np.linspace(0.0, hi, 60)[1:]
        top = max(abs(f(float(u))) for u in grid)
        while abs(f(hi)) > 1e-18 * top:  # extend the range until the tail is negligible
            hi *= 1.5
    cuts = sorted({0.0, *(c for c in (root, peak) if 0.0 < c < hi), hi})
    total = 0.0
    for lo_, hi_ in zip(cuts[:-1], cuts[1:]):
        val, _ = integrate.quad(f, lo_, hi_, limit=400, epsabs=0.0, epsrel=1e-11)
        total += val
    return total


def gsz_moment(s: float, eta: float, b: int = 1, d: int = 10, sigma_a: float = 1.0) -> float:
    """h(s) = E ||(I - (eta/b) sum_{i<=b} a_i a_i^T) e_1||^s for a_i ~ N(0, sigma_a^2 I_d), 0 < s <= S_MAX (GSZ)."""
    eta, b, d, sigma_a = _check_gsz(eta, b, d, sigma_a)
    s = check_positive(s, "s")
    if s > S_MAX:
        raise ValueError(f"s must lie in (0, {S_MAX:g}], got {s!r}")
    return _expect(s, eta, b, d, sigma_a, "pow")


def gsz_lyapunov(eta: float, b: int = 1, d: int = 10, sigma_a: float = 1.0) -> float:
    """E log ||M e_1|| = h'(0); the online SGD iteration has a stationary law iff it is negative."""
    eta, b, d, sigma_a = _check_gsz(eta, b, d, sigma_a)
    return _expect(0.0, eta, b, d, sigma_a, "log")


def gsz_tail_index(eta: float, b: int = 1, d: int = 10, sigma_a: float = 1.0, s_max: float = 64.0) -> float:
    """Positive root alpha of h(alpha) = 1 (equation (GSZ)); h is convex with h(0) = 1.

    Returns 0.0 when E log||M e_1|| >= 0 (no stationary law: the iteration diverges) and inf when h(s) < 1 up to
    s_max <= S_MAX (tails lighter than any power the caller cares about). PAPERS.md (b = 1, d = 10, sigma_a = 1, by
    quadrature and a 4e7-sample Monte Carlo): eta = 0.12 -> 9.20, 0.15 -> 4.54, 0.16 -> 3.02, 0.17 -> 1.49."""
    eta, b, d, sigma_a = _check_gsz(eta, b, d, sigma_a)
    s_max = check_positive(s_max, "s_max")
    if s_max > S_MAX:
        raise ValueError(f"s_max must lie in (0, {S_MAX:g}], got {s_max!r}")
    if gsz_lyapunov(eta, b, d, sigma_a) >= 0.0:
        return 0.0
    g = lambda s: math.log(gsz_moment(s, eta, b, d, sigma_a))
    lo, hi = 1e-3, 0.5
    while g(hi) < 0.0:
        if hi >= s_max:
            return math.inf
        lo, hi = hi, min(2.0 * hi, s_max)
    if g(lo) > 0.0:  # root below 1e-3: the chain is at the edge of divergence
        return float(optimize.brentq(g, 1e-9, lo, xtol=1e-12))
    return float(optimize.brentq(g, lo, hi, xtol=1e-10))
