"""Directional sharpness and the second-order model along an update direction (Pan & Li 2023), exactly, for
separable quadratics f(x) = 1/2 sum_i h_i x_i^2 (H = diag(h), gradient g = h * x).

- directional sharpness of a direction u: S(u) = u^T H u / ||u||^2;
- second-order model along v = u / ||u||: f(x - eta v) = f(x) - eta <g, v> + eta^2 v^T H v / 2, minimised at
  eta* = <g, v> / (v^T H v) with decrease <g, v>^2 / (2 v^T H v) (exact for a quadratic; v^T H v > 0 required);
- global top-fraction clipping of a vector: k = floor(c n), tau the (k+1)-th largest |g_i|, g_i <- sign(g_i) min(|g_i|,
  tau) (the numpy twin of sims.optim.clip).

The paper's synthetic check: n = 10^4 coordinates, a fraction 1% with h = 1000 and x ~ N(0, 0.05^2), the rest
h ~ U[0.5, 1.5] and x ~ N(0, 1); directions of SGD (g), clipped SGD (clip_c(g)) and sign descent (sign(g)).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]


def _vec(name: str, a: npt.ArrayLike) -> Array:
    v = np.asarray(a, dtype=np.float64)
    if v.ndim != 1 or v.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-d array, got shape {v.shape}")
    if not np.all(np.isfinite(v)):
        raise ValueError(f"{name} must be finite")
    return v


def clip_top_fraction(g: npt.ArrayLike, c: float) -> Array:
    """sign(g) min(|g|, tau) with tau the (floor(c n) + 1)-th largest |g_i|; c in [0, 1); c = 0 gives g."""
    v = _vec("g", g)
    if isinstance(c, bool) or not isinstance(c, (int, float)) or not 0.0 <= c < 1.0:
        raise ValueError(f"c must be a number in [0, 1), got {c!r}")
    k = math.floor(c * v.size)
    if k == 0:
        return v.copy()
    tau = np.partition(np.abs(v), v.size - k - 1)[v.size - k - 1]
    return np.clip(v, -tau, tau)


def directional_sharpness(u: npt.ArrayLike, h: npt.ArrayLike) -> float:
    """S(u) = sum h_i u_i^2 / sum u_i^2 for H = diag(h) (u != 0)."""
    uu, hh = _vec("u", u), _vec("h", h)
    if uu.shape != hh.shape:
        raise ValueError(f"u and h must have the same shape, got {uu.shape} and {hh.shape}")
    nu = float(uu @ uu)
    if nu == 0.0:
        raise ValueError("u must not be the zero vector")
    return float((hh * uu) @ uu) / nu


def best_decrease(g: npt.ArrayLike, u: npt.ArrayLike, h: npt.ArrayLike) -> tuple[float, float]:
    """(eta*, decrease) of the quadratic model along v = u/||u||: eta* = <g, v>/(v^T H v), decrease
    <g, v>^2 / (2 v^T H v). Raises when v^T H v <= 0 (no finite best step)."""
    gg, uu, hh = _vec("g", g), _vec("u", u), _vec("h", h)
    if not (gg.shape == uu.shape == hh.shape):
        raise ValueError(f"g, u, h must have the same shape, got {gg.shape}, {uu.shape}, {hh.shape}")
    nu = math.sqrt(float(uu @ uu))
    if nu == 0.0:
        raise ValueError("u must not be the zero vector")
    v = uu / nu
    curv = float((hh * v) @ v)
    if curv <= 0.0:
        raise ValueError(f"v^T H v must be > 0 for a best step, got {curv}")
    gv = float(gg @ v)
    return gv / curv, gv * gv / (2.0 * curv)


def synthetic_quadratic(rng: np.random.Generator, n: int = 10_000, frac: float = 0.01, h_big: float = 1000.0,
                        x_big_std: float = 0.05) -> tuple[Array, Array]:  # fmt: skip
    """(h, x): the first round(frac n) coordinates have h = h_big, x ~ N(0, x_big_std^2); the rest h ~ U[0.5, 1.5],
    x ~ N(0, 1)."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 2:
        raise ValueError(f"n must be an integer >= 2, got {n!r}")
    if not 0.0 < frac < 1.0:
        raise ValueError(f"frac must be in (0, 1), got {frac!r}")
    if not (h_big > 0 and math.isfinite(h_big)) or not (x_big_std > 0 and math.isfinite(x_big_std)):
        raise ValueError(f"h_big and x_big_std must be finite and > 0, got {h_big!r}, {x_big_std!r}")
    k = max(1, round(frac * n))
    h = np.concatenate([np.full(k, float(h_big)), rng.uniform(0.5, 1.5, n - k)])
    x = np.concatenate([rng.normal(0.0, x_big_std, k), rng.normal(0.0, 1.0, n - k)])
    return h, x
