"""The problem: the spectrum ``lam`` of ``H = diag(lam)`` and the initial error ``w_0 - w*``.

The exact recursions (:mod:`theory.linreg.recursions`) and Zou et al.'s bound (:mod:`theory.linreg.bounds`) depend
on the start only through the per-direction second moments ``E[(w_0 - w*)_i^2]``. They take an
:class:`InitialError`, never a bare array, so that ``w_0`` cannot be passed where ``(w_0 - w*)^2`` is meant: build it
from the iterates (:meth:`InitialError.from_iterates`), from the error vector (:meth:`InitialError.from_error`), or
from second moments (:meth:`InitialError.from_second_moments`, e.g. a random start).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .checks import MAX_DIM, Array, as_float_array, check_int, check_real


@dataclass(frozen=True, eq=False)
class InitialError:
    """Per-direction second moments ``sq[i] = E[(w_0 - w*)_i^2]`` (shape ``(d,)``, finite, >= 0).

    Only the diagonal enters the exact recursions: with a diagonal ``H`` and independent symmetric coordinates the
    off-diagonal moments of ``w_0 - w*`` never feed back into the diagonal ones.
    """

    sq: Array

    def __post_init__(self) -> None:
        arr = as_float_array(self.sq, "sq")
        if arr.ndim != 1 or arr.size == 0:
            raise ValueError(f"sq must be a non-empty 1-D array (one second moment per direction), got {arr.shape}")
        if np.any(arr < 0):
            raise ValueError("sq must be >= 0 (it is E[(w_0 - w*)_i^2])")
        arr = arr.copy()
        arr.flags.writeable = False
        object.__setattr__(self, "sq", arr)

    @classmethod
    def from_iterates(cls, w0: npt.ArrayLike, w_star: npt.ArrayLike) -> InitialError:
        """Deterministic start ``w_0`` and target ``w*`` (same shape ``(d,)``): ``sq = (w_0 - w*)^2``."""
        a, b = as_float_array(w0, "w0"), as_float_array(w_star, "w_star")
        if a.ndim != 1 or a.shape != b.shape:
            raise ValueError(f"w0 and w_star must be 1-D arrays of the same length, got {a.shape} and {b.shape}")
        return cls((a - b) ** 2)

    @classmethod
    def from_error(cls, err: npt.ArrayLike) -> InitialError:
        """Deterministic error vector ``err = w_0 - w*`` (shape ``(d,)``): ``sq = err^2``."""
        e = as_float_array(err, "err")
        if e.ndim != 1:
            raise ValueError(f"err must be a 1-D array (w_0 - w*), got shape {e.shape}")
        return cls(e**2)

    @classmethod
    def from_second_moments(cls, sq: npt.ArrayLike) -> InitialError:
        """Random start: ``sq[i] = E[(w_0 - w*)_i^2]``."""
        return cls(as_float_array(sq, "sq"))

    @classmethod
    def zero(cls, d: int) -> InitialError:
        """``w_0 = w*`` (the variance part of the risk)."""
        return cls(np.zeros(check_int(d, "d", 1, MAX_DIM)))

    @property
    def d(self) -> int:
        return int(self.sq.size)

    def error(self) -> Array:
        """A deterministic error vector with these second moments: ``sqrt(sq)`` (non-negative entries)."""
        return np.sqrt(self.sq)

    def check_dim(self, d: int, name: str = "init") -> Array:
        """``sq`` after checking it has one entry per direction of a ``d``-dimensional spectrum."""
        if self.sq.size != d:
            raise ValueError(f"{name} must have {d} directions to match lam, got {self.sq.size}")
        return self.sq


def check_initial_error(init: object, d: int, name: str = "init") -> Array:
    """The second moments of ``init`` (an :class:`InitialError` with ``d`` directions), or a ValueError that says
    how to build one (a bare array is refused: is it ``w_0``, ``w_0 - w*`` or ``(w_0 - w*)^2``?)."""
    if not isinstance(init, InitialError):
        raise ValueError(
            f"{name} must be an InitialError (InitialError.from_iterates(w0, w_star), .from_error(w0 - w_star) or "
            f".from_second_moments(E[(w0 - w*)_i^2])), got {type(init).__name__}: a bare array is ambiguous")
    return init.check_dim(d, name)


def power_law_spectrum(d: int, a: float = 2.0, max_dim: int = MAX_DIM) -> Array:
    """``lam_i = i^(-a)``, ``i = 1..d`` (the paper's experiment uses ``d = 2000, a = 2``)."""
    d_ = check_int(d, "d", 1, check_int(max_dim, "max_dim", 1))
    a_ = check_real(a, "a", 0.0, lo_open=True)
    return np.arange(1, d_ + 1, dtype=np.float64) ** (-a_)


def band_init(d: int, lo: int, hi: int, norm2: float = 1.0) -> InitialError:
    """``w_0 - w*`` spread evenly over eigen-directions ``lo..hi`` (1-based, inclusive), ``||w_0 - w*||_2^2 = norm2``:
    ``E[(w_0 - w*)_i^2] = norm2 / (hi - lo + 1)`` on the band, 0 elsewhere. This is the paper's experiment's
    "w_0 - w* on a band of eigen-directions"."""
    d_ = check_int(d, "d", 1, MAX_DIM)
    lo_, hi_ = check_int(lo, "lo", 1), check_int(hi, "hi", 1)
    if not lo_ <= hi_ <= d_:
        raise ValueError(f"band must satisfy 1 <= lo <= hi <= d={d_}, got lo={lo}, hi={hi}")
    n2 = check_real(norm2, "norm2", 0.0)
    m0 = np.zeros(d_)
    m0[lo_ - 1 : hi_] = n2 / (hi_ - lo_ + 1)
    return InitialError(m0)
