"""asgd figures; titles and legends are built from the configs actually used."""

from __future__ import annotations

from typing import Any

import numpy as np

from sgdlab import Context, figure, style
from theory.linreg.two_by_two import variance_ratio_prediction

from .claims import _ratio
from .experiments import curves, decay, zou
from .setting import PAPER, setting_of

SGD_C, ASGD_C = style.METHOD_COLORS["SGD"], style.METHOD_COLORS["ASGD"]


def _mc_points(ax: Any, steps: Any, mean: Any, se: Any, color: str, label: str) -> None:
    """Monte Carlo means with +-2 standard errors as points."""
    ax.errorbar(steps, mean, yerr=2 * se, fmt="o", ms=2.5, color=color, capsize=1.5, lw=0.8, label=label)


def _band_label(b: Any) -> str:
    return f"$w_0 - w^*$ on $i \\in [{int(b[0])}, {int(b[1])}]$"


@figure("asgd_risk_curves", paper=PAPER)
def fig_risk_curves(ctx: Context) -> Any:
    """Excess risk vs steps, SGD vs ASGD, w_0 - w* on each band (the paper's experiment)."""
    r = curves(ctx)
    cfg = ctx.config("asgd.curves")
    nb = len(r.bands)
    fig, axes = style.subplots(1, nb, width=3.5 * nb, height=2.8, sharey=True, squeeze=False)
    t = np.asarray(r.t)
    for j, ax in enumerate(axes[0]):
        for name, m, col in (("sgd", r.sgd, SGD_C), ("asgd", r.asgd, ASGD_C)):
            tot = m.bias[j] + m.var
            ax.loglog(t[1:], tot[1:], color=col, label=f"{name.upper()} total")
            ax.loglog(t[1:], m.bias[j][1:], color=col, ls="--", lw=1, label=f"{name.upper()} bias")
        style.label(ax, "step $t$ (samples)", r"excess risk $\frac{1}{2}\|w_t - w^*\|_H^2$" if j == 0 else "",
                    _band_label(r.bands[j]))
        ax.set_ylim(1e-6, 1)
    axes[0, 0].legend()
    fig.suptitle("exact risk, " + setting_of(cfg).tex(), fontsize=9)
    return fig


@figure("asgd_bias_variance", paper=PAPER)
def fig_bias_variance(ctx: Context) -> Any:
    """Bias ratio ASGD/SGD vs t per band; variance of both and their ratio; per-direction bias at the last step."""
    r = curves(ctx)
    cfg = ctx.config("asgd.curves")
    pred = variance_ratio_prediction(setting_of(cfg).params(), cfg.a)
    fig, axes = style.subplots(2, 2, width=7.0, height=5.4)
    t = np.asarray(r.t)
    n = len(t) - 1
    ax = axes[0, 0]
    for j in range(len(r.bands)):
        ax.semilogx(t[1:], _ratio(r.asgd.bias[j], r.sgd.bias[j])[1:], color=f"C{j + 2}",
                    label=_band_label(r.bands[j]))
    ax.axhline(1.0, color="k", lw=0.8)
    ax.set_yscale("log")
    style.label(ax, "step $t$", "bias ratio ASGD / SGD", "bias (last iterate)")
    ax.legend()
    ax = axes[0, 1]
    ax.loglog(t[1:], r.sgd.var[1:], color=SGD_C, label="SGD, last iterate")
    ax.loglog(t[1:], r.asgd.var[1:], color=ASGD_C, label="ASGD, last iterate")
    ax.loglog(t[1:], r.sgd.avg_var[1:], color=SGD_C, ls=":", label=r"SGD, average $\bar w_N$")
    ax.loglog(t[1:], r.asgd.avg_var[1:], color=ASGD_C, ls=":", label=r"ASGD, average $\bar w_N$")
    style.label(ax, "step $N$", "variance part of the risk", f"variance, $\\sigma^2 = {cfg.sigma2:g}$")
    ax.legend()
    ax = axes[1, 0]
    ax.semilogx(t[2:], r.asgd.var[2:] / r.sgd.var[2:], color="k", label="last iterate")
    ax.semilogx(t[3:], r.asgd.avg_var[3:] / r.sgd.avg_var[3:], color="k", ls=":", label="average")
    ax.axhline(pred, color="0.4", ls="--", lw=0.8, label=f"$(s_{{\\rm eff}}/\\delta)^{{1/a}}$, $a = {cfg.a:g}$")
    ax.axhline(1.0, color="k", lw=0.5)
    style.label(ax, "step $N$", "variance ratio ASGD / SGD", "variance ratio")
    ax.legend()
    ax = axes[1, 1]
    i = np.arange(1, len(r.lam) + 1)
    jb = len(r.bands) - 1
    for name, m, col in (("sgd", r.sgd, SGD_C), ("asgd", r.asgd, ASGD_C)):
        ax.loglog(i, np.maximum(m.dir_bias[jb], 1e-300), color=col, label=f"{name.upper()} bias")
        ax.loglog(i, m.dir_var, color=col, ls=":", label=f"{name.upper()} variance")
    ax.set_ylim(1e-14, None)
    b = r.bands[jb]
    style.label(ax, "eigen-direction $i$", r"$\frac{1}{2}\lambda_i E[(w_N - w^*)_i^2]$",
                f"per direction, $N={n}$, band [{int(b[0])}, {int(b[1])}]")
    ax.legend()
    fig.suptitle(setting_of(cfg).tex(), fontsize=9)
    return fig


@figure("asgd_rho", paper=PAPER)
def fig_rho(ctx: Context) -> Any:
    """Contraction per step: rho(A(lambda)) vs SGD's 1 - delta lambda, with s_eff and lambda_x."""
    r = ctx.result("asgd.two_by_two")
    cfg = ctx.config("asgd.two_by_two")
    fig, axes = style.subplots(1, 2, width=7.0, height=2.8)
    g = np.asarray(r.grid)
    lx = float(r.lambda_x)
    ax = axes[0]
    ax.loglog(g, 1 - r.rho_asgd, color=ASGD_C, label=r"ASGD $1 - \rho(A(\lambda))$")
    ax.loglog(g, 1 - r.rho_sgd, color=SGD_C, label=r"SGD $\delta\lambda$")
    ax.loglog(g, float(r.s_eff) * g, color="k", ls=":", lw=1, label=r"$s_{\rm eff}\lambda$")
    ax.axvline(lx, color="0.4", ls="--", lw=0.8)
    ax.text(lx, 1e-6, r" $\lambda_x$", color="0.3")
    style.label(ax, r"eigenvalue $\lambda$", "contraction gap per step")
    ax.legend()
    ax = axes[1]
    ax.semilogx(g, r.rho_asgd, color=ASGD_C, label=r"$\rho(A(\lambda))$")
    ax.semilogx(g, r.rho_sgd, color=SGD_C, label=r"$1 - \delta\lambda$")
    ax.axvline(lx, color="0.4", ls="--", lw=0.8)
    ax.set_xlim(max(g[0], lx / 150), g[-1])
    ax.set_ylim(0.75, 1.0)
    style.label(ax, r"eigenvalue $\lambda$", "mean contraction factor")
    ax.legend()
    fig.suptitle(f"AccSGD $(\\kappa, \\xi, c) = ({cfg.kappa:g}, {cfg.xi:g}, {cfg.c:g})$, "
                 f"$\\delta = {cfg.lr_scale:.3g}/\\mathrm{{tr}}H$, " + setting_of(cfg).tex(), fontsize=9)
    return fig


@figure("asgd_exact_vs_mc", paper=PAPER)
def fig_exact_vs_mc(ctx: Context) -> Any:
    """Exact recursion (lines) vs Monte Carlo (points, +-2 se)."""
    r = ctx.result("asgd.mc")
    cfg = ctx.config("asgd.mc")
    fig, axes = style.subplots(1, 2, width=7.0, height=2.8)
    s = np.asarray(r.steps)
    t = np.arange(len(r.sgd.exact_curve))
    for ax, suf, title in ((axes[0], "", "last iterate $w_N$"), (axes[1], "_avg", r"average $\bar w_N$")):
        for name, m, col in (("sgd", r.sgd, SGD_C), ("asgd", r.asgd, ASGD_C)):
            ax.loglog(t[1:], getattr(m, f"exact{suf}_curve")[1:], color=col, lw=1, label=f"{name.upper()} exact")
            _mc_points(ax, s, getattr(m, f"mc{suf}"), getattr(m, f"se{suf}"), col, f"{name.upper()} MC $\\pm 2$ se")
        style.label(ax, "step $N$", "excess risk", title)
    axes[0].legend()
    fig.suptitle(f"$d={cfg.d}$, $\\lambda_i = i^{{-{cfg.a:g}}}$, R={cfg.n_runs} runs, {cfg.features} data, "
                 f"$w_0-w^*$ on [{cfg.band[0]}, {cfg.band[1]}]", fontsize=9)
    return fig


@figure("asgd_zou_bound", paper=PAPER)
def fig_zou(ctx: Context) -> Any:
    """Averaged SGD: exact risk vs Zou et al.'s upper bound and the lower-bound shape."""
    r = zou(ctx)
    cfg = ctx.config("asgd.zou")
    nb = len(r.bands)
    fig, axes = style.subplots(1, nb, width=3.5 * nb, height=2.8, sharey=True, squeeze=False)
    N = np.asarray(r.N)
    for j, ax in enumerate(axes[0]):
        ax.loglog(N, r.exact[j], color=SGD_C, label="exact (bias + variance)")
        ax.loglog(N, r.exact_var[j], color=SGD_C, ls=":", label="exact variance")
        ax.loglog(N, r.bound[j], color=style.METHOD_COLORS["bound"], ls="--", label="Zou et al. upper bound")
        ax.loglog(N, r.lower[j], color="C2", ls="-.", lw=1, label="lower-bound shape (no constant)")
        style.label(ax, "samples $N$", r"risk of $\bar w_N$" if j == 0 else "", _band_label(r.bands[j]))
    axes[0, 0].legend()
    fig.suptitle(f"SGD, $\\eta = {cfg.eta_scale:.3g}/\\mathrm{{tr}}H$, $d={cfg.d}$, "
                 f"$\\lambda_i = i^{{-{cfg.a:g}}}$, $\\sigma^2 = {cfg.sigma2:g}$", fontsize=9)
    return fig


@figure("asgd_kurtosis", paper=PAPER)
def fig_kurtosis(ctx: Context) -> Any:
    """Rademacher data: Monte Carlo vs the kurtosis-aware and the Gaussian recursions."""
    r = ctx.result("asgd.kurtosis")
    cfg = ctx.config("asgd.kurtosis")
    fig, axes = style.subplots(1, 2, width=7.0, height=2.8)
    s = np.asarray(r.steps)
    t = np.arange(len(r.sgd.k1_curve))
    for ax, name, m in zip(axes, ("sgd", "asgd"), (r.sgd, r.asgd)):
        ax.loglog(t[1:], m.k1_curve[1:], color="C2", label=r"recursion, $\kappa = 1$")
        ax.loglog(t[1:], m.k3_curve[1:], color="0.4", ls="--", label=r"Gaussian recursion, $\psi = 3$")
        _mc_points(ax, s, m.mc, m.se, ASGD_C if name == "asgd" else SGD_C, "MC (Rademacher) $\\pm 2$ se")
        style.label(ax, "step $t$", "excess risk", name.upper())
    axes[0].legend()
    fig.suptitle(f"$d={cfg.d}$, $\\lambda_i = i^{{-{cfg.a:g}}}$, R={cfg.n_runs} runs, $w_0-w^*$ on "
                 f"[{cfg.band[0]}, {cfg.band[1]}]", fontsize=9)
    return fig


@figure("asgd_variance_decay", paper=PAPER)
def fig_decay(ctx: Context) -> Any:
    """Variance ratio ASGD/SGD vs N for lambda_i = i^-a, with the heuristic (s_eff/delta)^(1/a) dashed."""
    r = decay(ctx)
    cfg = ctx.config("asgd.decay")
    fig, axes = style.subplots(1, 3, width=9.6, height=2.8, sharey=True)
    t = np.asarray(r.t)
    for ax, kind, title in ((axes[0], "last", "last iterate $w_N$"), (axes[1], "avg", r"average $\bar w_N$"),
                            (axes[2], "tail", r"tail average of $w_{N/2..N-1}$")):
        for j, a in enumerate(np.asarray(r.exponents)):
            ax.semilogx(t, getattr(r, kind)[j], color=f"C{j}", label=f"$a = {a:g}$")
            ax.axhline(float(r.pred[j]), color=f"C{j}", ls="--", lw=0.8)
        style.label(ax, "step $N$", "variance ratio ASGD / SGD" if kind == "last" else "", title)
    axes[0].legend(title=r"$\lambda_i = i^{-a}$; dashed: $(s_{\rm eff}/\delta)^{1/a}$")
    fig.suptitle(f"$d={cfg.d}$, $\\sigma^2 = {cfg.sigma2:g}$, AccSGD $(\\kappa, \\xi, c) = ({cfg.kappa:g}, "
                 f"{cfg.xi:g}, {cfg.c:g})$", fontsize=9)
    return fig
