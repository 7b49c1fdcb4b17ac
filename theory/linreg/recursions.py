"""Exact bias/variance risk of SGD and ASGD on linear regression with a diagonal covariance, for every step.

Setting (Li, Deng, Wu, Zhou, Gu, ICLR 2024; Zou et al., COLT 2021). ``x in R^d`` with independent, symmetric
coordinates, ``H = E[x x^T] = diag(lam)`` with ``lam_1 >= lam_2 >= ... > 0``, ``y = <w*, x> + xi`` with
``xi ~ N(0, sigma2)`` independent of ``x``. The coordinate kurtosis ``kappa = E[x_i^4] / lam_i^2`` is 3 for
Gaussian data (the papers' case, fourth-moment constant ``psi = 3``) and 1 for Rademacher-scaled data.

Conventions
-----------
* Excess risk ``L(w) - L(w*) = 1/2 ||w - w*||_H^2 = 1/2 sum_i lam_i (w - w*)_i^2``.
* Iterates are indexed ``w_0, w_1, ...``; ``w_t`` has used ``t`` samples (one fresh sample per step).
* Last iterate at step N: ``w_N``. Averaged iterate with burn-in ``s``: ``wbar_N = mean(w_s, ..., w_{N-1})``
  (``N - s`` iterates; Zou et al.'s iterate average is ``s = 0``); undefined (NaN in the arrays) for ``N <= s``.
  Tail average at N: ``s = N // 2``.
* ASGD starts from ``w_0 = v_0``; the start enters only through :class:`theory.linreg.problem.InitialError`.

The second-moment map (:mod:`theory.linreg.second_moments`) is affine in ``(M_0, sigma2)``: bias = run with
``sigma2 = 0``, variance = run from ``M_0 = 0``; the split is exact. Averaged iterates use
``E[z_i(t') z_i(t)^T] = A_i^(t'-t) M_i(t)`` for ``t' >= t``, accumulated by running geometric sums
``r(t') = A r(t'-1) + M(t') e_1`` (cost O(N d) for every N at once; :mod:`theory.linreg.averaging`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .averaging import TailWindow
from .checks import MAX_STEPS, Array, check_int, check_real, check_sigma2, check_spectrum
from .parameters import AsgdParams, check_params
from .problem import InitialError, check_initial_error
from .second_moments import (
    GAUSSIAN_KURTOSIS,
    SecondMomentOperator,
    full_map_spectral_radius,
    max_stable_scale,
    second_moment_operator,
    sgd_max_stable_step,
    sgd_second_moment_operator,
)


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

    tail = TailWindow(tail_fraction, A, m, e1) if tail_fraction is not None else None
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
    return check_real(f, "tail_fraction", 0.0, 1.0, hi_open=True)


def _check_on_unstable(on_unstable: str) -> str:
    if on_unstable not in ("raise", "report"):
        raise ValueError(f"on_unstable must be 'raise' or 'report', got {on_unstable!r}")
    return on_unstable


def _check_run_args(lam: npt.ArrayLike, init: InitialError, sigma2: float, n_steps: int, avg_starts: Sequence[int],
                    max_steps: int, on_unstable: str, tail_fraction: float | None
                    ) -> tuple[Array, Array, float, int, tuple[int, ...], float | None]:
    """The checked arguments shared by :func:`asgd_risk` and :func:`sgd_risk`."""
    _check_on_unstable(on_unstable)
    tf = _check_tail(tail_fraction)
    lam_ = check_spectrum(lam)
    m0_ = check_initial_error(init, lam_.size)
    s2 = check_sigma2(sigma2)
    cap = check_int(max_steps, "max_steps", 0)
    n = check_int(n_steps, "n_steps", 0)
    if n > cap:
        raise ValueError(f"n_steps={n} exceeds max_steps={cap} (memory and time grow like n_steps); raise max_steps "
                         "to allow it")
    if isinstance(avg_starts, (str, bytes)) or not isinstance(avg_starts, Sequence):
        raise ValueError(f"avg_starts must be a sequence of integers in [0, n_steps), got {avg_starts!r}")
    starts = tuple(check_int(s, "avg_starts entries", 0) for s in avg_starts)
    for s in starts:
        if not 0 <= s < n:
            raise ValueError(f"avg_starts entries must be in [0, n_steps) = [0, {n}), got {s}")
    return lam_, m0_, s2, n, starts, tf


def asgd_risk(params: AsgdParams, lam: npt.ArrayLike, init: InitialError, sigma2: float, n_steps: int, *,
              kurtosis: float = GAUSSIAN_KURTOSIS, avg_starts: Sequence[int] = (0,),
              tail_fraction: float | None = None, on_unstable: str = "raise", max_steps: int = MAX_STEPS
              ) -> RiskCurves:
    """Exact bias/variance excess risk of ASGD (last and averaged iterates) for ``t = 0..n_steps``.

    Recursion ``M_i <- A_i M_i A_i^T + ((kappa-2) lam_i^2 u_i + lam_i sum_j lam_j u_j + sigma2 lam_i) q q^T`` from
    ``M_i(0) = m0_i [[1, 1], [1, 1]]`` (``w_0 = v_0``, ``m0_i = E[(w_0 - w*)_i^2] = init.sq[i]``). Averages over
    ``[s, N)`` for each ``s`` in ``avg_starts`` and, if ``tail_fraction = f`` is given, over ``[floor(f N), N)``, all
    for every N. Cost O(n_steps d (1 + K)); ``n_steps <= max_steps``.
    ``on_unstable``: "raise" -> ValueError naming the steps when the full second-moment map has spectral radius
    ``>= 1``; "report" -> run anyway and return ``diverged=True``.
    """
    params = check_params(params)
    lam_, m0_, s2, n, starts, tf = _check_run_args(lam, init, sigma2, n_steps, avg_starts, max_steps, on_unstable,
                                                   tail_fraction)
    op = second_moment_operator(params, lam_, kurtosis)
    rho = full_map_spectral_radius(op)
    if rho >= 1.0 and on_unstable == "raise":
        f = max_stable_scale(params, lam_, kurtosis)
        raise ValueError(
            f"params (delta={params.delta:g}, gamma={params.gamma:g}) make the second moment diverge "
            f"(spectral radius {rho:.6g} >= 1); at this alpha, beta and gamma/delta the stable range is "
            f"delta < {params.delta * f:.6g} (sufficient for SGD: step < 1/(kurtosis tr H) = "
            f"{1.0 / (max(kurtosis, 1.0) * lam_.sum()):.6g})")
    return _run_recursion(op, m0_, s2, n, starts, rho, tail_fraction=tf)


def sgd_risk(eta: float, lam: npt.ArrayLike, init: InitialError, sigma2: float, n_steps: int, *,
             kurtosis: float = GAUSSIAN_KURTOSIS, avg_starts: Sequence[int] = (0,),
             tail_fraction: float | None = None, on_unstable: str = "raise", max_steps: int = MAX_STEPS
             ) -> RiskCurves:
    """Exact bias/variance excess risk of SGD with constant step ``eta`` (scalar recursion
    ``m_i <- ((1 - eta lam_i)^2 + (kappa-2) eta^2 lam_i^2) m_i + eta^2 lam_i (sum_j lam_j m_j + sigma2)`` from
    ``m_i(0) = init.sq[i]``); arguments as in :func:`asgd_risk`."""
    lam_, m0_, s2, n, starts, tf = _check_run_args(lam, init, sigma2, n_steps, avg_starts, max_steps, on_unstable,
                                                   tail_fraction)
    op = sgd_second_moment_operator(eta, lam_, kurtosis)
    rho = full_map_spectral_radius(op)
    if rho >= 1.0 and on_unstable == "raise":
        lo = sgd_max_stable_step(lam_, kurtosis, upper=float(eta))
        raise ValueError(f"eta must be in (0, {lo:.6g}) for a bounded second moment (spectral radius of the "
                         f"second-moment map is {rho:.6g} at eta={eta:g}; sufficient: eta < 1/(kurtosis tr H))")
    return _run_recursion(op, m0_, s2, n, starts, rho, tail_fraction=tf)


def tail_averaged_risk(curves_fn: str, params_or_eta: AsgdParams | float, lam: npt.ArrayLike, init: InitialError,
                       sigma2: float, n_values: Sequence[int], *, kurtosis: float = GAUSSIAN_KURTOSIS,
                       max_steps: int = MAX_STEPS) -> tuple[Array, Array]:
    """Bias and variance risk of the tail average ``mean(w_{N//2}, ..., w_{N-1})`` at each ``N`` in ``n_values``.

    ``curves_fn`` is "sgd" or "asgd". One recursion with one fixed-start window per N (O(n d K)); for every N at once
    use ``tail_fraction=0.5`` of :func:`asgd_risk`/:func:`sgd_risk` (O(n d)). The two are computed differently and
    cross-checked in the tests.
    """
    if curves_fn not in ("sgd", "asgd"):
        raise ValueError(f"curves_fn must be 'sgd' or 'asgd', got {curves_fn!r}")
    if isinstance(n_values, (str, bytes)) or not isinstance(n_values, Sequence) or len(n_values) == 0:
        raise ValueError(f"n_values must be a non-empty sequence of integers >= 2, got {n_values!r}")
    ns = [check_int(v, "n_values entries", 2) for v in n_values]
    nmax = max(ns)
    starts = [v // 2 for v in ns]
    if curves_fn == "asgd":
        if not isinstance(params_or_eta, AsgdParams):
            raise ValueError("params_or_eta must be AsgdParams when curves_fn='asgd'")
        rc = asgd_risk(params_or_eta, lam, init, sigma2, nmax, kurtosis=kurtosis, avg_starts=starts,
                       max_steps=max_steps)
    else:
        if isinstance(params_or_eta, AsgdParams):
            raise ValueError("params_or_eta must be a step size when curves_fn='sgd'")
        rc = sgd_risk(params_or_eta, lam, init, sigma2, nmax, kurtosis=kurtosis, avg_starts=starts,
                      max_steps=max_steps)
    idx = np.arange(len(ns))
    return rc.avg_bias[idx, ns], rc.avg_variance[idx, ns]
