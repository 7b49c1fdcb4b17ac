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
