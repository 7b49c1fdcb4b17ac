"""Figures of the sgd_sai paper: state memory, g-SNR over training, MNIST."""

from __future__ import annotations

from typing import Any

import numpy as np

from sgdlab import Context, figure, style
from sims.nets.classify import best_lr_index
from sims.optim.state_memory import GIB, gpt2_params, llama2_params

PAPER = "sgd_sai"
COLOR = {"adam": "C0", "sgd_sai": "C3", "sgdm": "C2", "adamw": "C4"}


@figure("sgd_sai_memory", paper=PAPER)
def fig_memory(ctx: Context) -> Any:
    """Measured state bytes per parameter (MNIST models) and the extrapolated state memory of two LLMs."""
    cfg, r = ctx.config("sgd_sai.memory"), ctx.result("sgd_sai.memory")
    fig, axes = style.subplots(1, 2, width=7.0, height=2.8)
    x = np.arange(len(cfg.models))
    for j, o in enumerate(("sgd_sai", "adamw")):
        b = [np.asarray(r[f"{m}_{o}_bytes"])[0] / float(r[f"{m}_n_params"]) for m in cfg.models]
        axes[0].bar(x + 0.35 * j, b, 0.35, color=COLOR[o], label=o)
    axes[0].set_xticks(x + 0.175, [f"{m} ({int(r[f'{m}_n_params']):,} params)" for m in cfg.models])
    style.label(axes[0], "", "state bytes per parameter (fp32)", "measured after a real run")
    axes[0].legend()
    per = {o: np.asarray(r[f"{cfg.models[0]}_{o}_bytes"])[0] / float(r[f"{cfg.models[0]}_n_params"])
           for o in ("sgd_sai", "adamw")}
    names = {"GPT-2 1.5B": gpt2_params(), "Llama-2 7B": llama2_params()}
    for j, o in enumerate(("sgd_sai", "adamw")):
        axes[1].bar(np.arange(2) + 0.35 * j, [per[o] * n / GIB for n in names.values()], 0.35, color=COLOR[o],
                    label=o)
    axes[1].set_xticks(np.arange(2) + 0.175, list(names))
    style.label(axes[1], "", "optimizer state (GiB)", "extrapolated: bytes/param x parameters")
    return fig


@figure("sgd_sai_gsnr", paper=PAPER)
def fig_gsnr(ctx: Context) -> Any:
    """Mini-batch g-SNR of every tensor over training, divided by sqrt(numel - 1)."""
    cfg, r = ctx.config("sgd_sai.gsnr"), ctx.result("sgd_sai.gsnr")
    fig, axes = style.subplots(1, len(cfg.models), width=3.6 * len(cfg.models), height=2.8, squeeze=False)
    for c, m in enumerate(cfg.models):
        g, n = np.asarray(r[f"{m}_gsnr"]), np.asarray(r[f"{m}_numel"])
        for j in range(g.shape[1]):
            axes[0, c].plot(np.arange(1, g.shape[0] + 1), g[:, j] / np.sqrt(n[j] - 1), lw=0.8, color=f"C{j}",
                            label=f"tensor {j} ({n[j]} el., g-SNR$_1$ {g[0, j]:.3g})")
        style.label(axes[0, c], "step $t$", r"g-SNR$_t$ / $\sqrt{n - 1}$",
                    f"{m}, SGD-SaI lr {cfg.lr:g}, batch {cfg.batch}")
        axes[0, c].legend(fontsize=5)
    return fig


@figure("sgd_sai_mnist", paper=PAPER)
def fig_mnist(ctx: Context) -> Any:
    """Final test accuracy (mean ± se over seeds) against the learning rate, MLP and CNN."""
    cfg, r = ctx.config("sgd_sai.mnist"), ctx.result("sgd_sai.mnist")
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
