"""Optima of weighted sums of quadratic client losses, in closed form (float64, numpy).

Client ``i`` has ``L_i(theta) = 1/2 theta^T A_i theta - b_i^T theta + c_i`` (least squares on ``(X_i, y_i)``:
``A_i = X_i^T X_i / n_i``, ``b_i = X_i^T y_i / n_i``, ``c_i = ||y_i||^2 / (2 n_i)``). For weights ``w`` the
optimum of ``L^w = sum_i w_i L_i`` solves ``(sum_i w_i A_i) theta = sum_i w_i b_i``. The federated optimum is
``theta_p``, the surrogate optimum of a scheme ``theta_q`` (``q`` from :mod:`theory.federated.weights`); the
price of the bias is ``L^p(theta_q) - L^p(theta_p) = 1/2 (theta_q - theta_p)^T A_p (theta_q - theta_p)``.

With ``K`` local gradient steps of size ``eta`` a client maps ``theta`` to
``theta - eta S_i (A_i theta - b_i)``, ``S_i = sum_{k<K} (I - eta A_i)^k``, so the fixed point of the mean server
dynamics with weights ``w`` solves ``sum_i w_i S_i (A_i theta - b_i) = 0`` (:func:`local_steps_fixed_point`); it
equals the optimum of ``L^w`` when ``K = 1`` or when all ``A_i`` are equal, and differs by ``O(eta K)``
("client drift") otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]


def _finite(x: npt.ArrayLike, name: str, ndim: int) -> Array:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite (no NaN/inf)")
    return a


def _weights(w: Sequence[float | Fraction] | npt.ArrayLike, m: int) -> Array:
    ww = np.array([float(x) for x in np.asarray(w, dtype=object).ravel()], dtype=np.float64)
    if ww.size != m:
        raise ValueError(f"weights must have one entry per client ({m}), got {ww.size}")
    if not np.all(np.isfinite(ww)) or ww.min() < 0 or ww.sum() <= 0:
        raise ValueError("weights must be finite, >= 0, with a positive sum")
    return ww / ww.sum()


def _check(A: npt.ArrayLike, b: npt.ArrayLike) -> tuple[Array, Array]:
    AA, bb = _finite(A, "A", 3), _finite(b, "b", 2)
    m, d, d2 = AA.shape
    if d != d2 or bb.shape != (m, d):
        raise ValueError(f"A must be (M, d, d) and b (M, d), got {AA.shape} and {bb.shape}")
    if np.abs(AA - AA.transpose(0, 2, 1)).max(initial=0.0) > 1e-12 * max(1.0, float(np.abs(AA).max())):
        raise ValueError("every A_i must be symmetric")
    return AA, bb


def least_squares_moments(X: npt.ArrayLike, y: npt.ArrayLike) -> tuple[Array, Array, Array]:
    """``(A, b, c)`` of the clients' least-squares losses ``L_i = ||X_i theta - y_i||^2 / (2 n_i)``; ``X`` is
    ``(M, n, d)``, ``y`` is ``(M, n)``."""
    XX, yy = _finite(X, "X", 3), _finite(y, "y", 2)
    if yy.shape != XX.shape[:2]:
        raise ValueError(f"y must have shape {XX.shape[:2]}, got {yy.shape}")
    n = XX.shape[1]
    return (np.einsum("mni,mnj->mij", XX, XX) / n, np.einsum("mni,mn->mi", XX, yy) / n,
            0.5 * (yy**2).sum(1) / n)


def weighted_optimum(A: npt.ArrayLike, b: npt.ArrayLike, w: Sequence[float | Fraction] | npt.ArrayLike) -> Array:
    """``argmin sum_i w_i L_i = (sum_i w_i A_i)^{-1} sum_i w_i b_i`` (weights normalised to sum 1)."""
    AA, bb = _check(A, b)
    ww = _weights(w, AA.shape[0])
    H = np.einsum("m,mij->ij", ww, AA)
    if np.linalg.eigvalsh(H).min() <= 0:
        raise ValueError("sum_i w_i A_i must be positive definite (the weighted optimum must be unique)")
    return np.linalg.solve(H, ww @ bb)


def quadratic_losses(A: npt.ArrayLike, b: npt.ArrayLike, c: npt.ArrayLike, theta: npt.ArrayLike) -> Array:
    """``L_i(theta)`` for every client; ``theta`` is ``(d,)`` or ``(R, d)`` (then the result is ``(R, M)``)."""
    AA, bb = _check(A, b)
    cc = _finite(c, "c", 1)
    th = np.asarray(theta, dtype=np.float64)
    return 0.5 * np.einsum("...i,mij,...j->...m", th, AA, th) - th @ bb.T + cc


def local_steps_fixed_point(A: npt.ArrayLike, b: npt.ArrayLike, w: Sequence[float | Fraction] | npt.ArrayLike,
                            lr: float, local_steps: int) -> Array:
    """Fixed point of ``theta <- theta - sum_i w_i eta S_i (A_i theta - b_i)`` with ``S_i = sum_{k<K}(I-eta A_i)^k``
    (``K`` full-gradient local steps of size ``eta = lr``)."""
    AA, bb = _check(A, b)
    ww = _weights(w, AA.shape[0])
    if not (np.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be finite and > 0, got {lr!r}")
    if isinstance(local_steps, bool) or not isinstance(local_steps, int) or local_steps < 1:
        raise ValueError(f"local_steps must be an integer >= 1, got {local_steps!r}")
    m, d, _ = AA.shape
    Bm = np.eye(d) - lr * AA
    S = np.zeros_like(AA)
    P = np.broadcast_to(np.eye(d), AA.shape).copy()
    for _ in range(local_steps):
        S += P
        P = P @ Bm
    H = np.einsum("m,mij,mjk->ik", ww, S, AA)
    return np.linalg.solve(H, np.einsum("m,mij,mj->i", ww, S, bb))


@dataclass(frozen=True)
class SurrogateGap:
    """Federated optimum ``theta_p``, surrogate optimum ``theta_q``, their distance and the federated excess loss."""

    theta_p: Array
    theta_q: Array
    distance: float
    excess_loss: float


def surrogate_gap(A: npt.ArrayLike, b: npt.ArrayLike, p: Sequence[float | Fraction] | npt.ArrayLike,
                  q: Sequence[float | Fraction] | npt.ArrayLike) -> SurrogateGap:
    """``||theta_q - theta_p||`` and ``L^p(theta_q) - L^p(theta_p) = 1/2 (theta_q-theta_p)^T A_p (theta_q-theta_p)``."""
    AA, bb = _check(A, b)
    tp, tq = weighted_optimum(AA, bb, p), weighted_optimum(AA, bb, q)
    Hp = np.einsum("m,mij->ij", _weights(p, AA.shape[0]), AA)
    e = tq - tp
    return SurrogateGap(tp, tq, float(np.linalg.norm(e)), float(0.5 * e @ Hp @ e))
