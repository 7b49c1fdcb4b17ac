"""The second-moment map of SGD and ASGD on the diagonal blocks, and its spectral radius (stability).

With independent symmetric coordinates (``E x_i^4 = kappa lam_i^2``) the diagonal second-moment blocks
``M_i = E[z_i z_i^T]`` of ``z_i = (w - w*, v - w*)_i`` close::

    M_i <- A_i M_i A_i^T + ((kappa - 2) lam_i^2 u_i + lam_i sum_j lam_j u_j + sigma2 lam_i) q q^T,
    u_i = p^T M_i p,

(``A_i = A(lam_i)`` from :mod:`theory.linreg.two_by_two`). SGD is the scalar case
``m_i <- ((1 - eta lam_i)^2 + (kappa - 2) eta^2 lam_i^2) m_i + eta^2 lam_i (sum_j lam_j m_j + sigma2)``.
The risk stays bounded for every start iff the spectral radius of the FULL map (all directions coupled through
``sum_j lam_j u_j``) is ``< 1``; mean convergence (``rho(A_i) < 1``) is not enough.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .checks import Array, check_kurtosis, check_real, check_rtol, check_spectrum
from .parameters import AsgdParams, check_params
from .two_by_two import transition_matrix

GAUSSIAN_KURTOSIS = 3.0
RADEMACHER_KURTOSIS = 1.0


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
    params = check_params(params)
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
    eta_ = check_real(eta, "eta", 0.0, lo_open=True)
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
    lower bound ``max_i rho(A_i)^2``. ``rtol`` in ``[1e-15, 0.5]``: relative accuracy of the bisection.
    """
    if not isinstance(op, SecondMomentOperator):
        raise ValueError(f"op must be a SecondMomentOperator, got {type(op).__name__}")
    rtol = check_rtol(rtol)
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
    """Largest factor ``f`` such that ``params.scaled(f)`` (both steps times ``f``) has a stable second moment
    (bisection to relative accuracy ``rtol`` in ``[1e-15, 0.5]``; inf if every factor up to 1e12 is stable)."""
    params = check_params(params)
    lam_ = check_spectrum(lam)
    kurtosis = check_kurtosis(kurtosis)
    rtol = check_rtol(rtol)
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




def sgd_max_stable_step(lam: npt.ArrayLike, kurtosis: float = GAUSSIAN_KURTOSIS, upper: float | None = None,
                        iterations: int = 60) -> float:
    """The largest SGD step with a bounded second moment, by bisection on ``[0, upper]`` (``iterations`` halvings;
    ``upper`` must be unstable, default ``2 / lam_1``, beyond which even the mean diverges)."""
    lam_ = check_spectrum(lam)
    kurtosis = check_kurtosis(kurtosis)
    hi = 2.0 / float(lam_[0]) if upper is None else check_real(upper, "upper", 0.0, lo_open=True)
    n_it = int(check_real(iterations, "iterations", 1, 200))
    lo = 0.0
    for _ in range(n_it):
        mid = 0.5 * (lo + hi)
        if full_map_spectral_radius(sgd_second_moment_operator(mid, lam_, kurtosis)) < 1.0:
            lo = mid
        else:
            hi = mid
    return lo
