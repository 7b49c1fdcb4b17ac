"""asgd experiments: configs, typed results, and the sweeps that split their grids into independent points.

Grids (the bands of ``w_0 - w*``, the spectrum exponents) are lists of independent points run through
``ctx.sweep``; :func:`curves`, :func:`zou` and :func:`decay` give the merged result that claims, figures and the
notebook read.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import brentq

from sgdlab import Context, by_scale, experiment, seeding
from sims.linreg import simulate_linreg
from sims.runs import parse_dtype
from theory.linreg.bounds import zou_bound
from theory.linreg.parameters import AsgdParams, accsgd_to_asgd, sgd_as_asgd
from theory.linreg.problem import InitialError, band_init, power_law_spectrum
from theory.linreg.recursions import asgd_risk, sgd_risk
from theory.linreg.second_moments import GAUSSIAN_KURTOSIS, RADEMACHER_KURTOSIS
from theory.linreg.two_by_two import (
    crossover_lambda,
    det_A,
    momentum_time,
    s_eff,
    spectral_radius_A,
    variance_ratio_prediction,
)

from .setting import PAPER, Setting, setting_of

Array = np.ndarray


def _record_steps(n: int, k: int) -> list[int]:
    return sorted({int(round(x)) for x in np.geomspace(1, n, k)} | {n})


def _stack(parts: list[Any], name: str) -> Array:
    return np.concatenate([np.asarray(getattr(p, name)) for p in parts], axis=0)


# ----------------------------------------------------------------------------------------------------------------
# experiment 1: exact risk curves for w_0 - w* on head and tail bands
# ----------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CurvesConfig(Setting):
    n_steps: int = 10_000
    bands: tuple[tuple[int, int], ...] = ((1, 3), (11, 30))


def curves_config(scale: str) -> CurvesConfig:
    return by_scale(scale, smoke=CurvesConfig(n_steps=3000), default=CurvesConfig(),
                    full=CurvesConfig(n_steps=100_000))


@dataclass(frozen=True)
class MethodCurves:
    """Exact risks of one method. Per band ``b`` (axis 0) and step ``t``: ``bias[b, t]`` (last iterate ``w_t``),
    ``avg_bias[b, N]`` (``mean(w_0..w_{N-1})``), ``tail_bias[b, N]`` (``mean(w_{N//2}..w_{N-1})``),
    ``dir_bias[b, i]`` (direction ``i``'s share at the last step). The variance does not depend on ``w_0``:
    ``var[t]``, ``avg_var[N]``, ``tail_var[N]``, ``dir_var[i]``. ``rho``: spectral radius of the full
    second-moment map."""

    bias: Array
    avg_bias: Array
    tail_bias: Array
    dir_bias: Array
    var: Array
    avg_var: Array
    tail_var: Array
    dir_var: Array
    rho: float


@dataclass(frozen=True)
class CurvesResult:
    """``t = 0..n_steps``; ``bands[b] = (lo, hi)`` (1-based, inclusive) with ``||w_0 - w*||^2 = 1`` spread evenly;
    ASGD's parameters; SGD uses ASGD's short step ``delta``."""

    t: Array
    lam: Array
    bands: Array
    delta: float
    alpha: float
    beta: float
    gamma: float
    sgd: MethodCurves
    asgd: MethodCurves


def _method_curves(rcs: list[Any]) -> MethodCurves:
    v = rcs[0]  # the variance part is the same for every band
    return MethodCurves(bias=np.stack([r.bias for r in rcs]), avg_bias=np.stack([r.avg_bias[0] for r in rcs]),
                        tail_bias=np.stack([r.tail_bias for r in rcs]), dir_bias=np.stack([r.dir_bias for r in rcs]),
                        var=v.variance, avg_var=v.avg_variance[0], tail_var=v.tail_variance,
                        dir_var=v.dir_variance, rho=float(v.rho))


@experiment("asgd.curves", paper=PAPER, config=curves_config, schema=2, result=CurvesResult)
def curves_point(cfg: CurvesConfig) -> CurvesResult:
    """Exact last-iterate, averaged (``mean(w_0..w_{N-1})``) and tail-averaged (``mean(w_{N//2}..w_{N-1})``) bias
    and variance of SGD and ASGD for every step, for ``w_0 - w*`` spread evenly over each band of eigen-directions
    (``||w_0 - w*||^2 = 1``). One point may hold several bands; :func:`curves` runs one point per band."""
    s = setting_of(cfg)
    lam, p = s.lam(), s.params()
    rs, ra = [], []
    for lo, hi in cfg.bands:
        init = band_init(cfg.d, lo, hi)
        rs.append(sgd_risk(p.delta, lam, init, cfg.sigma2, cfg.n_steps, tail_fraction=0.5))
        ra.append(asgd_risk(p, lam, init, cfg.sigma2, cfg.n_steps, tail_fraction=0.5))
    return CurvesResult(t=np.arange(cfg.n_steps + 1), lam=lam, bands=np.array(cfg.bands, dtype=np.int64).reshape(-1, 2),
                        delta=p.delta, alpha=p.alpha, beta=p.beta, gamma=p.gamma, sgd=_method_curves(rs),
                        asgd=_method_curves(ra))


def curves_points(ctx: Context) -> list[CurvesConfig]:
    """One point per band of the (possibly overridden) ``asgd.curves`` config."""
    base = ctx.config("asgd.curves")
    return [dataclasses.replace(base, bands=(tuple(b),)) for b in base.bands]


def _merge_methods(ms: list[MethodCurves]) -> MethodCurves:
    m0 = ms[0]
    return dataclasses.replace(m0, bias=_stack(ms, "bias"), avg_bias=_stack(ms, "avg_bias"),
                               tail_bias=_stack(ms, "tail_bias"), dir_bias=_stack(ms, "dir_bias"),
                               rho=float(np.asarray(m0.rho)))


def curves(ctx: Context) -> CurvesResult:
    """The ``asgd.curves`` result for every band of the config, computed as one sweep point per band."""
    parts: list[CurvesResult] = ctx.sweep("asgd.curves", curves_points(ctx), desc="asgd bands")
    first = parts[0]
    return dataclasses.replace(first, bands=_stack(parts, "bands"), sgd=_merge_methods([r.sgd for r in parts]),
                               asgd=_merge_methods([r.asgd for r in parts]))


# ----------------------------------------------------------------------------------------------------------------
# experiment 2: the per-direction 2x2 analysis
# ----------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TwoByTwoConfig(Setting):
    n_grid: int = 2000


def two_by_two_config(scale: str) -> TwoByTwoConfig:
    return by_scale(scale, smoke=TwoByTwoConfig(n_grid=400), default=TwoByTwoConfig(),
                    full=TwoByTwoConfig(n_grid=20000))


@dataclass(frozen=True)
class TwoByTwoResult:
    """``rho(A(lam))`` (``rho_asgd``) and ``1 - delta lam`` (``rho_sgd``) on ``grid``; closed forms and the
    numerically located crossing."""

    grid: Array
    rho_asgd: Array
    rho_sgd: Array
    det_A: Array
    s_eff: float
    lambda_x: float
    lambda_x_numeric: float
    delta: float
    tau: float
    lam: Array


@experiment("asgd.two_by_two", paper=PAPER, config=two_by_two_config, schema=2, result=TwoByTwoResult)
def two_by_two(cfg: TwoByTwoConfig) -> TwoByTwoResult:
    """``rho(A(lam))`` and SGD's ``1 - delta lam`` on a log grid from ``lam_d`` to ``lam_1``, plus the numerically
    located crossing (brentq on ``rho(A(lam)) - (1 - delta lam)``)."""
    s = setting_of(cfg)
    lam, p = s.lam(), s.params()
    grid = np.geomspace(lam[-1], lam[0], cfg.n_grid)
    rho = spectral_radius_A(p, grid)
    sgd = 1.0 - p.delta * grid
    lx = crossover_lambda(p)

    def gap(x: float) -> float:
        return float(spectral_radius_A(p, np.array([x]))[0] - (1.0 - p.delta * x))

    lx_num = brentq(gap, lx / 4, min(4 * lx, 0.999 / p.delta), xtol=1e-15, rtol=1e-14)
    return TwoByTwoResult(grid=grid, rho_asgd=rho, rho_sgd=sgd, det_A=det_A(p, grid), s_eff=s_eff(p), lambda_x=lx,
                          lambda_x_numeric=lx_num, delta=p.delta, tau=momentum_time(p), lam=lam)


# ----------------------------------------------------------------------------------------------------------------
# experiment 3: Monte Carlo vs the exact recursion
# ----------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class McConfig(Setting):
    d: int = 200
    n_steps: int = 1000
    n_runs: int = 4000
    band: tuple[int, int] = (1, 3)
    n_record: int = 25
    features: str = "gaussian"
    seed: int = 0
    device: str = "cpu"
    dtype: str = "float64"
    chunk: int = 0  # 0: all runs at once


def mc_config(scale: str) -> McConfig:
    return by_scale(scale, smoke=McConfig(d=20, n_steps=300, n_runs=2000, n_record=12),
                    default=McConfig(),
                    full=McConfig(d=2000, n_steps=10_000, n_runs=10_000, n_record=40, device="cuda",
                                  dtype="float32"))


@dataclass(frozen=True)
class MethodMc:
    """One method: the exact recursion at the recorded steps and for every step (``*_curve``), Monte Carlo means
    and standard errors (last iterate and ``mean(w_0..w_{N-1})``), diverged fraction, seconds, throughput."""

    exact: Array
    exact_avg: Array
    exact_curve: Array
    exact_avg_curve: Array
    mc: Array
    se: Array
    mc_avg: Array
    se_avg: Array
    runs_diverged: float
    seconds: float
    throughput: float


@dataclass(frozen=True)
class McResult:
    steps: Array
    sgd: MethodMc
    asgd: MethodMc


def _methods(p: AsgdParams) -> tuple[tuple[str, AsgdParams], ...]:
    return (("sgd", sgd_as_asgd(p.delta)), ("asgd", p))


@experiment("asgd.mc", paper=PAPER, config=mc_config, schema=2, result=McResult)
def mc(cfg: McConfig) -> McResult:
    """Batched Monte Carlo of SGD and ASGD (R runs in one tensor) next to the exact recursion at the same steps;
    last iterate and ``mean(w_0..w_{N-1})``. Reports seconds and runs*steps*d per second."""
    s = setting_of(cfg)
    lam, p = s.lam(), s.params()
    init = band_init(cfg.d, *cfg.band)
    w_star = np.zeros(cfg.d)
    w0 = w_star + init.error()
    rec = _record_steps(cfg.n_steps, cfg.n_record)
    kurt = GAUSSIAN_KURTOSIS if cfg.features == "gaussian" else RADEMACHER_KURTOSIS
    dtype = parse_dtype(cfg.dtype)
    out: dict[str, MethodMc] = {}
    for name, q in _methods(p):
        ex = asgd_risk(q, lam, init, cfg.sigma2, cfg.n_steps, kurtosis=kurt)
        g = seeding.torch_generator(cfg.seed, f"features-{name}", cfg.device)
        gn = seeding.torch_generator(cfg.seed, f"noise-{name}", cfg.device)
        res = simulate_linreg(lam, w0, w_star, cfg.sigma2, cfg.n_steps, cfg.n_runs, alpha=q.alpha, beta=q.beta,
                              gamma=q.gamma, delta=q.delta, features=cfg.features, record_steps=rec,
                              device=cfg.device, dtype=dtype, generator=g, noise_generator=gn,
                              chunk=cfg.chunk or None)
        out[name] = MethodMc(exact=ex.total[rec], exact_avg=ex.avg_total[0, rec], exact_curve=ex.total,
                             exact_avg_curve=ex.avg_total[0], mc=res.mean, se=res.se, mc_avg=res.avg_mean,
                             se_avg=res.avg_se, runs_diverged=res.diverged_frac, seconds=res.seconds,
                             throughput=cfg.n_runs * cfg.n_steps * cfg.d / res.seconds)
    return McResult(steps=np.array(rec), sgd=out["sgd"], asgd=out["asgd"])


# ----------------------------------------------------------------------------------------------------------------
# experiment 4: Zou et al.'s bound for averaged SGD
# ----------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ZouConfig:
    d: int = 2000
    a: float = 2.0
    sigma2: float = 0.01
    eta_scale: float = 1.0 / 6.0  # eta = eta_scale / tr H; the bound needs eta < 1/(psi tr H) = 1/(3 tr H)
    n_max: int = 10_000
    n_grid: int = 30
    bands: tuple[tuple[int, int], ...] = ((1, 3), (11, 30))


def zou_config(scale: str) -> ZouConfig:
    return by_scale(scale, smoke=ZouConfig(n_max=3000, n_grid=15), default=ZouConfig(),
                    full=ZouConfig(d=20000, n_max=100_000, n_grid=60))


@dataclass(frozen=True)
class ZouResult:
    """On the grid ``N`` (axis 1) for each band (axis 0): the exact risk of ``mean(w_0..w_{N-1})`` (total, bias,
    variance), Zou et al.'s upper bound ``2 EffBias + 2 EffVar`` and its pieces, the lower-bound shape
    ``EffBias + sigma2 d_eff / N``, and ``k*``."""

    N: Array
    eta: float
    bands: Array
    exact: Array
    exact_bias: Array
    exact_var: Array
    bound: Array
    eff_bias: Array
    eff_var: Array
    lower: Array
    k_star: Array


@experiment("asgd.zou", paper=PAPER, config=zou_config, schema=2, result=ZouResult)
def zou_point(cfg: ZouConfig) -> ZouResult:
    """Exact risk of ``mean(w_0..w_{N-1})`` for SGD vs Zou et al.'s upper bound ``2 EffBias + 2 EffVar`` and the
    lower-bound shape ``EffBias + sigma2 d_eff / N``, on a log grid of N, for each band."""
    lam = power_law_spectrum(cfg.d, cfg.a)
    eta = cfg.eta_scale / float(lam.sum())
    ns = np.unique(np.geomspace(1, cfg.n_max, cfg.n_grid).round().astype(int))
    rows: dict[str, list[Array]] = {k: [] for k in ("exact", "exact_bias", "exact_var", "bound", "eff_bias",
                                                   "eff_var", "lower", "k_star")}
    for band in cfg.bands:
        init = band_init(cfg.d, *band)
        rc = sgd_risk(eta, lam, init, cfg.sigma2, cfg.n_max)
        zb = [zou_bound(lam, eta, int(n), init, cfg.sigma2) for n in ns]
        rows["exact"].append(rc.avg_total[0, ns])
        rows["exact_bias"].append(rc.avg_bias[0, ns])
        rows["exact_var"].append(rc.avg_variance[0, ns])
        rows["bound"].append(np.array([z.bound for z in zb]))
        rows["eff_bias"].append(np.array([z.eff_bias for z in zb]))
        rows["eff_var"].append(np.array([z.eff_var for z in zb]))
        rows["lower"].append(np.array([z.lower_shape for z in zb]))
        rows["k_star"].append(np.array([z.k_star for z in zb]))
    return ZouResult(N=ns, eta=eta, bands=np.array(cfg.bands, dtype=np.int64).reshape(-1, 2),
                     **{k: np.stack(v) for k, v in rows.items()})


def zou(ctx: Context) -> ZouResult:
    """The ``asgd.zou`` result for every band of the config, one sweep point per band."""
    base = ctx.config("asgd.zou")
    parts: list[ZouResult] = ctx.sweep("asgd.zou", [dataclasses.replace(base, bands=(tuple(b),))
                                                    for b in base.bands], desc="asgd zou bands")
    stacked: dict[str, Any] = {f.name: _stack(parts, f.name) for f in dataclasses.fields(ZouResult)
                               if f.name not in ("N", "eta")}
    return dataclasses.replace(parts[0], **stacked)


# ----------------------------------------------------------------------------------------------------------------
# experiment 5 (extension): non-Gaussian data, kurtosis-aware recursion
# ----------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class KurtosisConfig(Setting):
    d: int = 100
    n_steps: int = 200
    n_runs: int = 10_000
    band: tuple[int, int] = (1, 3)
    seed: int = 1
    device: str = "cpu"


def kurtosis_config(scale: str) -> KurtosisConfig:
    return by_scale(scale, smoke=KurtosisConfig(d=20, n_runs=2000), default=KurtosisConfig(),
                    full=KurtosisConfig(d=2000, n_runs=100_000, n_steps=1000, device="cuda"))


@dataclass(frozen=True)
class MethodKurtosis:
    """One method on Rademacher data: the kurtosis-aware (``k1``) and Gaussian (``k3``) recursions at the recorded
    steps and for every step (``*_curve``), Monte Carlo mean and se, diverged fraction."""

    k1: Array
    k3: Array
    k1_curve: Array
    k3_curve: Array
    mc: Array
    se: Array
    runs_diverged: float


@dataclass(frozen=True)
class KurtosisResult:
    steps: Array
    sgd: MethodKurtosis
    asgd: MethodKurtosis


@experiment("asgd.kurtosis", paper=PAPER, config=kurtosis_config, schema=2, result=KurtosisResult)
def kurtosis(cfg: KurtosisConfig) -> KurtosisResult:
    """Rademacher features (kurtosis 1): Monte Carlo vs the kurtosis-aware recursion (kappa = 1) and vs the Gaussian
    recursion (kappa = 3) the papers assume, for SGD and ASGD."""
    s = setting_of(cfg)
    lam, p = s.lam(), s.params()
    init = band_init(cfg.d, *cfg.band)
    rec = _record_steps(cfg.n_steps, 12)
    out: dict[str, MethodKurtosis] = {}
    for name, q in _methods(p):
        k1 = asgd_risk(q, lam, init, cfg.sigma2, cfg.n_steps, kurtosis=RADEMACHER_KURTOSIS)
        k3 = asgd_risk(q, lam, init, cfg.sigma2, cfg.n_steps, kurtosis=GAUSSIAN_KURTOSIS)
        g = seeding.torch_generator(cfg.seed, f"features-{name}", cfg.device)
        gn = seeding.torch_generator(cfg.seed, f"noise-{name}", cfg.device)
        res = simulate_linreg(lam, init.error(), np.zeros(cfg.d), cfg.sigma2, cfg.n_steps, cfg.n_runs,
                              alpha=q.alpha, beta=q.beta, gamma=q.gamma, delta=q.delta, features="rademacher",
                              record_steps=rec, device=cfg.device, generator=g, noise_generator=gn)
        out[name] = MethodKurtosis(k1=k1.total[rec], k3=k3.total[rec], k1_curve=k1.total, k3_curve=k3.total,
                                   mc=res.mean, se=res.se, runs_diverged=res.diverged_frac)
    return KurtosisResult(steps=np.array(rec), sgd=out["sgd"], asgd=out["asgd"])


# ----------------------------------------------------------------------------------------------------------------
# experiment 6 (exploration): variance ratio for other spectrum decays
# ----------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DecayConfig:
    d: int = 2000
    exponents: tuple[float, ...] = (1.5, 2.0, 3.0)
    sigma2: float = 0.01
    lr_scale: float = 1.0 / 3.0
    kappa: float = 200.0
    xi: float = 5.0
    c: float = 0.7
    n_steps: int = 10_000


def decay_config(scale: str) -> DecayConfig:
    return by_scale(scale, smoke=DecayConfig(n_steps=2000), default=DecayConfig(),
                    full=DecayConfig(d=20000, n_steps=100_000, exponents=(1.25, 1.5, 2.0, 3.0, 4.0)))


@dataclass(frozen=True)
class DecayResult:
    """Variance ratio ASGD/SGD at every ``t`` (axis 1) for each exponent ``a`` (axis 0) of ``lam_i = i^-a``: last
    iterate (defined for ``t >= 2``), ``mean(w_0..w_{N-1})`` (``N >= 3``), tail average (``N >= 4``); NaN where
    the two methods coincide. ``pred``: the heuristic ``(s_eff/delta)^(1/a)``."""

    t: Array
    exponents: Array
    last: Array
    avg: Array
    tail: Array
    pred: Array


def _padded_ratio(num: Array, den: Array, first: int) -> Array:
    out = np.full(num.shape, np.nan)
    out[first:] = num[first:] / den[first:]
    return out


@experiment("asgd.decay", paper=PAPER, config=decay_config, schema=2, result=DecayResult)
def decay_point(cfg: DecayConfig) -> DecayResult:
    """Exact variance ratio ASGD/SGD (last iterate, average, tail average) for ``lam_i = i^-a``, for each ``a`` of
    the config (:func:`decay` runs one point per exponent), next to the heuristic ``(s_eff/delta)^(1/a)``."""
    rows: dict[str, list[Array]] = {"last": [], "avg": [], "tail": []}
    preds = []
    zero = InitialError.zero(cfg.d)
    for a in cfg.exponents:
        lam = power_law_spectrum(cfg.d, a)
        p = accsgd_to_asgd(cfg.lr_scale / float(lam.sum()), cfg.kappa, cfg.xi, cfg.c)
        rs = sgd_risk(p.delta, lam, zero, cfg.sigma2, cfg.n_steps, tail_fraction=0.5)
        ra = asgd_risk(p, lam, zero, cfg.sigma2, cfg.n_steps, tail_fraction=0.5)
        assert rs.tail_variance is not None and ra.tail_variance is not None
        rows["last"].append(_padded_ratio(ra.variance, rs.variance, 2))
        rows["avg"].append(_padded_ratio(ra.avg_variance[0], rs.avg_variance[0], 3))
        rows["tail"].append(_padded_ratio(ra.tail_variance, rs.tail_variance, 4))
        preds.append(variance_ratio_prediction(p, a))
    return DecayResult(t=np.arange(cfg.n_steps + 1), exponents=np.array(cfg.exponents, dtype=np.float64),
                       pred=np.array(preds), **{k: np.stack(v) for k, v in rows.items()})


def decay(ctx: Context) -> DecayResult:
    """The ``asgd.decay`` result for every exponent of the config, one sweep point per exponent."""
    base = ctx.config("asgd.decay")
    parts: list[DecayResult] = ctx.sweep("asgd.decay", [dataclasses.replace(base, exponents=(a,))
                                                        for a in base.exponents], desc="asgd exponents")
    return dataclasses.replace(parts[0], **{k: _stack(parts, k) for k in ("exponents", "last", "avg", "tail",
                                                                           "pred")})
