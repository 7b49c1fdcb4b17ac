"""Communication graphs for distributed optimisation: construction (networkx), Laplacians and gossip matrices.

Conventions: an undirected graph on agents ``0..N-1`` with adjacency ``A`` (symmetric, zero diagonal, nonnegative
weights); degree matrix ``D = diag(A 1)``; Laplacian ``L = D - A`` (positive semidefinite, ``L 1 = 0``). The
algebraic connectivity ``lambda_2(L)`` is positive iff the graph is connected. The consensus (gossip) step of D-SGD is
``x <- (I - beta L) x``; it contracts the disagreement iff ``0 < beta lambda_max(L) < 2``.

Matrices are returned as float64 numpy arrays (exact spectra); :func:`to_torch` moves them to a device/dtype. Reused by
the federated / collaborative settings (Metropolis gossip weights for doubly stochastic averaging);
:func:`check_laplacian` validates what the engine is given.
"""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import numpy.typing as npt
import torch

Array = npt.NDArray[np.float64]

GRAPH_KINDS: tuple[str, ...] = ("ring", "grid", "erdos_renyi", "complete", "path", "star", "disconnected")


def _check_n(n: int, minimum: int = 1, name: str = "n", maximum: int = 100_000) -> None:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not minimum <= n <= maximum:
        raise ValueError(f"{name} must be an integer in [{minimum}, {maximum}], got {n!r}")


def _square(m: object, name: str) -> Array:
    try:
        a = np.asarray(m, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a square matrix of numbers, got {type(m).__name__}") from None
    if a.ndim != 2 or a.shape[0] != a.shape[1] or a.shape[0] == 0:
        raise ValueError(f"{name} must be a nonempty square matrix, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite (no NaN/inf entries)")
    return a


def ring(n: int) -> nx.Graph:
    """Cycle graph C_n (n >= 3): lambda_k(L) = 2 - 2 cos(2 pi k / n)."""
    _check_n(n, 3)
    return nx.cycle_graph(n)


def grid(rows: int, cols: int, periodic: bool = False) -> nx.Graph:
    """rows x cols grid (torus if ``periodic``), nodes relabelled 0..rows*cols-1 in row-major order."""
    _check_n(rows, 1, "rows")
    _check_n(cols, 1, "cols")
    g = nx.grid_2d_graph(rows, cols, periodic=periodic)
    return nx.convert_node_labels_to_integers(g, ordering="sorted")


def erdos_renyi(
    n: int, p: float, rng: np.random.Generator, *, connected: bool = True, max_tries: int = 1000
) -> nx.Graph:
    """G(n, p) drawn with ``rng``; with ``connected`` redraw until connected (at most ``max_tries`` draws)."""
    _check_n(n, 1)
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be a number in [0, 1], got {p!r}")
    _check_n(max_tries, 1, "max_tries", 10**6)
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy Generator, got {type(rng).__name__}")
    for _ in range(max_tries):
        g = nx.gnp_random_graph(n, p, seed=int(rng.integers(2**31 - 1)))
        if not connected or nx.is_connected(g):
            return g
    raise ValueError(
        f"no connected G(n={n}, p={p}) in {max_tries} draws: increase p (p > log(n)/n = {np.log(n) / n:.3g})"
    )


def complete(n: int) -> nx.Graph:
    """Complete graph K_n: L = n I - 1 1^T, lambda_2 = lambda_max = n."""
    _check_n(n, 1)
    return nx.complete_graph(n)


def disconnected(sizes: tuple[int, ...] | list[int], kind: str = "ring") -> nx.Graph:
    """Disjoint union of ``kind`` graphs (ring, complete or path) of the given sizes; nodes numbered block by block."""
    for s in sizes:
        _check_n(s, 3 if kind == "ring" else 1, "sizes[i]")
    if len(sizes) < 2:
        raise ValueError(f"sizes must list at least 2 components, got {sizes!r}")
    makers = {"ring": ring, "complete": complete, "path": nx.path_graph}
    if kind not in makers:
        raise ValueError(f"kind must be one of {tuple(makers)}, got {kind!r}")
    return nx.disjoint_union_all([makers[kind](int(s)) for s in sizes])


def make_graph(kind: str, n: int, *, p: float = 0.3, rng: np.random.Generator | None = None) -> nx.Graph:
    """A graph of ``kind`` in :data:`GRAPH_KINDS` on ``n`` nodes (grid: the most square rows x cols = n;
    disconnected: two rings of n/2; erdos_renyi needs ``rng``)."""
    if kind not in GRAPH_KINDS:
        raise ValueError(f"kind must be one of {GRAPH_KINDS}, got {kind!r}")
    _check_n(n, 2)
    if kind == "ring":
        return ring(n)
    if kind == "grid":
        rows = int(np.floor(np.sqrt(n)))
        while n % rows:
            rows -= 1
        return grid(rows, n // rows)
    if kind == "erdos_renyi":
        if rng is None:
            raise ValueError("rng must be a numpy Generator for kind='erdos_renyi'")
        return erdos_renyi(n, p, rng)
    if kind == "complete":
        return complete(n)
    if kind == "path":
        return nx.path_graph(n)
    if kind == "star":
        return nx.star_graph(n - 1)
    if kind == "disconnected":
        if n < 6 or n % 2:
            raise ValueError(f"n must be even and >= 6 for kind='disconnected', got {n}")
        return disconnected((n // 2, n // 2))
    raise ValueError(f"kind must be one of {GRAPH_KINDS}, got {kind!r}")


def adjacency(graph: nx.Graph | Array) -> Array:
    """Symmetric adjacency matrix (float64) of a networkx graph or a square array; validates the array."""
    if isinstance(graph, nx.Graph):
        if graph.is_directed():
            raise ValueError("graph must be undirected (got a directed networkx graph)")
        return np.asarray(nx.to_numpy_array(graph, nodelist=sorted(graph.nodes), dtype=np.float64))
    a = _square(graph, "adjacency")
    if np.any(a < 0):
        raise ValueError("adjacency must have nonnegative entries (edge weights)")
    asym = float(np.max(np.abs(a - a.T))) if a.size else 0.0
    if asym > 1e-12 * max(1.0, float(np.max(np.abs(a)))):
        raise ValueError(f"adjacency must be symmetric for an undirected graph: max |A - A^T| = {asym:.3g}")
    if np.any(np.diag(a) != 0):
        raise ValueError("adjacency must have a zero diagonal (no self-loops)")
    return a


def laplacian(graph: nx.Graph | Array) -> Array:
    """Graph Laplacian L = D - A (float64, symmetric PSD, L 1 = 0)."""
    a = adjacency(graph)
    return np.diag(a.sum(axis=1)) - a


def check_laplacian(lap: object, name: str = "lap") -> Array:
    """Validate a graph Laplacian and return it as float64: square, finite, symmetric, nonpositive off-diagonal
    entries (nonnegative edge weights) and zero row sums (L 1 = 0); such a matrix is positive semidefinite.

    A symmetric matrix that is not a Laplacian (e.g. the identity, or a gossip matrix W passed by mistake) is refused
    with a ValueError naming the violated property."""
    m = _square(lap, name)
    scale = max(1.0, float(np.abs(m).max()))
    asym = float(np.max(np.abs(m - m.T)))
    if asym > 1e-12 * scale:
        raise ValueError(f"{name} must be symmetric (undirected graph): max |L - L^T| = {asym:.3g}")
    off = m - np.diag(np.diag(m))
    if np.any(off > 1e-12 * scale):
        raise ValueError(f"{name} must have nonpositive off-diagonal entries (L = D - A with A >= 0), "
                         f"max off-diagonal {float(off.max()):.3g}")  # fmt: skip
    rows = float(np.max(np.abs(m.sum(axis=1))))
    if rows > 1e-10 * scale:
        raise ValueError(f"{name} must have zero row sums (a graph Laplacian, L 1 = 0): max |L 1| = {rows:.3g}")
    return m


def laplacian_spectrum(lap: Array) -> Array:
    """Eigenvalues of the Laplacian in ascending order (lambda_1 = 0 <= lambda_2 <= ... <= lambda_max)."""
    return np.asarray(np.linalg.eigvalsh(check_laplacian(lap)), dtype=np.float64)


def algebraic_connectivity(lap: Array) -> float:
    """lambda_2(L): the second-smallest Laplacian eigenvalue (0 iff disconnected; 0 for N = 1)."""
    ev = laplacian_spectrum(lap)
    return float(ev[1]) if ev.size > 1 else 0.0


def components(lap: Array) -> list[list[int]]:
    """Connected components (sorted lists of agent indices) of the graph with Laplacian ``lap``."""
    a = -check_laplacian(lap).copy()
    np.fill_diagonal(a, 0.0)
    g = nx.from_numpy_array((a > 0).astype(float))
    return sorted(sorted(int(i) for i in c) for c in nx.connected_components(g))


def require_connected(lap: Array, name: str = "graph") -> None:
    """Raise a ValueError if the graph is disconnected (D-SGD's consensus theorems need lambda_2(L) > 0)."""
    comps = components(lap)
    if len(comps) > 1:
        raise ValueError(
            f"{name} must be connected (lambda_2(L) > 0); it has {len(comps)} components of sizes "
            f"{[len(c) for c in comps]} (pass allow_disconnected=True to study the components on purpose)"
        )


def check_consensus_step(c_beta: float, lap: Array) -> float:
    """Refuse a consensus step that does not contract: require 0 < c_beta lambda_max(L) < 2.

    With beta_k = c_beta k^-tau_beta <= c_beta, the disagreement mode of eigenvalue lambda is multiplied by
    1 - beta_k lambda each step; |1 - beta lambda| < 1 for all modes iff beta lambda_max < 2. Returns lambda_max.
    """
    if isinstance(c_beta, bool) or not isinstance(c_beta, (int, float)) or not (math.isfinite(c_beta) and c_beta > 0):
        raise ValueError(f"c_beta must be a finite number > 0, got {c_beta!r}")
    lam_max = float(laplacian_spectrum(lap)[-1])
    if c_beta * lam_max >= 2.0:
        raise ValueError(
            f"consensus step unstable: c_beta * lambda_max(L) = {c_beta:.4g} * {lam_max:.4g} = {c_beta * lam_max:.4g} "
            f">= 2; need c_beta < 2 / lambda_max(L) = {2.0 / lam_max:.4g}"
        )
    return lam_max


def metropolis_weights(graph: nx.Graph | Array) -> Array:
    """Metropolis-Hastings gossip matrix: W_ij = 1 / (1 + max(d_i, d_j)) on edges, W_ii = 1 - sum_j W_ij.

    Symmetric and doubly stochastic for any undirected graph (used by the averaging steps of federated settings).
    """
    a = adjacency(graph)
    deg = (a > 0).sum(axis=1)
    w = np.where(a > 0, 1.0 / (1.0 + np.maximum(deg[:, None], deg[None, :])), 0.0)
    np.fill_diagonal(w, 1.0 - w.sum(axis=1))
    return w


def gossip_matrix(lap: Array, beta: float) -> Array:
    """W = I - beta L: the one-step consensus operator of D-SGD (doubly stochastic when beta max_i d_i <= 1)."""
    lap = check_laplacian(lap)
    if isinstance(beta, bool) or not isinstance(beta, (int, float)) or not (math.isfinite(beta) and beta >= 0):
        raise ValueError(f"beta must be a finite number >= 0, got {beta!r}")
    return np.eye(lap.shape[0]) - beta * lap


def to_torch(m: Array, *, device: str | torch.device = "cpu", dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """A numpy matrix as a torch tensor on ``device`` with ``dtype`` (finite entries only)."""
    a = np.asarray(m, dtype=np.float64)
    if not np.all(np.isfinite(a)):
        raise ValueError("m must be finite (no NaN/inf entries)")
    return torch.as_tensor(np.asarray(m), dtype=dtype, device=torch.device(device))
