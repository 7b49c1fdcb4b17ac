"""Mean-square linear stability of SGD at an interpolating minimum: the second-moment operator Q.

Setting (Dexter et al., ICLR 2024; Mulayoff & Michaeli; Wu, Ma & E 2018). At a minimum w* where every sample loss has
zero gradient, SGD linearised around w* reads

    w_{t+1} = (I - eta H_hat_t) w_t,        H_hat_t = (1/B) sum_{i in S_t} w_i(S_t) H_i,

with PSD sample Hessians H_1..H_n (d x d), mean H = (1/n) sum_i H_i, and one of three batch samplings:

* ``with_replacement``:    B indices iid uniform, H_hat = (1/B) sum_k H_{i_k};
* ``without_replacement``: B distinct indices, uniform;
* ``bernoulli``:           each i kept independently with probability B/n, normalised by the fixed B.

All three are unbiased (E H_hat = H). The second moment M_t = E[w_t w_t^T] obeys M_{t+1} = T(M_t),

    T(M) = M - eta (H M + M H) + eta^2 E[H_hat M H_hat],
    E[H_hat M H_hat] = alpha H M H + beta (1/n) sum_i H_i M H_i,                                          (1)

with (alpha, beta) = (1 - 1/B, 1/B) with replacement, (1 - p, p), p = (n - B) / (B (n - 1)), without replacement,
and (1, 1/B - 1/n) for Bernoulli. In vec form Q = I - 2 eta C + eta^2 D with C = (H kron I + I kron H) / 2 and
D = alpha H kron H + beta (1/n) sum_i H_i kron H_i. Because every realisation I - eta H_hat is symmetric, T is
self-adjoint for the Frobenius inner product (Q is a symmetric matrix), and because T maps the PSD cone into itself its
spectral radius is its largest eigenvalue, attained at a PSD eigenmatrix. Stability (sup_t E||w_t||^2 < inf) holds
iff rho(Q) <= 1, i.e. iff eta D <= 2 C in the Loewner order, so the stable step sizes form the interval (0, eta*],

    eta* = 2 / lambda_max(C^+ D)                                                   (Mulayoff & Michaeli)     (2)

(exact for all three samplings with the matching D; equals 2 / lambda_1(H) when beta = 0, i.e. B = n without
replacement or with Bernoulli sampling).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
import scipy.linalg
import scipy.sparse.linalg as spla

Array = npt.NDArray[np.float64]
Sampling = Literal["with_replacement", "without_replacement", "bernoulli"]
SAMPLINGS: tuple[str, ...] = ("with_replacement", "without_replacement", "bernoulli")


# ----------------------------------------------------------------------------------------------------- validation
def check_hessians(hessians: npt.ArrayLike, *, name: str = "hessians", rtol: float = 1e-10) -> Array:
    """Return ``hessians`` as a float64 array (n, d, d) after checking symmetry and positive semi-definiteness.

    Raises ValueError naming ``name`` if the shape is not (n, d, d) with n, d >= 1, if an entry is not finite, if
    some H_i is not symmetric (|H_i - H_i^T| > rtol * max|H_i|), or if some H_i has an eigenvalue below
    -rtol * max|H_i| * d (PSD is required: the sample Hessians at an interpolating minimum are PSD).
    """
    check_tol(rtol, "rtol")
    h = np.asarray(hessians, dtype=np.float64)
    if h.ndim != 3 or h.shape[1] != h.shape[2] or h.shape[0] < 1 or h.shape[1] < 1:
        raise ValueError(f"{name} must have shape (n, d, d) with n, d >= 1, got {h.shape}")
    if not np.all(np.isfinite(h)):
        raise ValueError(f"{name} must be finite (found NaN or inf)")
    scale = max(float(np.max(np.abs(h))), np.finfo(np.float64).tiny)
    if np.max(np.abs(h - np.swapaxes(h, 1, 2))) > rtol * scale:
        raise ValueError(f"{name} must be symmetric: every H_i must equal its transpose")
    h = 0.5 * (h + np.swapaxes(h, 1, 2))
    min_eig = float(np.min(np.linalg.eigvalsh(h)))
    if min_eig < -rtol * scale * h.shape[1]:
        raise ValueError(f"{name} must be positive semi-definite (smallest eigenvalue {min_eig:.3g} < 0)")
    return h


def check_factors(factors: npt.ArrayLike, *, name: str = "factors") -> Array:
    """Return rank-one factors G (n, d) as float64, H_i = g_i g_i^T; ValueError naming ``name`` on bad shape/values."""
    g = np.asarray(factors, dtype=np.float64)
    if g.ndim != 2 or g.shape[0] < 1 or g.shape[1] < 1:
        raise ValueError(f"{name} must have shape (n, d) with n, d >= 1 (row i is g_i, H_i = g_i g_i^T), got {g.shape}")
    if not np.all(np.isfinite(g)):
        raise ValueError(f"{name} must be finite (found NaN or inf)")
    return g


def check_tol(tol: float, name: str = "tol", *, allow_zero: bool = False) -> float:
    """Return a tolerance as float; ValueError naming it unless it is a finite number in (0, 1) ([0, 1) with
    ``allow_zero``). NaN, inf, 0 (where an iteration would never stop), negatives and strings are refused."""
    if isinstance(tol, bool) or not isinstance(tol, (int, float, np.floating, np.integer)):
        raise ValueError(f"{name} must be a number in {'[0' if allow_zero else '(0'}, 1), got {tol!r}")
    t = float(tol)
    if not (np.isfinite(t) and (t >= 0 if allow_zero else t > 0) and t < 1):
        raise ValueError(f"{name} must be a number in {'[0' if allow_zero else '(0'}, 1), got {tol!r}")
    return t


def check_n(n: int, *, name: str = "n") -> int:
    """Return a sample count as int; ValueError naming it unless it is an integer in [1, 10^7]."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer, float)) or not np.isfinite(n) or int(n) != n \
            or not 1 <= n <= 10**7:
        raise ValueError(f"{name} must be an integer in [1, 10^7], got {n!r}")
    return int(n)


def check_eta(eta: float, *, name: str = "eta") -> float:
    """Return ``eta`` as float; ValueError naming it unless 0 < eta < inf."""
    if isinstance(eta, bool) or not isinstance(eta, (int, float, np.floating, np.integer)):
        raise ValueError(f"{name} must be a finite step size in (0, inf), got {eta!r}")
    e = float(eta)
    if not (np.isfinite(e) and e > 0):
        raise ValueError(f"{name} must be a finite step size in (0, inf), got {eta!r}")
    return e


def check_batch(batch: int, n: int, *, name: str = "B") -> int:
    """Return the batch size as int; ValueError naming it unless it is an integer in [1, n]."""
    n = check_n(n)
    if isinstance(batch, bool) or not isinstance(batch, (int, np.integer, float)) or not np.isfinite(batch) \
            or int(batch) != batch:
        raise ValueError(f"{name} must be an integer in [1, n={n}], got {batch!r}")
    b = int(batch)
    if not 1 <= b <= n:
        raise ValueError(f"{name} must be an integer in [1, n={n}], got {batch!r}")
    return b


def check_sampling(sampling: str) -> str:
    """Return ``sampling``; ValueError naming it unless it is one of SAMPLINGS."""
    if not isinstance(sampling, str) or sampling not in SAMPLINGS:
        raise ValueError(f"sampling must be one of {SAMPLINGS}, got {sampling!r}")
    return sampling


def noise_coefficients(n: int, batch: int, sampling: str) -> tuple[float, float]:
    """(alpha, beta) of eq. (1): E[H_hat M H_hat] = alpha H M H + beta (1/n) sum_i H_i M H_i.

    with replacement: (1 - 1/B, 1/B); without replacement: (1 - p, p), p = (n - B) / (B (n - 1)) (p = 0 if n = 1);
    Bernoulli with keep probability B/n and normaliser 1/B: (1, 1/B - 1/n).
    """
    b = check_batch(batch, n)
    check_sampling(sampling)
    if sampling == "with_replacement":
        return 1.0 - 1.0 / b, 1.0 / b
    if sampling == "without_replacement":
        p = 0.0 if n == 1 else (n - b) / (b * (n - 1))
        return 1.0 - p, p
    return 1.0, 1.0 / b - 1.0 / n


# ----------------------------------------------------------------------------------------------------- dense Q
def _mean_kron(h: Array) -> Array:
    """(1/n) sum_i H_i kron H_i as one GEMM: entries H_i[a, b] H_i[c, e] at row (a, c), column (b, e)."""
    n, d, _ = h.shape
    v = h.reshape(n, d * d)
    return np.ascontiguousarray((v.T @ v / n).reshape(d, d, d, d).transpose(0, 2, 1, 3).reshape(d * d, d * d))


def second_moment_matrix(hessians: npt.ArrayLike, eta: float, batch: int, sampling: str) -> Array:
    """Dense Q (d^2 x d^2) with vec(M_{t+1}) = Q vec(M_t):  Q = I - eta (H kron I + I kron H) + eta^2 D,
    D = alpha H kron H + beta (1/n) sum_i H_i kron H_i  (eq. (1); row-major vec, Q is symmetric)."""
    h = check_hessians(hessians)
    e = check_eta(eta)
    n, d, _ = h.shape
    alpha, beta = noise_coefficients(n, batch, sampling)
    hm = h.mean(axis=0)
    eye = np.eye(d)
    kron_mean = _mean_kron(h)
    q = np.eye(d * d) - e * (np.kron(hm, eye) + np.kron(eye, hm)) + e**2 * (alpha * np.kron(hm, hm) + beta * kron_mean)
    return 0.5 * (q + q.T)


def spectral_radius_dense(hessians: npt.ArrayLike, eta: float, batch: int, sampling: str) -> float:
    """rho(Q) = max |eig(Q)| of the dense symmetric second-moment matrix (exact up to float64 rounding).
    Stable (sup_t E||w_t||^2 < inf) iff rho(Q) <= 1."""
    q = second_moment_matrix(hessians, eta, batch, sampling)
    ev = scipy.linalg.eigvalsh(q)
    return float(max(abs(ev[0]), abs(ev[-1])))


def top_eigenmatrix(hessians: npt.ArrayLike, eta: float, batch: int, sampling: str) -> tuple[float, Array]:
    """(rho(Q), M_0): the top eigenvalue of the dense symmetric Q and its eigenmatrix, reshaped to d x d, symmetrised,
    signed to be PSD and scaled to tr M_0 = 1. Because T is self-adjoint and maps the PSD cone into itself, the top
    eigenvalue is rho(Q) and (when simple) its eigenmatrix is PSD; then T^t(M_0) = rho^t M_0 exactly, so
    E||w_t||^2 = rho(Q)^t for w_0 ~ N(0, M_0). Raises ValueError if the top eigenvalue is not rho(Q) or is not
    simple enough for a PSD eigenmatrix to be recovered (|min eig M_0| > 1e-8 after normalisation)."""
    h = check_hessians(hessians)
    d = h.shape[1]
    q = second_moment_matrix(h, eta, batch, sampling)
    ev, vec = scipy.linalg.eigh(q)
    if abs(ev[0]) > abs(ev[-1]) * (1 + 1e-12):
        raise ValueError("the largest |eigenvalue| of Q is negative: not a PSD-cone top eigenvalue")
    m = vec[:, -1].reshape(d, d)
    m = 0.5 * (m + m.T)
    tr = float(np.trace(m))
    if tr == 0.0:
        raise ValueError("top eigenmatrix of Q has zero trace: the top eigenvalue is not simple")
    m = m / tr
    if float(np.linalg.eigvalsh(m)[0]) < -1e-8:
        raise ValueError("top eigenmatrix of Q is not PSD: the top eigenvalue is not simple")
    return float(ev[-1]), np.asarray(m, dtype=np.float64)


# ----------------------------------------------------------------------------------------------- matrix-free Q
@dataclass(frozen=True)
class SecondMomentOperator:
    """Matrix-free T(M) = M - eta (H M + M H) + eta^2 [alpha H M H + beta (1/n) sum_i H_i M H_i]  (eq. (1)).

    Build with :meth:`from_hessians` (H_i dense, cost O(n d^3) per application) or :meth:`from_factors`
    (H_i = g_i g_i^T, e.g. squared loss at an interpolating minimum: sum_i H_i M H_i = G^T diag(g_i^T M g_i) G,
    cost O(n d^2) per application).
    """

    eta: float
    alpha: float
    beta: float
    mean_hessian: Array
    hessians: Array | None = None
    factors: Array | None = None

    @classmethod
    def from_hessians(cls, hessians: npt.ArrayLike, eta: float, batch: int, sampling: str) -> SecondMomentOperator:
        """Operator from a stack of PSD Hessians (n, d, d)."""
        h = check_hessians(hessians)
        alpha, beta = noise_coefficients(h.shape[0], batch, sampling)
        return cls(check_eta(eta), alpha, beta, h.mean(axis=0), hessians=h)

    @classmethod
    def from_factors(cls, factors: npt.ArrayLike, eta: float, batch: int, sampling: str) -> SecondMomentOperator:
        """Operator from rank-one factors G (n, d), H_i = g_i g_i^T."""
        g = check_factors(factors)
        alpha, beta = noise_coefficients(g.shape[0], batch, sampling)
        return cls(check_eta(eta), alpha, beta, g.T @ g / g.shape[0], factors=g)

    @property
    def dim(self) -> int:
        """d, the parameter dimension (T acts on d x d matrices)."""
        return int(self.mean_hessian.shape[0])

    def sum_sandwich(self, m: Array) -> Array:
        """(1/n) sum_i H_i M H_i."""
        if self.factors is not None:
            g = self.factors
            q = np.einsum("nd,nd->n", g @ m, g)
            return (g.T * q) @ g / g.shape[0]
        assert self.hessians is not None
        return np.einsum("nij,jk,nkl->il", self.hessians, m, self.hessians, optimize=True) / self.hessians.shape[0]

    def times_h(self, m: Array) -> Array:
        """H M; O(n d^2) through the factors when H = G^T G / n, else a dense product."""
        if self.factors is not None:
            g = self.factors
            return np.asarray(g.T @ (g @ m) / g.shape[0], dtype=np.float64)
        return np.asarray(self.mean_hessian @ m, dtype=np.float64)

    def apply(self, m: Array) -> Array:
        """T(M) for a d x d matrix M (eq. (1)); M need not be symmetric."""
        hm = self.times_h(m)
        mh = self.times_h(m.T).T
        hmh = self.times_h(hm.T).T
        return m - self.eta * (hm + mh) + self.eta**2 * (self.alpha * hmh + self.beta * self.sum_sandwich(m))

    def linear_operator(self) -> spla.LinearOperator:
        """scipy LinearOperator on vec(M) in R^{d^2} (symmetric)."""
        d = self.dim

        def matvec(v: Array) -> Array:
            m = np.asarray(v, dtype=np.float64).reshape(d, d)
            return self.apply(m).reshape(-1)

        return spla.LinearOperator((d * d, d * d), matvec=matvec, rmatvec=matvec, dtype=np.float64)

    def spectral_radius(self, method: str = "lanczos", tol: float = 1e-12, maxiter: int = 100_000) -> float:
        """rho(T). ``lanczos``: largest algebraic eigenvalue by scipy eigsh (which equals rho because T is
        PSD-cone preserving and self-adjoint), v0 = vec(I) (deterministic, inside the cone). ``power``: power
        iteration M <- T(M) / ||T(M)||_F from M = I (stays in the PSD cone); returns ||T(M)||_F at convergence."""
        d = self.dim
        check_tol(tol, "tol")
        if isinstance(maxiter, bool) or not isinstance(maxiter, (int, np.integer)) or not 1 <= maxiter <= 10**7:
            raise ValueError(f"maxiter must be an integer in [1, 10^7], got {maxiter!r}")
        if method == "lanczos":
            if d == 1:
                return abs(float(self.apply(np.eye(1))[0, 0]))
            v0 = np.eye(d).reshape(-1) / np.sqrt(d)
            val = spla.eigsh(self.linear_operator(), k=1, which="LA", v0=v0, tol=tol, maxiter=maxiter,
                             return_eigenvectors=False)
            return float(val[0])
        if method == "power":
            m = np.eye(d) / np.sqrt(d)
            est = 0.0
            for _ in range(maxiter):
                t = self.apply(m)
                t = 0.5 * (t + t.T)
                nrm = float(np.linalg.norm(t))
                if nrm == 0.0:
                    return 0.0
                new = float(np.sum(t * m))  # Rayleigh quotient <M, T M>, ||M||_F = 1
                m = t / nrm
                if abs(new - est) <= tol * max(1.0, abs(new)):
                    return new
                est = new
            return est
        raise ValueError(f"method must be 'lanczos' or 'power', got {method!r}")


def spectral_radius(hessians: npt.ArrayLike | None = None, eta: float = 1.0, batch: int = 1,
                    sampling: str = "bernoulli", *, factors: npt.ArrayLike | None = None,
                    method: str = "lanczos") -> float:
    """rho(Q) matrix-free (eq. (1)); pass exactly one of ``hessians`` (n, d, d) or ``factors`` (n, d)."""
    if (hessians is None) == (factors is None):
        raise ValueError("pass exactly one of hessians (n, d, d) or factors (n, d)")
    if factors is not None:
        op = SecondMomentOperator.from_factors(factors, eta, batch, sampling)
    else:
        assert hessians is not None
        op = SecondMomentOperator.from_hessians(hessians, eta, batch, sampling)
    return op.spectral_radius(method=method)


def diagonal_growth_factors(diagonals: npt.ArrayLike, eta: float, batch: int, sampling: str) -> Array:
    """Per-coordinate mean-square growth factors f_k = E[(1 - eta h_hat_k)^2] when every H_i is diagonal in one common
    basis, H_i = diag(h_i1..h_id), h_ik >= 0:  f_k = 1 - 2 eta hbar_k + eta^2 (alpha hbar_k^2 + beta (1/n) sum_i h_ik^2)
    (eq. (1) restricted to diagonal M, which T maps to diagonal M)."""
    h = np.asarray(diagonals, dtype=np.float64)
    if h.ndim != 2 or h.shape[0] < 1 or h.shape[1] < 1:
        raise ValueError(f"diagonals must have shape (n, d) with n, d >= 1, got {h.shape}")
    if not np.all(np.isfinite(h)) or np.any(h < 0):
        raise ValueError("diagonals must be finite and >= 0 (PSD diagonal Hessians)")
    e = check_eta(eta)
    alpha, beta = noise_coefficients(h.shape[0], batch, sampling)
    hbar = h.mean(axis=0)
    return np.asarray(1.0 - 2.0 * e * hbar + e**2 * (alpha * hbar**2 + beta * np.mean(h**2, axis=0)), dtype=np.float64)


def spectral_radius_diagonal(diagonals: npt.ArrayLike, eta: float, batch: int, sampling: str) -> float:
    """Exact rho(Q) = max_k f_k (see :func:`diagonal_growth_factors`) when all H_i are diagonal in one basis.

    T maps diagonal M to diagonal M with factors f_k, and the off-diagonal entry (j, k) is multiplied by
    E[(1 - eta h_hat_j)(1 - eta h_hat_k)] <= sqrt(f_j f_k) (Cauchy-Schwarz); hence rho(Q) = max_k f_k.
    """
    return float(np.max(diagonal_growth_factors(diagonals, eta, batch, sampling)))


def second_moment_trajectory(hessians: npt.ArrayLike, eta: float, batch: int, sampling: str, m0: npt.ArrayLike,
                             steps: int) -> Array:
    """Exact M_t = T^t(M_0) for t = 0..steps (eq. (1)); returns an array (steps + 1, d, d)."""
    op = SecondMomentOperator.from_hessians(hessians, eta, batch, sampling)
    m = np.asarray(m0, dtype=np.float64)
    if m.shape != (op.dim, op.dim):
        raise ValueError(f"m0 must have shape (d, d) = {(op.dim, op.dim)}, got {m.shape}")
    if int(steps) != steps or steps < 0:
        raise ValueError(f"steps must be an integer >= 0, got {steps!r}")
    out = np.empty((int(steps) + 1, op.dim, op.dim))
    out[0] = m
    for t in range(int(steps)):
        m = op.apply(m)
        out[t + 1] = m
    return out


# --------------------------------------------------------------------------------------------------------- eta*
def eta_star(hessians: npt.ArrayLike, batch: int, sampling: str = "without_replacement") -> float:
    """Exact stability threshold eta* = 2 / lambda_max(C^+ D) (eq. (2), Mulayoff & Michaeli), dense in d^2.

    Computed in the eigenbasis of H, where C is diagonal with entries (lambda_j + lambda_k) / 2; directions with
    C = 0 (common null space of all H_i) are dropped since D vanishes there. Returns inf if D <= 0 on range(C)
    (never happens for nonzero PSD H_i).
    """
    h = check_hessians(hessians)
    n, d, _ = h.shape
    alpha, beta = noise_coefficients(n, batch, sampling)
    lam, u = np.linalg.eigh(h.mean(axis=0))
    ht = np.einsum("ji,njk,kl->nil", u, h, u)
    dmat = (alpha * np.kron(np.diag(lam), np.diag(lam))
            + beta * _mean_kron(ht))
    cdiag = 0.5 * (lam[:, None] + lam[None, :]).reshape(-1)
    keep = cdiag > 1e-13 * max(float(lam[-1]), np.finfo(np.float64).tiny)
    if not np.any(keep):
        return float("inf")
    s = 1.0 / np.sqrt(cdiag[keep])
    w = dmat[np.ix_(keep, keep)] * s[:, None] * s[None, :]
    mu = float(scipy.linalg.eigvalsh(0.5 * (w + w.T), subset_by_index=[w.shape[0] - 1, w.shape[0] - 1])[0])
    return float("inf") if mu <= 0 else 2.0 / mu


def eta_star_bisect(hessians: npt.ArrayLike | None = None, batch: int = 1, sampling: str = "without_replacement", *,
                    factors: npt.ArrayLike | None = None, rtol: float = 1e-10, rho_tol: float = 1e-10) -> float:
    """eta* by bisection on the matrix-free rho(Q(eta)) > 1 + rho_tol over (0, 2 / lambda_1(H)] (eq. (2) is the
    exact value; this is the large-d route). Requires lambda_1(H) > 0."""
    if (hessians is None) == (factors is None):
        raise ValueError("pass exactly one of hessians (n, d, d) or factors (n, d)")
    check_tol(rtol, "rtol")
    check_tol(rho_tol, "rho_tol", allow_zero=True)
    if factors is not None:
        g = check_factors(factors)
        lam1 = float(np.linalg.eigvalsh(g.T @ g / g.shape[0])[-1])

        def rho(eta: float) -> float:
            return SecondMomentOperator.from_factors(g, eta, batch, sampling).spectral_radius()
    else:
        assert hessians is not None
        h = check_hessians(hessians)
        lam1 = float(np.linalg.eigvalsh(h.mean(axis=0))[-1])

        def rho(eta: float) -> float:
            return SecondMomentOperator.from_hessians(h, eta, batch, sampling).spectral_radius()
    if lam1 <= 0:
        raise ValueError("hessians must not all vanish (lambda_1(H) > 0 needed for a finite eta*)")
    lo, hi = 0.0, 2.0 / lam1
    if rho(hi) <= 1.0 + rho_tol:
        return hi
    for _ in range(200):  # bisection halves the bracket: 200 halvings exhaust float64 for any rtol in (0, 1)
        if hi - lo <= rtol * hi:
            break
        mid = 0.5 * (lo + hi)
        if rho(mid) > 1.0 + rho_tol:
            hi = mid
        else:
            lo = mid
    return 0.5 * (lo + hi)


# ------------------------------------------------------------------------------------------- batch enumeration
MAX_ENUMERATED_BATCHES = 100_000


def batch_distribution(n: int, batch: int, sampling: str) -> tuple[Array, Array]:
    """Every batch-weight vector c (H_hat = (1/B) sum_i c_i H_i) with its probability, by enumeration: all multisets
    of size B (with replacement, multinomial probabilities), all B-subsets (without replacement, uniform), all subsets
    (Bernoulli, keep prob. B/n). Returns (weights (K, n), probs (K,)). Refuses more than MAX_ENUMERATED_BATCHES."""
    from itertools import combinations, combinations_with_replacement
    from math import comb, factorial

    b = check_batch(batch, n)
    check_sampling(sampling)
    count = {"with_replacement": comb(n + b - 1, b), "without_replacement": comb(n, b), "bernoulli": 2**n}[sampling]
    if count > MAX_ENUMERATED_BATCHES:
        raise ValueError(f"n={n}, B={b} ({sampling}) has {count} batches, above the enumeration limit "
                         f"{MAX_ENUMERATED_BATCHES}: n must be smaller")
    rows, probs = [], []
    if sampling == "with_replacement":
        for idx in combinations_with_replacement(range(n), b):
            c = np.bincount(idx, minlength=n).astype(np.float64)
            mult = factorial(b) / np.prod([factorial(int(k)) for k in c])
            rows.append(c)
            probs.append(mult / n**b)
    elif sampling == "without_replacement":
        for idx in combinations(range(n), b):
            c = np.zeros(n)
            c[list(idx)] = 1.0
            rows.append(c)
            probs.append(1.0 / count)
    else:
        p = b / n
        for mask in range(2**n):
            c = np.array([(mask >> i) & 1 for i in range(n)], dtype=np.float64)
            rows.append(c)
            probs.append(p ** c.sum() * (1 - p) ** (n - c.sum()))
    return np.array(rows), np.array(probs)


def norm_moments(hessians: npt.ArrayLike, eta: float, batch: int, sampling: str, m0: npt.ArrayLike,
                 times: npt.ArrayLike) -> tuple[Array, Array]:
    """Exact E||w_t||^2 and E||w_t||^4 for w_0 ~ N(0, M_0), by enumerating the batch law (small n only):
    the fourth-moment tensor E[w^{(x)4}] evolves by E[A^{(x)4}], A = I - eta H_hat, from the Gaussian (Isserlis)
    M_ab M_cd + M_ac M_bd + M_ad M_bc. Gives the exact variance of ||w_t||^2 (a standard error that does not rely on
    the sample variance of a heavy-tailed quantity). d^4 entries: refuses d > 8."""
    h = check_hessians(hessians)
    e = check_eta(eta)
    n, d, _ = h.shape
    if d > 8:
        raise ValueError(f"hessians must have d <= 8 for the exact fourth moment (d^4 = {d**4} entries), got d = {d}")
    m = np.asarray(m0, dtype=np.float64)
    if m.shape != (d, d) or not np.all(np.isfinite(m)):
        raise ValueError(f"m0 must be a finite (d, d) = {(d, d)} matrix, got shape {m.shape}")
    ts = np.asarray(times)
    if ts.ndim != 1 or ts.size == 0 or np.any(ts < 0) or np.any(ts != np.round(ts)) or np.any(ts > 10_000):
        raise ValueError(f"times must be a non-empty list of integers in [0, 10000], got {times!r}")
    c, p = batch_distribution(n, batch, sampling)
    b = check_batch(batch, n)
    a = np.eye(d)[None] - (e / b) * np.einsum("kn,nij->kij", c, h)             # (K, d, d)
    a2 = np.einsum("zai,zbj->zabij", a, a).reshape(len(p), d * d, d * d)         # A kron A per batch
    q2 = np.einsum("z,zij->ij", p, a2)
    q4 = np.einsum("z,zij,zkl->ikjl", p, a2, a2).reshape(d**4, d**4)           # E[A kron A kron A kron A]
    m2 = m.reshape(-1).copy()
    m4 = (np.einsum("ab,cd->abcd", m, m) + np.einsum("ac,bd->abcd", m, m) + np.einsum("ad,bc->abcd", m, m)).reshape(-1)
    eye = np.eye(d).reshape(-1)
    tr4 = np.einsum("ab,cd->abcd", np.eye(d), np.eye(d)).reshape(-1)
    out2, out4 = np.zeros(ts.size), np.zeros(ts.size)
    for t in range(int(ts.max()) + 1):
        for j in np.flatnonzero(ts == t):
            out2[j] = float(eye @ m2)
            out4[j] = float(tr4 @ m4)
        m2 = q2 @ m2
        m4 = q4 @ m4
    return out2, out4
