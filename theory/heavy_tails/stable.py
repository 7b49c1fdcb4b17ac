"""Closed forms for symmetric and rotationally invariant alpha-stable laws (float64, numpy/scipy only).

Convention used throughout the suite: a rotationally invariant alpha-stable vector X in R^d with scale c has the
characteristic function

    E exp(i <u, X>) = exp(-(c ||u||)^alpha),        alpha in (0, 2],                         (S)

so that c = 1, alpha = 2 is N(0, 2 I) (not N(0, I)), and d = 1 is the symmetric scalar law S_alpha S(c). For beta = 0
the S0 and S1 parameterisations of scipy.stats.levy_stable coincide, and levy_stable(alpha, 0, scale=c) is law (S).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from scipy import special

from theory.heavy_tails.checks import check_alpha, check_int, check_positive, finite_array, real


def char_fn(t: npt.ArrayLike, alpha: float, scale: float = 1.0) -> npt.NDArray[np.float64]:
    """Characteristic function of (S) along any direction: phi(t) = exp(-(scale |t|)^alpha)."""
    a = check_alpha(alpha)
    c = check_positive(scale, "scale")
    t = finite_array(t, "t")
    return np.exp(-((c * np.abs(t)) ** a))


def positive_stable_laplace(s: npt.ArrayLike, a: float) -> npt.NDArray[np.float64]:
    """Laplace transform of the totally skewed (beta = 1) a-stable subordinator used for sub-Gaussian sampling:
    E exp(-s A) = exp(-s^a), a in (0, 1], s >= 0. (a = 1 is the point mass A = 1.)"""
    a = check_alpha(a, high=1.0, name="a")
    s = finite_array(s, "s")
    if np.any(s < 0):
        raise ValueError("s must be >= 0")
    return np.exp(-(s**a))


def positive_stable_scipy_scale(a: float) -> float:
    """scipy.stats.levy_stable (S1, beta = 1) scale gamma of the subordinator with E exp(-sA) = exp(-s^a), a < 1:
    its characteristic function exp(-|t|^a cos(pi a / 2) (1 - i sign(t) tan(pi a / 2))) gives
    gamma^a = cos(pi a / 2)."""
    a = check_alpha(a, high=1.0, name="a")
    if a == 1.0:
        raise ValueError("a must lie in (0, 1) for a non-degenerate subordinator, got 1")
    return float(math.cos(math.pi * a / 2.0) ** (1.0 / a))


def abs_moment(p: float, alpha: float, scale: float = 1.0, d: int = 1) -> float:
    """E ||X||^p for X rotationally invariant alpha-stable in R^d with scale c (law (S)), -d < p < alpha:

        E ||X||^p = c^p 2^p Gamma((d + p) / 2) Gamma(1 - p / alpha) / (Gamma(d / 2) Gamma(1 - p / 2)).

    Derivation: X = sqrt(A) G with G ~ N(0, 2 I_d) and E exp(-sA) = exp(-s^(alpha/2)); E A^q = Gamma(1 - 2q/alpha) /
    Gamma(1 - q) and E||G||^p = 2^p Gamma((d + p)/2) / Gamma(d/2). d = 1 gives the scalar formula of PAPERS.md,
    p = 1 gives E||L_1|| = 2 Gamma((d+1)/2) Gamma(1 - 1/alpha) / (Gamma(d/2) sqrt(pi)). At alpha = 2 every p > -d is
    allowed (Gaussian)."""
    a = check_alpha(alpha)
    c = check_positive(scale, "scale")
    d = check_int(d, "d", low=1)
    p = real(p, "p")
    if not (-d < p and (p < a or a == 2.0)):
        raise ValueError(f"p must lie in (-d, alpha) = ({-d}, {a:g}) for a finite moment, got {p!r}")
    if a == 2.0:
        # Gaussian N(0, 2 c^2 I): the Gamma(1 - p/alpha) / Gamma(1 - p/2) ratio is 1 (also for p >= 2).
        log_m = p * math.log(2.0 * c) + special.gammaln((d + p) / 2.0) - special.gammaln(d / 2.0)
        return float(math.exp(log_m))
    log_m = (
        p * math.log(2.0 * c)
        + special.gammaln((d + p) / 2.0)
        - special.gammaln(d / 2.0)
        + special.gammaln(1.0 - p / a)
        - special.gammaln(1.0 - p / 2.0)
    )
    sign = np.sign(special.gamma(1.0 - p / a)) * np.sign(special.gamma(1.0 - p / 2.0))
    return float(sign * math.exp(log_m))


def scale_from_abs_moment(m: float, p: float, alpha: float, d: int = 1) -> float:
    """Invert :func:`abs_moment` in the scale: c = (m / E||X_1||^p)^(1/p), X_1 of scale 1 (p != 0)."""
    if real(p, "p") == 0:
        raise ValueError("p must be non-zero")
    m = check_positive(m, "m")
    return float((m / abs_moment(p, alpha, 1.0, d)) ** (1.0 / p))
