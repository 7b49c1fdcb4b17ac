"""Input validation shared by the :mod:`theory.linreg` modules.

Every check raises a ValueError that names the argument and its allowed range. Numbers must be real numbers (python
or numpy; ``bool`` and strings are refused, never converted), finite unless stated, and integers must be integral.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]

#: refuse recursions longer than this many steps unless the caller raises ``max_steps`` (memory O(max_steps))
MAX_STEPS = 10_000_000
#: refuse spectra with more directions than this unless the caller raises ``max_dim``
MAX_DIM = 10_000_000


def check_real(value: Any, name: str, lo: float = -math.inf, hi: float = math.inf, *, lo_open: bool = False,
               hi_open: bool = False) -> float:
    """``value`` as a float after checking it is a finite real number in the interval ``lo..hi``.

    ``lo_open``/``hi_open`` exclude the end points. Infinite bounds are always open (inf itself is refused).
    """
    lb, rb = "(" if lo_open or math.isinf(lo) else "[", ")" if hi_open or math.isinf(hi) else "]"
    rng = f"{lb}{lo:g}, {hi:g}{rb}"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a real number in {rng}, got {value!r} ({type(value).__name__})")
    v = float(value)
    ok = math.isfinite(v) and (v > lo if lo_open else v >= lo) and (v < hi if hi_open else v <= hi)
    if not ok:
        raise ValueError(f"{name} must be in {rng}, got {value!r}")
    return v


def check_int(value: Any, name: str, lo: int = 0, hi: int | None = None) -> int:
    """``value`` as an int after checking it is integral (an int, or a float with no fractional part) and in
    ``[lo, hi]``."""
    rng = f"[{lo}, {hi}]" if hi is not None else f"[{lo}, inf)"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be an integer in {rng}, got {value!r} ({type(value).__name__})")
    if isinstance(value, numbers.Integral):
        v = int(value)
    else:
        f = float(value)
        if not (math.isfinite(f) and f.is_integer()):
            raise ValueError(f"{name} must be an integer in {rng}, got {value!r}")
        v = int(f)
    if v < lo or (hi is not None and v > hi):
        raise ValueError(f"{name} must be an integer in {rng}, got {value!r}")
    return v


def check_rtol(rtol: Any, name: str = "rtol") -> float:
    """A relative tolerance of a bisection: in ``[1e-15, 0.5]`` (below 1e-15 float64 cannot make progress)."""
    return check_real(rtol, name, 1e-15, 0.5)


def as_float_array(a: npt.ArrayLike, name: str) -> Array:
    """``a`` as a float64 array; strings, objects and NaN/inf are refused (ValueError naming ``name``)."""
    try:
        arr = np.asarray(a, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an array of real numbers, got {type(a).__name__}") from None
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (no NaN/inf)")
    return arr


def check_spectrum(lam: npt.ArrayLike, max_dim: int = MAX_DIM) -> Array:
    """Return ``lam`` as float64 after checking it is 1-D, finite, positive and non-increasing.

    Raises ValueError naming ``lam`` and the allowed range otherwise (the papers order
    ``lam_1 >= lam_2 >= ... > 0``).
    """
    arr = as_float_array(lam, "lam")
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"lam must be a non-empty 1-D array of eigenvalues, got shape {arr.shape}")
    if arr.size > max_dim:
        raise ValueError(f"lam has {arr.size} entries, more than max_dim={max_dim}; raise max_dim to allow it")
    if np.any(arr <= 0):
        raise ValueError(f"lam must be positive (allowed range lam_i > 0), min is {arr.min():g}")
    if np.any(np.diff(arr) > 0):
        raise ValueError("lam must be non-increasing (lam_1 >= lam_2 >= ...); sort it in decreasing order")
    return arr


def check_eigenvalue_grid(lam: npt.ArrayLike) -> Array:
    """Eigenvalues at which a 2x2 quantity is evaluated: any shape, finite, ``>= 0``."""
    arr = as_float_array(lam, "lam")
    if np.any(arr < 0):
        raise ValueError(f"lam must be >= 0 (eigenvalues of a covariance), min is {arr.min():g}")
    return arr


def check_sigma2(sigma2: Any) -> float:
    """Noise variance: finite, >= 0."""
    return check_real(sigma2, "sigma2", 0.0, math.inf)


def check_kurtosis(kurtosis: Any) -> float:
    """Coordinate kurtosis ``E x_i^4 / lam_i^2``: >= 1 by Jensen."""
    return check_real(kurtosis, "kurtosis", 1.0, math.inf)
