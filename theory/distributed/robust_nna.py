"""The robustness coefficient of nearest-neighbour averaging (NNA), measured on given vectors (numpy, float64).

Definitions (what the suite checked, docs/monna.md):

- the MoNNA paper (Farhadkhani et al., ICML 2023, arXiv 2209.10931) analyses NNA through an *(alpha, lambda)-
  reduction* (abstract: "we introduce the mixing criterion of (alpha, lambda)-reduction"): with honest inputs
  ``x_i``, ``i in H``, outputs ``y_i``, ``xbar = mean_H x``, ``ybar = mean_H y`` and ``V = mean_H ||x_i - xbar||^2``,
  the mixing contracts the honest spread, ``mean_H ||y_i - ybar||^2 <= alpha V``, and moves the honest average by
  at most ``||ybar - xbar||^2 <= lambda V``;
- the *(f, kappa)-robustness* of an aggregation (Allouah et al., AISTATS 2023, "Fixing by mixing"), applied to NNA as
  a per-worker aggregator, is ``mean_H ||y_i - xbar||^2 <= kappa V``; that paper bounds NNA (there: NNM) by
  ``kappa <= 8 f / (n - f)`` (recalled, not re-derived here). Since ``mean_H ||y_i - xbar||^2 = alpha_emp V +
  lambda_emp V`` the measured kappa is the sum of the two measured reduction ratios.

The measured coefficients are lower bounds on the true worst case (a sup over all Byzantine vectors): the adversary
here searches placements along a few directions and scales (:func:`worst_case_ratios`).
"""

from __future__ import annotations

import numpy as np

from ._checks import Array, integer


def _matrix(x: object, name: str) -> Array:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (count, d), got shape {a.shape}")
    if not np.isfinite(a).all():
        raise ValueError(f"{name} must be finite (NaN/inf rejected)")
    return a


def nna_outputs(honest: Array, byz: Array, k: int) -> Array:
    """``y_i`` = mean of the ``k`` vectors of ``honest ∪ byz`` nearest to ``honest[i]`` (ties: lower index)."""
    h_ = _matrix(honest, "honest")
    b_ = _matrix(byz, "byz") if np.size(byz) else np.zeros((0, h_.shape[1]))
    z = np.concatenate([h_, b_])
    k = integer(k, "k", lo=1, hi=len(z))
    d2 = ((h_[:, None, :] - z[None, :, :]) ** 2).sum(-1)
    idx = np.argsort(d2, axis=1, kind="stable")[:, :k]
    return z[idx].mean(axis=1)


def reduction_ratios(honest: Array, byz: Array, f: int) -> dict[str, float]:
    """``alpha``, ``lambda`` and ``kappa = alpha + lambda`` measured for the paper's NNA (``k = n - f``), plus
    ``kappa_max = max_i ||y_i - xbar||^2 / V`` (the worst single honest worker)."""
    h_ = _matrix(honest, "honest")
    n = len(h_) + (0 if not np.size(byz) else len(np.atleast_2d(byz)))
    f = integer(f, "f", lo=0, hi=(n - 1) // 2)
    y = nna_outputs(h_, byz, n - f)
    xbar = h_.mean(0)
    V = float(((h_ - xbar) ** 2).sum(-1).mean())
    if V <= 0:
        raise ValueError("the honest vectors must not all coincide (V = 0)")
    ybar = y.mean(0)
    dev = ((y - xbar) ** 2).sum(-1)
    return {"alpha": float(((y - ybar) ** 2).sum(-1).mean() / V), "lambda": float(((ybar - xbar) ** 2).sum() / V),
            "kappa": float(dev.mean() / V), "kappa_max": float(dev.max() / V)}


def nnm_bound(n: int, f: int) -> float:
    """``8 f / (n - f)``: the (f, kappa) bound for nearest-neighbour mixing (Allouah et al. 2023)."""
    n = integer(n, "n", lo=1)
    f = integer(f, "f", lo=0, hi=(n - 1) // 2)
    return 8.0 * f / (n - f)


def worst_case_ratios(honest: Array, f: int, rng: np.random.Generator, n_dirs: int = 8,
                      scales: Array | None = None) -> dict[str, float]:
    """Max over a search of Byzantine placements of each ratio of :func:`reduction_ratios`. Placements (all ``f``
    Byzantine vectors equal): ``xbar + c s u`` and ``x_j + c s u`` for the honest point ``x_j`` farthest from
    ``xbar``, with ``s = sqrt(V)``, ``u`` the top principal direction, the direction to ``x_j`` and ``n_dirs`` random
    unit directions, ``c`` over ``scales`` (default a log grid 0.01..30 and 0)."""
    h_ = _matrix(honest, "honest")
    f = integer(f, "f", lo=1, hi=len(h_) - 1)
    xbar = h_.mean(0)
    cen = h_ - xbar
    V = float((cen ** 2).sum(-1).mean())
    s = np.sqrt(V)
    cs = np.concatenate([[0.0], np.geomspace(0.01, 30, 25)]) if scales is None else np.asarray(scales, float)
    j = int(np.argmax((cen ** 2).sum(-1)))
    dirs = [np.linalg.svd(cen, full_matrices=False)[2][0], cen[j] / np.linalg.norm(cen[j])]
    for _ in range(n_dirs):
        u = rng.normal(size=h_.shape[1])
        dirs.append(u / np.linalg.norm(u))
    best = {"alpha": 0.0, "lambda": 0.0, "kappa": 0.0, "kappa_max": 0.0}
    for u in dirs:
        for sign in (1.0, -1.0):
            for c in cs:
                for base in (xbar, h_[j]):
                    b = np.repeat((base + sign * c * s * u)[None], f, axis=0)
                    r = reduction_ratios(h_, b, f)
                    for key in best:
                        best[key] = max(best[key], r[key])
    return best
