"""Escape time of distributed SGD from a strict saddle along its unstable direction (float64, numpy).

Model: f_n = f/N + c_n^T x with f(x) = mu (x_1^4/4 - x_1^2/2) + ..., tilts without an x_1 part, all agents started
on the stable manifold {x_1 = 0}, isotropic noise N(0, sigma^2 I) per agent. The network average's unstable
coordinate y_k = xbar_{k,1} obeys, to first order in y and exactly for the linear part (the Laplacian term averages out
and the linear gradient part is the same for every agent),
    y_k = (1 + alpha_k r) y_{k-1} - alpha_k eta_k,      r = mu / N,   eta_k ~ N(0, s^2),   s^2 = sigma^2 / N,     (L)
so y_k ~ N(0, V_k) with V_k = (1 + alpha_k r)^2 V_{k-1} + alpha_k^2 s^2, V_0 = 0, i.e. V_k = P_k^2 S_k with
P_k = prod_{j<=k} (1 + alpha_j r), S_k = s^2 sum_{j<=k} alpha_j^2 / P_j^2 -> S_inf.
Past the linear phase the flow dy/dt = r y (1 - y^2) carries y from small values to the level h exactly when the
linear solution reaches h_eff = h / sqrt(1 - h^2) (solve the logistic flow). The escape step K (first k with
|xbar_{k,1}| >= h) therefore has P(K <= k) ~ F_k = P(|N(0, V_k)| >= h_eff) = erfc(h_eff / sqrt(2 V_k)) (marginal
law; the first passage equals it once the exponential growth dominates the late noise), and the escape ODE time
T = t_K, t_k = sum_{j<=k} alpha_j. Asymptotically (y_k = P_k Z_k with Z_k -> Z ~ N(0, S_inf), log P_k = r t_k - c_0)
    T = (1/r) (log h_eff - log|Z| + c_0),   so   dE[T]/d log sigma = -1/r = -N/mu,
    sd(T) = sd(log|N(0,1)|) / r = pi / (sqrt(8) r),                                                             (A)
independent of the graph and of the tilts along the stable directions. A ridge lam max(0, |x_1| - kappa) on the
escape route (0 < kappa < h) changes the drift to phi(y) = mu (y - y^3) - lam 1{y > kappa} and the level map to
    log h_eff = log h + int_0^h (mu / phi(y) - 1 / y) dy                       (the time the flow needs, in log units)
(for lam = 0 this is h / sqrt(1 - h^2)); phi must stay > 0 on (0, h] (else the flow stops before the level).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.integrate import quad
from scipy.special import erfc

from theory.distributed._checks import integer, number
from theory.distributed.steps import MAX_STEPS, power_schedule

Array = npt.NDArray[np.float64]
SD_LOG_ABS_NORMAL = math.pi / math.sqrt(8.0)  # sd of log|Z| for Z ~ N(0, 1): sqrt(pi^2 / 8)
MEAN_LOG_ABS_NORMAL = -(0.5772156649015329 + math.log(2.0)) / 2.0  # E log|Z| = -(gamma + log 2) / 2


@dataclass(frozen=True)
class EscapeLaw:
    """The predicted law of the escape ODE time T: ``t`` (K+1,) ODE times t_k, ``cdf`` (K+1,) F_k = P(T <= t_k),
    ``mean`` E[T] and ``sd`` sd(T) from the marginal law, and the asymptotic law (A): ``slope_log_sigma`` = -1/r,
    ``sd_asymptotic`` = pi / (sqrt 8 r), ``mean_asymptotic`` = (log h_eff - E log|Z| - 0.5 log S_inf + c_0) / r
    and ``tail`` = 1 - F_K (the mass beyond the last step computed)."""

    t: Array
    cdf: Array
    mean: float
    sd: float
    slope_log_sigma: float
    sd_asymptotic: float
    mean_asymptotic: float
    rate: float
    tail: float

    def quantile(self, q: float) -> float:
        """The ODE time t_k of the first step with F_k >= q."""
        q = number(q, "q", lo=0.0, hi=1.0, lo_open=True, hi_open=True)
        i = int(np.searchsorted(self.cdf, q, side="left"))
        if i >= self.cdf.size:
            raise ValueError(f"quantile {q} lies beyond the computed horizon (tail mass {self.tail:.3g})")
        return float(self.t[i])


def effective_level(level: float, curvature: float = 1.0, kink: float = 0.0, kink_at: float = 0.25) -> float:
    """h_eff: the level the linearised average must reach for the flow dy/dt = phi(y) / N to reach ``level`` h,
    log h_eff = log h + int_0^h (mu / phi - 1 / y) dy with phi(y) = mu (y - y^3) - kink 1{y > kink_at}."""
    h = number(level, "level", lo=0.0, hi=1.0, lo_open=True, hi_open=True)
    mu = number(curvature, "curvature", lo=0.0, lo_open=True)
    lam = number(kink, "kink", lo=0.0)
    kap = number(kink_at, "kink_at", lo=0.0, lo_open=True)
    if lam == 0.0 or kap >= h:
        return h / math.sqrt(1.0 - h * h)
    ys = np.linspace(kap, h, 1001)
    if np.min(mu * (ys - ys**3)) <= lam:
        raise ValueError(f"kink = {lam:g} stops the flow before the level {h:g}: need mu (y - y^3) > kink on "
                         f"[{kap:g}, {h:g}]")  # fmt: skip
    smooth = math.log(h / math.sqrt(1.0 - h * h))
    extra, _ = quad(lambda y: mu / (mu * (y - y**3) - lam) - 1.0 / (y - y**3), kap, h, epsabs=1e-13, epsrel=1e-12)
    return math.exp(smooth + extra)


def escape_time_law(
    c_alpha: float, tau_alpha: float, curvature: float, n_agents: int, sigma: float, level: float, *,
    kink: float = 0.0, kink_at: float = 0.25, tail: float = 1e-10, max_steps: int = MAX_STEPS,
) -> EscapeLaw:  # fmt: skip
    """The law of the ODE time at which the network average first reaches |xbar_1| >= ``level`` (model (L) above).

    alpha_k = c_alpha k^-tau_alpha; ``curvature`` mu > 0; ``sigma`` > 0 the per-agent noise scale; ``level`` h in
    (0, 1); ``kink``, ``kink_at``: a ridge kink max(0, |x_1| - kink_at) on the escape route (see the module
    docstring). Steps are added until 1 - F_k < ``tail`` (in (0, 1e-3]); more than ``max_steps`` steps is a ValueError.
    """
    c = number(c_alpha, "c_alpha", lo=0.0, lo_open=True)
    tau = number(tau_alpha, "tau_alpha", lo=0.5, hi=1.0, lo_open=True)
    mu = number(curvature, "curvature", lo=0.0, lo_open=True)
    n = integer(n_agents, "n_agents", lo=1)
    sig = number(sigma, "sigma", lo=0.0, lo_open=True)
    h = number(level, "level", lo=0.0, hi=1.0, lo_open=True, hi_open=True)
    tail = number(tail, "tail", lo=0.0, hi=1e-3, lo_open=True)
    max_steps = integer(max_steps, "max_steps", lo=1)
    r, s2 = mu / n, sig * sig / n
    h_eff = effective_level(h, mu, kink, kink_at)
    log_p = np.zeros(1)
    s_k = np.zeros(1)
    t = np.zeros(1)
    k = 0
    chunk = 4096
    while True:
        if k >= max_steps:
            raise ValueError(f"the escape law needs more than max_steps = {max_steps} steps (1 - F = "
                             f"{float(erfc(h_eff / math.sqrt(2 * np.exp(2 * log_p[-1]) * s_k[-1]))):.3g} left)")
        hi = min(k + chunk, max_steps)
        a = power_schedule(c, tau, np.arange(k + 1, hi + 1))
        lp = log_p[-1] + np.cumsum(np.log1p(a * r))
        sk = s_k[-1] + s2 * np.cumsum(a * a * np.exp(-2.0 * lp))
        t = np.concatenate([t, t[-1] + np.cumsum(a)])
        log_p, s_k = np.concatenate([log_p, lp]), np.concatenate([s_k, sk])
        k, chunk = hi, chunk * 2
        var = np.exp(2.0 * log_p[-1]) * s_k[-1]
        if float(erfc(h_eff / math.sqrt(2.0 * var))) > 1.0 - tail:
            break
    with np.errstate(divide="ignore"):
        v = np.exp(2.0 * log_p) * s_k
        cdf = np.where(v > 0, erfc(h_eff / np.sqrt(2.0 * np.where(v > 0, v, 1.0))), 0.0)
    cdf = np.maximum.accumulate(cdf)
    surv = 1.0 - cdf[:-1]
    dt = np.diff(t)
    mean = float(np.sum(surv * dt))
    second = float(np.sum(surv * np.diff(t * t)))
    c0 = float(r * t[-1] - log_p[-1])
    mean_asym = (math.log(h_eff) - MEAN_LOG_ABS_NORMAL - 0.5 * math.log(float(s_k[-1])) + c0) / r
    return EscapeLaw(t=t, cdf=cdf, mean=mean, sd=math.sqrt(max(second - mean * mean, 0.0)), slope_log_sigma=-1.0 / r,
                     sd_asymptotic=SD_LOG_ABS_NORMAL / r, mean_asymptotic=mean_asym, rate=r,
                     tail=float(1.0 - cdf[-1]))  # fmt: skip
