"""Optimum of a weighted sum of clients' l2-regularised logistic losses (float64, numpy; Newton's method).

Client ``i`` has ``L_i(theta) = mean_k log(1 + exp(-s_k x_k^T theta)) + (lam/2) ||theta||^2`` with labels
``y_k in {0, 1}``, ``s_k = 2 y_k - 1``. The weighted objective ``sum_i w_i L_i`` is strictly convex for
``lam > 0``; Newton's method with backtracking converges to its unique optimum (gradient norm below ``tol``).
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

import numpy as np
import numpy.typing as npt

from .quadratic import _finite, _weights

Array = npt.NDArray[np.float64]


def _check_xy(X: npt.ArrayLike, y: npt.ArrayLike) -> tuple[Array, Array]:
    XX, yy = _finite(X, "X", 3), _finite(y, "y", 2)
    if yy.shape != XX.shape[:2]:
        raise ValueError(f"y must have shape {XX.shape[:2]}, got {yy.shape}")
    if not np.all((yy == 0) | (yy == 1)):
        raise ValueError("y must hold labels in {0, 1}")
    return XX, yy


def logistic_losses(X: npt.ArrayLike, y: npt.ArrayLike, lam: float, theta: npt.ArrayLike) -> Array:
    """``L_i(theta)`` for every client; ``theta`` ``(d,)`` or ``(R, d)`` -> ``(M,)`` or ``(R, M)``."""
    XX, yy = _check_xy(X, y)
    th = np.asarray(theta, dtype=np.float64)
    z = np.einsum("mnd,...d->...mn", XX, th) * (2 * yy - 1)
    return np.logaddexp(0.0, -z).mean(-1) + 0.5 * lam * (th**2).sum(-1)[..., None]


def weighted_logistic_optimum(X: npt.ArrayLike, y: npt.ArrayLike, w: Sequence[float | Fraction] | npt.ArrayLike,
                              lam: float, tol: float = 1e-10, max_iter: int = 100) -> Array:
    """``argmin_theta sum_i w_i L_i(theta)`` by damped Newton (weights normalised to sum 1)."""
    XX, yy = _check_xy(X, y)
    if not (np.isfinite(lam) and lam > 0):
        raise ValueError(f"lam must be finite and > 0 (a unique optimum), got {lam!r}")
    ww = _weights(w, XX.shape[0])
    n, d = XX.shape[1], XX.shape[2]
    s = 2 * yy - 1
    th = np.zeros(d)

    def obj(t: Array) -> float:
        return float(ww @ logistic_losses(XX, yy, lam, t))

    for _ in range(max_iter):
        z = np.einsum("mnd,d->mn", XX, th) * s
        sig = 1.0 / (1.0 + np.exp(z))  # sigma(-z)
        g = -np.einsum("m,mn,mnd->d", ww, sig * s, XX) / n + lam * th
        if np.linalg.norm(g) < tol:
            return th
        h = np.einsum("m,mn,mnd,mne->de", ww, sig * (1 - sig), XX, XX) / n + lam * np.eye(d)
        step = np.linalg.solve(h, g)
        if g @ step < 1e-24:  # Newton decrement at rounding level: converged as far as float64 allows
            return th
        f0, a = obj(th), 1.0
        while obj(th - a * step) > f0 - 0.25 * a * (g @ step) and a > 1e-10:
            a *= 0.5
        th = th - a * step
    raise ValueError(f"Newton did not reach gradient norm {tol} in {max_iter} iterations")
