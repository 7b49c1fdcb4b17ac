"""heavy_tail figures: titles and legends built from the configs actually used (ctx.config)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import special

from sgdlab import Context, figure, style
from sgdlab.papers.heavy_tail import experiments as E
from sgdlab.papers.heavy_tail.experiments import PAPER
from theory.heavy_tails import gsz as GSZ
from theory.heavy_tails import levy_ou as HT
from theory.heavy_tails import stable as ST

SE_BARS = 2.0  # error bars: +- 2 standard errors


# figures


@figure("heavy_tail_sampler", paper=PAPER)
def fig_sampler(ctx: Context) -> Any:
    r = ctx.result("heavy_tail.sampler")
    fig, axes = style.subplots(1, 2, width=7.0, height=2.8)
    tt = np.linspace(0, max(r["ts"]), 200)
    for i, a in enumerate(r["alphas"]):
        col = style.PALETTE[i % len(style.PALETTE)]
        axes[0].plot(tt, ST.char_fn(tt, a), color=col, lw=1.0)
        axes[0].plot(r["ts"], r["ecf_scalar"][i], "o", color=col, ms=3, label=rf"$\alpha={a:g}$")
        axes[0].plot(r["ts"], r["ecf_rot"][i], "x", color=col, ms=4)
        if a < 2:
            axes[1].loglog(r["surv_x"], np.maximum(r["surv"][i], 1e-12), "o", color=col, ms=3)
            c_tail = 2 * special.gamma(a) * math.sin(math.pi * a / 2) / math.pi
            axes[1].loglog(r["surv_x"], c_tail * r["surv_x"] ** (-a), color=col, lw=1.0)
    style.label(axes[0], "$t$", r"$\mathrm{Re}\,\hat\varphi(t)$ vs $e^{-|t|^\alpha}$",
                "ECF: o scalar, x rotational ($d$=5)")
    axes[0].legend(ncol=2)
    axes[1].set_ylim(1.0 / r["n"], 1)
    style.label(axes[1], "$x$", r"$P(|X| > x)$",
                r"tails vs $\frac{2}{\pi}\Gamma(\alpha)\sin\frac{\pi\alpha}{2}x^{-\alpha}$")
    return fig


@figure("heavy_tail_euler_sde", paper=PAPER)
def fig_euler(ctx: Context) -> Any:
    r = E.euler_sde_sweep(ctx)
    cfg = ctx.config("heavy_tail.euler_sde")
    fig, ax = style.subplots(1, 1, width=3.6, height=2.8)
    ee = np.logspace(math.log10(min(r["eta"]) / 2), math.log10(max(r["eta"]) * 1.1), 100)
    for i, a in enumerate(r["alphas"]):
        col = style.PALETTE[i]
        ax.errorbar(r["eta"], r["scale"][i], yerr=SE_BARS * r["scale_se"][i], fmt="o", color=col, ms=3,
                    label=rf"$\alpha={a:g}$ (MC, $\pm{SE_BARS:g}$ se)")
        ax.plot(ee, [HT.euler_stationary_scale(a, cfg.lam, cfg.sigma, e) for e in ee], color=col, lw=1.0)
        ax.axhline(r["sde"][i], color=col, ls=":", lw=1.0)
    ax.set_xscale("log")
    style.label(ax, r"step size $\eta$", r"stationary scale $c$",
                rf"Euler (lines) $\to$ SDE (dotted), $\lambda={cfg.lam:g}$")
    ax.legend()
    return fig


@figure("heavy_tail_sq_loss", paper=PAPER)
def fig_sq_loss(ctx: Context) -> Any:
    r = E.sq_loss_sweep(ctx)
    fig, axes = style.subplots(1, 2, width=7.0, height=2.8)
    T = r["T"]
    for i, a in enumerate(r["alphas"]):
        col = style.PALETTE[i]
        med = np.median(r["sq"][i], axis=1)
        axes[0].loglog(T, med, "o-", color=col, ms=3, label=rf"$\alpha={a:g}$")
        if a < 2:
            axes[0].loglog(T, med[-1] * (T / T[-1]) ** (2 / a - 1), ":", color=col, lw=1.0)
        pw = r["pw"][i]
        axes[1].errorbar(T, pw.mean(axis=1), yerr=SE_BARS * pw.std(axis=1, ddof=1) / math.sqrt(pw.shape[1]), fmt="o",
                         color=col, ms=3)
        axes[1].axhline(ST.abs_moment(float(r["p"]), a, float(r["scale"][i])), color=col, lw=1.0)
    axes[0].legend()
    style.label(axes[0], "$T$ (steps)", r"median of $\frac{1}{T}\sum_k (\theta_k-\hat\theta)^2$",
                r"squared loss: slope $2/\alpha-1$ (dotted)")
    axes[1].set_xscale("log")
    style.label(axes[1], "$T$ (steps)", rf"mean of $\frac{{1}}{{T}}\sum_k|\theta_k-\hat\theta|^{{{float(r['p']):g}}}$",
                r"$p < \alpha/2$: settles at the closed form")
    return fig


@figure("heavy_tail_non_monotone", paper=PAPER)
def fig_non_monotone(ctx: Context) -> Any:
    r = E.non_monotone_sweep(ctx)
    cfg = ctx.config("heavy_tail.non_monotone")
    fig, ax = style.subplots(1, 1, width=3.8, height=2.9)
    aa = np.linspace(1.05, 2.0, 200)
    for li, lam in enumerate(r["lams"]):
        col = style.PALETTE[li]
        ref = HT.ou_abs_moment(1.0, 2.0, lam, cfg.sigma)
        ax.plot(aa, [HT.ou_abs_moment(1.0, a, lam, cfg.sigma) / ref for a in aa], color=col, lw=1.0)
        ax.errorbar(r["alphas"], r["mean_abs"][li] / ref, yerr=SE_BARS * r["mean_abs_se"][li] / ref, fmt="o", ms=3,
                    color=col, label=rf"$\lambda={lam:g}$")
        if r["interior"][li]:
            ax.axvline(r["alpha_star"][li], color=col, ls=":", lw=1.0)
    ax.set_yscale("log")
    ax.legend()
    style.label(ax, r"tail index $\alpha$", r"$E|\theta_\infty-\hat\theta|$ / value at $\alpha=2$",
                r"OU formula, Euler MC, $\alpha^*$ (dotted)")
    return fig


@figure("heavy_tail_w1", paper=PAPER)
def fig_w1(ctx: Context) -> Any:
    r = ctx.result("heavy_tail.w1")
    cfg = ctx.config("heavy_tail.w1")
    rr = E.w1_robust_sweep(ctx)
    cr = ctx.config("heavy_tail.w1_robust")
    fig, axes = style.subplots(1, 2, width=7.4, height=2.9)
    ax = axes[0]
    ns = r["ns"]
    shown = min(6, r["D"].shape[0])
    for j in range(shown):
        col = style.PALETTE[j % len(style.PALETTE)]
        ax.plot(ns, ns * r["D"][j], "o-", color=col, ms=3, lw=1.0)
        ax.plot(ns, ns * r["bound"][j], "--", color=col, lw=0.8)
    if int(r["batch"]) > 0:
        ax.plot(ns, np.mean(ns * r["D_mb"], axis=0), "s:", color="k", ms=3, lw=1.0,
                label=f"minibatch $B={int(r['batch'])}$, mean over replicates")
        ax.legend()
    ax.set_xscale("log")
    ax.set_yscale("log")
    style.label(ax, "dataset size $n$", r"$n\,E\|\theta-\theta'\|$ (solid), $n\times$bound (dashed)",
                rf"least squares, $\alpha={cfg.alpha:g}$, {shown} of {r['D'].shape[0]} data replicates")
    ax = axes[1]
    nr = np.asarray(rr["ns"], dtype=float)
    for ai, a in enumerate(rr["alphas"]):
        x = nr * rr["D"][ai]
        ax.errorbar(nr, x.mean(0), yerr=SE_BARS * x.std(0, ddof=1) / math.sqrt(x.shape[0]), fmt="o-", ms=3,
                    lw=1.0, color=style.PALETTE[ai % len(style.PALETTE)], label=rf"$\alpha={a:g}$")
    ax.set_xscale("log")
    ax.set_xticks(nr, [f"{int(n)}" for n in nr], minor=False)
    ax.minorticks_off()
    ax.legend(ncol=2)
    style.label(ax, "dataset size $n$", rf"$n\,E\|\theta-\theta'\|$ (mean, $\pm{SE_BARS:g}$ se)",
                rf"pseudo-Huber $\delta={cr.delta:g}$, ridge $\mu={cr.mu:g}$")
    return fig


@figure("heavy_tail_gsz", paper=PAPER)
def fig_gsz(ctx: Context) -> Any:
    r = E.gsz_sweep(ctx)
    cfg = ctx.config("heavy_tail.gsz")
    fig, axes = style.subplots(1, 2, width=7.0, height=2.8)
    for bi, b in enumerate(sorted(set(r["b"].tolist()))):
        col = style.PALETTE[bi]
        etas = r["eta"][r["b"] == b]
        ee = np.linspace(0.10, 0.178, 14) if b == 1 else np.linspace(max(0.1, etas.min() - 0.02), etas.max() + 0.05, 7)
        roots = np.array([GSZ.gsz_tail_index(float(e), b, cfg.d) for e in ee])  # exact root curve (theory)
        axes[0].plot(ee, np.where(np.isfinite(roots), roots, np.nan), color=col, lw=1.0, label=f"root, $b={b}$")
        sel = r["b"] == b
        axes[0].errorbar(r["eta"][sel], r["hill"][sel], yerr=SE_BARS * r["hill_se"][sel], fmt="o", color=col, ms=3,
                         label=f"Hill, $b={b}$")
    axes[0].set_ylim(0, 1.15 * float(np.max(r["root"])))
    axes[0].legend()
    style.label(axes[0], r"step size $\eta$", r"tail index $\alpha$", rf"online SGD, $d={cfg.d}$")
    for i in range(r["b"].size):
        xs = r["surv_x"][i]
        ranks = np.unique(np.logspace(0, math.log10(r["R"]), 40).astype(int))[: xs.size]
        axes[1].loglog(xs, ranks / r["R"], "o", ms=2.5, color=style.PALETTE[i],
                       label=rf"$b={r['b'][i]}, \eta={r['eta'][i]:g}$")
    axes[1].legend()
    style.label(axes[1], r"$x$", r"$P(\|x_\infty\| > x)$", "empirical survival")
    return fig


@figure("heavy_tail_nn_gap", paper=PAPER)
def fig_nn(ctx: Context) -> Any:
    r = E.nn_sweep(ctx)
    cfg = ctx.config("heavy_tail.nn")
    fig, axes = style.subplots(1, 2, width=7.0, height=2.8)
    for si, s in enumerate(r["sigmas"]):
        col = style.PALETTE[si]
        lg = np.log(np.where(r["gap"][:, si, :] > 0, r["gap"][:, si, :], np.nan))
        se = np.nanstd(lg, 1, ddof=1) / math.sqrt(lg.shape[1])
        axes[0].errorbar(r["alphas"], np.nanmean(lg, 1), yerr=SE_BARS * se, fmt="o-", ms=3, color=col,
                         label=rf"$\sigma={s:g}$")
        acc = r["test_acc"][:, si, :]
        axes[1].errorbar(r["alphas"], acc.mean(1), yerr=SE_BARS * acc.std(1, ddof=1) / math.sqrt(acc.shape[1]),
                         fmt="o-", ms=3, color=col)
    axes[0].legend()
    style.label(axes[0], r"tail index $\alpha$", r"mean over seeds of $\log$(test - train CE)",
                rf"MLP 64-{cfg.hidden}-10, $\eta={cfg.eta:g}$, {cfg.steps} steps, {cfg.seeds} seeds")
    style.label(axes[1], r"tail index $\alpha$", "test accuracy",
                rf"load_digits, $n_{{train}}={cfg.n_train}$, $\pm{SE_BARS:g}$ se")
    return fig
