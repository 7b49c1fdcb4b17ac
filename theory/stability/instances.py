"""Random instances for the stability setting: stacks of PSD sample Hessians of a given rank.

    H_i = s_i A_i A_i^T,   A_i in R^{d x r} with iid N(0, 1) entries,   s_i = u_i^2,  u_i ~ U[0.2, 1.5],

so every H_i is PSD of rank min(r, d) almost surely, not diagonal in any common basis, and the scales differ per sample.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]


def random_psd_hessians(rng: np.random.Generator, n: int, d: int, rank: int) -> Array:
    """(n, d, d) stack H_i = A_i A_i^T with A_i = u_i G_i, G_i (d x rank) standard normal, u_i ~ U[0.2, 1.5]."""
    for name, v, lo, hi in (("n", n, 1, 1 << 20), ("d", d, 1, 4096), ("rank", rank, 1, d)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not lo <= v <= hi:
            raise ValueError(f"{name} must be an integer in [{lo}, {hi}], got {v!r}")
    a = rng.normal(size=(n, d, rank)) * rng.uniform(0.2, 1.5, size=(n, 1, 1))
    return np.asarray(np.einsum("nir,njr->nij", a, a), dtype=np.float64)


def mixed_rank_hessians(rng: np.random.Generator, n: int, d: int) -> Array:
    """(n, d, d) stack whose H_i have ranks cycling through 1..d (H_i = A_i A_i^T, A_i (d x r_i) as above), so one
    instance mixes rank-one and full-rank samples and is diagonal in no common basis."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= n <= 1 << 20:
        raise ValueError(f"n must be an integer in [1, {1 << 20}], got {n!r}")
    if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or not 1 <= d <= 4096:
        raise ValueError(f"d must be an integer in [1, 4096], got {d!r}")
    out = np.zeros((n, d, d))
    for i in range(n):
        out[i] = random_psd_hessians(rng, 1, d, 1 + i % d)[0]
    return out


def random_instance(rng: np.random.Generator, n_max: int, d_max: int) -> tuple[int, int, int, Array]:
    """One random instance: n ~ U{2..n_max}, d ~ U{1..d_max}, rank ~ U{1..d}, then :func:`random_psd_hessians`
    (drawn in that order from ``rng``). Returns (n, d, rank, hessians)."""
    for name, v, lo in (("n_max", n_max, 2), ("d_max", d_max, 1)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not lo <= v <= 4096:
            raise ValueError(f"{name} must be an integer in [{lo}, 4096], got {v!r}")
    n, d = int(rng.integers(2, n_max + 1)), int(rng.integers(1, d_max + 1))
    rank = int(rng.integers(1, d + 1))
    return n, d, rank, random_psd_hessians(rng, n, d, rank)
