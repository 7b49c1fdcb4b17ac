"""Figures of the sharpness paper."""

from __future__ import annotations

from typing import Any

import numpy as np

from sgdlab import Context, figure, style

LABELS = {"sgd": "SGD", "clip_1": "clip\n1%", "clip_10": "clip\n10%", "clip_50": "clip\n50%", "sign": "sign"}


@figure("sharpness_quadratic", paper="sharpness")
def fig_quadratic(ctx: Context) -> Any:
    """Sharpness and best one-step decrease per direction on the synthetic quadratic (mean +- se over instances)."""
    cfg = ctx.config("sharpness.quadratic")
    r = ctx.result("sharpness.quadratic")
    fig, axes = style.subplots(1, 2, width=7.0, height=2.6)
    x = np.arange(len(r.methods))
    for ax, a, ylab in ((axes[0], r.sharpness, r"sharpness $u^\top H u / \|u\|^2$"),
                        (axes[1], r.decrease, "best one-step decrease")):  # fmt: skip
        se = a.std(0, ddof=1) / np.sqrt(a.shape[0]) if a.shape[0] > 1 else np.zeros(a.shape[1])
        ax.bar(x, a.mean(0), yerr=2 * se, color=[style.PALETTE[i] for i in range(len(x))])
        ax.set_xticks(x, [LABELS.get(str(m), str(m)) for m in r.methods])
        if ax is axes[0]:
            ax.set_yscale("log")
        style.label(ax, "update direction", ylab)
    fig.suptitle(f"quadratic, $n = {cfg.n}$, {cfg.frac:.0%} with $h = {cfg.h_big:g}$, {cfg.seeds} instances "
                 r"(bars: mean $\pm 2$ se)", fontsize=9)  # fmt: skip
    return fig


NAMES = {"sgd": "SGD", "adam": "Adam", "sign": "sign", "normalized": "normalised SGD", "adafactor": "Adafactor",
         "lion": "Lion", "sgd_clip": "SGD-clip", "adam_clip": "Adam-clip"}  # fmt: skip


def _title(ctx: Context, name: str) -> str:
    c = ctx.config(name)
    return (f"GPT {c.n_layer}x{c.n_embd}, block {c.block_size}, batch {c.batch_size}, stdlib bytes "
            f"({c.corpus_bytes / 1e6:g} MB)")  # fmt: skip


@figure("sharpness_trajectory", paper="sharpness")
def fig_trajectory(ctx: Context) -> Any:
    """Directional sharpness of each optimizer's pseudo-update along the trajectory; SGD's with top coordinates
    masked."""
    cfg = ctx.config("sharpness.trajectory")
    r = ctx.result("sharpness.trajectory")
    fig, axes = style.subplots(1, 2, width=7.2, height=2.8)
    gm = lambda a: 10 ** np.log10(a).mean(0)  # noqa: E731  (geometric mean over seeds)
    for j, n in enumerate(r.candidates):
        axes[0].semilogy(r.steps, gm(r.sharpness[:, :, j]), marker="o", ms=3, label=NAMES.get(str(n), str(n)),
                         color=style.PALETTE[j % len(style.PALETTE)])  # fmt: skip
    style.label(axes[0], "training step (base: " + cfg.base + ")", r"$u^\top H u / \|u\|^2$", "sharpness of updates")
    axes[0].legend(ncol=2, fontsize=7)
    for n, ls in (("sgd", "-"), ("adam", "--")):
        j = [str(c) for c in r.candidates].index(n)
        axes[1].semilogy(r.steps, gm(r.sharpness[:, :, j]), ls=ls, color="k", label=f"{NAMES[n]}")
        axes[1].semilogy(r.steps, gm(r.masked_sharpness[:, :, j]), ls=ls, color=style.PALETTE[1],
                         label=f"{NAMES[n]}, top {cfg.mask_fraction:.0%} masked")  # fmt: skip
    style.label(axes[1], "training step", r"$u^\top H u / \|u\|^2$", "masking the largest coordinates")
    axes[1].legend(fontsize=7)
    fig.suptitle(_title(ctx, "sharpness.trajectory") + f", {r.sharpness.shape[0]} seed(s)", fontsize=9)
    return fig


@figure("sharpness_update_histograms", paper="sharpness")
def fig_histograms(ctx: Context) -> Any:
    """Distribution of |u_i| / max |u| of each update at the last measured step."""
    r = ctx.result("sharpness.trajectory")
    fig, ax = style.subplots(1, 1, width=5.0, height=3.0)
    mid = 0.5 * (r.hist_edges[1:] + r.hist_edges[:-1])
    for j, n in enumerate(r.candidates):
        h = r.hist[:, j].sum(0)
        ax.semilogy(mid, np.maximum(h / h.sum(), 1e-9), color=style.PALETTE[j % len(style.PALETTE)],
                    label=NAMES.get(str(n), str(n)))  # fmt: skip
    ax.set_ylim(1e-7, 1)
    style.label(ax, r"$\log_{10} |u_i| / \max_j |u_j|$", "fraction of coordinates",
                f"update coordinates at step {int(r.steps[-1])}")  # fmt: skip
    ax.legend(ncol=2, fontsize=7)
    return fig


@figure("sharpness_convergence", paper="sharpness")
def fig_convergence(ctx: Context) -> Any:
    """Validation loss curves of SGD, SGD-clip, Adam, Adam-clip at their best learning rates (mean over seeds)."""
    from .claims import train_grid

    grid = train_grid(ctx)
    fig, ax = style.subplots(1, 1, width=5.0, height=3.0)
    best: dict[str, tuple[float, Any]] = {}
    for (m, lr), runs in grid.items():
        if any(r.diverged for r in runs):
            continue
        f = np.mean([r.val_loss[-1] for r in runs])
        if m not in best or f < best[m][0]:
            best[m] = (f, (lr, runs))
    for j, m in enumerate(("sgd", "sgd_clip", "adam", "adam_clip")):
        if m not in best:
            continue
        lr, runs = best[m][1]
        ax.plot(runs[0].steps, np.mean([r.val_loss for r in runs], axis=0), color=style.PALETTE[j],
                ls="--" if "clip" in m else "-", label=f"{NAMES[m]} (lr {lr:g})")  # fmt: skip
    style.label(ax, "step", "validation loss (nats / byte)", _title(ctx, "sharpness.train"))
    ax.legend(fontsize=7)
    return fig
