"""Gradient-flow limits of D-SGD on the tilted quartic saddle (numpy/scipy, float64).

Model (PAPERS.md, dsgd): f(x) = x_1^4/4 - x_1^2/2 + sum_{i>=2} x_i^2/2, saddle at 0, minima (+-1, 0, ...). Agent n
holds f_n(x) = w f(x) + c_n^T x + w lam max(0, |x_2| - 1) (tilts c_n, an optional kink at |x_2| = 1 away from the
saddle); the network objective is F = sum_n f_n. With sum_n c_n = 0 and w = 1/N, F = f (+ kink).

Network average: xbar_{k+1} = xbar_k - (alpha_k / N) sum_n (grad f_n(x_n) + xi_n). Along consensus the average is an
asymptotic pseudo-trajectory of the flow (ODE time t_k = sum_{j<=k} alpha_j)
    dx/dt = -(1/N) grad F(x).                                                            (F)
Outside the theorem with alpha_k / beta_k -> r^-1 constant (tau_beta = tau_alpha), the agents instead follow the
distributed flow dx_n/dt = -r (L x)_n - grad f_n(x_n), whose rest points are not consensual and whose average is not a
critical point of F (:func:`penalized_rest_point`). On a disconnected graph each component C tracks the flow of its
own partial sum F_C = sum_{n in C} f_n (:func:`tilted_quartic_critical_points`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
from scipy.integrate import solve_ivp
from scipy.optimize import root

Array = npt.NDArray[np.float64]


def quartic_saddle_grad(x: npt.ArrayLike, kink: float = 0.0) -> Array:
    """grad f(x) = (x_1^3 - x_1, x_2, ..., x_d) (+ kink sign(x_2) 1{|x_2| > 1} e_2, a Clarke subgradient; 0 at the
    kink itself); x has shape (..., d) with d >= 2."""
    xx = np.asarray(x, dtype=np.float64)
    if xx.shape[-1] < 2:
        raise ValueError(f"x must have last dimension d >= 2, got {xx.shape}")
    g = xx.copy()
    g[..., 0] = xx[..., 0] ** 3 - xx[..., 0]
    if kink:
        g[..., 1] += kink * np.sign(xx[..., 1]) * (np.abs(xx[..., 1]) > 1.0)
    return g


def quartic_saddle_value(x: npt.ArrayLike, kink: float = 0.0) -> Array:
    """f(x) = x_1^4/4 - x_1^2/2 + sum_{i>=2} x_i^2/2 (+ kink max(0, |x_2| - 1))."""
    xx = np.asarray(x, dtype=np.float64)
    v = xx[..., 0] ** 4 / 4 - xx[..., 0] ** 2 / 2 + (xx[..., 1:] ** 2).sum(axis=-1) / 2
    return v + kink * np.maximum(0.0, np.abs(xx[..., 1]) - 1.0)


def network_grad(x: npt.ArrayLike, weight: float, tilts: npt.ArrayLike, kink: float = 0.0) -> Array:
    """grad F(x) = N w grad f(x) + sum_n c_n for F = sum_n f_n at a common point x (shape (..., d))."""
    t = np.asarray(tilts, dtype=np.float64)
    return t.shape[0] * weight * quartic_saddle_grad(x, kink) + t.sum(axis=0)


def average_flow(
    grad_F: Callable[[Array], Array],
    x0: npt.ArrayLike,
    t_eval: npt.ArrayLike,
    n_agents: int,
    *,
    rtol: float = 1e-10,
    atol: float = 1e-12,
) -> Array:
    """Solve (F): dx/dt = -(1/N) grad F(x), x(0) = x0, with scipy's solve_ivp (DOP853); returns x(t_eval), shape
    (len(t_eval), d). ``t_eval`` must be nondecreasing and start at >= 0."""
    if n_agents < 1:
        raise ValueError(f"n_agents must be >= 1, got {n_agents}")
    te = np.asarray(t_eval, dtype=np.float64)
    if te.ndim != 1 or te.size == 0 or te[0] < 0 or np.any(np.diff(te) < 0):
        raise ValueError("t_eval must be a nonempty nondecreasing 1-D array with t_eval[0] >= 0")
    y0 = np.asarray(x0, dtype=np.float64)
    sol = solve_ivp(
        lambda _t, y: -grad_F(y) / n_agents, (0.0, float(te[-1])), y0, method="DOP853", t_eval=te, rtol=rtol, atol=atol
    )
    if not sol.success:
        raise RuntimeError(f"solve_ivp failed: {sol.message}")
    return np.asarray(sol.y.T)


def tilted_quartic_critical_points(weight_total: float, tilt: npt.ArrayLike) -> list[tuple[Array, str]]:
    """Critical points of W f(x) + s^T x (smooth quartic, no kink): x_1^3 - x_1 = -s_1 / W, x_i = -s_i / W (i >= 2).

    Real roots of the cubic by numpy.roots; each point labelled 'min' (f''(x_1) = 3 x_1^2 - 1 > 0) or 'saddle'.
    """
    s = np.asarray(tilt, dtype=np.float64)
    if weight_total <= 0:
        raise ValueError(f"weight_total must be > 0, got {weight_total}")
    roots = np.roots([1.0, 0.0, -1.0, s[0] / weight_total])
    real = sorted({float(np.round(r.real, 14)) for r in roots if abs(r.imag) < 1e-9})
    out: list[tuple[Array, str]] = []
    for r1 in real:
        p = -s / weight_total
        p[0] = r1
        out.append((p, "min" if 3 * r1 * r1 - 1 > 0 else "saddle"))
    return out


def penalized_rest_point(
    lap: npt.ArrayLike,
    weight: float,
    tilts: npt.ArrayLike,
    ratio: float,
    x0: npt.ArrayLike,
    *,
    t_max: float = 200.0,
    kink: float = 0.0,
) -> Array:
    """Rest point of the distributed flow dx_n/dt = -ratio (L x)_n - grad f_n(x_n) reached from X(0) = x0 (N x d).

    This is where D-SGD goes when alpha_k / beta_k -> 1 / ratio (tau_beta = tau_alpha, outside the theorem):
    the critical points of sum_n f_n(x_n) + (ratio / 2) tr(X^T L X). Integrated with solve_ivp to t_max, then
    polished by scipy.optimize.root (residual < 1e-12).
    """
    lap_ = np.asarray(lap, dtype=np.float64)
    t = np.asarray(tilts, dtype=np.float64)
    n, d = t.shape
    if ratio <= 0:
        raise ValueError(f"ratio must be > 0, got {ratio}")

    def rhs(y: Array) -> Array:
        xx = y.reshape(n, d)
        return (-(ratio * lap_ @ xx) - weight * quartic_saddle_grad(xx, kink) - t).ravel()

    start = np.broadcast_to(np.asarray(x0, dtype=np.float64), (n, d)).ravel().copy()
    sol = solve_ivp(lambda _t, y: rhs(y), (0.0, t_max), start, method="DOP853", rtol=1e-10, atol=1e-12)
    if not sol.success:
        raise RuntimeError(f"solve_ivp failed: {sol.message}")
    y = sol.y[:, -1]
    # hybr may report 'xtol too small' at machine precision: judge the polish by its residual
    res = root(lambda z: rhs(z), y, tol=1e-14)
    if np.max(np.abs(rhs(res.x))) < np.max(np.abs(rhs(y))) and np.max(np.abs(res.x - y)) < 1e-3:
        y = res.x
    return np.asarray(y).reshape(n, d)
