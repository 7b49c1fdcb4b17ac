"""Figures of the diffgrad paper: F1-F3 trajectories, the friction over training, v1 vs v2 vs Adam, MNIST."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from sgdlab import Context, figure, style
from sims.nets.classify import best_lr_index
from sims.optim.toy_landscapes import FUNCTIONS

PAPER = "diffgrad"
COLOR = {"adam": "C0", "diffgrad": "C3", "sgdm": "C2", "adamw": "C4", "v2": "C3", "v1_inplace": "C1",
         "v1_none": "C5", "adam_half": "C7"}


@figure("diffgrad_synthetic", paper=PAPER)
def fig_synthetic(ctx: Context) -> Any:
    """F1-F3 (top) with the end points of Adam and diffGrad, and x_t vs t (bottom)."""
    cfg, r = ctx.config("diffgrad.synthetic"), ctx.result("diffgrad.synthetic")
    fig, axes = style.subplots(2, len(cfg.functions), width=3.2 * len(cfg.functions), height=5.2, squeeze=False)
    grid = np.linspace(-1.2, 1.0, 600)
    for j, fn in enumerate(cfg.functions):
        with torch.no_grad():
            fv = np.array([float(FUNCTIONS[fn](torch.tensor([v]))) for v in grid])
        axes[0, j].plot(grid, fv, color="0.4", lw=1)
        for o in ("adam", "diffgrad"):
            x = np.asarray(r[f"{o}_{fn}_x"])
            fx = float(FUNCTIONS[fn](torch.tensor([x[-1]])))
            axes[0, j].plot([x[-1]], [fx], "o", color=COLOR[o], label=f"{o}: $x_{{{cfg.steps}}}$ = {x[-1]:.3f}")
            axes[1, j].plot(np.arange(len(x)), x, color=COLOR[o], label=o)
        style.label(axes[0, j], "$x$", f"$F_{j + 1}(x)$", f"F{j + 1}, $x_0 = {cfg.x0:g}$")
        style.label(axes[1, j], "step $t$", "$x_t$", f"lr {cfg.lr:g}, $\\beta$ = ({cfg.beta1:g}, {cfg.beta2:g})")
        axes[0, j].legend(fontsize=6)
    return fig


@figure("diffgrad_friction", paper=PAPER)
def fig_friction(ctx: Context) -> Any:
    """Quantiles of the friction xi over all parameters at every step of an MNIST run, and the training loss."""
    cfg, r = ctx.config("diffgrad.friction"), ctx.result("diffgrad.friction")
    tr = np.asarray(r["trace"])
    fig, axes = style.subplots(1, 2, width=7.0, height=2.8)
    t = np.arange(1, len(tr) + 1)
    for c, (q, name) in enumerate(((2, "median"), (3, "90%"), (4, "99%"), (5, "max"))):
        axes[0].plot(t, tr[:, q], color=f"C{c}", lw=1, label=name)
    axes[0].axhline(0.5, color="k", lw=0.6, ls=":")
    style.label(axes[0], "step $t$", r"friction $\xi_t = \sigma(|g_{t-1} - g_t|)$",
                f"{cfg.model}, diffGrad lr {cfg.lr:g}, batch {cfg.batch}")
    axes[0].legend(title="quantile over parameters", fontsize=6)
    axes[1].semilogy(np.arange(len(r["loss"])), r["loss"], color="C3", lw=0.8)
    style.label(axes[1], "step $t$", "training loss", "the same run")
    return fig


@figure("diffgrad_v1_alias", paper=PAPER)
def fig_alias(ctx: Context) -> Any:
    """Training loss of diffGrad v2, v1 (in-place zero_grad), v1 (set_to_none), Adam(lr/2), Adam(lr); same init and
    batches."""
    cfg, r = ctx.config("diffgrad.v1_alias"), ctx.result("diffgrad.v1_alias")
    fig, ax = style.subplots(1, 1, width=4.2, height=3.0)
    labels = {"v2": "diffGrad v2", "v1_inplace": "v1, zero_grad in place", "v1_none": "v1, set_to_none",
              "adam_half": f"Adam lr {cfg.lr / 2:g}", "adam": f"Adam lr {cfg.lr:g}"}
    for k, lab in labels.items():
        loss = np.asarray(r[f"{k}_loss"])
        w = max(1, len(loss) // 30)
        sm = np.convolve(loss, np.ones(w) / w, mode="valid")
        ax.semilogy(np.arange(len(sm)) + w, sm, color=COLOR[k], lw=1, ls="--" if k == "v1_none" else "-", label=lab)
    style.label(ax, "step $t$", "training loss (running mean)", f"{cfg.model}, lr {cfg.lr:g}, {cfg.epochs} epochs")
    ax.legend(fontsize=6)
    return fig


@figure("diffgrad_mnist", paper=PAPER)
def fig_mnist(ctx: Context) -> Any:
    """Final test accuracy (mean ± se over seeds) against the learning rate, MLP and CNN."""
    cfg, r = ctx.config("diffgrad.mnist"), ctx.result("diffgrad.mnist")
    fig, axes = style.subplots(1, len(cfg.models), width=3.6 * len(cfg.models), height=2.8, squeeze=False)
    for c, m in enumerate(cfg.models):
        acc, lrs = np.asarray(r[f"{m}_final_acc"]), np.asarray(r[f"{m}_lr"])
        best = best_lr_index(np.asarray(r[f"{m}_final_train_loss"]), np.asarray(r[f"{m}_unstable"]))
        for i, o in enumerate(cfg.optimizers):
            mu = np.nanmean(acc[i], axis=-1)
            se = np.nanstd(acc[i], axis=-1, ddof=1) / np.sqrt(acc.shape[-1])
            axes[0, c].errorbar(lrs[i], mu, yerr=se, color=COLOR[o], marker="o", ms=3, label=o)
            axes[0, c].plot(lrs[i, best[i]], mu[best[i]], "*", color=COLOR[o], ms=9)
        axes[0, c].set_xscale("log")
        style.label(axes[0, c], "learning rate", "final test accuracy", f"{m}, {cfg.epochs} epochs, "
                    f"{len(cfg.seeds)} seeds (*: best by training loss)")
        axes[0, c].legend(fontsize=6)
    return fig
