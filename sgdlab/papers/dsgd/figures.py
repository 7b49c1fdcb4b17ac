"""dsgd figures: titles, legends and labels built from the configs actually used (ctx.config)."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure

from sgdlab import Context, figure, style

from .claims import escape_counts, graph_results, wilson
from .experiments import escape_points, ode_points
from .setting import PAPER


@figure("dsgd_consensus", paper=PAPER)
def fig_consensus(ctx: Context) -> Figure:
    r = ctx.result("dsgd.consensus")
    cfg = ctx.config("dsgd.consensus")
    fig, ax = style.subplots(1, 1, width=4.2, height=3.0)
    k = r["steps"]
    sel = k > 0
    d = r["disagreement"][sel]
    lo, med, hi = np.nanpercentile(d, [10, 50, 90], axis=1)
    ax.fill_between(k[sel], lo, hi, alpha=0.25, color=style.PALETTE[0], lw=0, label="D-SGD, 10-90% of runs")
    ax.plot(k[sel], med, color=style.PALETTE[0], label="D-SGD, median")
    ax.plot(k[sel], r["prediction"][sel], "--", color=style.METHOD_COLORS["theory"],
            label=r"$(\alpha_k/\beta_k)\,\|(L^+\otimes I)c\|$")  # fmt: skip
    ax.set_xscale("log")
    ax.set_yscale("log")
    style.label(ax, "iteration $k$", r"disagreement $\|x_n(k)-\bar x(k)\|_F$",
                f"consensus error ({cfg.graph}, N = {cfg.n_agents}, $c_\\alpha$ = {cfg.c_a:g}, "
                f"$\\tau_\\beta$ = {cfg.tau_b:g})")  # fmt: skip
    ax.legend()
    return fig


@figure("dsgd_escape", paper=PAPER)
def fig_escape(ctx: Context) -> Figure:
    fig, axes = style.subplots(1, 3, width=10.5, height=3.0)
    rs = {"smooth": ctx.result("dsgd.saddle"), "kink": ctx.result("dsgd.kink")}
    cfg, kcfg = ctx.config("dsgd.saddle"), ctx.config("dsgd.kink")
    r = rs["smooth"]
    runs = (("iso", style.PALETTE[0], "isotropic noise"), ("sub", style.PALETTE[1], "noise on $x_2$ only"))
    for name, col, lab in runs:
        x1 = r[f"{name}_x1"][:, :20]
        axes[0].plot(r["t"], x1, color=col, lw=0.6, alpha=0.7)
        axes[0].plot([], [], color=col, label=lab)
    axes[0].plot(r["t"], r["het_x1"], "k--", lw=1.2, label="no noise, tilts with $x_1$ part")
    style.label(axes[0], r"ODE time $t_k=\sum_{j\leq k}\alpha_j$", r"$\bar x_1$",
                f"from the stable manifold {tuple(cfg.start)}, $\\sigma$ = {cfg.sigma:g}")  # fmt: skip
    axes[0].legend(loc="center right", frameon=True, framealpha=0.9, edgecolor="none")
    r2 = rs["kink"]
    axes[1].plot(r2["iso_x1"][:, :20], r2["iso_x2"][:, :20], color=style.PALETTE[0], lw=0.5, alpha=0.7)
    axes[1].axhline(1.0, color="#777777", lw=0.8, ls=":")
    axes[1].axhline(-1.0, color="#777777", lw=0.8, ls=":")
    axes[1].plot([-1, 1], [0, 0], "k*", ms=8, label="minima")
    axes[1].plot([0], [0], "kx", ms=7, label="saddle")
    style.label(axes[1], r"$\bar x_1$", r"$\bar x_2$", f"kink $\\lambda$ = {kcfg.kink:g} at $|x_2|=1$, "
                f"start {tuple(kcfg.start)}")  # fmt: skip
    axes[1].legend(loc="upper right")
    labels, fr, err_lo, err_hi = [], [], [], []
    for key, rr in rs.items():
        for name in ("iso", "sub"):
            k, n = escape_counts(rr, name)
            lo, hi = wilson(k, n)
            labels.append(f"{key}\n{'iso' if name == 'iso' else '$x_2$ only'}")
            fr.append(k / n)
            err_lo.append(k / n - lo)
            err_hi.append(hi - k / n)
    pos = np.arange(len(fr))
    axes[2].bar(pos, fr, yerr=[err_lo, err_hi], color=[style.PALETTE[0], style.PALETTE[1]] * 2, capsize=3)
    axes[2].set_xticks(pos, labels)
    axes[2].set_ylim(0, 1.05)
    style.label(axes[2], "objective / noise", "escape fraction (95% Wilson CI)",
                f"{cfg.runs} runs each, K = {cfg.steps}")  # fmt: skip
    return fig


@figure("dsgd_escape_time", paper=PAPER)
def fig_escape_time(ctx: Context) -> Figure:
    """Mean escape ODE time against its law along the sigma and curvature arms, and its spread scaled by mu/N."""
    cfg = ctx.config("dsgd.escape_time")
    arms = {name: ctx.sweep("dsgd.escape_time", cfgs) for name, cfgs in escape_points(ctx).items()}
    fig, axes = style.subplots(1, 3, width=10.5, height=3.0)
    for ax, arm, key, xl in ((axes[0], "sigma", "sigmas", r"noise $\sigma$"),
                             (axes[1], "curvature", "curvatures", r"unstable curvature $\mu$")):  # fmt: skip
        pts = arms.get(arm, [])
        x = np.array([float(np.ravel(p[key])[0]) for p in pts])
        m = np.array([np.nanmean(p["t_escape"]) for p in pts])
        se = np.array([np.nanstd(p["t_escape"], ddof=1) / np.sqrt(np.sum(np.isfinite(p["t_escape"]))) for p in pts])
        pm = np.array([float(np.ravel(p["pred_mean"])[0]) for p in pts])
        o = np.argsort(x)
        ax.errorbar(x[o], m[o], yerr=3 * se[o], fmt="o", color=style.PALETTE[0], capsize=3,
                    label=f"D-SGD ({cfg.graphs[0]}), mean $\\pm$ 3 se")  # fmt: skip
        ax.plot(x[o], pm[o], "--", color=style.METHOD_COLORS["theory"], label="law (marginal)")
        if arm == "sigma":
            kp = ctx.sweep("dsgd.escape_time", escape_points(ctx, kinked=True)["sigma"])
            xk = np.array([float(np.ravel(p["sigmas"])[0]) for p in kp])
            mk = np.array([np.nanmean(p["t_escape"]) for p in kp])
            sk = np.array([np.nanstd(p["t_escape"], ddof=1) / np.sqrt(np.sum(np.isfinite(p["t_escape"]))) for p in kp])
            ok = np.argsort(xk)
            ax.errorbar(xk[ok], mk[ok], yerr=3 * sk[ok], fmt="s", mfc="none", color=style.PALETTE[1], capsize=3,
                        label=f"ridge {cfg.arm_kink:g} max(0, $|x_1|$ - {cfg.kink_at:g})")
            ax.plot(xk[ok], [float(np.ravel(p["pred_mean"])[0]) for p in np.array(kp, dtype=object)[ok]], ":",
                    color=style.METHOD_COLORS["theory"], label="law with the ridge")
        ax.set_xscale("log")
        style.label(ax, xl, r"mean escape ODE time $E[T]$")
        ax.legend(loc="upper right")
    axes[0].set_title(f"$\\mu$ = {cfg.curvatures[0]:g}, N = {cfg.n_agents}, slope $-N/\\mu$")
    axes[1].set_title(f"$\\sigma$ = {cfg.sigmas[0]:g}")
    seen: dict[tuple[str, float, float], Any] = {}
    for pts in arms.values():
        for p in pts:
            seen[(str(np.ravel(p["graphs"])[0]), float(np.ravel(p["sigmas"])[0]),
                  float(np.ravel(p["curvatures"])[0]))] = p  # fmt: skip
    for i, ((g, s, mu), p) in enumerate(sorted(seen.items())):
        t = np.asarray(p["t_escape"]).ravel()
        t = t[np.isfinite(t)]
        z = (t - t.mean()) * mu / cfg.n_agents
        axes[2].hist(z, bins=30, histtype="step", density=True, color=style.PALETTE[i % len(style.PALETTE)], lw=0.8,
                     label=f"{g}, $\\sigma$={s:g}, $\\mu$={mu:g}")
    zz = np.linspace(-4, 6, 300)
    # law of -log|Z| for Z ~ N(0,1), centred: density of u = -log|Z| is 2 phi(e^-u) e^-u
    u = zz + (0.5772156649015329 + np.log(2.0)) / 2.0
    dens = 2.0 * np.exp(-0.5 * np.exp(-2 * u)) / np.sqrt(2 * np.pi) * np.exp(-u)
    axes[2].plot(zz, dens, "k--", lw=1.4, label=r"$-\log|Z|$, centred")
    style.label(axes[2], r"$(T - \bar T)\,\mu/N$", "density", "spread set by the curvature alone")
    axes[2].legend(fontsize=5, loc="upper right")
    return fig


@figure("dsgd_ode_tracking", paper=PAPER)
def fig_ode(ctx: Context) -> Figure:
    pts = ctx.sweep("dsgd.ode", ode_points(ctx))
    cfg = ctx.config("dsgd.ode")
    fig, axes = style.subplots(1, 2, width=8.0, height=3.0)
    for i, p in enumerate(pts):
        col = style.PALETTE[i]
        for j, ax in enumerate(axes):
            ax.plot(p["t"], p["mean"][:, :5, j], color=col, lw=0.6, alpha=0.8)
            ax.plot([], [], color=col, label=f"D-SGD average, $c_\\alpha$ = {float(p['c_a']):g}")
    for j, ax in enumerate(axes):
        ax.plot(pts[0]["t"], pts[0]["flow"][:, j], "k--", lw=1.5, label=r"flow $\dot x=-\nabla F(x)/N$")
        style.label(ax, r"ODE time $t$", rf"$\bar x_{j + 1}(t)$", f"N = {cfg.n_agents}, start {tuple(cfg.start)}")
    axes[0].legend(loc="upper left")
    return fig


@figure("dsgd_graphs", paper=PAPER)
def fig_graphs(ctx: Context) -> Figure:
    pts = graph_results(ctx)
    cfg = ctx.config("dsgd.graphs")
    fig, axes = style.subplots(1, 2, width=8.0, height=3.0)
    names = [str(p["graphs"][0]) for p in pts]
    lam2 = np.array([float(p["lambda2"][0]) for p in pts])
    pred = np.array([float(p["prediction_final"][0]) for p in pts])
    meas = np.array([float(p["measured_final"][0]) for p in pts])
    ratio = np.array([float(p["ratio"][0]) for p in pts])
    ratio_se = np.array([float(p["ratio_se"][0]) for p in pts])
    axes[0].plot(lam2, pred, "o--", color=style.METHOD_COLORS["theory"], label="prediction (P)")
    axes[0].plot(lam2, meas, "s", mfc="none", color=style.PALETTE[0], ms=8, label="D-SGD (mean over runs)")
    axes[0].legend(loc="lower left")
    for x, y, nm in zip(lam2, pred, names):
        axes[0].annotate(nm, (x, y), textcoords="offset points", xytext=(4, 4), fontsize=7)
    axes[0].set_xscale("log")
    axes[0].set_yscale("log")
    style.label(axes[0], r"algebraic connectivity $\lambda_2(L)$", r"disagreement at $k=K$",
                f"$c_\\beta$ = {cfg.c_b_lambda_max:g}/$\\lambda_{{\\max}}(L)$, N = {cfg.n_agents}")  # fmt: skip
    axes[1].errorbar(lam2, ratio, yerr=3 * ratio_se, fmt="o", color=style.PALETTE[0], capsize=3)
    axes[1].axhline(1.0, color="k", lw=0.8)
    axes[1].axhspan(0.95, 1.05, color="#999999", alpha=0.2, lw=0, label="5% band")
    axes[1].set_xscale("log")
    style.label(axes[1], r"$\lambda_2(L)$", "measured / predicted (mean $\\pm$ 3 se)",
                f"last half of the run (K = {cfg.steps})")  # fmt: skip
    axes[1].legend()
    return fig
