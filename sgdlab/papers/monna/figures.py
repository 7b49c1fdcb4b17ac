"""Figures of the monna paper: honest test accuracy vs rounds per attack and aggregator; momentum; the robustness
coefficient of NNA vs f/n against the bound; gradient overhead vs f/n. Titles come from the configs actually used."""

from __future__ import annotations

import numpy as np

from sgdlab import Context, figure, style

from .claims import overhead_fit

PAPER = "monna"


@figure("monna_accuracy", paper=PAPER)
def accuracy(ctx: Context):
    cfg = ctx.config("monna.robust")
    r = ctx.result("monna.robust")
    t = np.asarray(r["rounds"])
    na = len(cfg.attacks)
    fig, axes = style.subplots(1, na, width=2.6 * na, height=2.8, sharey=True, squeeze=False)
    for ax, a in zip(axes[0], cfg.attacks):
        for rule in cfg.rules:
            acc = np.asarray(r[f"acc_{rule}_{a}"])
            m = acc.mean(0)
            se = acc.std(0, ddof=1) / np.sqrt(len(acc)) if len(acc) > 1 else 0 * m
            (ln,) = ax.plot(t, m, lw=1.6 if rule.startswith("nna") else 1.0, label=rule)
            ax.fill_between(t, m - se, m + se, alpha=0.2, color=ln.get_color())
        style.label(ax, "round $t$", "honest test accuracy" if a == cfg.attacks[0] else "", a)
    axes[0, 0].legend(fontsize=6)
    fig.suptitle(f"{cfg.dataset}: n = {cfg.n}, f = {cfg.f}, Dirichlet $\\alpha$ = {cfg.alpha}, $\\beta$ = {cfg.beta}, "
                 f"$\\gamma$ = {cfg.lr}, batch {cfg.batch}; mean $\\pm$ se over {cfg.n_seeds} seeds", fontsize=8)
    return fig


@figure("monna_momentum", paper=PAPER)
def momentum_fig(ctx: Context):
    cfg = ctx.config("monna.momentum")
    r = ctx.result("monna.momentum")
    t = np.asarray(r["rounds"])
    na = len(cfg.attacks)
    fig, axes = style.subplots(1, na, width=2.6 * na, height=2.8, sharey=True, squeeze=False)
    for ax, a in zip(axes[0], cfg.attacks):
        for j, b in enumerate(cfg.betas):
            acc = np.asarray(r[f"acc_b{j}_{a}"])
            ax.plot(t, acc.mean(0), label=f"$\\beta$ = {b}")
        style.label(ax, "round $t$", "honest test accuracy" if a == cfg.attacks[0] else "", a)
    axes[0, 0].legend(fontsize=7)
    fig.suptitle(f"{cfg.rule} on {cfg.dataset}: n = {cfg.n}, f = {cfg.f}, $\\alpha$ = {cfg.alpha}, "
                 f"$\\gamma$ = {cfg.lr}; mean over {cfg.n_seeds} seeds", fontsize=8)
    return fig


@figure("monna_coefficient", paper=PAPER)
def coefficient_fig(ctx: Context):
    cfg = ctx.config("monna.coefficient")
    r = ctx.result("monna.coefficient")
    x = np.asarray(r["fs"]) / cfg.n
    fig, ax = style.subplots(1, 1, width=4.6, height=3.4)
    ax.plot(x, r["bound"], "k--", label=r"bound $8f/(n-f)$")
    for kind in cfg.heterogeneity:
        for key, mk in (("kappa", "o"), ("kappa_max", "s"), ("lambda", "^")):
            v = np.asarray(r[f"{key}_{kind}"]).max(0)
            ax.plot(x, v, marker=mk, ms=3, label=f"{key} ({kind})")
    ax.set_yscale("log")
    style.label(ax, "$f/n$", r"worst found ratio to $V_H$",
                f"NNA (n - f of n), n = {cfg.n}, d = {cfg.d}, max over {cfg.n_seeds} seeds")
    ax.legend(fontsize=6)
    return fig


@figure("monna_overhead", paper=PAPER)
def overhead_fig(ctx: Context):
    cfg = ctx.config("monna.overhead")
    r = ctx.result("monna.overhead")
    fs, T = np.asarray(r["fs"]), np.asarray(r["T"], dtype=float)
    x = fs / cfg.n
    ratio = T / T[:, :1]
    c1, c2 = overhead_fit(T, fs, cfg.n)
    fig, ax = style.subplots(1, 1, width=4.4, height=3.2)
    ax.errorbar(x, ratio.mean(0), ratio.std(0, ddof=1) / np.sqrt(len(T)), fmt="o", label="measured")
    xx = np.linspace(0, x.max(), 50)
    ax.plot(xx, 1 + c1.mean() * xx + c2.mean() * xx ** 2, label="quadratic fit")
    ax.plot(xx, 1 + np.polyfit(x, ratio.mean(0) - 1, 1)[0] * xx, "--", label="linear fit")
    style.label(ax, "$f/n$", "$T(f)/T(0)$ (gradients per honest worker)",
                f"{cfg.rule}, {cfg.attack} (factor {cfg.factor}), n = {cfg.n}, {cfg.dataset}")
    ax.legend(fontsize=7)
    return fig
