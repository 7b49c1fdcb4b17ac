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
    if not (np.all(np.isfinite(lx)) and np.all(np.isfinite(ly))):
        raise ValueError("log_x and log_y must be finite (a zero or negative value has no logarithm)")
    if ly.ndim != 1:
        raise ValueError(f"log_y must be 1-d, got shape {ly.shape}")
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
    """Exponent b of y = A x^b (least squares in log-log); x and y must be > 0."""
    xx, yy = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if np.any(~(xx > 0)) or np.any(~(yy > 0)):
        raise ValueError("x and y must be > 0 (and not NaN) for a power-law fit")
    return float(fit_log_linear(np.log(xx), np.log(yy))[1])


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
    if isinstance(n_boot, bool) or not isinstance(n_boot, int) or not 10 <= n_boot <= 10**6:
        raise ValueError(f"n_boot must be an int in [10, 1e6], got {n_boot!r}")
    if not (isinstance(level, float) and 0.0 < level < 1.0):
        raise ValueError(f"level must be a float in (0, 1), got {level!r}")
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
    if np.any(~(t > 0)) or np.any(~(yy > 0)) or not np.all(np.isfinite(t)) or not np.all(np.isfinite(yy)):
        raise ValueError("temps and y must be finite and > 0")
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
    t, p, yy = (np.asarray(v, dtype=np.float64) for v in (temps, ps, y))
    if not (t.shape == p.shape == yy.shape and t.ndim == 1):
        raise ValueError(f"temps, ps and y must be 1-d of the same length, got {t.shape}, {p.shape}, {yy.shape}")
    if np.any(~(t > 0)) or np.any(~(p > 0)) or np.any(~(yy > 0)):
        raise ValueError("temps, ps and y must be > 0")
    coef = fit_log_linear(np.column_stack([np.log(t), np.log(p)]), np.log(yy))
    delta, gamma = float(coef[1]), float(coef[2])
    if delta == 0.0:
        raise ValueError("the fitted T exponent delta is 0: gamma / delta is undefined")
    return delta, gamma, gamma / delta
