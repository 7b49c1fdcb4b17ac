"""Small weighted fits used to read curves (float64): the vertex of a local parabola, with its standard error."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from theory.heavy_tails.checks import check_int, finite_array


def parabola_vertex(x: npt.ArrayLike, y: npt.ArrayLike, se: npt.ArrayLike, i: int,
                    half_width: int = 2) -> tuple[float, float, float, float]:  # fmt: skip
    """Weighted least-squares parabola y = c2 x^2 + c1 x + c0 through the points i - half_width .. i + half_width
    (clipped to the grid; at least 3), weights 1/se. Returns (vertex -c1/(2 c2), its se by the delta method on the fit
    covariance, c2, se of c2). The vertex is a minimum iff c2 > 0."""
    x, y, se = finite_array(x, "x", ndim=1), finite_array(y, "y", ndim=1), finite_array(se, "se", ndim=1)
    if not x.shape == y.shape == se.shape:
        raise ValueError(f"x, y and se must have the same shape, got {x.shape}, {y.shape}, {se.shape}")
    if np.any(se <= 0):
        raise ValueError("se must be > 0")
    i = check_int(i, "i", low=0, high=x.size - 1)
    half_width = check_int(half_width, "half_width", low=1)
    lo, hi = max(0, i - half_width), min(x.size, i + half_width + 1)
    if hi - lo < 3:
        raise ValueError(f"need at least 3 points around i = {i}, got {hi - lo}")
    if hi - lo == 3:
        coef = np.polyfit(x[lo:hi], y[lo:hi], 2, w=1.0 / se[lo:hi])
        # exact interpolation: covariance from the weights directly
        V = np.vander(x[lo:hi], 3) / se[lo:hi, None]
        cov = np.linalg.inv(V.T @ V)
    else:
        coef, cov = np.polyfit(x[lo:hi], y[lo:hi], 2, w=1.0 / se[lo:hi], cov="unscaled")
    a2, a1 = float(coef[0]), float(coef[1])
    if a2 == 0.0:
        return math.nan, math.nan, 0.0, float(math.sqrt(cov[0, 0]))
    v = -a1 / (2 * a2)
    grad = np.array([a1 / (2 * a2**2), -1 / (2 * a2), 0.0])
    return float(v), float(math.sqrt(max(grad @ cov @ grad, 0.0))), a2, float(math.sqrt(max(cov[0, 0], 0.0)))
