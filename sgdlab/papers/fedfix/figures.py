"""fedfix figures: q vs p per scheme (and the float trap), loss vs simulated time, staleness, stability."""

from __future__ import annotations

from typing import Any

import numpy as np

from sgdlab import Context, figure, style

from .experiments import PAPER

_ORDER = ("FedAvg", "Async", "Async-identical", "FedFix-0.2", "FedFix-0.5", "FedFix-0.8", "FedBuff-5",
          "FedBuff-10", "FedBuff-5-corrected")
_STYLES = ("-", "--", "-.", ":")


def _color(name: Any) -> str:
    """One colour per scheme across all figures."""
    n = str(name)
    return f"C{_ORDER.index(n) % 10}" if n in _ORDER else "0.3"


def _ls(name: Any) -> str:
    n = str(name)
    return _STYLES[_ORDER.index(n) % len(_STYLES)] if n in _ORDER else "-"


@figure("fedfix_weights", paper=PAPER)
def fig_weights(ctx: Context) -> Any:
    """q_i / p_i per client for each scheme (exact), and the float replay of FedFix-dt next to exact arithmetic."""
    r = ctx.result("fedfix.weights")
    cfg = ctx.config("fedfix.weights")
    fig, axes = style.subplots(1, 2, width=7.0, height=2.9)
    i = np.arange(cfg.n_clients)
    ax = axes[0]
    for j, name in enumerate(r["schemes"]):
        ax.plot(i, r[f"q_{j}"] / r["p"], marker=".", ms=3, lw=1, color=_color(name), ls=_ls(name), label=str(name))
    ax.axhline(1.0, color="k", lw=0.6)
    style.label(ax, r"client $i$ (slowest $\tau_0 = 1$ to fastest)", r"$q_i / p_i$",
                f"surrogate weights, M={cfg.n_clients}, F-{cfg.slower_pct}")
    ax.legend(fontsize=6, ncol=2)
    ax = axes[1]
    ax.plot(i, r["float_ratio"], "o", ms=3, color="C3", label="float64 replay of the reference")
    ax.plot(i, np.ones_like(i, dtype=float), "-", color="k", lw=1, label="exact (rational periods)")
    style.label(ax, "client $i$", r"$E[\omega_i] / p_i$",
                f"FedFix-{cfg.float_dt:g}, T={cfg.float_horizon:g}: float ceiling trap")
    ax.legend()
    return fig


def _curves(ctx: Context, name: str, title: str) -> Any:
    r = ctx.result(name)
    cfg = ctx.config(name)
    fig, axes = style.subplots(1, 2, width=7.0, height=2.9)
    g = r["grid"]
    lp = float(r["loss_p"])
    for j, s in enumerate(r["schemes"]):
        exc = np.asarray(r[f"loss_{j}"]) - lp
        col = _color(s)
        axes[0].semilogy(g, np.nanmean(exc, 1), color=col, lw=1.2, label=str(s))
        axes[0].axhline(float(r[f"loss_q_{j}"]) - lp if cfg.kind == "lsq" else np.nan, color=col, ls=":", lw=0.8)
    style.label(axes[0], "simulated time $t$ (units of the slowest client's time)",
                r"$L^p(\theta(t)) - L^p(\theta_p^*)$", f"{title}, lr={cfg.lr:g}, K={cfg.local_steps}")
    axes[0].legend(fontsize=6, ncol=2)
    tp = np.asarray(r["theta_p"])
    for j in range(len(r["schemes"])):
        d = np.linalg.norm(np.asarray(r[f"tail_{j}"]) - tp, axis=1)
        dq = np.linalg.norm(np.asarray(r[f"theta_q_{j}"]) - tp)
        axes[1].plot([j] * d.size, d, ".", color=_color(r["schemes"][j]), ms=3)
        axes[1].plot([j - 0.3, j + 0.3], [dq, dq], "-", color="k", lw=1.5)
    axes[1].set_xticks(range(len(r["schemes"])), [str(s) for s in r["schemes"]], rotation=45, fontsize=6,
                       ha="right")
    style.label(axes[1], "", r"$\|\bar\theta - \theta_p^*\|$", "tail average per seed; bar: theory $\\theta_q$")
    return fig


@figure("fedfix_surrogate", paper=PAPER)
def fig_surrogate(ctx: Context) -> Any:
    """Started at the federated optimum: excess federated loss vs simulated time per scheme (dotted: the plateau
    L_p(theta_q) - L_p(theta_p) predicted by the theory); distance of the tail-averaged model from theta_p."""
    cfg = ctx.config("fedfix.surrogate")
    return _curves(ctx, "fedfix.surrogate", f"least squares, M={cfg.n_clients}, F-{cfg.slower_pct}")


@figure("fedfix_loss_time", paper=PAPER)
def fig_loss_time(ctx: Context) -> Any:
    """Federated excess loss (mean over runs) vs simulated wall time per scheme, at two local learning rates."""
    r = ctx.result("fedfix.stability")
    cfg = ctx.config("fedfix.stability")
    lrs = np.asarray(r["lrs"])
    ks = [int(np.argmin(np.abs(lrs - x))) for x in (0.05, 0.2)]
    fig, axes = style.subplots(1, len(ks), width=7.0, height=2.9, sharey=True)
    for ax, k in zip(np.atleast_1d(axes), ks):
        for j, s in enumerate(r["schemes"]):
            ax.semilogy(r["grid"], r["curves"][j, k], color=_color(s), ls=_ls(s), lw=1.2,
                        label=f"{s} ({100 * r['unstable'][j, k]:.0f}% unstable)")
        ax.axhline(cfg.target_frac * float(r["initial_excess"]), color="k", ls=":", lw=0.8)
        ax.set_ylim(1e-4, 10 * float(r["initial_excess"]))
        style.label(ax, "simulated time $t$", r"$L^p(\theta(t)) - L^p(\theta_p^*)$",
                    f"local lr {lrs[k]:g}, M={cfg.n_clients}, F-{cfg.slower_pct}, K={cfg.local_steps}")
        ax.legend(fontsize=6)
    return fig


@figure("fedfix_loss_time_logistic", paper=PAPER)
def fig_loss_time_logistic(ctx: Context) -> Any:
    """The same for logistic regression."""
    cfg = ctx.config("fedfix.surrogate_logistic")
    return _curves(ctx, "fedfix.surrogate_logistic", f"logistic, M={cfg.n_clients}, F-{cfg.slower_pct}")


@figure("fedfix_staleness", paper=PAPER)
def fig_staleness(ctx: Context) -> Any:
    """Staleness n - rho_i(n) of every aggregated update, per scheme (exact schedules)."""
    r = ctx.result("fedfix.surrogate")
    cfg = ctx.config("fedfix.surrogate")
    names = [str(s) for s in r["schemes"]]
    fig, axes = style.subplots(1, len(names), width=1.55 * len(names), height=2.5, sharey=True)
    for j, (ax, s) in enumerate(zip(np.atleast_1d(axes), names)):
        h = np.asarray(r[f"staleness_hist_{j}"], dtype=float)
        ax.bar(np.arange(h.size), h / h.sum(), width=1.0, color=_color(s))
        mean = float((np.arange(h.size) * h).sum() / h.sum())
        style.label(ax, "staleness", "fraction of updates" if j == 0 else "", f"{s}\nmean {mean:.1f}")
        ax.title.set_fontsize(7)
    fig.suptitle(f"M={cfg.n_clients}, F-{cfg.slower_pct}, T={cfg.horizon:g}", fontsize=9)
    return fig


@figure("fedfix_stability", paper=PAPER)
def fig_stability(ctx: Context) -> Any:
    """Fraction of unstable runs and mean time to target vs the local learning rate, per scheme."""
    r = ctx.result("fedfix.stability")
    cfg = ctx.config("fedfix.stability")
    fig, axes = style.subplots(1, 2, width=7.0, height=2.8)
    lrs = np.asarray(r["lrs"])
    for j, s in enumerate(r["schemes"]):
        axes[0].semilogx(lrs, r["unstable"][j] + 0.015 * j, marker="o", ms=3, color=_color(s), ls=_ls(s),
                         label=str(s))
        t = np.asarray(r["time_to_target"])[j]
        m = np.where(np.isfinite(t).all(1), t.mean(1), np.nan)
        axes[1].loglog(lrs, m, marker="o", ms=3, color=_color(s), ls=_ls(s), label=str(s))
    style.label(axes[0], r"local lr $\eta_l$", "unstable fraction (+0.015 j)",
                f"M={cfg.n_clients}, F-{cfg.slower_pct}, K={cfg.local_steps}, T={cfg.horizon:g}")
    style.label(axes[1], r"local lr $\eta_l$", "time to target (simulated)",
                f"target: {cfg.target_frac:g} x initial excess loss")
    axes[0].legend(fontsize=6)
    return fig
