"""Estimators of a tail index from samples: Mohammadi et al.'s block-sum estimator and Hill's estimator."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from theory.heavy_tails.checks import check_int, finite_array


def mohammadi_tail_index(x: npt.ArrayLike, k1: int | None = None) -> float:
    """Block-sum estimator of the stability index (Mohammadi, Mohammadpour, Ogata 2015; used by Simsekli et al. 2019).

    Assumes x_1..x_K iid symmetric strictly alpha-stable (then a sum of k1 of them equals k1^(1/alpha) x_1 in law).
    With K = k1 k2 (the sample is truncated to a multiple of k1) and Y_i the sum of the i-th block of k1 samples:

        1/alpha_hat = (1 / log k1) [ (1/k2) sum_i log|Y_i| - (1/K) sum_j log|x_j| ].

    Default k1 = round(sqrt(K)). Not clipped to (0, 2]. Trap: pooling Gaussian samples of unequal scales breaks the
    iid assumption and returns alpha_hat well below 2. Exact zeros (e.g. frozen diverged runs) make log|x| = -inf
    and are refused, as is a sample whose statistic is <= 0 (no stable law gives that)."""
    v = finite_array(x, "x").ravel()
    K = v.size
    if K < 4:
        raise ValueError(f"x must hold at least 4 samples, got {K}")
    if np.any(v == 0.0):
        raise ValueError(f"x holds {int(np.sum(v == 0.0))} exact zeros: log|x| is -inf (drop degenerate samples)")
    if k1 is None:
        k1 = max(2, int(round(math.sqrt(K))))
    k1 = check_int(k1, "k1", low=2, high=K // 2)
    k2 = K // k1
    v = v[: k1 * k2]
    Y = v.reshape(k2, k1).sum(axis=1)
    if np.any(Y == 0.0):
        raise ValueError("a block sum is exactly zero: log|Y| is -inf (degenerate sample)")
    inv = (np.mean(np.log(np.abs(Y))) - np.mean(np.log(np.abs(v)))) / math.log(k1)
    if not inv > 0:
        raise ValueError(f"the block-sum statistic 1/alpha_hat = {inv:.4g} is <= 0: x is not a stable sample")
    return float(1.0 / inv)


def hill_tail_index(x: npt.ArrayLike, k: int) -> tuple[float, float]:
    """Hill's estimator from the k largest |x|: 1/alpha_hat = (1/k) sum_{i<=k} log(|x|_(i) / |x|_(k+1)).

    Assumes iid samples with a regularly varying tail P(|x| > t) = t^(-alpha) L(t). Returns (alpha_hat, se) with the
    asymptotic standard error alpha_hat / sqrt(k) (exact Pareto tail; the bias from L is not included)."""
    v = np.abs(finite_array(x, "x").ravel())
    if v.size < 3:
        raise ValueError(f"x must hold at least 3 samples, got {v.size}")
    k = check_int(k, "k", low=2, high=v.size - 1)
    top = np.sort(v)[::-1][: k + 1]
    if top[k] <= 0:
        raise ValueError("the (k+1)-th largest |x| is zero: choose a smaller k")
    inv = float(np.mean(np.log(top[:k] / top[k])))
    if not inv > 0:
        raise ValueError("the k + 1 largest |x| are all equal: no tail to estimate")
    a = 1.0 / inv
    return a, a / math.sqrt(k)
