"""Nearest-neighbour averaging (NNA), batched over runs and workers (Farhadkhani et al., ICML 2023).

Honest worker ``i`` holds the pivot ``x_i`` and a set of received vectors ``{z_j}``; NNA returns

    y_i = (1 / k) sum_{j in N_k(i)} z_j,    N_k(i) = the k received vectors nearest to x_i in L2,

as a row-stochastic weight matrix applied to the received vectors (``W @ Z``), so the cost is one ``cdist`` and one
``topk`` plus an ``O(m c d)`` product, never a gather of ``k`` copies of ``d``-vectors per worker.

Two variants, named after where they come from:

- ``paper`` (the paper's Algorithm 1, byzfl.MoNNA): every honest worker receives all ``n`` vectors (its own included)
  and averages the ``k = n - f`` nearest;
- ``authors`` (LPD-EPFL/robust-collaborative-learning): a worker receives only ``n - f`` vectors (its own, and the
  first others to arrive) and averages the ``k = n - 2f`` nearest. Who arrives is an input (``received`` index sets);
  :func:`authors_received` draws the worst case in which all ``f`` Byzantine vectors arrive.
"""

from __future__ import annotations

import torch


def _check(name: str, t: torch.Tensor, ndim: int) -> None:
    if t.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dims, got shape {tuple(t.shape)}")
    if not torch.isfinite(t).all():
        raise ValueError(f"{name} must be finite (NaN/inf rejected)")


def nna_weights(pivots: torch.Tensor, candidates: torch.Tensor, k: int,
                mask: torch.Tensor | None = None, exact: bool = True) -> torch.Tensor:
    """Weights ``W`` (R, m, c) with ``W[r, i, j] = 1/k`` on the ``k`` candidates nearest to ``pivots[r, i]``.

    ``pivots`` (R, m, d), ``candidates`` (R, c, d); ``mask`` (R, m, c) bool marks the candidates worker ``i`` received
    (default: all). ``exact``: distances from differences (default; identical selections to byzfl's scipy cdist);
    ``exact=False`` uses the Gram form ``|a|^2 + |b|^2 - 2 a.b`` (BLAS, much faster for large ``d``; rounding can
    swap two candidates whose distances agree to ~1e-16 relative)."""
    _check("pivots", pivots, 3)
    _check("candidates", candidates, 3)
    R, m, d = pivots.shape
    if candidates.shape[0] != R or candidates.shape[2] != d:
        raise ValueError(f"candidates shape {tuple(candidates.shape)} does not match pivots {tuple(pivots.shape)}")
    c = candidates.shape[1]
    if not 1 <= k <= c:
        raise ValueError(f"k must be in [1, {c}] (number of candidates), got {k}")
    mode = "donot_use_mm_for_euclid_dist" if exact else "use_mm_for_euclid_dist"
    dist = torch.cdist(pivots, candidates, compute_mode=mode)
    if mask is not None:
        if mask.shape != (R, m, c) or mask.dtype != torch.bool:
            raise ValueError(f"mask must be a bool tensor of shape {(R, m, c)}")
        if int(mask.sum(-1).min()) < k:
            raise ValueError(f"every worker must receive at least k = {k} vectors")
        dist = dist.masked_fill(~mask, float("inf"))
    idx = torch.topk(dist, k, dim=-1, largest=False, sorted=False).indices
    w = torch.zeros(R, m, c, dtype=pivots.dtype, device=pivots.device)
    return w.scatter_(-1, idx, 1.0 / k)


def nna(pivots: torch.Tensor, candidates: torch.Tensor, k: int, mask: torch.Tensor | None = None,
        exact: bool = True) -> torch.Tensor:
    """NNA outputs (R, m, d): the mean of the ``k`` received candidates nearest to each pivot."""
    return torch.bmm(nna_weights(pivots, candidates, k, mask, exact), candidates)


def nna_k(n: int, f: int, variant: str) -> int:
    """Number of averaged vectors: ``n - f`` (paper) or ``n - 2f`` (authors)."""
    if not (0 <= f and 2 * f < n):
        raise ValueError(f"f must satisfy 0 <= f < n/2, got f={f}, n={n}")
    if variant == "paper":
        return n - f
    if variant == "authors":
        return n - 2 * f
    raise ValueError(f"variant must be 'paper' or 'authors', got {variant!r}")


def authors_received(R: int, n_honest: int, f: int, generator: torch.Generator,
                     device: str | torch.device = "cpu") -> torch.Tensor:
    """Received mask (R, h, h + f) of the authors' variant: worker ``i`` gets its own vector, all ``f`` Byzantine
    vectors (the adversary is fastest) and ``h - f - 1`` other honest vectors drawn uniformly (n - f in all)."""
    if not 0 <= f < n_honest:
        raise ValueError(f"f must be in [0, n_honest), got f={f}, n_honest={n_honest}")
    n_other = n_honest - f - 1
    scores = torch.rand(R, n_honest, n_honest, generator=generator, device=device)
    eye = torch.eye(n_honest, dtype=torch.bool, device=device)
    scores = scores.masked_fill(eye, 2.0)  # own vector: always first
    order = torch.argsort(scores, dim=-1, descending=True)
    keep = torch.zeros(R, n_honest, n_honest, dtype=torch.bool, device=device)
    keep.scatter_(-1, order[..., : n_other + 1], True)
    byz = torch.ones(R, n_honest, f, dtype=torch.bool, device=device)
    return torch.cat([keep, byz], dim=-1)


def nna_mix(half: torch.Tensor, byz: torch.Tensor, f: int, variant: str = "paper",
            received: torch.Tensor | None = None) -> torch.Tensor:
    """One NNA mixing step for all honest workers: ``half`` (R, h, d) honest half-steps (the pivots), ``byz``
    (R, f, d) Byzantine vectors; candidates = honest then Byzantine, ``n = h + f``. ``received`` is required for
    the authors' variant (see :func:`authors_received`)."""
    _check("half", half, 3)
    if byz.shape[:1] != half.shape[:1] or byz.shape[1] != f or byz.shape[2] != half.shape[2]:
        raise ValueError(f"byz must have shape (R, f={f}, d), got {tuple(byz.shape)}")
    n = half.shape[1] + f
    k = nna_k(n, f, variant)
    if variant == "authors" and received is None:
        raise ValueError("the authors' variant needs `received` (see authors_received)")
    return nna(half, torch.cat([half, byz], dim=1), k, received if variant == "authors" else None)
