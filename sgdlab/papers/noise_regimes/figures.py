"""noise_regimes figures; titles and legends from the configs actually used."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.ticker import NullFormatter

from sgdlab import Context, figure, style
from theory.noise_regimes import perceptron as TP

from .claims import collapse_window, geo, lazy_tc
from .experiments import PAPER, scaling_results


@figure("noise_regimes_phase_diagram", paper=PAPER)
def fig_phase_diagram(ctx: Context) -> Any:
    """Test error in the (alpha, T) plane (mean over seeds); censored or diverged cells marked x."""
    r = ctx.result("noise_regimes.phase")
    cfg = ctx.config("noise_regimes.phase")
    err = np.nanmean(np.where(r["converged"].astype(bool), r["test_error"], np.nan), axis=-1)
    fig, ax = style.subplots(1, 1, width=4.2, height=3.2)
    la, lt = np.log2(r["alphas"]), np.log2(r["temps"])
    mesh = ax.pcolormesh(np.arange(len(la) + 1), np.arange(len(lt) + 1), err.T, cmap="viridis", shading="flat")
    for i in range(len(la)):
        for j in range(len(lt)):
            if not r["converged"][i, j].all():
                ax.text(i + 0.5, j + 0.5, "x", ha="center", va="center", color="w")
            else:
                ax.text(i + 0.5, j + 0.5, f"{err[i, j]:.3f}", ha="center", va="center", color="w", fontsize=6)
    ax.set_xticks(np.arange(len(la)) + 0.5, [f"$2^{{{int(v)}}}$" for v in la])
    ax.set_yticks(np.arange(len(lt)) + 0.5, [f"$2^{{{int(v)}}}$" for v in lt])
    fig.colorbar(mesh, ax=ax, label=r"test error $\epsilon_t$")
    style.label(ax, r"$\alpha$ (lazy $\rightarrow$)", r"temperature $T = \eta / (B h)$",
                f"MNIST-parity ({cfg.source}), P = {r['p']}, L = {cfg.depth}, h = {cfg.h}, {cfg.n_seeds} seeds")
    ax.grid(False)
    return fig


@figure("noise_regimes_lazy_curves", paper=PAPER)
def fig_lazy(ctx: Context) -> Any:
    """Lazy regime: test error, relative weight change and t* vs T for several P (mean / geometric mean over seeds)."""
    r = ctx.result("noise_regimes.lazy")
    fig, axes = style.subplots(1, 3, width=9.6, height=2.8)
    t = r["temps"]
    for i, p in enumerate(r["p_values"]):
        axes[0].semilogx(t, r["test_error"][i].mean(-1), "o-", ms=3, label=f"P = {p}")
        axes[1].loglog(t, geo(r["rel_weight_change"][i]), "o-", ms=3, label=f"P = {p}")
        axes[2].loglog(t, geo(r["t_star"][i]), "o-", ms=3, label=f"P = {p}")
    axes[2].loglog(t, t * geo(r["t_star"][-1])[-1] / t[-1], "k:", lw=1, label=r"$\propto T$")
    for ax in axes:
        ax.axvline(1.0 / float(r["alpha"]), color="0.5", lw=0.8, ls="--")
    style.label(axes[0], r"$T$", r"test error $\epsilon_t$", rf"$\alpha = 2^{{{int(np.log2(r['alpha']))}}}$")
    style.label(axes[1], r"$T$", r"$\|w^* - w_0\| / \|w_0\|$", r"dashed: $T = 1/\alpha$")
    style.label(axes[2], r"$T$", r"$t^* = \eta \cdot$ steps")
    axes[2].legend()
    return fig


@figure("noise_regimes_collapse", paper=PAPER)
def fig_collapse(ctx: Context) -> Any:
    """Relative weight change over its small-T plateau vs T / T_c(P), and vs T P^(gamma/delta)."""
    r = ctx.result("noise_regimes.lazy")
    temps, rwc_runs = collapse_window(r, ctx.config("noise_regimes.lazy").collapse_max_log2_rel)
    rwc = geo(rwc_runs)
    tc, d, g, a = lazy_tc(temps, rwc, r["p_values"])
    fig, axes = style.subplots(1, 2, width=7.0, height=2.8)
    for i, p in enumerate(r["p_values"]):
        plateau = np.exp(np.log(rwc[i, :2]).mean())
        axes[0].loglog(temps / tc[i], rwc[i] / plateau, "o-", ms=3, label=f"P = {p}")
        axes[1].loglog(temps * p**a, rwc[i], "o-", ms=3)
    style.label(axes[0], r"$T / T_c(P)$", r"$\|\Delta w\| / \|\Delta w\|_{T \to 0}$",
                rf"measured $T_c(P)$, $T \leq {temps[-1] * float(r['alpha']):g}/\alpha$")
    style.label(axes[1], rf"$T P^{{a}}$, $a = \gamma/\delta = {a:.2f}$", r"$\|w^* - w_0\| / \|w_0\|$",
                rf"$\delta = {d:.2f}$, $\gamma = {g:.2f}$")
    axes[0].legend()
    return fig


@figure("noise_regimes_perceptron", paper=PAPER)
def fig_perceptron(ctx: Context) -> Any:
    """Perceptron: w_1 vs P per chi with the predicted slopes; ||w_perp||/(T sqrt d) vs P; ||w||/kappa vs T/kappa at
    finite margin; t*/T vs P."""
    sc = scaling_results(ctx)
    m = ctx.result("noise_regimes.perceptron_margin")
    fig, axes = style.subplots(2, 2, width=7.0, height=5.4)
    ax = axes[0, 0]
    for chi, r in sorted(sc.items()):
        ps = r["p_values"]
        y = geo(r["w1"][0])
        ax.loglog(ps, y, "o", ms=4, label=rf"$\chi = {chi:g}$, d = {int(r['d_values'][0])}")
        ax.loglog(ps, y[-1] * (ps / ps[-1]) ** TP.w1_exponent(chi), "k:", lw=1)
    style.label(ax, "$P$", r"$w_1 / (T\sqrt{d})$", r"dotted: $P^{1/(1+\chi)}$")
    ax.legend()
    ax = axes[0, 1]
    r1 = sc[1.0]
    lo_b, hi_b = TP.W_PERP_PREFACTOR_RANGE
    for i, d in enumerate(r1["d_values"]):
        ax.semilogx(r1["p_values"], r1["w_perp"][i].mean(-1), "o-", ms=3, label=f"d = {d}")
    ax.axhspan(lo_b, hi_b, color="0.85", zorder=0)
    style.label(ax, "$P$", r"$\|w_\perp\| / (T\sqrt{d})$", rf"$\chi = {float(r1['chi']):g}$, band {lo_b}-{hi_b}")
    ax.legend()
    ax = axes[1, 0]
    for i, kappa in enumerate(m["kappas"]):
        ax.loglog(m["temps"][i] / kappa, geo(m["norm"][i]) / kappa, "o-", ms=3, label=rf"$\kappa = {kappa:g}$")
    rel = m["temps"][0] / m["kappas"][0]
    ax.loglog(rel, rel * np.exp(np.log(m["norm_over_T_kappa0"]).mean()), "k:", lw=1, label=r"$\kappa = 0$: $\propto T$")
    style.label(ax, r"$T / \kappa$", r"$\|w^*\| / \kappa$", rf"finite margin $\kappa = 1/\alpha$, "
                rf"P = {ctx.config('noise_regimes.perceptron_margin').p}")
    ax.legend()
    ax = axes[1, 1]
    for chi, r in sorted(sc.items()):
        ax.loglog(r["p_values"], geo(r["steps"][0]) * r["batch_size"], "o-", ms=3, label=rf"$\chi = {chi:g}$")
    style.label(ax, "$P$", r"$t^* / T = B \cdot$ steps", "vanishing margin")
    ax.legend()
    ticks = sorted({int(p) for r in sc.values() for p in r["p_values"]})
    for ax in (axes[0, 0], axes[0, 1], axes[1, 1]):
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xticks(ticks, [str(t) for t in ticks], fontsize=7)
    return fig
