"""Gradient-flow limits of D-SGD on the tilted quartic saddle (numpy/scipy, float64).

Model (PAPERS.md, dsgd): f(x) = mu (x_1^4/4 - x_1^2/2) + sum_{i>=2} x_i^2/2, saddle at 0 with unstable curvature
mu (the PAPERS.md model has mu = 1), minima (+-1, 0, ...). Agent n
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

from theory.distributed._checks import check_laplacian, finite_array, integer, number

Array = npt.NDArray[np.float64]


def _point(x: npt.ArrayLike, name: str = "x") -> Array:
    xx = finite_array(x, name)
    if xx.ndim < 1 or xx.shape[-1] < 2:
        raise ValueError(f"{name} must have last dimension d >= 2, got shape {xx.shape}")
    return xx


def quartic_saddle_grad(x: npt.ArrayLike, kink: float = 0.0, curvature: float = 1.0) -> Array:
    """grad f(x) = (mu (x_1^3 - x_1), x_2, ..., x_d) (+ kink sign(x_2) 1{|x_2| > 1} e_2, a Clarke subgradient; 0 at
    the kink itself); x has shape (..., d) with d >= 2, finite; mu = ``curvature`` > 0."""
    xx = _point(x)
    kink = number(kink, "kink", lo=0.0)
    mu = number(curvature, "curvature", lo=0.0, lo_open=True)
    g = xx.copy()
    g[..., 0] = mu * (xx[..., 0] ** 3 - xx[..., 0])
    if kink:
        g[..., 1] += kink * np.sign(xx[..., 1]) * (np.abs(xx[..., 1]) > 1.0)
    return g


def quartic_saddle_hessian(x: npt.ArrayLike, curvature: float = 1.0) -> Array:
    """Hessian of the smooth part: diag(mu (3 x_1^2 - 1), 1, ..., 1), shape (..., d, d) (the kink adds nothing off
    |x_2| = 1)."""
    xx = _point(x)
    mu = number(curvature, "curvature", lo=0.0, lo_open=True)
    d = xx.shape[-1]
    h = np.zeros((*xx.shape[:-1], d, d))
    idx = np.arange(d)
    h[..., idx, idx] = 1.0
    h[..., 0, 0] = mu * (3.0 * xx[..., 0] ** 2 - 1.0)
    return h


def quartic_saddle_value(x: npt.ArrayLike, kink: float = 0.0, curvature: float = 1.0) -> Array:
    """f(x) = mu (x_1^4/4 - x_1^2/2) + sum_{i>=2} x_i^2/2 (+ kink max(0, |x_2| - 1))."""
    xx = _point(x)
    kink = number(kink, "kink", lo=0.0)
    mu = number(curvature, "curvature", lo=0.0, lo_open=True)
    v = mu * (xx[..., 0] ** 4 / 4 - xx[..., 0] ** 2 / 2) + (xx[..., 1:] ** 2).sum(axis=-1) / 2
    return v + kink * np.maximum(0.0, np.abs(xx[..., 1]) - 1.0)


def network_grad(
    x: npt.ArrayLike, weight: float, tilts: npt.ArrayLike, kink: float = 0.0, curvature: float = 1.0
) -> Array:
    """grad F(x) = N w grad f(x) + sum_n c_n for F = sum_n f_n at a common point x (shape (..., d))."""
    t = finite_array(tilts, "tilts", ndim=2)
    weight = number(weight, "weight", lo=0.0, lo_open=True)
    g = quartic_saddle_grad(x, kink, curvature)
    if g.shape[-1] != t.shape[1]:
        raise ValueError(f"x has dimension {g.shape[-1]} but tilts have d = {t.shape[1]}")
    return t.shape[0] * weight * g + t.sum(axis=0)


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
    (len(t_eval), d). ``t_eval`` must be finite, nondecreasing and start at >= 0; ``rtol`` in [1e-14, 1),
    ``atol`` in (0, 1); ``grad_F`` must map a (d,) point to a finite (d,) gradient."""
    n_agents = integer(n_agents, "n_agents", lo=1)
    rtol = number(rtol, "rtol", lo=1e-14, hi=1.0, hi_open=True)
    atol = number(atol, "atol", lo=0.0, hi=1.0, lo_open=True, hi_open=True)
    te = finite_array(t_eval, "t_eval", ndim=1)
    if te.size == 0 or te[0] < 0 or np.any(np.diff(te) < 0):
        raise ValueError("t_eval must be a nonempty nondecreasing 1-D array with t_eval[0] >= 0")
    y0 = finite_array(x0, "x0", ndim=1)
    g0 = np.asarray(grad_F(y0), dtype=np.float64)
    if g0.shape != y0.shape:
        raise ValueError(f"grad_F must return the point's shape {y0.shape}, got {g0.shape}")

    def rhs(_t: float, y: Array) -> Array:
        g = np.asarray(grad_F(y), dtype=np.float64)
        if not np.all(np.isfinite(g)):
            raise ValueError(f"grad_F returned a non-finite gradient at x = {y}")
        return -g / n_agents

    sol = solve_ivp(rhs, (0.0, float(te[-1])), y0, method="DOP853", t_eval=te, rtol=rtol, atol=atol)
    if not sol.success:
        raise RuntimeError(f"solve_ivp failed: {sol.message}")
    return np.asarray(sol.y.T)


def tilted_quartic_critical_points(
    weight_total: float, tilt: npt.ArrayLike, curvature: float = 1.0
) -> list[tuple[Array, str]]:
    """Critical points of W f(x) + s^T x (smooth quartic, no kink): mu (x_1^3 - x_1) = -s_1 / W, x_i = -s_i / W.

    Real roots of the cubic by numpy.roots; each point labelled 'min' (f''(x_1) = 3 x_1^2 - 1 > 0) or 'saddle'.
    """
    s = _point(tilt, "tilt")
    if s.ndim != 1:
        raise ValueError(f"tilt must be one vector (d,), got shape {s.shape}")
    weight_total = number(weight_total, "weight_total", lo=0.0, lo_open=True)
    mu = number(curvature, "curvature", lo=0.0, lo_open=True)
    roots = np.roots([1.0, 0.0, -1.0, s[0] / (weight_total * mu)])
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
    t = finite_array(tilts, "tilts", ndim=2)
    n, d = t.shape
    lap_ = check_laplacian(lap)
    if lap_.shape != (n, n):
        raise ValueError(f"lap must be ({n}, {n}) to match tilts, got {lap_.shape}")
    weight = number(weight, "weight", lo=0.0, lo_open=True)
    ratio = number(ratio, "ratio", lo=0.0, lo_open=True)
    t_max = number(t_max, "t_max", lo=0.0, lo_open=True, hi=1e9)
    kink = number(kink, "kink", lo=0.0)
    x0a = finite_array(x0, "x0")
    try:
        start = np.broadcast_to(x0a, (n, d)).ravel().copy()
    except ValueError:
        raise ValueError(f"x0 must broadcast to (N, d) = ({n}, {d}), got shape {x0a.shape}") from None

    def rhs(y: Array) -> Array:
        xx = y.reshape(n, d)
        return (-(ratio * lap_ @ xx) - weight * quartic_saddle_grad(xx, kink) - t).ravel()

    sol = solve_ivp(lambda _t, y: rhs(y), (0.0, t_max), start, method="DOP853", rtol=1e-10, atol=1e-12)
    if not sol.success:
        raise RuntimeError(f"solve_ivp failed: {sol.message}")
    y = sol.y[:, -1]
    # hybr may report 'xtol too small' at machine precision: judge the polish by its residual
    res = root(lambda z: rhs(z), y, tol=1e-14)
    if np.max(np.abs(rhs(res.x))) < np.max(np.abs(rhs(y))) and np.max(np.abs(res.x - y)) < 1e-3:
        y = res.x
    return np.asarray(y).reshape(n, d)
