"""Exact risk of SGD and accelerated SGD (ASGD) on linear regression with a diagonal covariance.

Setting (Li, Deng, Wu, Zhou, Gu, ICLR 2024; Zou et al., COLT 2021). ``x in R^d`` with independent, symmetric
coordinates, ``H = E[x x^T] = diag(lam)`` with ``lam_1 >= lam_2 >= ... > 0``, ``y = <w*, x> + xi`` with
``xi ~ N(0, sigma2)`` independent of ``x``. The coordinate kurtosis ``kappa = E[x_i^4] / lam_i^2`` is 3 for
Gaussian data (the papers' case, fourth-moment constant ``psi = 3``) and 1 for Rademacher-scaled data.

Conventions used everywhere in this module
------------------------------------------
* Excess risk ``L(w) - L(w*) = 1/2 ||w - w*||_H^2 = 1/2 sum_i lam_i (w - w*)_i^2``.
* Iterates are indexed ``w_0, w_1, ...``; ``w_t`` has used ``t`` samples (one fresh sample per step).
* Last iterate at step N: ``w_N``. Averaged iterate with burn-in ``s``: ``wbar_N = mean(w_s, ..., w_{N-1})``
  (``N - s`` iterates; Zou et al.'s iterate average is ``s = 0``); undefined (NaN in the arrays) for ``N <= s``.
  Tail average at N: ``s = N // 2``.
* ASGD starts from ``w_0 = v_0``.

SGD:  ``w_t = w_{t-1} - eta x_t (x_t^T w_{t-1} - y_t)``.

ASGD (Jain, Kakade, Kidambi, Netrapalli, Sidford 2018), ``G_t(u) = x_t (x_t^T u - y_t)``::

    u_{t-1} = alpha w_{t-1} + (1 - alpha) v_{t-1}
    w_t     = u_{t-1} - delta G_t(u_{t-1})
    v_t     = beta u_{t-1} + (1 - beta) v_{t-1} - gamma G_t(u_{t-1})

Per eigen-direction ``i`` the error ``z_i = (w - w*, v - w*)_i`` has mean dynamics
``E z_i(t) = A(lam_i) E z_i(t-1)`` with ``A(lam) = C - lam q p^T``, ``C = [[alpha, 1-alpha],
[alpha beta, 1 - alpha beta]]``, ``q = (delta, gamma)``, ``p = (alpha, 1 - alpha)``. With independent symmetric
coordinates the diagonal second-moment blocks ``M_i = E[z_i z_i^T]`` close (derivation in the docstring of
:func:`second_moment_operator`)::

    M_i <- A_i M_i A_i^T + ((kappa - 2) lam_i^2 u_i + lam_i sum_j lam_j u_j + sigma2 lam_i) q q^T,
    u_i = p^T M_i p.

SGD is the scalar case ``m_i <- (1 - eta lam_i)^2 m_i + eta^2 ((kappa-2) lam_i^2 m_i + lam_i sum_j lam_j m_j
+ sigma2 lam_i)``; it is also ASGD with ``(alpha, beta, gamma, delta) = (1, 1, 0, eta)`` (then ``v_t = w_{t-1}``).
The map is affine in ``(M_0, sigma2)``: bias = run with ``sigma2 = 0``, variance = run from ``M_0 = 0``; the split is
exact. Averaged iterates use ``E[z_i(t') z_i(t)^T] = A_i^(t'-t) M_i(t)`` for ``t' >= t``, accumulated by running
geometric sums ``r(t') = A r(t'-1) + M(t') e_1`` (cost O(N d) for every N at once).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]

GAUSSIAN_KURTOSIS = 3.0
RADEMACHER_KURTOSIS = 1.0


# ----------------------------------------------------------------------------------------------------------------
# input validation
# ----------------------------------------------------------------------------------------------------------------
def check_spectrum(lam: npt.ArrayLike) -> Array:
    """Return ``lam`` as float64 after checking it is 1-D, finite, positive and non-increasing.

    Raises ValueError naming ``lam`` and the allowed range otherwise (the papers order
    ``lam_1 >= lam_2 >= ... > 0``).
    """
    arr = np.asarray(lam, dtype=np.float64)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"lam must be a non-empty 1-D array of eigenvalues, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError("lam must be finite (no NaN/inf); allowed range: 0 < lam_i < inf")
    if np.any(arr <= 0):
        raise ValueError(f"lam must be positive (allowed range lam_i > 0), min is {arr.min():g}")
    if np.any(np.diff(arr) > 0):
        raise ValueError("lam must be non-increasing (lam_1 >= lam_2 >= ...); sort it in decreasing order")
    return arr


def check_init(m0: npt.ArrayLike, d: int, name: str = "m0") -> Array:
    """Check a per-direction initial second moment ``E[(w_0 - w*)_i^2]`` (shape ``(d,)``, finite, >= 0)."""
    arr = np.asarray(m0, dtype=np.float64)
    if arr.shape != (d,):
        raise ValueError(f"{name} must have shape ({d},) to match lam, got {arr.shape}")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError(f"{name} must be finite and >= 0 (it is E[(w_0 - w*)_i^2])")
    return arr


def _check_scalar(value: float, name: str, lo: float, hi: float, lo_open: bool, hi_open: bool) -> float:
    v = float(value)
    ok = math.isfinite(v) and (v > lo if lo_open else v >= lo) and (v < hi if hi_open else v <= hi)
    if not ok:
        lb = "(" if lo_open else "["
        rb = ")" if hi_open else "]"
        raise ValueError(f"{name} must be in {lb}{lo:g}, {hi:g}{rb}, got {value!r}")
    return v


def check_sigma2(sigma2: float) -> float:
    """Noise variance: finite, >= 0."""
    return _check_scalar(sigma2, "sigma2", 0.0, math.inf, False, True)


def check_kurtosis(kurtosis: float) -> float:
    """Coordinate kurtosis ``E x_i^4 / lam_i^2``: >= 1 by Jensen."""
    return _check_scalar(kurtosis, "kurtosis", 1.0, math.inf, False, True)


def power_law_spectrum(d: int, a: float = 2.0) -> Array:
    """``lam_i = i^(-a)``, ``i = 1..d`` (the paper's experiment uses ``d = 2000, a = 2``)."""
    if int(d) < 1:
        raise ValueError(f"d must be >= 1, got {d}")
    _check_scalar(a, "a", 0.0, math.inf, True, True)
    return np.arange(1, int(d) + 1, dtype=np.float64) ** (-float(a))


def band_init(d: int, lo: int, hi: int, norm2: float = 1.0) -> Array:
    """``E[(w_0 - w*)_i^2]`` for ``w_0 - w*`` spread evenly over eigen-directions ``lo..hi`` (1-based, inclusive).

    ``||w_0 - w*||_2^2 = norm2``. This is the paper's experiment's "w_0 - w* on a band of eigen-directions".
    """
    if not (1 <= lo <= hi <= d):
        raise ValueError(f"band must satisfy 1 <= lo <= hi <= d={d}, got lo={lo}, hi={hi}")
    m0 = np.zeros(d)
    m0[lo - 1 : hi] = norm2 / (hi - lo + 1)
    return m0


# ----------------------------------------------------------------------------------------------------------------
# parameters
# ----------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AsgdParams:
    """Jain et al.'s four parameters: momentum mixing ``alpha in (0, 1]``, ``beta in [0, 1]``, long step
    ``gamma >= 0``, short step ``delta > 0``."""

    alpha: float
    beta: float
    gamma: float
    delta: float

    def __post_init__(self) -> None:
        _check_scalar(self.alpha, "alpha", 0.0, 1.0, True, False)
        _check_scalar(self.beta, "beta", 0.0, 1.0, False, False)
        _check_scalar(self.gamma, "gamma", 0.0, math.inf, False, True)
        _check_scalar(self.delta, "delta", 0.0, math.inf, True, True)

    @property
    def q(self) -> Array:
        """Step vector ``q = (delta, gamma)``."""
        return np.array([self.delta, self.gamma])

    @property
    def p(self) -> Array:
        """Mixing vector ``p = (alpha, 1 - alpha)`` (``u = p^T (w, v)``)."""
        return np.array([self.alpha, 1.0 - self.alpha])

    @property
    def C(self) -> Array:
        """Noise-free, gradient-free part ``C = [[alpha, 1-alpha], [alpha beta, 1 - alpha beta]]``."""
        a, b = self.alpha, self.beta
        return np.array([[a, 1.0 - a], [a * b, 1.0 - a * b]])

    def scaled(self, factor: float) -> AsgdParams:
        """Same ``alpha, beta``, both steps ``gamma, delta`` multiplied by ``factor``."""
        return AsgdParams(self.alpha, self.beta, self.gamma * factor, self.delta * factor)


def accsgd_to_asgd(lr: float, kappa: float, xi: float, c: float = 0.7) -> AsgdParams:
    """Map the AccSGD code parameterisation ``(lr, kappa, xi, c)`` (Kidambi et al. 2018) to Jain et al.'s.

    ``delta = lr, beta = c^2 xi / kappa, gamma = c xi delta, alpha = c / (c + beta)`` (read from the AccSGD update:
    its buffer is ``v``, its parameter is the extrapolated point ``u``). Requires ``c^2 xi <= kappa``.
    """
    _check_scalar(lr, "lr", 0.0, math.inf, True, True)
    _check_scalar(kappa, "kappa", 0.0, math.inf, True, True)
    _check_scalar(xi, "xi", 0.0, math.inf, True, True)
    _check_scalar(c, "c", 0.0, math.inf, True, True)
    beta = c * c * xi / kappa
    if beta > 1.0:
        raise ValueError(f"kappa must be >= c^2 xi = {c * c * xi:g} so that beta = c^2 xi / kappa <= 1, got {kappa}")
    return AsgdParams(alpha=c / (c + beta), beta=beta, gamma=c * xi * lr, delta=lr)


def sgd_as_asgd(eta: float) -> AsgdParams:
    """SGD with step ``eta`` as an ASGD instance: ``(alpha, beta, gamma, delta) = (1, 1, 0, eta)``."""
    return AsgdParams(alpha=1.0, beta=1.0, gamma=0.0, delta=eta)


def paper_params(lam: npt.ArrayLike, kappa: float = 200.0, xi: float = 5.0, c: float = 0.7) -> AsgdParams:
    """The suite's reference ASGD setting: AccSGD mapping with ``lr = delta = 1 / (3 tr H)``."""
    lam_ = check_spectrum(lam)
    return accsgd_to_asgd(1.0 / (3.0 * float(lam_.sum())), kappa, xi, c)


# ----------------------------------------------------------------------------------------------------------------
# per-direction 2x2 analysis
# ----------------------------------------------------------------------------------------------------------------
def transition_matrix(params: AsgdParams, lam: npt.ArrayLike) -> Array:
    """``A(lam) = C - lam q p^T`` for each ``lam`` (shape ``lam.shape + (2, 2)``): ``E z(t) = A E z(t-1)``."""
    lam_ = np.asarray(lam, dtype=np.float64)
    return params.C - lam_[..., None, None] * np.outer(params.q, params.p)


def spectral_radius_A(params: AsgdParams, lam: npt.ArrayLike) -> Array:
    """``rho(A(lam))``, the mean contraction factor per step of ASGD in direction ``lam``."""
    return np.max(np.abs(np.linalg.eigvals(transition_matrix(params, lam))), axis=-1)


def det_A(params: AsgdParams, lam: npt.ArrayLike) -> Array:
    """Closed form ``det A(lam) = alpha (1 - beta)(1 - delta lam)`` (derived in theory.linreg_symbolic)."""
    lam_ = np.asarray(lam, dtype=np.float64)
    return params.alpha * (1.0 - params.beta) * (1.0 - params.delta * lam_)


def s_eff(params: AsgdParams) -> float:
    """Effective small-eigenvalue step: slow eigenvalue of ``A(lam)`` is ``1 - s_eff lam + O(lam^2)`` with
    ``s_eff = (alpha beta delta + (1 - alpha) gamma) / (1 - alpha (1 - beta))``."""
    a, b = params.alpha, params.beta
    den = 1.0 - a * (1.0 - b)
    if den <= 0:
        raise ValueError("params must have alpha (1 - beta) < 1 for s_eff to exist (C has a double eigenvalue 1)")
    return (a * b * params.delta + (1.0 - a) * params.gamma) / den


def crossover_lambda(params: AsgdParams) -> float:
    """``lambda_x = (1 - alpha (1 - beta)) / delta``: in the complex-eigenvalue regime ASGD's squared contraction
    ``|det A| = alpha (1 - beta)(1 - delta lam)`` beats SGD's ``(1 - delta lam)^2`` iff ``lam < lambda_x``."""
    return (1.0 - params.alpha * (1.0 - params.beta)) / params.delta


# ----------------------------------------------------------------------------------------------------------------
# the second-moment map on the diagonal blocks
# ----------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SecondMomentOperator:
    """Linear part of the diagonal-block second-moment map, state ``m_i`` per direction.

    ASGD: ``m_i = (M_11, M_12, M_22)`` (k = 3); SGD: ``m_i = E[(w - w*)_i^2]`` (k = 1). One step is
    ``m_i <- T_i m_i + b lam_i (s + sigma2)``, ``s = sum_j lam_j c^T m_j`` (``c^T m_j = u_j``).
    ``A`` (shape (k2, k2, d)) propagates the averaging sums, ``e1`` picks ``M e_1`` out of ``m`` (k2 entries).
    """

    T: Array  # (k, k, d)
    b: Array  # (k,)
    c: Array  # (k,)
    A: Array  # (k2, k2, d)
    e1: tuple[int, ...]  # indices of M e_1 in m
    lam: Array

    @property
    def k(self) -> int:
        return int(self.b.shape[0])


def second_moment_operator(params: AsgdParams, lam: npt.ArrayLike, kurtosis: float = GAUSSIAN_KURTOSIS
                           ) -> SecondMomentOperator:
    """Build the ASGD diagonal-block map ``M_i <- A_i M_i A_i^T + (coef_i) q q^T`` in vectorised form.

    Derivation (independent, symmetric coordinates, ``E x_i^4 = kappa lam_i^2``): with ``e_u = p^T z``,
    ``z_i' = A_i z_i - q (x_i x^T e_u - lam_i e_{u,i}) + q x_i xi``; the three terms are uncorrelated and
    ``E[(x_i x^T e_u)^2] = lam_i sum_j lam_j u_j + (kappa - 1) lam_i^2 u_i`` (only ``k = l`` pairs survive), so
    ``coef_i = (kappa - 2) lam_i^2 u_i + lam_i sum_j lam_j u_j + sigma2 lam_i``.
    """
    lam_ = check_spectrum(lam)
    kurt = check_kurtosis(kurtosis)
    A = transition_matrix(params, lam_)  # (d, 2, 2)
    a11, a12, a21, a22 = A[:, 0, 0], A[:, 0, 1], A[:, 1, 0], A[:, 1, 1]
    q1, q2 = params.delta, params.gamma
    p1, p2 = params.alpha, 1.0 - params.alpha
    b = np.array([q1 * q1, q1 * q2, q2 * q2])
    c = np.array([p1 * p1, 2.0 * p1 * p2, p2 * p2])
    # vec(A M A^T) for vec M = (m11, m12, m22), M symmetric
    T = np.empty((3, 3, lam_.size))
    T[0] = [a11 * a11, 2 * a11 * a12, a12 * a12]
    T[1] = [a11 * a21, a11 * a22 + a12 * a21, a12 * a22]
    T[2] = [a21 * a21, 2 * a21 * a22, a22 * a22]
    T += (kurt - 2.0) * lam_**2 * b[:, None, None] * c[None, :, None]
    Aacc = np.stack([np.stack([a11, a12]), np.stack([a21, a22])])  # (2, 2, d)
    return SecondMomentOperator(T=T, b=b, c=c, A=Aacc, e1=(0, 1), lam=lam_)


def sgd_second_moment_operator(eta: float, lam: npt.ArrayLike, kurtosis: float = GAUSSIAN_KURTOSIS
                               ) -> SecondMomentOperator:
    """Scalar SGD map ``m_i <- ((1 - eta lam_i)^2 + (kappa - 2) eta^2 lam_i^2) m_i + eta^2 lam_i (s + sigma2)``."""
    lam_ = check_spectrum(lam)
    kurt = check_kurtosis(kurtosis)
    eta_ = _check_scalar(eta, "eta", 0.0, math.inf, True, True)
    a = 1.0 - eta_ * lam_
    T = (a * a + (kurt - 2.0) * eta_**2 * lam_**2)[None, None, :]
    return SecondMomentOperator(T=T, b=np.array([eta_**2]), c=np.array([1.0]), A=a[None, None, :], e1=(0,),
                                lam=lam_)


def _resolvent_in_cone(op: SecondMomentOperator, mu: float) -> bool:
    """True iff ``(mu I - L)^{-1} f`` exists and is in the cone (all 2x2 blocks PSD) for ``f_i = I``.

    ``L`` (the full map, diagonal blocks ``T_i`` plus the rank-one coupling ``b lam_i lam_j c^T``) preserves the cone
    of PSD blocks when ``kappa >= 1``; for such maps ``rho(L) < mu`` iff that solution lies in the cone
    (Krein-Rutman / M-matrix criterion). The coupling is removed by Sherman-Morrison, so the test costs O(d).
    """
    k, d = op.k, op.lam.size
    Tm = np.moveaxis(op.T, 2, 0)  # (d, k, k)
    Mu = mu * np.eye(k)[None] - Tm
    f = np.zeros((d, k))
    if k == 3:
        f[:, 0] = f[:, 2] = 1.0
    else:
        f[:, 0] = 1.0
    rhs = np.stack([f, np.broadcast_to(op.b, (d, k))], axis=-1)  # (d, k, 2)
    try:
        sol = np.linalg.solve(Mu, rhs)
    except np.linalg.LinAlgError:
        return False
    if not np.all(np.isfinite(sol)):
        return False
    lc = op.lam[:, None] * op.c[None, :]
    F = float(np.sum(lc * sol[..., 0]))
    G = float(np.sum(op.lam[:, None] * lc * sol[..., 1]))
    if not G < 1.0:
        return False
    s = F / (1.0 - G)
    m = sol[..., 0] + s * op.lam[:, None] * sol[..., 1]
    tol = 1e-12 * float(np.max(np.abs(m))) if m.size else 0.0
    if k == 1:
        return bool(np.all(m[:, 0] > -tol) and s >= 0)
    m11, m12, m22 = m[:, 0], m[:, 1], m[:, 2]
    return bool(np.all(m11 > -tol) and np.all(m22 > -tol) and np.all(m11 * m22 - m12 * m12 > -tol * (np.abs(m11)
                                                                                                  + np.abs(m22))))


def full_map_spectral_radius(op: SecondMomentOperator, rtol: float = 1e-10) -> float:
    """Spectral radius of the FULL second-moment map (all directions coupled through ``sum_j lam_j u_j``).

    ``rho < 1`` iff the second moments (hence the risk) stay bounded for every start; ``rho(A_i) < 1`` (mean
    convergence) is not enough. Bisection on the cone criterion of :func:`_resolvent_in_cone`, started from the
    lower bound ``max_i rho(A_i)^2``.
    """
    if op.k == 3:
        lo = float(np.max(np.abs(np.linalg.eigvals(np.moveaxis(op.A, 2, 0))))) ** 2
    else:
        lo = float(np.max(np.abs(op.A))) ** 2
    hi = max(1.0, 2.0 * lo)
    while not _resolvent_in_cone(op, hi):
        hi *= 2.0
        if hi > 1e300:
            return math.inf
    lo = min(lo, hi) * (1.0 - 1e-15)
    while hi - lo > rtol * hi:
        mid = 0.5 * (lo + hi)
        if _resolvent_in_cone(op, mid):
            hi = mid
        else:
            lo = mid
    return hi


def asgd_stability(params: AsgdParams, lam: npt.ArrayLike, kurtosis: float = GAUSSIAN_KURTOSIS) -> float:
    """Spectral radius of ASGD's full second-moment map (``< 1``: the risk stays bounded)."""
    return full_map_spectral_radius(second_moment_operator(params, lam, kurtosis))


def sgd_stability(eta: float, lam: npt.ArrayLike, kurtosis: float = GAUSSIAN_KURTOSIS) -> float:
    """Spectral radius of SGD's full second-moment map. For ``kappa >= 2`` it is ``< 1`` iff every
    ``(1 - eta lam_i)^2 + (kappa-2) eta^2 lam_i^2 < 1`` and ``sum_i eta^2 lam_i^2 / (1 - a_i) < 1``."""
    return full_map_spectral_radius(sgd_second_moment_operator(eta, lam, kurtosis))


def max_stable_scale(params: AsgdParams, lam: npt.ArrayLike, kurtosis: float = GAUSSIAN_KURTOSIS,
                     rtol: float = 1e-6) -> float:
    """Largest factor ``f`` such that ``params.scaled(f)`` (both steps times ``f``) has a stable second moment."""
    lam_ = check_spectrum(lam)
    lo, hi = 0.0, 1.0
    while asgd_stability(params.scaled(hi), lam_, kurtosis) < 1.0:
        lo, hi = hi, 2.0 * hi
        if hi > 1e12:
            return math.inf
    while hi - lo > rtol * hi:
        mid = 0.5 * (lo + hi)
        if asgd_stability(params.scaled(mid), lam_, kurtosis) < 1.0:
            lo = mid
        else:
            hi = mid
    return lo


# ----------------------------------------------------------------------------------------------------------------
# the exact recursion
# ----------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RiskCurves:
    """Exact expected excess risks ``1/2 ||w - w*||_H^2`` (bias and variance parts; total = bias + variance).

    ``bias[t], variance[t]``: last iterate ``w_t``, ``t = 0..n_steps``.
    ``avg_bias[j, N], avg_variance[j, N]``: iterate ``mean(w_s, ..., w_{N-1})`` with ``s = avg_starts[j]``,
    ``N = 0..n_steps`` (NaN where the window is empty, ``N <= s``).
    ``dir_*``: per-direction contributions ``1/2 lam_i E[(.)_i^2]`` at ``N = n_steps`` (last iterate) and for the
    average with ``avg_starts[0]``; they sum to the curves' last entries.
    ``rho``: spectral radius of the full second-moment map; ``diverged``: ``rho >= 1`` (the recursion then stops
    once the risk exceeds 1e8 times its initial scale; ``diverged_at`` is that step, later entries are inf; -1 if
    it never got there).
    ``tail_bias[N], tail_variance[N]`` (when ``tail_fraction = f`` was asked): the tail average
    ``mean(w_s, ..., w_{N-1})`` with ``s = floor(f N)`` for every ``N = 1..n_steps`` (NaN at ``N = 0``);
    ``dir_tail_*`` its per-direction contributions at ``N = n_steps``.
    """

    bias: Array
    variance: Array
    avg_starts: tuple[int, ...]
    avg_bias: Array
    avg_variance: Array
    dir_bias: Array
    dir_variance: Array
    dir_avg_bias: Array
    dir_avg_variance: Array
    rho: float
    diverged: bool
    diverged_at: int
    tail_fraction: float | None = None
    tail_bias: Array | None = None
    tail_variance: Array | None = None
    dir_tail_bias: Array | None = None
    dir_tail_variance: Array | None = None

    @property
    def total(self) -> Array:
        return self.bias + self.variance

    @property
    def avg_total(self) -> Array:
        return self.avg_bias + self.avg_variance

    @property
    def steps(self) -> Array:
        return np.arange(self.bias.size, dtype=np.float64)


def _mat2(X: Array, Y: Array) -> Array:
    """Per-direction product of small matrices: (k2, k2, d) x (k2, k2, d) -> (k2, k2, d)."""
    if X.shape[0] == 1:
        return X * Y
    return np.stack([np.stack([X[0, 0] * Y[0, 0] + X[0, 1] * Y[1, 0], X[0, 0] * Y[0, 1] + X[0, 1] * Y[1, 1]]),
                     np.stack([X[1, 0] * Y[0, 0] + X[1, 1] * Y[1, 0], X[1, 0] * Y[0, 1] + X[1, 1] * Y[1, 1]])])


def _matvec(X: Array, v: Array) -> Array:
    """Per-direction matrix-vector product: (k2, k2, d) x (B, k2, d) -> (B, k2, d)."""
    if X.shape[0] == 1:
        return X[0, 0][None, None, :] * v
    return np.stack([X[0, 0] * v[:, 0] + X[0, 1] * v[:, 1], X[1, 0] * v[:, 0] + X[1, 1] * v[:, 1]], axis=1)


class _TailWindow:
    """Running second moment of ``sum_{t=s}^{N-1} w_t`` with ``s = floor(f N)`` for every N, in O(d) per step.

    Per direction, ``E[(sum_t w_t)^2] = 2 Q - D`` with ``Q = sum_{s<=t<=t'<N} e1^T A^(t'-t) M_t e1`` and
    ``D = sum_t (M_t)_11``. Appending ``t = N`` adds ``r_1`` where ``r = A r + M_N e1``; dropping ``t = s`` removes
    ``e1^T G M_s e1`` with ``G = sum_{k=0}^{N-s} A^k`` and subtracts ``A^(N-s) M_s e1`` from ``r``. Since ``s``
    advances by at most one when N does, the exponent ``N - 1 - s`` never decreases: ``P = A^(N-1-s)`` and
    ``G = sum_{k<=N-1-s} A^k`` are updated by products only (no inverse of A, which is singular for SGD written as
    ASGD). ``M_s`` comes from a second copy of the recursion that lags behind (advanced when s is).
    """

    def __init__(self, fraction: float, A: Array, m0: Array, e1: list[int]) -> None:
        self.f = fraction
        self.A = A
        self.e1 = e1
        k2, d = A.shape[0], A.shape[2]
        self.s = 0
        self.m_lag = m0.copy()
        self.r = np.zeros((m0.shape[0], k2, d))
        self.Q = np.zeros((m0.shape[0], d))
        self.D = np.zeros((m0.shape[0], d))
        eye = np.zeros((k2, k2, d))
        for i in range(k2):
            eye[i, i] = 1.0
        self.P = eye  # A^0, valid after the first append
        self.G = eye.copy()

    def append(self, t: int, m: Array, step: object) -> int:
        """Include ``M_t`` (window becomes [s', t + 1)); returns the new window length."""
        me1 = m[:, self.e1, :]
        self.r = _matvec(self.A, self.r) + me1
        self.Q += self.r[:, 0, :]
        self.D += m[:, 0, :]
        s_new = int(math.floor(self.f * (t + 1)))
        if t == 0:
            pass  # P = I, G = I already describe the window [0, 1)
        elif s_new == self.s + 1:
            P_tmp = _mat2(self.A, self.P)  # A^(t - s)
            G_tmp = self.G + P_tmp  # sum_{k=0}^{t-s} A^k
            ms = self.m_lag[:, self.e1, :]
            self.Q -= _matvec(G_tmp, ms)[:, 0, :]
            self.D -= self.m_lag[:, 0, :]
            self.r -= _matvec(P_tmp, ms)
            self.m_lag = step(self.m_lag)  # type: ignore[operator]
            self.s = s_new
        else:
            self.P = _mat2(self.A, self.P)
            self.G = self.G + self.P
        return t + 1 - self.s


def _run_recursion(op: SecondMomentOperator, m0: Array, sigma2: float, n_steps: int,
                   avg_starts: Sequence[int], rho: float, blowup: float = 1e8,
                   tail_fraction: float | None = None) -> RiskCurves:
    """Propagate bias (``m0``, no noise) and variance (``0``, noise ``sigma2``) together; see RiskCurves."""
    k, d = op.k, op.lam.size
    lam = op.lam
    n = int(n_steps)
    starts = tuple(int(s) for s in avg_starts)
    K = len(starts)
    # state m: (B=2, k, d). bias starts at M_0 = m0 * [[1,1],[1,1]] (w_0 = v_0), variance at 0.
    m = np.zeros((2, k, d))
    m[0] = m0[None, :]
    forcing_noise = np.array([0.0, sigma2])
    lc = (op.c[:, None] * lam[None, :]).reshape(-1)  # s_b = m[b].ravel() @ lc
    blam = op.b[:, None] * lam[None, :]  # (k, d)
    T = op.T
    A = op.A
    e1 = list(op.e1)
    k2 = len(e1)
    last = np.empty((2, n + 1))
    avg = np.full((K, 2, n + 1), np.nan)
    r = np.zeros((K, 2, k2, d))
    cum = np.zeros((K, 2))
    dir_S = np.zeros((2, d))
    dir_D = np.zeros((2, d))
    diverged_at = -1
    start_arr = np.array(starts)
    s0 = starts[0] if K else n + 1
    # an unstable map (rho >= 1) is stopped once the risk exceeds blowup x its initial scale; a stable one only on
    # overflow
    limit = blowup * (0.5 * float(m0 @ lam) + sigma2 * float(lam.sum()) + 1e-300) if rho >= 1.0 else 1e300

    def step(mm: Array) -> Array:
        sc = mm.reshape(2, k * d) @ lc + forcing_noise
        if k == 1:
            return T[0, 0][None, None, :] * mm + blam[None] * sc[:, None, None]
        return np.einsum("kjd,bjd->bkd", T, mm, optimize=False) + blam[None] * sc[:, None, None]

    tail = _TailWindow(tail_fraction, A, m, e1) if tail_fraction is not None else None
    tail_risk = np.full((2, n + 1), np.nan)
    for t in range(n + 1):
        m11 = m[:, 0, :]
        rl = m11 @ lam  # (2,) = sum_i lam_i m11
        last[:, t] = 0.5 * rl
        if not np.all(np.isfinite(rl)) or 0.5 * rl.sum() > limit:
            diverged_at = t
            last[:, t:] = np.inf
            break
        if K and t < n:
            active = start_arr <= t
            if active.any():
                me1 = m[:, e1, :]  # (2, k2, d)
                if k2 == 1:
                    r = A[0, 0][None, None, None, :] * r + me1[None]
                else:
                    r0 = A[0, 0] * r[:, :, 0] + A[0, 1] * r[:, :, 1] + me1[None, :, 0]
                    r1 = A[1, 0] * r[:, :, 0] + A[1, 1] * r[:, :, 1] + me1[None, :, 1]
                    r = np.stack([r0, r1], axis=2)
                r[~active] = 0.0
                inc = 2.0 * (r[:, :, 0, :] @ lam) - rl[None, :]  # (K, 2)
                cum += np.where(active[:, None], inc, 0.0)
                nwin = t + 1 - start_arr  # window length if N = t + 1
                ok = active
                avg[ok, :, t + 1] = 0.5 * cum[ok] / (nwin[ok, None].astype(np.float64) ** 2)
                if t >= s0:
                    dir_S += r[0, :, 0, :]
                    dir_D += m11
        if tail is not None and t < n:
            nwin_t = tail.append(t, m, step)
            tail_risk[:, t + 1] = 0.5 * ((2.0 * tail.Q - tail.D) @ lam) / float(nwin_t) ** 2
        if t == n:
            break
        m = step(m)
    m11 = m[:, 0, :]
    dir_last = 0.5 * lam[None, :] * m11
    if K and n > s0:
        nw = float(n - s0)
        dir_avg = 0.5 * lam[None, :] * (2.0 * dir_S - dir_D) / nw**2
    else:
        dir_avg = np.full((2, d), np.nan)
    tail_kw: dict[str, object] = {}
    if tail is not None and n >= 1:
        nw_tail = float(n - tail.s)
        dir_tail = 0.5 * lam[None, :] * (2.0 * tail.Q - tail.D) / nw_tail**2
        tail_kw = dict(tail_fraction=tail_fraction, tail_bias=tail_risk[0], tail_variance=tail_risk[1],
                       dir_tail_bias=dir_tail[0], dir_tail_variance=dir_tail[1])
    return RiskCurves(bias=last[0], variance=last[1], avg_starts=starts, avg_bias=avg[:, 0], avg_variance=avg[:, 1],
                      dir_bias=dir_last[0], dir_variance=dir_last[1], dir_avg_bias=dir_avg[0],
                      dir_avg_variance=dir_avg[1], rho=rho, diverged=bool(rho >= 1.0), diverged_at=diverged_at,
                      **tail_kw)  # type: ignore[arg-type]


def _check_tail(f: float | None) -> float | None:
    if f is None:
        return None
    return _check_scalar(f, "tail_fraction", 0.0, 1.0, False, True)


def _check_run_args(lam: npt.ArrayLike, m0: npt.ArrayLike, sigma2: float, n_steps: int,
                    avg_starts: Sequence[int]) -> tuple[Array, Array, float, int, tuple[int, ...]]:
    lam_ = check_spectrum(lam)
    m0_ = check_init(m0, lam_.size)
    s2 = check_sigma2(sigma2)
    if int(n_steps) != n_steps or int(n_steps) < 0:
        raise ValueError(f"n_steps must be an integer >= 0, got {n_steps!r}")
    starts = tuple(int(s) for s in avg_starts)
    for s in starts:
        if not 0 <= s < int(n_steps):
            raise ValueError(f"avg_starts entries must be in [0, n_steps) = [0, {int(n_steps)}), got {s}")
    return lam_, m0_, s2, int(n_steps), starts


def asgd_risk(params: AsgdParams, lam: npt.ArrayLike, m0: npt.ArrayLike, sigma2: float, n_steps: int, *,
              kurtosis: float = GAUSSIAN_KURTOSIS, avg_starts: Sequence[int] = (0,),
              tail_fraction: float | None = None, on_unstable: str = "raise") -> RiskCurves:
    """Exact bias/variance excess risk of ASGD (last and averaged iterates) for ``t = 0..n_steps``.

    Recursion ``M_i <- A_i M_i A_i^T + ((kappa-2) lam_i^2 u_i + lam_i sum_j lam_j u_j + sigma2 lam_i) q q^T`` from
    ``M_i(0) = m0_i [[1, 1], [1, 1]]`` (``w_0 = v_0``, ``m0_i = (w_0 - w*)_i^2``). Averages over
    ``[s, N)`` for each ``s`` in ``avg_starts`` and, if ``tail_fraction = f`` is given, over ``[floor(f N), N)``, all
    for every N. Cost O(n_steps d (1 + K)).
    ``on_unstable``: "raise" -> ValueError naming the steps when the full second-moment map has spectral radius
    ``>= 1``; "report" -> run anyway and return ``diverged=True``.
    """
    lam_, m0_, s2, n, starts = _check_run_args(lam, m0, sigma2, n_steps, avg_starts)
    op = second_moment_operator(params, lam_, kurtosis)
    rho = full_map_spectral_radius(op)
    if rho >= 1.0 and on_unstable == "raise":
        f = max_stable_scale(params, lam_, kurtosis)
        raise ValueError(
            f"params (delta={params.delta:g}, gamma={params.gamma:g}) make the second moment diverge "
            f"(spectral radius {rho:.6g} >= 1); at this alpha, beta and gamma/delta the stable range is "
            f"delta < {params.delta * f:.6g} (sufficient for SGD: step < 1/(kurtosis tr H) = "
            f"{1.0 / (max(kurtosis, 1.0) * lam_.sum()):.6g})")
    if on_unstable not in ("raise", "report"):
        raise ValueError(f"on_unstable must be 'raise' or 'report', got {on_unstable!r}")
    return _run_recursion(op, m0_, s2, n, starts, rho, tail_fraction=_check_tail(tail_fraction))


def sgd_risk(eta: float, lam: npt.ArrayLike, m0: npt.ArrayLike, sigma2: float, n_steps: int, *,
             kurtosis: float = GAUSSIAN_KURTOSIS, avg_starts: Sequence[int] = (0,),
             tail_fraction: float | None = None, on_unstable: str = "raise") -> RiskCurves:
    """Exact bias/variance excess risk of SGD with constant step ``eta`` (scalar recursion, see module docstring)."""
    lam_, m0_, s2, n, starts = _check_run_args(lam, m0, sigma2, n_steps, avg_starts)
    op = sgd_second_moment_operator(eta, lam_, kurtosis)
    rho = full_map_spectral_radius(op)
    if rho >= 1.0 and on_unstable == "raise":
        lo, hi = 0.0, float(eta)
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            if full_map_spectral_radius(sgd_second_moment_operator(mid, lam_, kurtosis)) < 1.0:
                lo = mid
            else:
                hi = mid
        raise ValueError(f"eta must be in (0, {lo:.6g}) for a bounded second moment (spectral radius of the "
                         f"second-moment map is {rho:.6g} at eta={eta:g}; sufficient: eta < 1/(kurtosis tr H))")
    if on_unstable not in ("raise", "report"):
        raise ValueError(f"on_unstable must be 'raise' or 'report', got {on_unstable!r}")
    return _run_recursion(op, m0_, s2, n, starts, rho, tail_fraction=_check_tail(tail_fraction))


def tail_averaged_risk(curves_fn: str, params_or_eta: AsgdParams | float, lam: npt.ArrayLike, m0: npt.ArrayLike,
                       sigma2: float, n_values: Sequence[int], *, kurtosis: float = GAUSSIAN_KURTOSIS
                       ) -> tuple[Array, Array]:
    """Bias and variance risk of the tail average ``mean(w_{N//2}, ..., w_{N-1})`` at each ``N`` in ``n_values``.

    ``curves_fn`` is "sgd" or "asgd". One recursion with one fixed-start window per N (O(n d K)); for every N at once
    use ``tail_fraction=0.5`` of :func:`asgd_risk`/:func:`sgd_risk` (O(n d)). The two are computed differently and
    cross-checked in the tests.
    """
    ns = [int(v) for v in n_values]
    if any(v < 2 for v in ns):
        raise ValueError("n_values entries must be >= 2 (the tail window [N//2, N) must be non-empty)")
    nmax = max(ns)
    starts = [v // 2 for v in ns]
    if curves_fn == "asgd":
        if not isinstance(params_or_eta, AsgdParams):
            raise ValueError("params_or_eta must be AsgdParams when curves_fn='asgd'")
        rc = asgd_risk(params_or_eta, lam, m0, sigma2, nmax, kurtosis=kurtosis, avg_starts=starts)
    elif curves_fn == "sgd":
        if isinstance(params_or_eta, AsgdParams):
            raise ValueError("params_or_eta must be a step size when curves_fn='sgd'")
        rc = sgd_risk(float(params_or_eta), lam, m0, sigma2, nmax, kurtosis=kurtosis, avg_starts=starts)
    else:
        raise ValueError(f"curves_fn must be 'sgd' or 'asgd', got {curves_fn!r}")
    idx = np.arange(len(ns))
    return rc.avg_bias[idx, ns], rc.avg_variance[idx, ns]


# ----------------------------------------------------------------------------------------------------------------
# Zou et al. (2021) bounds for iterate-averaged SGD
# ----------------------------------------------------------------------------------------------------------------
def k_star(lam: npt.ArrayLike, eta: float, n: int) -> int:
    """``k* = max{k : lam_k >= 1 / (eta N)}`` (0 if no eigenvalue is that large)."""
    lam_ = check_spectrum(lam)
    return int(np.count_nonzero(lam_ >= 1.0 / (float(eta) * int(n))))


def effective_dimension(lam: npt.ArrayLike, eta: float, n: int) -> float:
    """SGD's effective dimension ``k* + (eta N)^2 sum_{i > k*} lam_i^2`` (variance ~ sigma2 d_eff / N)."""
    lam_ = check_spectrum(lam)
    k = k_star(lam_, eta, n)
    return float(k + (float(eta) * n) ** 2 * np.sum(lam_[k:] ** 2))


@dataclass(frozen=True)
class ZouBound:
    """Zou et al. (2021, Thm 2.1) upper bound ``2 EffBias + 2 EffVar`` for averaged SGD and its pieces."""

    k_star: int
    eff_bias: float
    eff_var: float
    bound: float
    lower_shape: float  # EffBias + sigma2 (k*/N + N eta^2 sum_{i>k*} lam_i^2): the lower bound up to constants


def zou_bound(lam: npt.ArrayLike, eta: float, n: int, m0: npt.ArrayLike, sigma2: float,
              psi: float = GAUSSIAN_KURTOSIS) -> ZouBound:
    """Zou et al.'s excess-risk upper bound for ``wbar_N = mean(w_0..w_{N-1})`` of SGD with step ``eta``.

    ``EffBias = ||w_0-w*||^2_{H_{0:k*}^{-1}} / (eta^2 N^2) + ||w_0-w*||^2_{H_{k*:inf}}``,
    ``EffVar = [2 psi (||w_0-w*||^2_{I_{0:k*}} + N eta ||w_0-w*||^2_{H_{k*:inf}}) / (N eta) + sigma2]
    / (1 - eta psi tr H) * (k*/N + N eta^2 sum_{i>k*} lam_i^2)`` (constants marked [verify] in PAPERS.md),
    valid for ``eta < 1/(psi tr H)``. ``m0_i = (w_0 - w*)_i^2``.
    """
    lam_ = check_spectrum(lam)
    m0_ = check_init(m0, lam_.size)
    s2 = check_sigma2(sigma2)
    n_ = int(n)
    if n_ < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    tr = float(lam_.sum())
    eta_ = _check_scalar(eta, "eta", 0.0, 1.0 / (psi * tr), True, True)
    k = k_star(lam_, eta_, n_)
    head, tail = slice(0, k), slice(k, None)
    eff_bias = float(np.sum(m0_[head] / lam_[head]) / (eta_ * n_) ** 2 + np.sum(lam_[tail] * m0_[tail]))
    deff = k / n_ + n_ * eta_**2 * float(np.sum(lam_[tail] ** 2))
    pref = (2.0 * psi * (float(np.sum(m0_[head])) + n_ * eta_ * float(np.sum(lam_[tail] * m0_[tail])))
            / (n_ * eta_) + s2) / (1.0 - eta_ * psi * tr)
    eff_var = pref * deff
    return ZouBound(k_star=k, eff_bias=eff_bias, eff_var=eff_var, bound=2.0 * eff_bias + 2.0 * eff_var,
                    lower_shape=eff_bias + s2 * deff)


def variance_ratio_prediction(params: AsgdParams, a: float) -> float:
    """Predicted large-N ratio of ASGD to SGD averaged variance for ``lam_i = i^-a``: ``(s_eff / delta)^(1/a)``
    (ASGD acts like SGD with step ``s_eff`` on the tail, and the variance scales like ``(step N)^(1/a) / N``)."""
    return float((s_eff(params) / params.delta) ** (1.0 / float(a)))
