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
from scipy.special import zeta

from theory.distributed._checks import integer, number

Array = npt.NDArray[np.float64]
MAX_STEPS = 10**8  # ode_time holds one float64 per step: 0.8 GB at this size


def _check_schedule(c: float, tau: float, name: str) -> None:
    if isinstance(c, bool) or not (isinstance(c, (int, float)) and math.isfinite(c) and c > 0):
        raise ValueError(f"c_{name} must be a finite number > 0, got {c!r}")
    if isinstance(tau, bool) or not (isinstance(tau, (int, float)) and math.isfinite(tau) and 0 <= tau <= 2):
        raise ValueError(f"tau_{name} must be a finite number in [0, 2], got {tau!r}")


def power_schedule(c: float, tau: float, k: npt.ArrayLike, name: str = "alpha") -> Array:
    """Step size c k^-tau at steps k >= 1 (float64 array)."""
    _check_schedule(c, tau, name)
    try:
        kk = np.asarray(k, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"k must be step numbers >= 1, got {k!r}") from None
    if not np.all(np.isfinite(kk)):
        raise ValueError("k must be finite step numbers >= 1")
    if np.any(kk < 1):
        raise ValueError(f"k must be >= 1 (steps are numbered from 1), got min {kk.min()}")
    return c * kk ** (-tau)


def ode_time(c_alpha: float, tau_alpha: float, steps: int, max_steps: int = MAX_STEPS) -> Array:
    """ODE time t_k = sum_{j=1}^k alpha_j for k = 0..steps (t_0 = 0), computed by a float64 cumulative sum.
    Refuses ``steps`` > ``max_steps`` (the array holds steps + 1 floats)."""
    max_steps = integer(max_steps, "max_steps", lo=0)
    steps = integer(steps, "steps", lo=0)
    if steps > max_steps:
        raise ValueError(f"steps = {steps} exceeds max_steps = {max_steps} (the ODE-time array holds one float per "
                         f"step); raise max_steps if you mean it")  # fmt: skip
    a = power_schedule(c_alpha, tau_alpha, np.arange(1, steps + 1))
    return np.concatenate([[0.0], np.cumsum(a)])


def steps_for_ode_time(c_alpha: float, tau_alpha: float, t: float, max_steps: int = MAX_STEPS) -> int:
    """Smallest k with t_k >= t (by the integral bounds of sum j^-tau, then an exact check on a short range).

    ``t`` must be a finite number (t <= 0 gives 0); a target that needs more than ``max_steps`` steps is refused
    before anything is allocated (ValueError naming max_steps)."""
    _check_schedule(c_alpha, tau_alpha, "alpha")
    t = number(t, "t")
    max_steps = integer(max_steps, "max_steps", lo=1)
    if t <= 0:
        return 0
    # t_k ~ c (k^(1-tau) - 1)/(1-tau) + c  (tau < 1), c (log k + 1) (tau = 1): invert in logs (no overflow), refuse
    # targets beyond max_steps before allocating anything, then search the exact partial sums chunk by chunk.
    c, tau = float(c_alpha), float(tau_alpha)
    if abs(tau - 1.0) < 1e-12:
        log_guess = max(t / c - 1.0, 0.0)
    elif tau < 1:
        log_guess = math.log((t / c - 1.0) * (1 - tau) + 1.0) / (1 - tau) if t > c else 0.0
    else:
        total = c * float(zeta(tau, 1))  # sum_{k>=1} c k^-tau
        if t >= total:
            raise ValueError(f"t must be < sum_k alpha_k = {total:.6g} when tau_alpha > 1, got {t}")
        # tail sum_{j>k} c j^-tau <= c k^(1-tau) / (tau - 1) <= total - t  for k >= this guess
        log_guess = max(math.log(c / ((tau - 1.0) * (total - t))) / (tau - 1.0), 0.0)
    if log_guess - math.log(2.0) > math.log(max_steps):
        raise ValueError(f"ODE time t = {t:g} needs about {math.exp(min(log_guess, 700)):.3g} steps, more than "
                         f"max_steps = {max_steps}")  # fmt: skip
    k = int(min(max(math.exp(log_guess) * 0.5, 1.0), max_steps))
    if tau > 1:
        k = 1
    tk = float(ode_time(c, tau, k, max_steps)[-1])
    if tk >= t:  # the guess overshot (only possible for small k): search from the start
        tk, k = 0.0, 0
    while True:
        hi = min(k + max(100_000, k), max_steps)
        if hi <= k:
            raise ValueError(f"ODE time {t} needs more than max_steps = {max_steps} steps")
        js = np.arange(k + 1, hi + 1, dtype=np.float64)
        cs = tk + np.cumsum(c * js ** (-tau))
        i = int(np.searchsorted(cs, t, side="left"))
        if i < cs.size:
            return int(k + 1 + i)
        k, tk = hi, float(cs[-1])


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
        number(v, name, lo=0.0)
    if c_beta_lambda_max is not None:
        number(c_beta_lambda_max, "c_beta_lambda_max", lo=0.0, lo_open=True)
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
