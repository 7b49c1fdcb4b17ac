"""Figures of the psgd paper: fit error of P over steps per group, eigenvalues of P |H|, whitening, Rosenbrock and
delayed-XOR curves. Titles and legends come from the configs actually used."""

from __future__ import annotations

import numpy as np

from sgdlab import Context, figure, style

from .experiments import FIT_CASES

PAPER = "psgd"


@figure("psgd_fit_error", paper=PAPER)
def fit_error(ctx: Context):
    cfg = ctx.config("psgd.fit_hessian")
    r = ctx.result("psgd.fit_hessian")
    steps = np.maximum(np.asarray(r["steps"]), 1)
    nn = len(cfg.normalizers)
    fig, axes = style.subplots(1, nn, width=3.6 * nn, height=3.0, sharey=True, squeeze=False)
    for j, (norm, lr) in enumerate(cfg.normalizers):
        ax = axes[0, j]
        for case, (_, indef) in FIT_CASES.items():
            err = np.asarray(r[f"err_{case}_{norm}"])
            (line,) = ax.loglog(steps, np.median(err, axis=0), ls="--" if indef else "-", label=case)
            ax.fill_between(steps, err.min(axis=0), err.max(axis=0), alpha=0.15, color=line.get_color())
        style.label(ax, "fitting step $t$",
                    r"$\|P_*^{-1/2} P_t P_*^{-1/2} - I\|_F / \sqrt{n}$" if j == 0 else "",
                    f"'{norm}' normaliser, lr$_Q$ = {lr}")
    axes[0, 0].legend(fontsize=6)
    fig.suptitle(f"Newton-type fit of $P = Q^TQ$ to $|H|^{{-1}}$: n = {cfg.n1 * cfg.n2}, cond {cfg.cond:.0e} "
                 f"(indefinite: {cfg.cond_indefinite:.0e}), {cfg.n_seeds} seeds (median, min-max)", fontsize=8)
    return fig


@figure("psgd_eig_PH", paper=PAPER)
def eig_ph(ctx: Context):
    cfg = ctx.config("psgd.fit_hessian")
    r = ctx.result("psgd.fit_hessian")
    cases = ["dense_spd", "kron_spd", "dense_indefinite", "kron_indefinite"]
    fig, axes = style.subplots(1, len(cases), width=2.6 * len(cases), height=2.6, sharey=True)
    for ax, case in zip(axes, cases):
        for nm, _ in cfg.normalizers:
            eig = np.asarray(r[f"eig_{case}_{nm}"])[0]
            ax.plot(np.arange(1, len(eig) + 1), eig, "o", ms=3, label=f"'{nm}'")
        ax.axhline(1.0, color="k", lw=0.8)
        ax.set_yscale("log")
        style.label(ax, "index $i$ (sorted)", r"eigenvalue of $P|H|$" if case == cases[0] else "", case)
    axes[0].legend(fontsize=7)
    fig.suptitle(f"eigenvalues of $P|H|$ after {cfg.n_steps} fitting steps (seed 0, n = {cfg.n1 * cfg.n2}, "
                 f"cond {cfg.cond:.0e} / indefinite {cfg.cond_indefinite:.0e}; 1 = exact $|H|^{{-1}}$)", fontsize=8)
    return fig


@figure("psgd_whitening", paper=PAPER)
def whitening_fig(ctx: Context):
    cfg = ctx.config("psgd.whitening")
    r = ctx.result("psgd.whitening")
    steps = np.maximum(np.asarray(r["steps"]), 1)
    fig, axes = style.subplots(1, len(cfg.kinds), width=3.4 * len(cfg.kinds), height=2.8, sharey=True,
                               squeeze=False)
    for ax, kind in zip(axes[0], cfg.kinds):
        for j, lr in enumerate(cfg.lrs):
            err = np.asarray(r[f"err_{kind}_lr{j}"])
            ax.loglog(steps, np.median(err, axis=0), label=f"lr$_Q$ = {lr}")
        style.label(ax, "fitting step $t$", r"$\|S^{1/4} P_t S^{1/4} - I\|_F/\sqrt{n}$" if kind == cfg.kinds[0]
                    else "", f"{kind} Q, n = {cfg.n1 * cfg.n2}, cond(S) = {cfg.cond:.0e}")
        ax.legend(fontsize=7)
    return fig


@figure("psgd_rosenbrock", paper=PAPER)
def rosenbrock_fig(ctx: Context):
    cfg = ctx.config("psgd.rosenbrock")
    r = ctx.result("psgd.rosenbrock")
    it = np.asarray(r["iters"])
    fig, ax = style.subplots(1, 1, width=4.6, height=3.2)
    for name, lr, lr_pre in cfg.psgd:
        f = np.asarray(r[name])
        ax.semilogy(it, np.maximum(np.median(f, axis=0), 1e-30), label=f"{name} (lr {lr}, lr$_Q$ {lr_pre})")
    for name in ("sgd", "adam", "lbfgs"):
        f = np.asarray(r[name])
        lrs = np.asarray(r[f"{name}_lrs"])
        b = int(np.argmin(np.where(np.isfinite(f[:, -1]), f[:, -1], np.inf)))
        ax.semilogy(it, np.maximum(f[b], 1e-30), ls="--", label=f"{name} best lr {lrs[b]:g}")
    style.label(ax, "iteration (L-BFGS: gradient evaluation)", r"$f(x_t)$",
                f"{cfg.dim}-D Rosenbrock from $x_0 = 0$")
    ax.legend(fontsize=6)
    return fig


@figure("psgd_delayed_xor", paper=PAPER)
def xor_fig(ctx: Context):
    cfg = ctx.config("psgd.delayed_xor")
    r = ctx.result("psgd.delayed_xor")
    fig, ax = style.subplots(1, 1, width=4.6, height=3.0)
    for name, ls in (("psgd_lra", "-"), ("adam", "--")):
        L = np.asarray(r[f"loss_{name}"])
        for i, row in enumerate(L):
            k = 25
            sm = np.convolve(np.nan_to_num(row, nan=np.nan), np.ones(k) / k, mode="valid")
            ax.plot(np.arange(len(sm)) + k - 1, sm, ls=ls, color="C0" if name == "psgd_lra" else "C1",
                    label=name if i == 0 else None)
    ax.axhline(0.1, color="k", lw=0.8)
    style.label(ax, "iteration", "training loss (moving average of 25)",
                f"delayed XOR, T = {cfg.seq_len}, hidden {cfg.hidden}, {cfg.n_seeds} seeds")
    ax.legend(fontsize=7)
    return fig
