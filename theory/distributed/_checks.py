"""Input validation shared by the theory/distributed modules: ValueErrors naming the argument and the allowed range."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]


def number(x: object, name: str, *, lo: float | None = None, hi: float | None = None, lo_open: bool = False,
           hi_open: bool = False, allow_inf: bool = False) -> float:  # fmt: skip
    """``x`` as a float if it is a real number (not bool/str), not NaN, finite unless ``allow_inf``, and within
    [lo, hi] (open ends with ``lo_open``/``hi_open``)."""
    if isinstance(x, bool) or not isinstance(x, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be a real number, got {x!r}")
    v = float(x)
    if math.isnan(v) or (math.isinf(v) and not allow_inf):
        raise ValueError(f"{name} must be a finite number, got {x!r}")
    if lo is not None and (v < lo or (lo_open and v == lo)):
        raise ValueError(f"{name} must be {'>' if lo_open else '>='} {lo:g}, got {x!r}")
    if hi is not None and (v > hi or (hi_open and v == hi)):
        raise ValueError(f"{name} must be {'<' if hi_open else '<='} {hi:g}, got {x!r}")
    return v


def integer(x: object, name: str, *, lo: int = 0, hi: int | None = None) -> int:
    """``x`` as an int if it is an integer (not bool) in [lo, hi]."""
    if isinstance(x, bool) or not isinstance(x, (int, np.integer)):
        raise ValueError(f"{name} must be an integer, got {x!r}")
    if x < lo or (hi is not None and x > hi):
        raise ValueError(f"{name} must be an integer in [{lo}, {hi if hi is not None else 'inf'}], got {x!r}")
    return int(x)


def finite_array(x: npt.ArrayLike, name: str, *, ndim: int | None = None) -> Array:
    """``x`` as a float64 array with finite entries only (and ``ndim`` dimensions when given)."""
    try:
        a = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an array of real numbers") from None
    if ndim is not None and a.ndim != ndim:
        raise ValueError(f"{name} must be a {ndim}-D array, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite (no NaN/inf entries)")
    return a


def check_laplacian(lap: npt.ArrayLike) -> Array:
    """A graph Laplacian as float64: finite, square, symmetric, nonpositive off-diagonal, zero row sums."""
    m = finite_array(lap, "lap", ndim=2)
    if m.shape[0] != m.shape[1] or m.shape[0] == 0:
        raise ValueError(f"lap must be a nonempty square matrix, got shape {m.shape}")
    scale = max(1.0, float(np.abs(m).max()))
    if np.max(np.abs(m - m.T)) > 1e-12 * scale:
        raise ValueError("lap must be symmetric (Laplacian of an undirected graph)")
    if np.any(m - np.diag(np.diag(m)) > 1e-12 * scale):
        raise ValueError("lap must have nonpositive off-diagonal entries (L = D - A with edge weights A >= 0)")
    if np.max(np.abs(m.sum(axis=1))) > 1e-10 * scale:
        raise ValueError("lap must have zero row sums (a graph Laplacian, L 1 = 0)")
    return m
