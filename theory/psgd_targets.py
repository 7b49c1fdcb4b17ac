"""What a PSGD preconditioner should converge to, in closed form (numpy, float64).

The Newton-type criterion ``E[h^T P h + v^T P^{-1} v]`` with ``h = H v``, ``v ~ N(0, I)`` equals
``tr(P H^2) + tr(P^{-1})``; over all SPD ``P`` its minimiser is ``P* = |H|^{-1} = U |Lambda|^{-1} U^T``
(Li 2018, arXiv 1512.04202, eq. 9 with ``E[v v^T] = I``). The whitening criterion with ``h = g``, ``E[g g^T] = S``,
gives ``tr(P S) + tr(P^{-1})``, minimised by ``P* = S^{-1/2}``. When ``P*`` lies in a preconditioner's family the
family's minimiser is ``P*`` itself; the constructors below build such problems (``H`` from a ``P*`` of the family):

* Kron: ``H = H_1 (x) H_2`` gives ``|H|^{-1} = |H_1|^{-1} (x) |H_2|^{-1}``, a Kronecker product.
* UVd (LRA): ``P* = D + W W^T`` (diagonal plus rank ``r``) equals ``Q^T Q`` with ``Q = (I + U V^T) diag(d)`` for
  ``d = diag(D)^{1/2}``, ``V = U``, ``U (2 I + U^T U) U^T = d^{-1} W W^T d^{-1}``; ``H = P*^{-1}`` is again
  diagonal plus rank ``r`` (Woodbury).
* XMat: ``P* = Q_0^T Q_0`` with ``Q_0 = diag(a) + adiag(b)``.

:func:`relative_error` is the scale-free distance ``||P*^{-1/2} P P*^{-1/2} - I||_F / sqrt(n)`` (the RMS deviation
of the eigenvalues of ``P |H|`` from 1).
"""

from __future__ import annotations

import numpy as np


def _check_square(name: str, A: np.ndarray) -> np.ndarray:
    A = np.asarray(A, dtype=np.float64)
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise ValueError(f"{name} must be a square matrix, got shape {A.shape}")
    if not np.all(np.isfinite(A)):
        raise ValueError(f"{name} must be finite")
    if not np.allclose(A, A.T, rtol=1e-10, atol=1e-12 * np.abs(A).max()):
        raise ValueError(f"{name} must be symmetric")
    return 0.5 * (A + A.T)


def abs_inverse(H: np.ndarray) -> np.ndarray:
    """``|H|^{-1} = U |Lambda|^{-1} U^T`` for a symmetric non-singular ``H`` (indefinite allowed)."""
    H = _check_square("H", H)
    lam, U = np.linalg.eigh(H)
    if np.min(np.abs(lam)) <= 1e-14 * np.max(np.abs(lam)):
        raise ValueError("H must be non-singular (|eigenvalue| > 1e-14 max|eigenvalue|)")
    return (U / np.abs(lam)) @ U.T


def inverse_sqrt(S: np.ndarray) -> np.ndarray:
    """``S^{-1/2}`` for a symmetric positive-definite ``S`` (the whitening target for ``E[g g^T] = S``)."""
    S = _check_square("S", S)
    lam, U = np.linalg.eigh(S)
    if lam.min() <= 0:
        raise ValueError(f"S must be positive definite, smallest eigenvalue {lam.min():.3e}")
    return (U / np.sqrt(lam)) @ U.T


def sym_power(A: np.ndarray, p: float) -> np.ndarray:
    """``A^p`` for a symmetric positive-definite ``A``."""
    lam, U = np.linalg.eigh(_check_square("A", A))
    if lam.min() <= 0:
        raise ValueError("A must be positive definite")
    return (U * lam ** p) @ U.T


def relative_error(P: np.ndarray, P_star: np.ndarray) -> float:
    """``||P*^{-1/2} P P*^{-1/2} - I||_F / sqrt(n)``: RMS deviation of the eigenvalues of ``P P*^{-1}`` from 1."""
    P = np.asarray(P, dtype=np.float64)
    R = sym_power(P_star, -0.5)
    n = P.shape[0]
    M = R @ (0.5 * (P + P.T)) @ R
    return float(np.linalg.norm(M - np.eye(n)) / np.sqrt(n))


def random_orthogonal(n: int, rng: np.random.Generator) -> np.ndarray:
    """A Haar-random orthogonal ``n x n`` matrix (QR of a Gaussian matrix with sign correction)."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    Q, R = np.linalg.qr(rng.standard_normal((n, n)))
    return Q * np.sign(np.diag(R))


def spectrum_matrix(eigenvalues: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``U diag(eigenvalues) U^T`` with a random orthogonal ``U``."""
    lam = np.asarray(eigenvalues, dtype=np.float64)
    U = random_orthogonal(len(lam), rng)
    return (U * lam) @ U.T


def log_spectrum(n: int, cond: float, negative: int = 0) -> np.ndarray:
    """``n`` eigenvalue magnitudes log-spaced from 1 to ``1/cond``; the first ``negative`` of the smallest half made
    negative (an indefinite ``H``)."""
    if cond < 1 or not np.isfinite(cond):
        raise ValueError(f"cond must be finite and >= 1, got {cond}")
    if not 0 <= negative <= n:
        raise ValueError(f"negative must be in [0, n={n}], got {negative}")
    lam = np.geomspace(1.0, 1.0 / cond, n)
    lam[::2][:negative] *= -1  # alternate so that both ends of the spectrum have negative eigenvalues
    return lam


def kron_problem(n1: int, n2: int, cond: float, negative: int, rng: np.random.Generator) -> np.ndarray:
    """``H = H_1 (x) H_2`` with ``H_1`` of condition ``sqrt(cond)`` (``negative`` negative eigenvalues) and ``H_2`` SPD
    of condition ``sqrt(cond)``: ``|H|^{-1}`` is a Kronecker product."""
    c = np.sqrt(cond)
    H1 = spectrum_matrix(log_spectrum(n1, c, negative), rng)
    H2 = spectrum_matrix(log_spectrum(n2, c), rng)
    return np.kron(H1, H2)


def lowrank_problem(n: int, rank: int, rng: np.random.Generator, spread: float = 10.0) -> np.ndarray:
    """``H = (D + W W^T)^{-1}`` with ``D`` log-uniform in ``[1, spread]`` and ``W`` Gaussian ``n x rank`` scaled so
    that ``W W^T`` has eigenvalues ~ ``spread``: ``|H|^{-1} = D + W W^T`` is representable by UVd of rank ``rank``."""
    if not 0 <= rank < n:
        raise ValueError(f"rank must be in [0, n={n}), got {rank}")
    D = np.exp(rng.uniform(0.0, np.log(spread), n))
    W = rng.standard_normal((n, rank)) * np.sqrt(spread / n) * 3.0
    P = np.diag(D) + W @ W.T
    return np.linalg.inv(P)


def xmat_problem(n: int, rng: np.random.Generator) -> np.ndarray:
    """``H = (Q_0^T Q_0)^{-1}`` with ``Q_0 = diag(a) + adiag(b)``, ``a`` in [1, 3], ``|b| < 0.8 a`` elementwise."""
    a = rng.uniform(1.0, 3.0, n)
    b = rng.uniform(-0.8, 0.8, n) * np.minimum(a, a[::-1])
    Q0 = np.diag(a) + np.fliplr(np.diag(b))
    if n % 2 == 1:
        Q0[n // 2, n // 2] = a[n // 2]
    return np.linalg.inv(Q0.T @ Q0)


def gaussian_covariance(n: int, cond: float, rng: np.random.Generator) -> np.ndarray:
    """An SPD gradient covariance ``S`` with log-spaced eigenvalues from 1 to ``1/cond`` and random eigenvectors."""
    return spectrum_matrix(log_spectrum(n, cond), rng)
