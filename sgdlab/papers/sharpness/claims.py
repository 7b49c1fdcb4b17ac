"""Claims of the sharpness paper."""

from __future__ import annotations

import dataclasses

import numpy as np

from sgdlab import Context, Tol, Verdict, claim

from .experiments import LR_GRID, TRAIN_SEEDS, QuadraticResult, TrainResult, TrajectoryResult


def decide_quadratic(r: QuadraticResult, tol: Tol) -> Verdict:
    """Holds iff, in at least ``tol.min_fraction`` of the instances, the sharpness strictly falls and the best
    one-step decrease strictly rises along SGD > clip 1% > clip 10% > clip 50% > sign."""
    sh_ok = np.all(np.diff(r.sharpness, axis=1) < 0, axis=1)
    dec_ok = np.all(np.diff(r.decrease, axis=1) > 0, axis=1)
    frac = float(np.mean(sh_ok & dec_ok))
    n = r.sharpness.shape[0]
    mean = lambda a: ", ".join(f"{m} {v:.3g}" for m, v in zip(r.methods, a.mean(0)))  # noqa: E731
    note = (f"{n} instances; both orderings in {frac:.0%} (sharpness ordered in {np.mean(sh_ok):.0%}, decrease in "
            f"{np.mean(dec_ok):.0%}). Mean sharpness: {mean(r.sharpness)}; mean best decrease: {mean(r.decrease)} "
            "(PAPERS.md, one seed: 967, 156, 36, 16, 11 and 164, 236, 460, 650, 687)")  # fmt: skip
    return Verdict.above(frac, tol.min_fraction, 0.0, k=0.0, note=note)


@claim("sharpness.quadratic_table", paper="sharpness", expected="holds", experiments=("sharpness.quadratic",),
       tol=Tol(min_fraction=1.0), statement="""
    On the paper's synthetic quadratic (10^4 coordinates, 1% with h = 1000 and small x), the directional sharpness
    u^T H u / ||u||^2 strictly falls and the best one-step decrease of the quadratic model strictly rises along
    SGD > clip 1% > clip 10% > clip 50% > sign, in every instance (exact computation per instance). It fails if
    any instance breaks either ordering.""")
def quadratic_table(ctx: Context, tol: Tol) -> Verdict:
    return decide_quadratic(ctx.result("sharpness.quadratic"), tol)


# ----------------------------------------------------------------------------------------------------------------
# the transformer
# ----------------------------------------------------------------------------------------------------------------
def _col(r: TrajectoryResult, name: str) -> int:
    names = [str(n) for n in r.candidates]
    if name not in names:
        raise ValueError(f"candidate {name!r} was not measured; measured: {names}")
    return names.index(name)


def _log_ratio(r: TrajectoryResult, num: str, den: str, field: str = "sharpness") -> np.ndarray:
    a = getattr(r, field)
    return np.log10(a[..., _col(r, num)] / a[..., _col(r, den)]).reshape(-1)


def _mean_se(x: np.ndarray) -> tuple[float, float]:
    x = x[np.isfinite(x)]
    if x.size < 2:
        return (float(x.mean()) if x.size else float("nan")), float("nan")
    return float(x.mean()), float(x.std(ddof=1) / np.sqrt(x.size))


def _ratios(r: TrajectoryResult, num: str, den: str) -> np.ndarray:
    """S(num) / S(den) per measurement; +inf where S(den) <= 0 < S(num) (a direction of zero or negative curvature is
    flatter than any positive one), nan where S(num) <= 0."""
    a, b = r.sharpness[..., _col(r, num)].reshape(-1), r.sharpness[..., _col(r, den)].reshape(-1)
    out = np.full(a.shape, np.nan)
    pos = a > 0
    out[pos & (b > 0)] = a[pos & (b > 0)] / b[pos & (b > 0)]
    out[pos & (b <= 0)] = np.inf
    return out


def decide_sgd_sharper(r: TrajectoryResult, tol: Tol) -> Verdict:
    """For each adaptive or sign-like candidate: holds iff SGD's sharpness is >= min_ratio x the candidate's at every
    measurement; fails iff the median ratio is below min_ratio; inconclusive otherwise."""
    parts = {}
    for other in ("adam", "sign", "adafactor", "lion"):
        q = _ratios(r, "sgd", other)
        if np.isnan(q).any():
            parts[f"SGD / {other}"] = Verdict("inconclusive", tol.min_ratio, None, None, None,
                                             "SGD's own direction had non-positive curvature")  # fmt: skip
            continue
        med, lo = float(np.median(q)), float(np.min(q))
        v = "holds" if lo >= tol.min_ratio else ("fails" if med < tol.min_ratio else "inconclusive")
        parts[f"SGD / {other}"] = Verdict(v, tol.min_ratio, med, None, None,
                                         f"min {lo:.3g}, {int(np.isinf(q).sum())} with curvature <= 0")  # fmt: skip
    adam = _ratios(r, "sgd", "adam")
    out = Verdict.combine(parts, predicted=tol.min_ratio, measured=float(np.median(adam)))
    norm = float(np.median(_ratios(r, "sgd", "normalized")))
    out.note = (f"median sharpness ratios over {r.sharpness.shape[0]} seed(s) x {len(r.steps)} steps; normalised "
                f"SGD (SGD's own direction up to momentum, so not a test) {norm:.3g}. " + out.note)
    return out


def decide_few_coordinates(r: TrajectoryResult, tol: Tol) -> Verdict:
    """SGD's sharpness with its top mask_fraction |u_i| coordinates zeroed, as a fraction of its sharpness: holds iff
    mean + k se < max_remaining, fails iff mean - k se > max_remaining."""
    j = _col(r, "sgd")
    rem = (r.masked_sharpness[..., j] / r.sharpness[..., j]).reshape(-1)
    m, se = _mean_se(rem)
    adam = _mean_se((r.masked_sharpness[..., _col(r, "adam")] / r.sharpness[..., _col(r, "adam")]).reshape(-1))[0]
    return Verdict.below(m, tol.max_remaining, se, k=tol.k_se,
                         note=f"remaining fraction of SGD's sharpness after masking its top coordinates, over "
                              f"{rem.size} measurements; Adam's for comparison: {adam:.3g}")  # fmt: skip


def decide_clip_reduces(r: TrajectoryResult, tol: Tol) -> Verdict:
    """Sign test per pair (SGD vs SGD-clip, Adam vs Adam-clip): k of n measurements with S(clipped) < S(plain).
    Holds iff, for both pairs, the one-sided binomial test rejects "no effect" (P(k or more | p = 1/2) < alpha);
    fails iff it rejects it the other way for either pair; inconclusive otherwise."""
    from scipy.stats import binomtest

    parts = {}
    for clipped, plain in (("sgd_clip", "sgd"), ("adam_clip", "adam")):
        a = r.sharpness[..., _col(r, clipped)].reshape(-1)
        b = r.sharpness[..., _col(r, plain)].reshape(-1)
        k, n = int(np.sum(a < b)), a.size
        lower = binomtest(k, n, 0.5, alternative="greater").pvalue
        higher = binomtest(k, n, 0.5, alternative="less").pvalue
        v = "holds" if lower < tol.alpha else ("fails" if higher < tol.alpha else "inconclusive")
        med = float(np.median(a / np.where(b > 0, b, np.nan)))
        parts[f"{clipped} < {plain}"] = Verdict(v, 0.5, k / n, None, tol.alpha,
                                                f"{k}/{n} measurements, median ratio {med:.3g}")  # fmt: skip
    return Verdict.combine(parts, predicted=0.5)


@claim("sharpness.sgd_sharper", paper="sharpness", expected="fails", experiments=("sharpness.trajectory",),
       tol=Tol(min_ratio=10.0), statement="""
    Along an Adam trajectory of a small transformer LM, SGD's update direction is at least 10x sharper
    (u^T H u / ||u||^2 on a fixed batch) than Adam's, sign descent's, Adafactor's and Lion's, at every measured step
    and seed (pseudo-updates: all directions at the same point from the same gradients; a direction of non-positive
    curvature counts as infinitely flatter). Fails if the median ratio is below 10 for any of them.""")
def sgd_sharper(ctx: Context, tol: Tol) -> Verdict:
    return decide_sgd_sharper(ctx.result("sharpness.trajectory"), tol)


@claim("sharpness.few_coordinates", paper="sharpness",
       expected={"smoke": "inconclusive", "default": "holds", "full": "holds"}, experiments=("sharpness.trajectory",),
       tol=Tol(max_remaining=0.5, k_se=3.0), statement="""
    Zeroing the top 1% of coordinates (by |u_i|) of SGD's update removes most of its directional sharpness: the
    remaining fraction is below 1/2 (mean over measurements, k se). Fails if it is above 1/2.""")
def few_coordinates(ctx: Context, tol: Tol) -> Verdict:
    return decide_few_coordinates(ctx.result("sharpness.trajectory"), tol)


@claim("sharpness.clip_reduces", paper="sharpness", expected="holds", experiments=("sharpness.trajectory",),
       tol=Tol(alpha=0.01), statement="""
    Coordinate-wise clipping lowers the directional sharpness of the update, for SGD (clip 10%, both with momentum
    0.9) and for Adam (clip 50%): S(clipped) < S(unclipped) in significantly more than half of the measurements (sign
    test at level alpha). Fails if significantly fewer than half, for either pair.""")
def clip_reduces(ctx: Context, tol: Tol) -> Verdict:
    return decide_clip_reduces(ctx.result("sharpness.trajectory"), tol)


def train_grid(ctx: Context) -> dict[tuple[str, float], list[TrainResult]]:
    """The clip_speeds sweep: every (method, lr, seed) of the grid fixed in advance, as independent points."""
    base = ctx.config("sharpness.train")
    keys = [(m, lr) for m in LR_GRID for lr in LR_GRID[m]]
    seeds = TRAIN_SEEDS[ctx.scale]
    cfgs = [dataclasses.replace(base, method=m, lr=lr, seed=s) for m, lr in keys for s in range(seeds)]
    res = ctx.sweep("sharpness.train", cfgs, desc="sharpness.train")
    return {k: res[i * seeds:(i + 1) * seeds] for i, k in enumerate(keys)}


def decide_clip_speeds(grid: dict[tuple[str, float], list[TrainResult]], tol: Tol) -> Verdict:
    """Each method at its best learning rate (lowest mean final validation loss over seeds, diverged runs excluded):
    paired difference clipped - plain of the final validation loss; holds iff diff + k se < 0 for both pairs, fails
    iff diff - k se > 0 for either, inconclusive otherwise."""
    final = {k: np.array([float(r.val_loss[-1]) if not r.diverged else np.inf for r in v]) for k, v in grid.items()}
    best: dict[str, tuple[float, np.ndarray]] = {}
    for (meth, lr), f in final.items():
        if np.all(np.isfinite(f)) and (meth not in best or f.mean() < best[meth][1].mean()):
            best[meth] = (lr, f)
    parts = {}
    notes = []
    for clipped, plain in (("sgd_clip", "sgd"), ("adam_clip", "adam")):
        if clipped not in best or plain not in best:
            parts[f"{clipped} vs {plain}"] = Verdict("inconclusive", note="every learning rate diverged")
            continue
        d = best[clipped][1] - best[plain][1]
        m, se = _mean_se(d)
        parts[f"{clipped} vs {plain}"] = Verdict.below(m, 0.0, se, k=tol.k_se)
        edge = [m for m in (plain, clipped) if best[m][0] in (min(LR_GRID[m]), max(LR_GRID[m]))]
        notes.append(f"{plain} lr {best[plain][0]:g}: {best[plain][1].mean():.4f}, {clipped} lr {best[clipped][0]:g}: "
                     f"{best[clipped][1].mean():.4f}" + (f" (best lr at the grid's edge for {', '.join(edge)})"
                                                         if edge else ""))  # fmt: skip
    div = float(np.mean([r.diverged for v in grid.values() for r in v]))
    out = Verdict.combine(parts, predicted=0.0)
    out.note = ("final validation loss (nats/token) at the best lr of a grid fixed in advance; " + "; ".join(notes)
                + f"; diverged runs over the grid: {100 * div:.0f}%. " + out.note)
    return out


@claim("sharpness.clip_speeds", paper="sharpness", expected="fails", experiments=("sharpness.train",),
       tol=Tol(k_se=2.0, max_diverged=0.34), statement="""
    Coordinate-wise clipping speeds convergence: after a fixed budget of steps, SGD-clip (10%) reaches a lower
    validation loss than SGD, and Adam-clip (50%) lower than Adam, each at its best learning rate from a grid fixed in
    advance (paired over seeds, k se). Fails if clipping is slower for either pair. Runs that diverge at too large a
    learning rate of the grid are allowed (up to a third of the grid).""")
def clip_speeds(ctx: Context, tol: Tol) -> Verdict:
    return decide_clip_speeds(train_grid(ctx), tol)
