"""Claims of the monna paper. Each decision is a pure function of the result (fed synthetic results that must fail in
tests/test_monna_paper.py). Accuracies are the mean honest test accuracy at the last recorded round; comparisons are
paired over seeds (every rule / beta sees the same splits and batch draws)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from sgdlab import Context, Tol, Verdict, claim

PAPER = "monna"
MONNA = "nna_paper"
NON_BASELINES = ("nna_paper", "nna_authors", "average")


def mean_se(x: np.ndarray) -> tuple[float, float]:
    x = np.asarray(x, dtype=float)
    se = float(x.std(ddof=1) / np.sqrt(len(x))) if len(x) > 1 else 0.0
    return float(x.mean()), se


def _final(a: Any) -> np.ndarray:
    return np.asarray(a, dtype=float)[:, -1]


def _div(r: Mapping[str, Any], keys: list[str]) -> float:
    d = [np.asarray(r[k], dtype=float).mean() for k in keys if k in r]
    return float(max(d)) if d else 0.0


def decide_robust(r: Mapping[str, Any], rules: tuple[str, ...], attacks: tuple[str, ...], tol: Tol) -> Verdict:
    """Per attack: gap = acc(best baseline by mean) - acc(MoNNA), paired over seeds; holds iff gap + k se <=
    tol.max_gap for every attack."""
    baselines = [b for b in rules if b not in NON_BASELINES]
    parts = {}
    for a in attacks:
        if a == "none":
            continue
        mon = _final(r[f"acc_{MONNA}_{a}"])
        best = max(baselines, key=lambda b: _final(r[f"acc_{b}_{a}"]).mean())
        m, se = mean_se(_final(r[f"acc_{best}_{a}"]) - mon)
        others = ", ".join(f"{b} {_final(r[f'acc_{b}_{a}']).mean():.3f}" for b in rules if b != MONNA)
        parts[a] = Verdict.below(m, tol.max_gap, se, k=tol.k_se,
                                 note=f"MoNNA {mon.mean():.3f} vs {others}; gap to best ({best}) {m:+.3f} +- {se:.3f}",
                                 diverged=_div(r, [f"diverged_{x}_{a}" for x in (MONNA, best)]))
    return Verdict.combine(parts)


@claim("monna.robust", paper=PAPER, expected="holds", experiments=("monna.robust",), tol=Tol(k_se=3.0, max_gap=0.02),
       statement="""Under each attack (sign flipping, FOE and ALIE with line-searched factors, label flipping, mimic;
       f of n workers Byzantine, Dirichlet-heterogeneous data), MoNNA's final honest test accuracy is at least that of
       the best of the robust baselines (coordinate-wise trimmed mean, geometric median / RFA, centered clipping) up
       to max_gap accuracy points: paired gap (best baseline - MoNNA) + k se <= max_gap for every attack. Fails if a
       baseline is better by more than max_gap under any attack.""")
def robust_claim(ctx: Context, tol: Tol) -> Verdict:
    cfg = ctx.config("monna.robust")
    return decide_robust(ctx.result("monna.robust"), cfg.rules, cfg.attacks, tol)


def decide_momentum(r: Mapping[str, Any], betas: tuple[float, ...], attacks: tuple[str, ...], tol: Tol) -> Verdict:
    """Per attack: acc(beta = max) - acc(beta = min), paired; holds iff > 0 by k se for every attack."""
    jl, jh = int(np.argmin(betas)), int(np.argmax(betas))
    parts = {}
    for a in attacks:
        lo, hi = _final(r[f"acc_b{jl}_{a}"]), _final(r[f"acc_b{jh}_{a}"])
        m, se = mean_se(hi - lo)
        parts[a] = Verdict.above(m, 0.0, se, k=tol.k_se,
                                 note=f"beta {betas[jh]}: {hi.mean():.3f}, beta {betas[jl]}: {lo.mean():.3f}",
                                 diverged=_div(r, [f"diverged_b{jl}_{a}", f"diverged_b{jh}_{a}"]))
    return Verdict.combine(parts)


@claim("monna.momentum_helps", paper=PAPER, expected="fails", experiments=("monna.momentum",), tol=Tol(k_se=3.0),
       statement="""Under each attack, MoNNA with momentum beta = max(betas) (0.99) reaches a higher final honest test
       accuracy than without momentum (beta = 0), paired over seeds, by more than k se. Fails if beta = 0 is better
       by more than k se under some attack; inconclusive where the difference is within noise.""")
def momentum_claim(ctx: Context, tol: Tol) -> Verdict:
    cfg = ctx.config("monna.momentum")
    return decide_momentum(ctx.result("monna.momentum"), cfg.betas, cfg.attacks, tol)


def overhead_fit(T: np.ndarray, fs: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per seed, the least-squares fit ``T(f) / T(0) = 1 + c1 x + c2 x^2`` in ``x = f / n`` (``fs[0] = 0``);
    returns ``(c1, c2)`` arrays over seeds."""
    T = np.asarray(T, dtype=float)
    x = np.asarray(fs, dtype=float) / n
    A = np.stack([x, x ** 2], 1)
    c = np.array([np.linalg.lstsq(A, t / t[0] - 1.0, rcond=None)[0] for t in T])
    return c[:, 0], c[:, 1]


def decide_overhead(r: Mapping[str, Any], tol: Tol) -> Verdict:
    """Per f > 0: the excess e(f) = T(f)/T(0) - 1 (paired over seeds) is at most ``tol.max_slope * f / n`` within
    k se (a linear envelope declared up front); holds iff it is for every f, fails if some e(f) exceeds it by more
    than k se. The per-seed quadratic fit is reported in the note."""
    fs, T = np.asarray(r["fs"]), np.asarray(r["T"], dtype=float)
    if fs[0] != 0:
        raise ValueError("monna.overhead needs fs[0] = 0 (the fault-free reference)")
    n = int(r["n"])
    c1, c2 = overhead_fit(T, fs, n)
    m1, s1 = mean_se(c1)
    m2, s2 = mean_se(c2)
    div = float(np.asarray(r["diverged"]).mean())
    parts = {}
    for j, f in enumerate(fs):
        if f == 0:
            continue
        m, se = mean_se(T[:, j] / T[:, 0] - 1.0)
        parts[f"f={int(f)}"] = Verdict.below(m, tol.max_slope * f / n, se, k=tol.k_se, diverged=div,
                                             note=f"T(f)/T(0) - 1 = {m:+.3f} +- {se:.3f}")
    v = Verdict.combine(parts)
    v.note = (f"quadratic fit T(f)/T(0) = 1 + c1 f/n + c2 (f/n)^2: c1 = {m1:.2f} +- {s1:.2f}, c2 = {m2:.2f} +- "
              f"{s2:.2f}; " + v.note)
    return v


@claim("monna.linear_overhead", paper=PAPER, expected="holds", experiments=("monna.overhead",),
       tol=Tol(k_se=3.0, max_slope=1.0),
       statement="""The gradient computations per honest worker needed to reach a fixed training loss (rounds x batch,
       the target set from the fault-free run, f = 0) grow at most linearly in f/n: under a fixed-factor ALIE attack,
       the excess T(f)/T(0) - 1 is at most max_slope * f/n (max_slope = 1: at most one fault-free budget per unit of
       f/n) within k se for every configured f. Fails if some f needs more; runs that never reach the target make it
       inconclusive. The paper's claim is an upper bound with unstated constants: this checks the envelope, and the
       note reports the fitted shape.""")
def overhead_claim(ctx: Context, tol: Tol) -> Verdict:
    return decide_overhead(ctx.result("monna.overhead"), tol)


def decide_variants(r: Mapping[str, Any], attacks: tuple[str, ...], tol: Tol) -> Verdict:
    """Per attack: acc(paper NNA) - acc(authors' NNA) paired; holds iff |diff| <= k se + tol.max_gap."""
    parts = {}
    for a in attacks:
        p, q = _final(r[f"acc_nna_paper_{a}"]), _final(r[f"acc_nna_authors_{a}"])
        m, se = mean_se(p - q)
        parts[a] = Verdict.within(m, 0.0, se, k=tol.k_se, floor=tol.max_gap,
                                  note=f"paper (n-f of n) {p.mean():.3f}, authors (n-2f of n-f) {q.mean():.3f}",
                                  diverged=_div(r, [f"diverged_nna_paper_{a}", f"diverged_nna_authors_{a}"]))
    return Verdict.combine(parts)


@claim("monna.variants", paper=PAPER, expected="holds", experiments=("monna.robust",), tol=Tol(k_se=3.0, max_gap=0.02),
       statement="""The paper's NNA (average the n - f models nearest to one's own among all n) and the authors' code's
       NNA (receive n - f models, the f Byzantine among them, average the n - 2f nearest) reach the same final honest
       test accuracy within max_gap + k se under every configured attack (and without attack). Fails if either is
       better by more than that under some attack.""")
def variants_claim(ctx: Context, tol: Tol) -> Verdict:
    cfg = ctx.config("monna.robust")
    return decide_variants(ctx.result("monna.robust"), cfg.attacks, tol)
