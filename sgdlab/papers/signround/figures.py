"""Figures of the signround paper: validation loss vs bits, V histograms, block loss over tuning steps."""

from __future__ import annotations

from typing import Any

import numpy as np

from sgdlab import Context, figure, style

from .experiments import PAPER

EXP = "signround.quantize"
NAMES = {"rtn": "RTN", "sign": "SignRound (signed descent)", "adam": "SignRound with Adam"}


def _gname(g: Any) -> str:
    return "per-channel" if int(g) == -1 else f"g{int(g)}"


def _title(ctx: Context) -> str:
    c = ctx.config(EXP)
    return (f"GPT {c.n_layer}x{c.n_embd} trained {c.train_steps} steps, {c.seeds} seeds, T = {c.iters}, "
            f"{c.calib_samples} calibration windows of {c.block_size} bytes")


def _se(a: np.ndarray) -> np.ndarray:
    return a.std(0, ddof=1) / np.sqrt(a.shape[0]) if a.shape[0] > 1 else np.zeros(a.shape[1:])


@figure("signround_val_vs_bits", paper=PAPER)
def fig_val_vs_bits(ctx: Context) -> Any:
    """Validation-loss increase of the quantised model over the seed's FP model vs bits (mean +- 2 se over seeds),
    and the block output MSE on held-out windows (geometric mean over seeds)."""
    r = ctx.result(EXP)
    G = len(r.group_sizes)
    fig, axes = style.subplots(1, G + 1, width=3.0 * (G + 1), height=2.9)
    for g in range(G):
        ax = axes[g]
        ax.axhline(0.0, color="k", lw=1, label=f"full precision ({r.fp_val.mean():.3f} nats/byte)")
        for m, name in enumerate(r.methods):
            y = r.val[:, m, :, g] - r.fp_val[:, None]  # paired with the seed's own FP model
            ax.errorbar(r.bits, y.mean(0), yerr=2 * _se(y), marker="o", ms=3, capsize=2,
                        label=NAMES.get(str(name), str(name)))  # fmt: skip
        ax.set_xticks(r.bits)
        style.label(ax, "weight bits $b$", r"$L_{val}(\tilde W) - L_{val}(W)$ (nats / byte)",
                    f"group {_gname(r.group_sizes[g])} (mean $\\pm 2$ se)")  # fmt: skip
        if g == 0:
            ax.legend(fontsize=6)
    ax = axes[G]
    for m, name in enumerate(r.methods):
        for g in range(G):
            y = r.heldout_mse[:, m, :, g].mean(-1)
            lab = f"{NAMES.get(str(name), str(name)).split(' (')[0]}, {_gname(r.group_sizes[g])}"
            ax.plot(r.bits, np.exp(np.log(y).mean(0)), marker="os^"[g % 3], ls="-" if g == 0 else "--",
                    color=f"C{m}", label=lab)  # fmt: skip
    ax.set_yscale("log")
    ax.set_xticks(r.bits)
    style.label(ax, "weight bits $b$", r"block MSE $\|\tilde f(X_q) - f(X)\|^2$ (mean)",
                "block output error, held-out windows")
    ax.legend(fontsize=5)
    fig.suptitle(_title(ctx), fontsize=8)
    return fig


@figure("signround_v_hist", paper=PAPER)
def fig_v_hist(ctx: Context) -> Any:
    """Histograms of the tuned V (all weights, seeds and blocks) per bit width, signed descent vs Adam."""
    r = ctx.result(EXP)
    c = ctx.config(EXP)
    B = len(r.bits)
    fig, axes = style.subplots(1, B, width=2.6 * B, height=2.6)
    centers = 0.5 * (r.v_edges[1:] + r.v_edges[:-1])
    w = r.v_edges[1] - r.v_edges[0]
    for b in range(B):
        ax = axes[b] if B > 1 else axes
        for m, name in enumerate(r.methods):
            if str(name) == "rtn":
                continue
            h = r.v_hist[:, m, b].sum(axis=(0, 1))
            ax.bar(centers, h / h.sum() / w, width=w, alpha=0.5, label=NAMES.get(str(name), str(name)))
        ax.axvline(0.5, color="k", lw=0.6, ls=":")
        ax.axvline(-0.5, color="k", lw=0.6, ls=":")
        ax.set_yscale("log")
        style.label(ax, "rounding offset $V$", "density", f"W{int(r.bits[b])}, T = {c.iters}")
        if b == 0:
            ax.legend(fontsize=6)
    fig.suptitle(_title(ctx) + "; dotted: $|V| = 1/2$", fontsize=8)
    return fig


@figure("signround_block_loss", paper=PAPER)
def fig_block_loss(ctx: Context) -> Any:
    """Minibatch block loss over tuning steps (first group size, mean over seeds) relative to step 0 (RTN)."""
    r = ctx.result(EXP)
    B = len(r.bits)
    K = r.losses.shape[4]
    fig, axes = style.subplots(1, B, width=2.6 * B, height=2.6)
    t = np.arange(r.losses.shape[-1])
    for b in range(B):
        ax = axes[b] if B > 1 else axes
        for m, name in enumerate(r.methods):
            if str(name) == "rtn":
                continue
            for k in range(K):
                y = r.losses[:, m, b, 0, k]
                rel = np.exp(np.log(y / y[:, :1]).mean(0))
                ax.plot(t, rel, color=f"C{m}", ls="-" if k == 0 else "--", lw=1,
                        label=f"{NAMES.get(str(name), str(name)).split(' (')[0]}, block {k}")  # fmt: skip
        ax.set_yscale("log")
        style.label(ax, "tuning step $t$", "block loss / loss at $t = 0$ (RTN)",
                    f"W{int(r.bits[b])} {_gname(r.group_sizes[0])}")  # fmt: skip
        if b == 0:
            ax.legend(fontsize=5)
    fig.suptitle(_title(ctx), fontsize=8)
    return fig
