"""Consensus error of distributed gradient methods on a graph (float64, numpy).

Stack the agents' states as X (N x d) and write J = 1 1^T / N. For D-SGD
    X_{k+1} = X_k - beta_k L X_k - alpha_k (G(X_k) + Xi_k),          G_n(X) = grad f_n(x_n),
the disagreement Y = (I - J) X obeys Y_{k+1} = (I - beta_k L) Y_k - alpha_k (I - J)(G + Xi). When the local gradients
differ by constant tilts, f_n = w f + c_n^T x with sum_n c_n = 0, then near consensus (I - J) G ~ c and the
quasi-static balance beta_k L Y = -alpha_k c gives the prediction
    Y_k ~ -(alpha_k / beta_k) (L^+ c),        ||Y_k||_F ~ (alpha_k / beta_k) ||(L^+ kron I_d) c||,          (P)
which is exact to first order in alpha_k / beta_k and in the drift of alpha_k / beta_k per step.

For a quadratic common part (w f(x) = x^T H x / 2) the disagreement dynamics are exactly linear; in the joint
eigenbasis L u_i = lambda_i u_i, H v_j = eta_j v_j each coordinate z_ij = u_i^T Y v_j satisfies
    z_{k+1} = (1 - beta_k lambda_i - alpha_k eta_j) z_k - alpha_k (u_i^T c v_j) - alpha_k xi_ij,
with xi_ij ~ (0, sigma^2) independent under isotropic noise, so mean and variance follow exact recursions
(:func:`disagreement_moments`).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]


def _check_lap(lap: npt.ArrayLike) -> Array:
    m = np.asarray(lap, dtype=np.float64)
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise ValueError(f"lap must be a square matrix, got shape {m.shape}")
    if np.max(np.abs(m - m.T), initial=0.0) > 1e-12 * max(1.0, float(np.abs(m).max(initial=0.0))):
        raise ValueError("lap must be symmetric (Laplacian of an undirected graph)")
    if np.max(np.abs(m.sum(axis=1)), initial=0.0) > 1e-10 * max(1.0, float(np.abs(m).max(initial=0.0))):
        raise ValueError("lap must have zero row sums (a graph Laplacian, L 1 = 0)")
    return m


def _check_tilts(c: npt.ArrayLike, n: int) -> Array:
    t = np.asarray(c, dtype=np.float64)
    if t.ndim != 2 or t.shape[0] != n:
        raise ValueError(f"c must have shape (N={n}, d), got {t.shape}")
    return t


def disagreement(x: npt.ArrayLike) -> Array:
    """||(I - J) X||_F over the agent axis (-2) and dimension axis (-1): sqrt(sum_n ||x_n - xbar||^2)."""
    xx = np.asarray(x, dtype=np.float64)
    return np.sqrt(((xx - xx.mean(axis=-2, keepdims=True)) ** 2).sum(axis=(-2, -1)))


def pinv_tilt_norm(lap: npt.ArrayLike, c: npt.ArrayLike) -> float:
    """||(L^+ kron I_d) c||_F with L^+ the Moore-Penrose pseudo-inverse (only the component of c orthogonal to
    the consensus subspace matters; c's common mean is removed first, as (I - J) does)."""
    m = _check_lap(lap)
    t = _check_tilts(c, m.shape[0])
    t = t - t.mean(axis=0, keepdims=True)
    return float(np.linalg.norm(np.linalg.pinv(m, hermitian=True) @ t))


def consensus_error_prediction(
    alpha: npt.ArrayLike, beta: npt.ArrayLike, lap: npt.ArrayLike, c: npt.ArrayLike
) -> Array:
    """Prediction (P): ||Y_k|| ~ (alpha_k / beta_k) ||(L^+ kron I) c|| (broadcast over arrays of steps)."""
    a, b = np.asarray(alpha, dtype=np.float64), np.asarray(beta, dtype=np.float64)
    if np.any(b <= 0) or np.any(a < 0):
        raise ValueError("alpha must be >= 0 and beta must be > 0")
    return (a / b) * pinv_tilt_norm(lap, c)


def disagreement_moments(
    lap: npt.ArrayLike,
    c: npt.ArrayLike,
    hess: npt.ArrayLike,
    alphas: npt.ArrayLike,
    betas: npt.ArrayLike,
    sigma: float,
    y0: npt.ArrayLike | None = None,
) -> tuple[Array, Array]:
    """Exact E||Y_k||_F^2 and ||E Y_k||_F for k = 0..K for f_n(x) = x^T H x / 2 + c_n^T x with isotropic noise.

    ``alphas``/``betas`` hold alpha_k, beta_k for k = 1..K (the step producing Y_k). Mode recursions (see module
    docstring): m_{k} = r_k m_{k-1} - alpha_k c_ij, v_k = r_k^2 v_{k-1} + alpha_k^2 sigma^2, r_k = 1 - beta_k lambda_i
    - alpha_k eta_j, for every Laplacian mode i except the consensus mode (one per connected component).
    Returns (E||Y||^2, ||E Y||), each of length K + 1.
    """
    m = _check_lap(lap)
    n = m.shape[0]
    t = _check_tilts(c, n)
    h = np.asarray(hess, dtype=np.float64)
    d = t.shape[1]
    if h.shape != (d, d) or np.max(np.abs(h - h.T)) > 1e-12:
        raise ValueError(f"hess must be a symmetric ({d}, {d}) matrix, got shape {h.shape}")
    if sigma < 0:
        raise ValueError(f"sigma must be >= 0, got {sigma}")
    a = np.asarray(alphas, dtype=np.float64)
    b = np.asarray(betas, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError("alphas and betas must be 1-D arrays of the same length")
    lam, u = np.linalg.eigh(m)
    eta, v = np.linalg.eigh(h)
    keep = lam > 1e-10 * max(1.0, lam[-1])  # disagreement modes (drop the kernel: consensus within each component)
    lam, u = lam[keep], u[:, keep]
    cz = u.T @ t @ v  # (modes, d)
    mean = np.zeros_like(cz) if y0 is None else u.T @ np.asarray(y0, dtype=np.float64) @ v
    var = np.zeros_like(cz)
    e2 = np.empty(a.size + 1)
    nm = np.empty(a.size + 1)
    e2[0] = float((mean**2).sum())
    nm[0] = float(np.sqrt(e2[0]))
    for k in range(a.size):
        r = 1.0 - b[k] * lam[:, None] - a[k] * eta[None, :]
        mean = r * mean - a[k] * cz
        var = r * r * var + (a[k] * sigma) ** 2
        s = float((mean**2).sum())
        e2[k + 1] = s + float(var.sum())
        nm[k + 1] = np.sqrt(s)
    return e2, nm
