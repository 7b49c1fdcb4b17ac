"""stability figures: titles and legends from the configs actually used."""

from __future__ import annotations

import math
from typing import Any

import matplotlib
import numpy as np
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from sgdlab import Context, figure, style
from theory.stability import moments as SM

from .claims import growth_configs, maps
from .experiments import PAPER

SAMPLING_LABEL = {"bernoulli": "Bernoulli", "with_replacement": "with replacement",
                  "without_replacement": "without replacement"}
CRITERION_LABEL = {"frac_diverged": "last step", "frac_diverged_first": "first passage"}


def _draw_map(ax: Any, r: Any, title: str, key: str = "frac_diverged") -> Any:
    bs, sg = r["batches"], r["sigmas"]
    im = ax.pcolormesh(bs, sg, r[key].T, shading="nearest", cmap="Greys", vmin=0, vmax=1)
    ax.contour(bs, sg, (r["rho"] - 1).T, levels=[0], colors=[style.PALETTE[1]], linewidths=1.5)
    ax.contour(bs, sg, (r["lyapunov"] - math.log(float(r["threshold"])) / (2 * int(r["steps"]))).T, levels=[0],
               colors=[style.PALETTE[0]], linewidths=1.5, linestyles="--")
    if str(r["sampling"]) == "bernoulli":
        # Theorem 2 (the construction's closed-form boundary): diverges iff lambda_1(H) > lambda_c(B, sigma)
        lam_c = np.asarray(r["lambda_c_bernoulli"]) - float(r["lam"])
        if lam_c.min() < 0 < lam_c.max():
            ax.contour(bs, sg, lam_c.T, levels=[0], colors=[style.PALETTE[3]], linewidths=2.5, alpha=0.6)
        if r["thm1_fires"].any() and not r["thm1_fires"].all():
            ax.contour(bs, sg, r["thm1_fires"].T, levels=[0.5], colors=[style.PALETTE[2]], linewidths=1.5,
                       linestyles=":")
    style.label(ax, "batch size $B$", r"coherence $\sigma$", title)
    return im


def _legend(fig: Any) -> None:
    handles = [Line2D([], [], color=style.PALETTE[1], label=r"exact MS boundary $\rho(Q)=1$"),
               Line2D([], [], color=style.PALETTE[3], lw=2.5, alpha=0.6,
                      label=r"Theorem 2: $\lambda_1(H) = \lambda_c(B,\sigma)$ (Bernoulli)"),
               Line2D([], [], color=style.PALETTE[0], ls="--", label="almost-sure boundary (exact)"),
               Line2D([], [], color=style.PALETTE[2], ls=":", label="Theorem 1 condition")]
    fig.legend(handles=handles, loc="outside lower center", ncol=2)


@figure("stability_divergence_map", paper=PAPER)
def fig_divergence_map(ctx: Context) -> Any:
    cfg = ctx.config("stability.divergence_map")
    ms = maps(ctx)
    fig, axes = style.subplots(1, 2, width=7.4, height=3.6)
    for ax, eta in zip(axes, (cfg.eta, cfg.eta_alt)):
        r = ms[("bernoulli", eta)]
        im = _draw_map(ax, r, rf"Bernoulli, $\eta$ = {eta:g}, $n$ = {cfg.n}, $\lambda_1(H)$ = {cfg.lam:g}")
    fig.colorbar(im, ax=axes, label=f"fraction of {cfg.repeats} runs diverged (last step)")
    _legend(fig)
    return fig


@figure("stability_boundary_samplings", paper=PAPER)
def fig_boundary_samplings(ctx: Context) -> Any:
    cfg = ctx.config("stability.divergence_map")
    ms = maps(ctx)
    fig, axes = style.subplots(1, 3, width=9.6, height=3.4)
    for ax, s in zip(axes, SM.SAMPLINGS):
        im = _draw_map(ax, ms[(s, cfg.eta)], rf"{SAMPLING_LABEL[s]}, $\eta$ = {cfg.eta:g}")
    fig.colorbar(im, ax=axes, label=f"fraction of {cfg.repeats} runs diverged (last step)")
    _legend(fig)
    return fig


@figure("stability_reference_protocol", paper=PAPER)
def fig_reference_protocol(ctx: Context) -> Any:
    """Left: the paper's map with the public code's protocol (without replacement, first passage). Middle and right:
    where the majority decision changes with the criterion (first passage vs last step, without replacement) and with
    the sampling (without replacement vs Bernoulli, first passage)."""
    cfg = ctx.config("stability.divergence_map")
    ms = maps(ctx)
    ref, ber = ms[("without_replacement", cfg.eta)], ms[("bernoulli", cfg.eta)]
    fig, axes = style.subplots(1, 3, width=10.5, height=3.4)
    im = _draw_map(axes[0], ref, "reference protocol: without repl.,\n" + rf"first passage, $\eta$ = {cfg.eta:g}",
                   key="frac_diverged_first")
    fig.colorbar(im, ax=axes[0], label=f"fraction of {cfg.repeats} runs")
    bs, sg = ref["batches"], ref["sigmas"]
    pairs = [(ref["frac_diverged_first"], ref["frac_diverged"], "first passage vs last step\n(without replacement)"),
             (ref["frac_diverged_first"], ber["frac_diverged_first"], "without repl. vs Bernoulli\n(first passage)")]
    for ax, (a, b, title) in zip(axes[1:], pairs):
        diff = (a > 0.5).astype(float) - (b > 0.5).astype(float)
        ax.pcolormesh(bs, sg, diff.T, shading="nearest", cmap="coolwarm", vmin=-1, vmax=1)
        ax.contour(bs, sg, (ref["rho"] - 1).T, levels=[0], colors=[style.PALETTE[1]], linewidths=1.0)
        style.label(ax, "batch size $B$", r"coherence $\sigma$",
                    f"{title}: majority differs at {int(np.sum(diff != 0))}/{diff.size}")
    cmap = matplotlib.colormaps["coolwarm"]
    axes[2].legend(handles=[Patch(color=cmap(1.0), label="diverges only under the first"),
                            Patch(color=cmap(0.0), label="diverges only under the second")], fontsize=7,
                   loc="upper right")
    return fig


@figure("stability_eta_star", paper=PAPER)
def fig_eta_star(ctx: Context) -> Any:
    r = ctx.result("stability.eta_star")
    cfg = ctx.config("stability.eta_star")
    ranks = list(r["ranks"])
    fig, axes = style.subplots(1, len(ranks), width=3.4 * len(ranks), height=2.8)
    for ax, rank in zip(np.atleast_1d(axes), ranks):
        for s in SM.SAMPLINGS:
            ax.plot(r["batches"], r[f"eta_{s}_r{rank}"], marker=".", label=SAMPLING_LABEL[s])
        ax.axhline(float(r[f"gd_r{rank}"]), color="k", lw=1, ls="--", label=r"$2/\lambda_1(H)$")
        style.label(ax, "batch size $B$", r"exact threshold $\eta^*$",
                    f"random $H_i$ of rank {rank}, n = {cfg.n}, d = {cfg.d}")
    np.atleast_1d(axes)[0].legend()
    return fig


@figure("stability_ms_growth", paper=PAPER)
def fig_ms_growth(ctx: Context) -> Any:
    cfgs = growth_configs(ctx)
    res = ctx.sweep("stability.ms_growth", list(cfgs.values()))
    base = next(iter(cfgs.values()))
    fig, axes = style.subplots(1, 3, width=9.6, height=3.0)
    for ax, (s, g) in zip(axes, zip(cfgs, res)):
        t = g["times"]
        for i in range(g["mean_sq"].shape[0]):
            for j, ratio in enumerate(g["ratios"]):
                col = style.PALETTE[j % len(style.PALETTE)]
                ax.errorbar(t, g["mean_sq"][i, j], yerr=2 * g["se_exact"][i, j], fmt="o", ms=3, color=col,
                            label=rf"$\eta/\eta^*$ = {ratio:g}" if i == 0 else None)
                ax.plot(t, g["exact_sq"][i, j], color=col, lw=1)
        ax.set_yscale("log")
        style.label(ax, "step $t$", r"$E\|w_t\|^2$ (MC $\pm$ 2 exact se) vs $\rho(Q)^t$",
                    f"{SAMPLING_LABEL[s]}, n = {base.n}, d = {base.d}, B = {base.batch}")
    axes[0].legend()
    return fig


@figure("stability_nn", paper=PAPER)
def fig_nn(ctx: Context) -> Any:
    r = ctx.result("stability.nn")
    p = ctx.result("stability.nn_probe")
    pc = ctx.config("stability.nn_probe")
    ok = r["converged"].astype(bool)
    fig, axes = style.subplots(1, 2, width=8.0, height=3.2)
    for b in np.unique(r["batches"]):
        m = ok & (r["batches"] == b)
        lab = f"$B$ = {b} ({int(m.sum())}/{int(np.sum(r['batches'] == b))} interpolated)"
        axes[0].scatter(r["thm1_threshold"][m], r["lambda1"][m], label=lab, s=18)
    lim = [1.0, 10.0]
    if ok.any():
        lim = [float(np.nanmin(r["lambda1"][ok])) / 2, float(np.nanmax(r["thm1_threshold"][ok])) * 2]
    axes[0].plot(lim, lim, color="k", lw=1, ls="--", label="Theorem 1 boundary")
    axes[0].set_xscale("log")
    axes[0].set_yscale("log")
    style.label(axes[0], r"Theorem 1 threshold $(\sigma/\eta)(n/B-1)^{-1/2}$", r"$\lambda_1(H)$ (HVP-Lanczos)",
                f"minima SGD reached, n = {int(r['n'])}, {int(r['params'])} parameters")
    axes[0].legend(fontsize=7)
    if bool(p["trained"]):
        for i, b in enumerate(p["batches"]):
            col = style.PALETTE[i % len(style.PALETTE)]
            axes[1].plot(p["ratios"], p["escaped_net"][i], marker="o", color=col, label=f"net, B = {int(b)}")
            axes[1].plot(p["ratios"], p["escaped_linear"][i], ls="--", marker="x", color=col,
                         label=f"linearised, B = {int(b)}")
    axes[1].axvline(1.0, color="k", lw=1, ls=":", label=r"$\eta^*$ ($\rho(Q)=1$)")
    axes[1].set_xscale("log")
    axes[1].set_xticks(list(p["ratios"]), [f"{r:g}" for r in p["ratios"]], fontsize=7)
    axes[1].minorticks_off()
    style.label(axes[1], r"$\eta / \eta^*(B)$", "fraction of runs that left the minimum",
                f"restarts at radius {pc.radius:g}, {pc.steps} steps, {pc.perturbations} per point")
    axes[1].legend(fontsize=7)
    return fig
