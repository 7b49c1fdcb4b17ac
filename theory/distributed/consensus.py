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

import math

import numpy as np
import numpy.typing as npt

from theory.distributed._checks import check_laplacian as _check_lap
from theory.distributed._checks import finite_array, integer, number

Array = npt.NDArray[np.float64]


def _check_tilts(c: npt.ArrayLike, n: int, name: str = "c") -> Array:
    t = finite_array(c, name)
    if t.ndim != 2 or t.shape[0] != n:
        raise ValueError(f"{name} must have shape (N={n}, d), got {t.shape}")
    return t


def disagreement(x: npt.ArrayLike) -> Array:
    """||(I - J) X||_F over the agent axis (-2) and dimension axis (-1): sqrt(sum_n ||x_n - xbar||^2).

    ``x`` has shape (..., N, d) with N >= 1; NaN entries propagate (a diverged run gives NaN, never 0)."""
    xx = np.asarray(x, dtype=np.float64)
    if xx.ndim < 2 or xx.shape[-2] < 1:
        raise ValueError(f"x must have shape (..., N, d) with N >= 1 agents, got {xx.shape}")
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
    a, b = finite_array(alpha, "alpha"), finite_array(beta, "beta")
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
    h = finite_array(hess, "hess")
    d = t.shape[1]
    if h.shape != (d, d) or np.max(np.abs(h - h.T)) > 1e-12:
        raise ValueError(f"hess must be a symmetric ({d}, {d}) matrix, got shape {h.shape}")
    sigma = number(sigma, "sigma", lo=0.0)
    a = finite_array(alphas, "alphas")
    b = finite_array(betas, "betas")
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError("alphas and betas must be 1-D arrays of the same length")
    if np.any(a < 0) or np.any(b < 0):
        raise ValueError("alphas and betas must be >= 0")
    if a.size > 10**8:
        raise ValueError(f"alphas must hold at most 1e8 steps, got {a.size}")
    lam, u = np.linalg.eigh(m)
    eta, v = np.linalg.eigh(h)
    keep = lam > 1e-10 * max(1.0, lam[-1])  # disagreement modes (drop the kernel: consensus within each component)
    lam, u = lam[keep], u[:, keep]
    cz = u.T @ t @ v  # (modes, d)
    mean = np.zeros_like(cz)
    if y0 is not None:
        y0a = finite_array(y0, "y0")
        if y0a.shape != t.shape:
            raise ValueError(f"y0 must have shape {t.shape}, got {y0a.shape}")
        mean = u.T @ y0a @ v
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


def consensus_bias_gradient(
    lap: npt.ArrayLike, grads: npt.ArrayLike, hessians: npt.ArrayLike, alpha: float, beta: float
) -> Array:
    """The gradient of F left at the network average by the quasi-static disagreement (first order in alpha/beta).

    With Y ~ -(alpha/beta) L^+ (I - J) G (G: rows grad f_n(xbar), N x d) the average's drift
    (1/N) sum_n grad f_n(x_n) ~ (1/N) (grad F(xbar) + sum_n H_n y_n) vanishes where
        grad F(xbar) = b = (alpha / beta) sum_n H_n [L^+ (I - J) G]_n,       H_n = Hessian of f_n at xbar.
    ``grads`` (N, d), ``hessians`` (N, d, d); returns b (d,)."""
    m = _check_lap(lap)
    n = m.shape[0]
    g = _check_tilts(grads, n, "grads")
    d = g.shape[1]
    h = finite_array(hessians, "hessians")
    if h.shape != (n, d, d):
        raise ValueError(f"hessians must have shape (N, d, d) = ({n}, {d}, {d}), got {h.shape}")
    a = number(alpha, "alpha", lo=0.0)
    b = number(beta, "beta", lo=0.0, lo_open=True)
    y = np.linalg.pinv(m, hermitian=True) @ (g - g.mean(axis=0, keepdims=True))
    return np.asarray((a / b) * np.einsum("nij,nj->i", h, y))


def noise_floor_sq(alphas: npt.ArrayLike, sigma: float, n_agents: int, hess_eigvals: npt.ArrayLike) -> float:
    """E||grad F(xbar_K)||^2 from the gradient noise alone, for the average linearised at a critical point.

    The average obeys e_k = (I - alpha_k A) e_{k-1} - alpha_k zeta_k with A = H_F / N and zeta ~ N(0, sigma^2 I / N)
    (the mean of N isotropic noises); in the eigenbasis of H_F (eigenvalues l_i, a_i = l_i / N) each mode's
    variance is exactly v_K = (sigma^2 / N) sum_{j<=K} alpha_j^2 prod_{j<m<=K} (1 - alpha_m a_i)^2 from v_0 = 0, and
    E||grad F||^2 = sum_i l_i^2 v_{i,K}. For slowly varying alpha this tends to the quasi-static alpha_K sigma^2
    tr(H_F) / 2; the exact sum keeps the memory of the early, larger steps (slow modes). ``alphas`` (K,) are
    alpha_1..alpha_K; evaluated in logs (no underflow)."""
    a = finite_array(alphas, "alphas", ndim=1)
    if a.size == 0 or np.any(a <= 0):
        raise ValueError("alphas must be a nonempty 1-D array of step sizes > 0")
    if a.size > 10**8:
        raise ValueError(f"alphas must hold at most 1e8 steps, got {a.size}")
    s = number(sigma, "sigma", lo=0.0)
    n = integer(n_agents, "n_agents", lo=1)
    lam = finite_array(hess_eigvals, "hess_eigvals", ndim=1)
    if s == 0.0:
        return 0.0
    total = 0.0
    for li in lam:
        if li == 0.0:
            continue
        r = np.abs(1.0 - a * (li / n))
        if np.any(r == 0.0):  # a step that kills the mode exactly: only later noise remains
            last = int(np.flatnonzero(r == 0.0)[-1])
            a_, r_ = a[last:], r[last:]
            r_ = r_.copy()
            r_[0] = 1.0
            a_ = a_.copy()
            a_[0] = 0.0
        else:
            a_, r_ = a, r
        logr = np.log(r_)
        # sum_j alpha_j^2 prod_{m>j} r_m^2 = sum_j exp(2 log alpha_j + 2 (S_K - S_j)),  S_j = sum_{m<=j} log r_m
        cs = np.cumsum(logr)
        with np.errstate(divide="ignore"):
            terms = 2.0 * np.log(np.where(a_ > 0, a_, 1.0)) + 2.0 * (cs[-1] - cs)
        terms = np.where(a_ > 0, terms, -np.inf)
        mx = float(np.max(terms))
        v = (s * s / n) * math.exp(mx) * float(np.sum(np.exp(terms - mx)))
        total += float(li * li * v)
    return total
