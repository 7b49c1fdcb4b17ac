"""Hessian coherence, the Theorem 1 divergence condition, the Theorem 2 construction (Dexter et al., ICLR 2024) and the
Wu-Ma-E sharpness / non-uniformity conditions.

Coherence measure of PSD sample Hessians H_1..H_n:

    S_ij = sqrt(tr(H_i H_j)),     sigma = lambda_1(S) / max_i lambda_1(H_i).                              (3)

Facts (proved in the docstrings below, checked in tests): sigma >= 1; n lambda_1(H) <= sigma max_i lambda_1(H_i) for
PSD H_i of any rank; sigma <= n when every H_i has rank one, but not in general (n copies of I_4 give sigma = 2n).
For rank-one H_i = g_i g_i^T (squared loss at an interpolating minimum) S = |K| entrywise, K = G G^T the NTK Gram
matrix, so sigma = lambda_1(|K|) / max_i K_ii.

Theorem 1 (Bernoulli sampling, reconstructed; see PAPERS.md): linearised SGD diverges in mean square if

    lambda_1(H) >= (sigma / eta) (n / B - 1)^(-1/2).                                                      (4)
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import scipy.linalg
from scipy import stats

from theory.stability.moments import (
    check_batch,
    check_eta,
    check_factors,
    check_hessians,
    check_n,
    check_sampling,
    noise_coefficients,
)

Array = npt.NDArray[np.float64]


def _number(x: float, name: str, lo: float, *, closed: bool = True) -> float:
    """x as float; ValueError naming it unless it is a finite number >= lo (> lo if not closed)."""
    if isinstance(x, bool) or not isinstance(x, (int, float, np.floating, np.integer)) or not np.isfinite(x) \
            or not (x >= lo if closed else x > lo):
        raise ValueError(f"{name} must be a finite number {'>=' if closed else '>'} {lo}, got {x!r}")
    return float(x)


def coherence_matrix(hessians: npt.ArrayLike) -> Array:
    """S_ij = sqrt(tr(H_i H_j)) (eq. (3)); tr(H_i H_j) >= 0 for PSD H_i, H_j."""
    h = check_hessians(hessians)
    tr = np.einsum("iab,jba->ij", h, h)
    return np.sqrt(np.clip(0.5 * (tr + tr.T), 0.0, None))


def coherence(hessians: npt.ArrayLike) -> float:
    """sigma = lambda_1(S) / max_i lambda_1(H_i) (eq. (3)).

    sigma >= 1 because lambda_1(S) >= S_ii = ||H_i||_F >= lambda_1(H_i) (S is entrywise non-negative).
    """
    h = check_hessians(hessians)
    top = float(np.max(np.linalg.eigvalsh(h)[:, -1]))
    if top <= 0:
        raise ValueError("hessians must not all vanish (coherence needs max_i lambda_1(H_i) > 0)")
    s = coherence_matrix(h)
    return float(scipy.linalg.eigvalsh(s)[-1]) / top


def coherence_from_gram(gram: npt.ArrayLike) -> float:
    """Rank-one / NTK form of eq. (3): H_i = g_i g_i^T, K_ij = g_i . g_j, sigma = lambda_1(|K|) / max_i K_ii."""
    k = np.asarray(gram, dtype=np.float64)
    if k.ndim != 2 or k.shape[0] != k.shape[1] or k.shape[0] < 1:
        raise ValueError(f"gram must be a square (n, n) matrix, got shape {k.shape}")
    if not np.all(np.isfinite(k)) or np.max(np.abs(k - k.T)) > 1e-10 * max(float(np.max(np.abs(k))), 1e-300):
        raise ValueError("gram must be finite and symmetric")
    top = float(np.max(np.diag(k)))
    if top <= 0:
        raise ValueError("gram must have a positive diagonal entry (max_i K_ii > 0)")
    k = 0.5 * (k + k.T)
    low = float(scipy.linalg.eigvalsh(k)[0])
    if low < -1e-10 * top * k.shape[0]:
        raise ValueError(f"gram must be positive semi-definite (a Gram matrix G G^T), smallest eigenvalue {low:.3g}")
    return float(scipy.linalg.eigvalsh(np.abs(k))[-1]) / top


def coherence_from_factors(factors: npt.ArrayLike) -> float:
    """sigma for H_i = g_i g_i^T from the factors G (n, d): coherence_from_gram(G G^T)."""
    g = check_factors(factors)
    return coherence_from_gram(g @ g.T)


def key_inequality(hessians: npt.ArrayLike) -> tuple[float, float]:
    """Both sides of n lambda_1(H) <= sigma max_i lambda_1(H_i) = lambda_1(S).

    Proof (any rank): with A_i = H_i^{1/2}, n H = F F^T for F = [A_1 ... A_n], so n lambda_1(H) = lambda_1(F^T F),
    and F^T F has blocks A_i A_j with ||A_i A_j||_2 <= ||A_i A_j||_F = S_ij; the top eigenvalue of a PSD block matrix
    is at most the Perron root of the matrix of block norms, which is at most lambda_1(S) (monotonicity).
    Returns (n lambda_1(H), lambda_1(S)).
    """
    h = check_hessians(hessians)
    lhs = float(np.linalg.eigvalsh(h.sum(axis=0))[-1])
    rhs = float(scipy.linalg.eigvalsh(coherence_matrix(h))[-1])
    return lhs, rhs


def thm1_threshold(sigma: float, eta: float, n: int, batch: int) -> float:
    """Right-hand side of eq. (4): (sigma / eta) (n / B - 1)^(-1/2) (inf when B = n)."""
    e = check_eta(eta)
    b = check_batch(batch, n)
    _number(sigma, "sigma (a coherence value)", 1.0)
    if b == n:
        return float("inf")
    return float(sigma / e / np.sqrt(n / b - 1.0))


def thm1_fires(lambda1: float, sigma: float, eta: float, n: int, batch: int) -> bool:
    """True iff the Theorem 1 divergence condition (eq. (4)) holds: lambda_1(H) >= (sigma/eta)(n/B - 1)^(-1/2).

    Why it implies rho(Q_Bernoulli) >= 1: Q >= eta^2 (1/B - 1/n)(1/n) sum_i H_i kron H_i as positive maps, the latter
    has spectral radius >= max_j lambda_1(H_j)^2 / n, and max_j lambda_1(H_j) >= n lambda_1(H) / sigma (key
    inequality); combining gives rho(Q) >= eta^2 (n/B - 1) lambda_1(H)^2 / sigma^2 >= 1.
    """
    _number(lambda1, "lambda1 (top eigenvalue of a PSD Hessian)", 0.0)
    return bool(lambda1 >= thm1_threshold(sigma, eta, n, batch))


def _sigma(sigma: int, n: int) -> int:
    """The integer coherence of the Theorem 2 construction; ValueError unless an integer in [1, n] (its assumption)."""
    if isinstance(sigma, bool) or not isinstance(sigma, (int, np.integer, float)) or not np.isfinite(sigma) \
            or int(sigma) != sigma or not 1 <= sigma <= n:
        raise ValueError(f"sigma must be an integer in [1, n={n}] (Theorem 2 assumes sigma in [n]), got {sigma!r}")
    return int(sigma)


def thm2_construction(n: int, sigma: int, lam: float) -> Array:
    """Rank-one factors G (n, d), d = n - sigma + 1, of the Theorem 2 instance: H_i = c e_0 e_0^T for i < sigma and
    H_i = c e_{i - sigma + 1} e_{i - sigma + 1}^T otherwise, c = n lam / sigma. Its coherence is exactly sigma and
    lambda_1(H) = lam (H = diag(lam, lam/sigma, ..., lam/sigma))."""
    n = check_n(n)
    sigma = _sigma(sigma, n)
    _number(lam, "lam", 0.0, closed=False)
    c = n * lam / sigma
    d = n - sigma + 1
    g = np.zeros((n, d))
    idx = np.maximum(np.arange(n) - sigma + 1, 0)
    g[np.arange(n), idx] = np.sqrt(c)
    return g


def thm2_boundary(n: int, batch: int, sigma: int, eta: float) -> float:
    """Exact critical lambda of the Theorem 2 instance under Bernoulli sampling: diverges iff lambda > this value,

        lambda_c = min{ 2 / (eta (1 + (n - B) / (B sigma))),  2 sigma B / (eta n) }

    (the second term only when d > 1, i.e. sigma < n). Derivation: the instance is diagonal, so rho(Q) = max(f_0, f_1)
    with f_0 = (1 - eta lam)^2 + eta^2 lam^2 (n - B) / (B sigma) and f_1 = (1 - eta lam / sigma)^2
    + eta^2 lam^2 (n - B) / (B sigma^2); f_0 > 1 and f_1 > 1 give the two terms. The second term is never the smaller
    (2 sigma B / (eta n) >= the first iff B (sigma - 1) >= 0), so the boundary is the first term; both are kept to
    mirror the derivation (tested by bisection on rho(Q))."""
    e = check_eta(eta)
    b = check_batch(batch, n)
    sigma = _sigma(sigma, n)
    first = 2.0 / (e * (1.0 + (n - b) / (b * sigma)))
    if sigma == n:
        return first
    return min(first, 2.0 * sigma * b / (e * n))


def thm2_lyapunov(n: int, batch: int, sigma: int, lam: float, eta: float, sampling: str) -> float:
    """Top almost-sure (Lyapunov) exponent lim_t (1/t) log ||w_t|| of linearised SGD on the Theorem 2 instance.

    The instance is diagonal: coordinate k is multiplied at every step by X_k = 1 - (eta c / B) N_k, c = n lam / sigma,
    where N_k counts the batch draws that hit the m_k samples aligned with e_k (m_0 = sigma, m_k = 1 otherwise):
    N ~ Binomial(m, B/n) (Bernoulli), Binomial(B, m/n) (with replacement), Hypergeometric(n, m, B) (without). The X_k
    are iid over time, so by the strong law (1/t) log |w_k(t)| -> E log |X_k| almost surely, and the top exponent is
    max_k E log |X_k| (-inf if some X_k = 0 with positive probability for every k). By Jensen,
    E log |X| <= (1/2) log E X^2, so a.s. divergence implies mean-square divergence (rho(Q) > 1) but not conversely.
    """
    e = check_eta(eta)
    b = check_batch(batch, n)
    check_sampling(sampling)
    sigma = _sigma(sigma, n)
    _number(lam, "lam", 0.0, closed=False)
    c = n * lam / sigma
    best = -np.inf
    for m in ([int(sigma), 1] if sigma < n else [int(sigma)]):
        if sampling == "bernoulli":
            dist, top = stats.binom(m, b / n), m
        elif sampling == "with_replacement":
            dist, top = stats.binom(b, m / n), b
        else:
            dist, top = stats.hypergeom(n, m, b), min(m, b)
        k = np.arange(top + 1)
        p = dist.pmf(k)
        x = np.abs(1.0 - e * c * k / b)
        if np.any((p > 0) & (x == 0)):
            continue
        val = float(np.sum(np.where(p > 0, p * np.log(np.where(x > 0, x, 1.0)), 0.0)))
        best = max(best, val)
    return float(best)


def wu_ma_e(hessians: npt.ArrayLike, eta: float, batch: int, sampling: str) -> dict[str, float | bool]:
    """Wu-Ma-E (2018) sharpness and non-uniformity conditions, with the batch noise of the given sampling.

    sharpness a = lambda_1(H); noise V = E[H_hat^2] - H^2 = (alpha - 1) H^2 + beta (1/n) sum_i H_i^2 (eq. (1));
    with replacement V = Sigma / B, Sigma = (1/n) sum_i H_i^2 - H^2, and non-uniformity s = lambda_1(Sigma)^(1/2).
    Conditions: a <= 2 / eta and eta^2 lambda_1(V) <= 1 (s <= sqrt(B) / eta with replacement). In d = 1 they follow
    from the exact criterion (1 - eta a)^2 + eta^2 V <= 1; in higher d Wu-Ma-E state them as necessary [verify].
    """
    h = check_hessians(hessians)
    e = check_eta(eta)
    n = h.shape[0]
    alpha, beta = noise_coefficients(n, batch, sampling)
    hm = h.mean(axis=0)
    sq = np.einsum("nij,njk->ik", h, h) / n
    a = float(np.linalg.eigvalsh(hm)[-1])
    v = (alpha - 1.0) * hm @ hm + beta * sq
    lam_v = float(np.linalg.eigvalsh(0.5 * (v + v.T))[-1])
    s = float(np.sqrt(max(float(np.linalg.eigvalsh(sq - hm @ hm)[-1]), 0.0)))
    return {"sharpness": a, "non_uniformity": s, "noise_top": lam_v,
            "sharpness_ok": bool(a <= 2.0 / e), "noise_ok": bool(e**2 * lam_v <= 1.0)}
