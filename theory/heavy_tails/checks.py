"""Input validation shared by the heavy-tails theory modules: every check raises a ValueError naming the argument and
the allowed range; strings, booleans, None, NaN and infinities are refused where a number is expected."""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
import numpy.typing as npt


def real(value: Any, name: str) -> float:
    """``value`` as a finite float; a ValueError for strings, booleans, None, NaN and +-inf."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return v


def check_alpha(alpha: float, *, low: float = 0.0, high: float = 2.0, name: str = "alpha") -> float:
    """Return alpha as float if low < alpha <= high, else raise ValueError naming the argument and the range."""
    a = real(alpha, name)
    if not low < a <= high:
        raise ValueError(f"{name} must lie in ({low:g}, {high:g}], got {alpha!r}")
    return a


def check_positive(value: float, name: str, *, allow_zero: bool = False) -> float:
    """Return value as float if it is finite and > 0 (>= 0 with allow_zero), else raise ValueError naming it."""
    v = real(value, name)
    if not (v >= 0 if allow_zero else v > 0):
        raise ValueError(f"{name} must be {'>= 0' if allow_zero else '> 0'} and finite, got {value!r}")
    return v


def check_int(value: Any, name: str, *, low: int, high: int | None = None) -> int:
    """``value`` as an int in [low, high] (high None: no upper bound); integral floats such as 3.0 are accepted."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if isinstance(value, numbers.Integral):
        v = int(value)
    else:
        f = float(value)
        if not (math.isfinite(f) and f == int(f)):
            raise ValueError(f"{name} must be an integer, got {value!r}")
        v = int(f)
    if v < low or (high is not None and v > high):
        rng = f"[{low}, {high}]" if high is not None else f">= {low}"
        raise ValueError(f"{name} must be an integer {'in ' if high is not None else ''}{rng}, got {value!r}")
    return v


def finite_array(x: npt.ArrayLike, name: str, *, ndim: int | None = None) -> npt.NDArray[np.float64]:
    """``x`` as a float64 array with only finite entries (and ``ndim`` dimensions if given)."""
    try:
        a = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an array of real numbers, got {type(x).__name__}") from None
    if ndim is not None and a.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s), got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    return a
