"""Zou, Wu, Braverman, Gu, Kakade (COLT 2021): excess-risk bounds for iterate-averaged constant-step SGD.

``wbar_N = mean(w_0, ..., w_{N-1})``, step ``eta < 1/(psi tr H)``, where ``psi`` is the fourth-moment constant
``E[x x^T A x x^T] <= psi tr(H A) H`` for PSD ``A``. Any distribution needs ``psi >= 1`` (take ``A = e_i e_i^T``:
``E x_i^4 >= lam_i^2``); Gaussian data need ``psi >= 3``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .checks import check_int, check_real, check_sigma2, check_spectrum
from .problem import InitialError, check_initial_error
from .second_moments import GAUSSIAN_KURTOSIS


def k_star(lam: npt.ArrayLike, eta: float, n: int) -> int:
    """``k* = max{k : lam_k >= 1 / (eta N)}`` (0 if no eigenvalue is that large); ``eta > 0``, ``N >= 1``."""
    lam_ = check_spectrum(lam)
    eta_ = check_real(eta, "eta", 0.0, lo_open=True)
    n_ = check_int(n, "n", 1)
    return int(np.count_nonzero(lam_ >= 1.0 / (eta_ * n_)))


def effective_dimension(lam: npt.ArrayLike, eta: float, n: int) -> float:
    """SGD's effective dimension ``k* + (eta N)^2 sum_{i > k*} lam_i^2`` (variance ~ sigma2 d_eff / N)."""
    lam_ = check_spectrum(lam)
    k = k_star(lam_, eta, n)
    return float(k + (float(eta) * int(n)) ** 2 * np.sum(lam_[k:] ** 2))


@dataclass(frozen=True)
class ZouBound:
    """Zou et al. (2021, Thm 2.1) upper bound ``2 EffBias + 2 EffVar`` for averaged SGD and its pieces."""

    k_star: int
    eff_bias: float
    eff_var: float
    bound: float
    lower_shape: float  # EffBias + sigma2 (k*/N + N eta^2 sum_{i>k*} lam_i^2): the lower bound up to constants


def zou_bound(lam: npt.ArrayLike, eta: float, n: int, init: InitialError, sigma2: float,
              psi: float = GAUSSIAN_KURTOSIS) -> ZouBound:
    """Zou et al.'s excess-risk upper bound for ``wbar_N = mean(w_0..w_{N-1})`` of SGD with step ``eta``.

    ``EffBias = ||w_0-w*||^2_{H_{0:k*}^{-1}} / (eta^2 N^2) + ||w_0-w*||^2_{H_{k*:inf}}``,
    ``EffVar = [2 psi (||w_0-w*||^2_{I_{0:k*}} + N eta ||w_0-w*||^2_{H_{k*:inf}}) / (N eta) + sigma2]
    / (1 - eta psi tr H) * (k*/N + N eta^2 sum_{i>k*} lam_i^2)`` (constants marked [verify] in PAPERS.md),
    valid for ``psi >= 1`` (the data's fourth-moment constant: 3 for Gaussian data) and ``0 < eta < 1/(psi tr H)``.
    The start enters through ``init.sq[i] = E[(w_0 - w*)_i^2]``.
    """
    lam_ = check_spectrum(lam)
    m0_ = check_initial_error(init, lam_.size)
    s2 = check_sigma2(sigma2)
    n_ = check_int(n, "n", 1)
    psi_ = check_real(psi, "psi", 1.0, math.inf)
    tr = float(lam_.sum())
    eta_ = check_real(eta, "eta", 0.0, 1.0 / (psi_ * tr), lo_open=True, hi_open=True)
    k = k_star(lam_, eta_, n_)
    head, tail = slice(0, k), slice(k, None)
    eff_bias = float(np.sum(m0_[head] / lam_[head]) / (eta_ * n_) ** 2 + np.sum(lam_[tail] * m0_[tail]))
    deff = k / n_ + n_ * eta_**2 * float(np.sum(lam_[tail] ** 2))
    pref = (2.0 * psi_ * (float(np.sum(m0_[head])) + n_ * eta_ * float(np.sum(lam_[tail] * m0_[tail])))
            / (n_ * eta_) + s2) / (1.0 - eta_ * psi_ * tr)
    eff_var = pref * deff
    return ZouBound(k_star=k, eff_bias=eff_bias, eff_var=eff_var, bound=2.0 * eff_bias + 2.0 * eff_var,
                    lower_shape=eff_bias + s2 * deff)
