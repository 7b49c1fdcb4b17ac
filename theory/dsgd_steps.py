"""Step-size schedules of distributed SGD, the ODE time they induce, and which schedules the theorems cover.

D-SGD (Swenson, Murray, Poor, Kar, JMLR 2022, arXiv 2003.02818) uses, for steps k = 1, 2, ...
    alpha_k = c_alpha k^-tau_alpha   (gradient step),     beta_k = c_beta k^-tau_beta   (consensus step).
Its convergence / saddle-avoidance theorems assume [verify: PAPERS.md, reconstructed, full text not at hand]
    1/2 < tau_alpha <= 1     (sum alpha_k = inf, sum alpha_k^2 < inf: Robbins-Monro),
    0 <= tau_beta < tau_alpha - 1/2   (consensus is faster than the gradient: alpha_k / beta_k -> 0 fast enough),
and a contracting consensus step c_beta lambda_max(L) < 2. The ODE time of iterate k is t_k = sum_{j<=k} alpha_j.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]


def _check_schedule(c: float, tau: float, name: str) -> None:
    if not (isinstance(c, (int, float)) and math.isfinite(c) and c > 0):
        raise ValueError(f"c_{name} must be a finite number > 0, got {c!r}")
    if not (isinstance(tau, (int, float)) and math.isfinite(tau) and 0 <= tau <= 2):
        raise ValueError(f"tau_{name} must be a finite number in [0, 2], got {tau!r}")


def power_schedule(c: float, tau: float, k: npt.ArrayLike, name: str = "alpha") -> Array:
    """Step size c k^-tau at steps k >= 1 (float64 array)."""
    _check_schedule(c, tau, name)
    kk = np.asarray(k, dtype=np.float64)
    if np.any(kk < 1):
        raise ValueError(f"k must be >= 1 (steps are numbered from 1), got min {kk.min()}")
    return c * kk ** (-tau)


def ode_time(c_alpha: float, tau_alpha: float, steps: int) -> Array:
    """ODE time t_k = sum_{j=1}^k alpha_j for k = 0..steps (t_0 = 0), computed by a float64 cumulative sum."""
    if steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps}")
    a = power_schedule(c_alpha, tau_alpha, np.arange(1, steps + 1))
    return np.concatenate([[0.0], np.cumsum(a)])


def steps_for_ode_time(c_alpha: float, tau_alpha: float, t: float, max_steps: int = 10**9) -> int:
    """Smallest k with t_k >= t (by the integral bounds of sum j^-tau, then an exact check on a short range)."""
    _check_schedule(c_alpha, tau_alpha, "alpha")
    if t <= 0:
        return 0
    # t_k ~ c (k^(1-tau) - 1)/(1-tau) + c  (tau < 1), c (log k + 1) (tau = 1): invert, then refine exactly.
    if abs(tau_alpha - 1.0) < 1e-12:
        guess = math.exp(max(t / c_alpha - 1.0, 0.0))
    elif tau_alpha < 1:
        guess = ((t / c_alpha - 1.0) * (1 - tau_alpha) + 1.0) ** (1.0 / (1 - tau_alpha)) if t > c_alpha else 1.0
    else:
        limit = c_alpha * (1.0 + 1.0 / (tau_alpha - 1.0))
        if t >= limit:
            raise ValueError(f"t must be < sum_k alpha_k <= {limit:.4g} when tau_alpha > 1, got {t}")
        guess = 1.0
    k = int(min(max(guess * 0.5, 1), max_steps))
    tk = float(ode_time(c_alpha, tau_alpha, k)[-1])
    while tk < t:
        k += 1
        if k > max_steps:
            raise ValueError(f"ODE time {t} needs more than max_steps = {max_steps} steps")
        tk += c_alpha * k ** (-tau_alpha)
    return k


@dataclass(frozen=True)
class StepSizeRegime:
    """Whether (tau_alpha, tau_beta, c_beta lambda_max) lies in the range the D-SGD theorems cover, and why not."""

    tau_alpha: float
    tau_beta: float
    covered: bool
    violations: tuple[str, ...] = field(default_factory=tuple)

    def describe(self) -> str:
        """One line: 'inside the theorem' or 'outside the theorem: <reasons>'."""
        if self.covered:
            return f"inside the theorem (tau_alpha={self.tau_alpha:g}, tau_beta={self.tau_beta:g})"
        return "outside the theorem: " + "; ".join(self.violations)


def step_size_regime(tau_alpha: float, tau_beta: float, c_beta_lambda_max: float | None = None) -> StepSizeRegime:
    """Check 1/2 < tau_alpha <= 1, 0 <= tau_beta < tau_alpha - 1/2 and (if given) c_beta lambda_max(L) < 2.

    Exponents outside this range are legal inputs (one runs them to see what breaks); only non-finite or negative
    exponents raise.
    """
    for name, v in (("tau_alpha", tau_alpha), ("tau_beta", tau_beta)):
        if not (math.isfinite(v) and v >= 0):
            raise ValueError(f"{name} must be a finite number >= 0, got {v!r}")
    bad: list[str] = []
    if not 0.5 < tau_alpha <= 1.0:
        bad.append(f"tau_alpha = {tau_alpha:g} not in (1/2, 1] (Robbins-Monro: sum alpha = inf, sum alpha^2 < inf)")
    if not tau_beta < tau_alpha - 0.5:
        bad.append(
            f"tau_beta = {tau_beta:g} not < tau_alpha - 1/2 = {tau_alpha - 0.5:g} (consensus must outpace the gradient)"
        )
    if c_beta_lambda_max is not None and not c_beta_lambda_max < 2.0:
        bad.append(f"c_beta lambda_max(L) = {c_beta_lambda_max:.4g} >= 2 (consensus step does not contract)")
    return StepSizeRegime(float(tau_alpha), float(tau_beta), not bad, tuple(bad))
