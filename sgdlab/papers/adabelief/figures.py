"""Figures of the adabelief paper: toy trajectories, the belief step sizes, MNIST learning curves."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from sgdlab import Context, figure, style
from sims.nets.classify import best_lr_index
from sims.optim.toy_landscapes import FUNCTIONS

PAPER = "adabelief"
LABEL = {"adam": "Adam", "adabelief_paper": "AdaBelief (paper)", "adabelief": "AdaBelief (0.2.1, rectified)",
         "sgdm": "SGD-m", "adamw": "AdamW"}
COLOR = {"adam": "C0", "adabelief_paper": "C3", "adabelief": "C1", "sgdm": "C2", "adamw": "C4"}


def _contours(ax: Any, fn: str, x: np.ndarray) -> None:
    ok = np.isfinite(x).all(-1)
    pts = x[ok].reshape(-1, 2)
    lo, hi = np.percentile(pts, 0, axis=0), np.percentile(pts, 100, axis=0)
    span = np.maximum(hi - lo, 0.5)
    lo, hi = lo - 0.15 * span, hi + 0.15 * span
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], 120), np.linspace(lo[1], hi[1], 120))
    with torch.no_grad():  # the 2-D functions act elementwise on z = (x, y) grids
        vals = FUNCTIONS[fn](torch.tensor(np.stack([gx, gy]))).numpy()
    ax.contour(gx, gy, np.log1p(vals - np.nanmin(vals)), levels=15, colors="0.8", linewidths=0.5)
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])


@figure("adabelief_toy_trajectories", paper=PAPER)
def fig_toy(ctx: Context) -> Any:
    """Trajectories of Adam, AdaBelief (paper setting), SGD-momentum and rectified AdaBelief on the five functions
    at the smaller learning rate of the grid (runs that diverge are drawn until they leave the frame)."""
    cfg, r = ctx.config("adabelief.toy"), ctx.result("adabelief.toy")
    cu, ru = ctx.config("adabelief.toy_unstable"), ctx.result("adabelief.toy_unstable")
    k = int(np.argmin(cfg.lrs))
    fig, axes = style.subplots(1, len(cfg.functions), width=3.0 * len(cfg.functions), height=3.0)
    for j, (fn, ax) in enumerate(zip(cfg.functions, axes)):
        xs = [np.asarray(r["x"])[i, j, k] for i in range(len(cfg.optimizers))]
        _contours(ax, fn, np.concatenate(xs))
        for i, o in enumerate(cfg.optimizers):
            ax.plot(*xs[i].T, color=COLOR[o], lw=1, label=LABEL[o])
        for i, o in enumerate(cu.optimizers):
            x = np.asarray(ru["x"])[i, j, k]
            ax.plot(*x.T, color=COLOR[o], lw=0.8, ls="--", label=LABEL[o])
        ax.plot(*cfg.starts[j], "ko", ms=3)
        style.label(ax, "$x$", "$y$" if j == 0 else "", f"{fn}, lr {cfg.lrs[k]:g}, {cfg.steps} steps")
    axes[0].legend(fontsize=6)
    return fig


@figure("adabelief_belief_steps", paper=PAPER)
def fig_belief(ctx: Context) -> Any:
    """Step size |dtheta|/lr along x^2/2 with exact and noisy gradients, AdaBelief vs Adam."""
    cfg, r = ctx.config("adabelief.belief"), ctx.result("adabelief.belief")
    fig, axes = style.subplots(1, 2, width=7.0, height=2.8, sharey=True)
    for ax, kind in zip(axes, ("exact", "noisy")):
        for o in ("adam", "adabelief_paper"):
            s = np.asarray(r[f"{o}_{kind}_step"])
            ax.plot(np.arange(1, len(s) + 1), s, color=COLOR[o], label=LABEL[o])
        title = "exact gradient" if kind == "exact" else f"gradient + N(0, {cfg.sigma:g}$^2$)"
        style.label(ax, "step $t$", r"$|\theta_{t+1}-\theta_t| / \mathrm{lr}$" if kind == "exact" else "",
                    f"$x^2/2$, $x_0={cfg.x0:g}$, lr {cfg.lr:g}: {title}")
    axes[0].legend()
    return fig


@figure("adabelief_mnist", paper=PAPER)
def fig_mnist(ctx: Context) -> Any:
    """Training loss (mean over seeds, each optimizer at its best lr) and test accuracy vs lr, MLP and CNN."""
    cfg, r = ctx.config("adabelief.mnist"), ctx.result("adabelief.mnist")
    fig, axes = style.subplots(2, len(cfg.models), width=3.6 * len(cfg.models), height=5.4, squeeze=False)
    for c, m in enumerate(cfg.models):
        loss, acc = np.asarray(r[f"{m}_loss"]), np.asarray(r[f"{m}_final_acc"])
        best = best_lr_index(np.asarray(r[f"{m}_final_train_loss"]), np.asarray(r[f"{m}_unstable"]))
        lrs = np.asarray(r[f"{m}_lr"])
        for i, o in enumerate(cfg.optimizers):
            curve = np.nanmean(loss[i, best[i]], axis=0)
            w = max(1, len(curve) // 30)
            sm = np.convolve(curve, np.ones(w) / w, mode="valid")
            axes[0, c].semilogy(np.arange(len(sm)) + w, sm, color=COLOR.get(o, "k"),
                                label=f"{LABEL.get(o, o)} (lr {lrs[i, best[i]]:g})")
            mu = np.nanmean(acc[i], axis=-1)
            se = np.nanstd(acc[i], axis=-1, ddof=1) / np.sqrt(acc.shape[-1])
            axes[1, c].errorbar(np.arange(lrs.shape[1]) + 0.05 * i, mu, yerr=se, color=COLOR.get(o, "k"), marker="o",
                                ms=3, label=LABEL.get(o, o))
        style.label(axes[0, c], "step", "training loss (running mean)", f"{m}, {cfg.epochs} epochs, "
                    f"{cfg.n_train} train images, {len(cfg.seeds)} seeds")
        style.label(axes[1, c], "lr index in the grid", "final test accuracy (mean ± se)")
        axes[0, c].legend(fontsize=6)
    return fig
