"""Predictions for SGD on the margin perceptron with depleted-sign data (noise_regimes).

Setting (see sims/perceptron.py): f(w, x) = w . x / sqrt(d), w_0 = 0, margin kappa = 1/alpha, each unfitted point of a
batch adds T y x / sqrt(d) to w, data density of x_1 proportional to |x_1|^chi exp(-x_1^2/2), y = sign(x_1).

Exact statements (proved by the form of the update, checked bit for bit by the suite):
- Scale invariance at vanishing margin (kappa = 0): whether a point is fitted depends only on the direction of w, so
  with the same batches w(T) = T w(1) and the step count (hence t*/T) does not depend on T.
- Margin scaling: the state at (c T, c kappa) is c times the state at (T, kappa); so ||w|| / kappa is a function of
  T / kappa only and any crossover temperature satisfies T_c = const * kappa.
Asymptotic predictions (large P; derived heuristically, checked statistically):
- ||w_perp|| ~ c T sqrt(d), flat in P (c about 0.25-0.4);
- w_1 ~ T sqrt(d) P^(1 / (1 + chi)), because the hardest points have |x_1| of order P^(-1/(1+chi)).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import integrate, special


def check_chi(chi: float) -> None:
    """Raise ValueError unless chi is a finite number > -1."""
    if isinstance(chi, bool) or not isinstance(chi, (int, float)) or not -1.0 < chi < np.inf:
        raise ValueError(f"chi must be a finite number > -1, got {chi!r}")


def _finite_array(x: npt.ArrayLike, name: str) -> npt.NDArray[np.float64]:
    try:
        a = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an array of numbers, got {x!r}") from None
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite (no NaN/inf)")
    return a


def x1_density(x: npt.ArrayLike, chi: float) -> npt.NDArray[np.float64]:
    """rho(x_1) = |x_1|^chi exp(-x_1^2/2) / (2^((chi+1)/2) Gamma((chi+1)/2)), normalised on the real line."""
    check_chi(chi)
    x = _finite_array(x, "x")
    lognorm = 0.5 * (chi + 1.0) * np.log(2.0) + special.gammaln(0.5 * (chi + 1.0))
    with np.errstate(divide="ignore"):
        return np.asarray(np.exp(chi * np.log(np.abs(x)) - 0.5 * x**2 - lognorm), dtype=np.float64)


def abs_x1_cdf(a: npt.ArrayLike, chi: float) -> npt.NDArray[np.float64]:
    """P(|x_1| <= a) = P(G <= a^2/2) with G ~ Gamma((chi+1)/2, 1): the regularised lower incomplete gamma function."""
    check_chi(chi)
    a = np.asarray(a, dtype=np.float64)
    if np.any(np.isnan(a)):
        raise ValueError("a must not contain NaN")
    return np.asarray(special.gammainc(0.5 * (chi + 1.0), 0.5 * np.maximum(a, 0.0) ** 2), dtype=np.float64)


def expected_min_abs_x1(p: int, chi: float) -> float:
    """E[min_{i <= P} |x_1^i|] = int_0^inf (1 - F(a))^P da, F = abs_x1_cdf. Scales as P^(-1/(1+chi)) at large P."""
    if isinstance(p, bool) or not isinstance(p, (int, np.integer)) or p < 1:
        raise ValueError(f"P must be an int >= 1, got {p!r}")
    check_chi(chi)
    s = (1.0 + chi) / 2.0
    # (1 - F(a))^P is the regularised upper incomplete gamma at a^2/2 to the power P; integrate in units of the
    # typical minimum, scale = P^(-1/(1+chi)), so that quad sees the whole decay
    scale = float(p) ** (-1.0 / (1.0 + chi))

    def integrand(b: float) -> float:
        return float(special.gammaincc(s, 0.5 * (scale * b) ** 2) ** p)

    head, _ = integrate.quad(integrand, 0.0, 50.0, limit=200, points=[1.0, 5.0])
    tail, _ = integrate.quad(integrand, 50.0, np.inf, limit=200)
    return float(scale * (head + tail))


def w1_exponent(chi: float) -> float:
    """Exponent of w_1 ~ T sqrt(d) P^(1/(1+chi)) (asymptotic in P)."""
    check_chi(chi)
    return 1.0 / (1.0 + chi)


def local_exponent(f_values: npt.ArrayLike, p_values: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Successive log-log slopes d log f / d log P between neighbouring P values (f > 0, P > 0 strictly increasing,
    same length >= 2)."""
    fv, pv = _finite_array(f_values, "f_values"), _finite_array(p_values, "p_values")
    if fv.ndim != 1 or fv.shape != pv.shape or fv.size < 2:
        raise ValueError(f"f_values and p_values must be 1-d of the same length >= 2, got {fv.shape}, {pv.shape}")
    if np.any(fv <= 0) or np.any(pv <= 0) or np.any(np.diff(pv) <= 0):
        raise ValueError("f_values must be > 0 and p_values > 0 and strictly increasing")
    f, p = np.log(fv), np.log(pv)
    return np.asarray(np.diff(f) / np.diff(p), dtype=np.float64)


def scale_invariant_weights(w_ref: npt.ArrayLike, t_ref: float, t: float) -> npt.NDArray[np.float64]:
    """At vanishing margin: w(T) = (T / T_ref) w(T_ref) for identical batches (exact)."""
    if not (isinstance(t_ref, (int, float)) and isinstance(t, (int, float)) and 0 < t_ref < np.inf and 0 < t < np.inf):
        raise ValueError(f"temperatures must be > 0, got T_ref={t_ref}, T={t}")
    return _finite_array(w_ref, "w_ref") * (t / t_ref)


W_PERP_PREFACTOR_RANGE: tuple[float, float] = (0.25, 0.4)
"""Range of c in ||w_perp|| ~ c T sqrt(d) quoted by the brief (PAPERS.md, from simulations)."""
