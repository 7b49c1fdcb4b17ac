"""Power-law fits with bootstrap intervals, crossover temperatures and the collapse exponent (noise_regimes).

Conventions: observations come as arrays indexed by seed first, so that the bootstrap resamples independent runs
(seeds) and keeps the design (P, T grid) fixed. All fits are least squares in log-log coordinates.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its bootstrap standard error and percentile interval (level `level`)."""

    value: float
    se: float
    lo: float
    hi: float
    level: float = 0.95


def fit_log_linear(log_x: npt.ArrayLike, log_y: npt.ArrayLike) -> Array:
    """Least squares for log y = c_0 + sum_j c_j log x_j. log_x: (n,) or (n, k). Returns (c_0, c_1, ..., c_k)."""
    lx = np.asarray(log_x, dtype=np.float64)
    ly = np.asarray(log_y, dtype=np.float64)
    if lx.ndim == 1:
        lx = lx[:, None]
    if lx.shape[0] != ly.shape[0]:
        raise ValueError(f"log_x and log_y must have the same length, got {lx.shape[0]} and {ly.shape[0]}")
    if lx.shape[0] < lx.shape[1] + 1:
        raise ValueError(f"need at least {lx.shape[1] + 1} points, got {lx.shape[0]}")
    a = np.column_stack([np.ones(lx.shape[0]), lx])
    coef, *_ = np.linalg.lstsq(a, ly, rcond=None)
    return np.asarray(coef, dtype=np.float64)


def power_law_exponent(x: npt.ArrayLike, y: npt.ArrayLike) -> float:
    """Exponent b of y = A x^b (least squares in log-log)."""
    return float(fit_log_linear(np.log(np.asarray(x, dtype=np.float64)), np.log(np.asarray(y, dtype=np.float64)))[1])


def bootstrap(
    stat: Callable[[Array], float],
    samples: npt.ArrayLike,
    *,
    n_boot: int,
    rng: np.random.Generator,
    level: float = 0.95,
) -> Estimate:
    """Bootstrap over the first axis (seeds): value = stat(samples), se = std of stat over resamples,
    [lo, hi] = percentile interval. Resamples where stat is not finite are dropped."""
    s = np.asarray(samples, dtype=np.float64)
    if s.shape[0] < 2:
        raise ValueError(f"need at least 2 seeds to bootstrap, got {s.shape[0]}")
    if n_boot < 10:
        raise ValueError(f"n_boot must be >= 10, got {n_boot}")
    value = float(stat(s))
    idx = rng.integers(0, s.shape[0], size=(n_boot, s.shape[0]))
    boots = np.array([stat(s[i]) for i in idx], dtype=np.float64)
    boots = boots[np.isfinite(boots)]
    if boots.size < 2:
        return Estimate(value, float("inf"), -float("inf"), float("inf"), level)
    q = (1.0 - level) / 2.0
    lo, hi = float(np.quantile(boots, q)), float(np.quantile(boots, 1 - q))
    return Estimate(value, float(boots.std(ddof=1)), lo, hi, level)


def exponent_of_mean_log(x: npt.ArrayLike) -> Callable[[Array], float]:
    """stat for `bootstrap`: exponent b of exp(mean over seeds of log y) = A x^b; samples have shape (seeds, len(x))."""
    lx = np.log(np.asarray(x, dtype=np.float64))

    def stat(s: Array) -> float:
        return float(fit_log_linear(lx, np.log(s).mean(0))[1])

    return stat


def crossover_temperature(
    temps: npt.ArrayLike, y: npt.ArrayLike, *, n_low: int, n_high: int
) -> tuple[float, float, float]:
    """Crossover T_c between a plateau at small T and a power law y = A T^delta at large T.

    plateau = geometric mean of y over the n_low smallest T; (A, delta) from a log-log fit over the n_high largest T;
    T_c solves A T_c^delta = plateau, i.e. log T_c = (log plateau - log A) / delta. Returns (T_c, plateau, delta).
    """
    t = np.asarray(temps, dtype=np.float64)
    yy = np.asarray(y, dtype=np.float64)
    if t.shape != yy.shape or t.ndim != 1:
        raise ValueError("temps and y must be 1-d arrays of the same length")
    if n_low < 1 or n_high < 2 or n_low + n_high > t.size:
        raise ValueError(f"need n_low >= 1, n_high >= 2, n_low + n_high <= {t.size}; got {n_low}, {n_high}")
    order = np.argsort(t)
    t, yy = t[order], yy[order]
    log_plateau = float(np.log(yy[:n_low]).mean())
    c0, delta = fit_log_linear(np.log(t[-n_high:]), np.log(yy[-n_high:]))
    if not delta > 0:
        return float("nan"), float(np.exp(log_plateau)), float(delta)
    return float(np.exp((log_plateau - c0) / delta)), float(np.exp(log_plateau)), float(delta)


def collapse_exponents(temps: npt.ArrayLike, ps: npt.ArrayLike, y: npt.ArrayLike) -> tuple[float, float, float]:
    """Fit y = C T^delta P^gamma on points of the noise-dominated region (all inputs flat, same length).

    Returns (delta, gamma, a) with a = gamma / delta: the crossover with a P-independent plateau then sits at
    T_c ~ P^(-a)."""
    lt = np.log(np.asarray(temps, dtype=np.float64))
    lp = np.log(np.asarray(ps, dtype=np.float64))
    coef = fit_log_linear(np.column_stack([lt, lp]), np.log(np.asarray(y, dtype=np.float64)))
    delta, gamma = float(coef[1]), float(coef[2])
    return delta, gamma, gamma / delta
