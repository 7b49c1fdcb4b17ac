"""Claims of the psgd paper. Each decision is a pure function of the result (tested on synthetic results that must
fail in tests/test_psgd_paper.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from sgdlab import Context, Tol, Verdict, claim

from .experiments import FIT_CASES

PAPER = "psgd"


def _mean_se(x: np.ndarray) -> tuple[float, float]:
    x = np.asarray(x, dtype=float)
    se = float(x.std(ddof=1) / np.sqrt(len(x))) if len(x) > 1 else float("nan")
    return float(x.mean()), se


def _final(err: np.ndarray) -> np.ndarray:
    """The fit error at the last recorded step, per seed."""
    return np.asarray(err)[:, -1]


def decide_fit(r: Mapping[str, Any], normalizers: tuple[tuple[str, float], ...], cases: list[str],
               tol: Tol) -> Verdict:
    """Every (case, normaliser): mean final fit error over seeds (+ k se) <= tol.max_rel_error."""
    parts = {}
    steps = np.asarray(r["steps"])
    for case in cases:
        for norm, lr in normalizers:
            err = np.asarray(r[f"err_{case}_{norm}"])
            m, se = _mean_se(_final(err))
            half = int(np.argmax(np.median(err, axis=0) <= 0.5 * np.median(err[:, 0]))) if np.any(
                np.median(err, axis=0) <= 0.5 * np.median(err[:, 0])) else -1
            med = np.maximum(np.median(err, axis=0), 1e-300)
            mid = int(np.argmin(np.abs(steps - steps[-1] / 2)))
            rate = (np.log10(med[-1]) - np.log10(med[mid])) / max(int(steps[-1] - steps[mid]), 1) * 1000
            parts[f"{case}/{norm}"] = Verdict.below(
                m, tol.max_rel_error, se if np.isfinite(se) else 0.0, k=tol.k_se,
                note=f"error {m:.3g} +- {se:.2g} at step {int(steps[-1])} (lr_pre {lr}); halved by step "
                     f"{int(steps[half]) if half >= 0 else 'never'}; rate over the second half "
                     f"{rate:+.2f} decades / 1000 steps")
    return Verdict.combine(parts)


def fit_cases(dense: bool | None, indefinite: bool) -> list[str]:
    """Cases of psgd.fit_hessian: dense groups (dense, triangular Q) or structured ones (Kron, UVd, XMat; None: all),
    on SPD or indefinite H."""
    return [c for c, (kind, indef) in FIT_CASES.items() if indef == indefinite
            and (dense is None or (kind in ("dense", "triangular")) == dense)]


@claim("psgd.fits_inverse_hessian", paper=PAPER, expected="holds", experiments=("psgd.fit_hessian",),
       tol=Tol(k_se=3.0, max_rel_error=0.1),
       statement="""On quadratics with a known SPD Hessian whose |H|^-1 the structured group represents exactly
       (Kron on H = H1 (x) H2; UVd on |H|^-1 = diagonal + rank r; XMat on an X-structured |H|^-1), the Newton-type
       fit from exact Hessian-vector products drives P to |H|^-1: the RMS deviation of the eigenvalues of P |H|
       from 1, ||P*^-1/2 P P*^-1/2 - I||_F / sqrt(n), is below max_rel_error after the configured number of fitting
       steps, for both normalisers ('2nd' with lr_preconditioner 0.1, '1st' with 0.01). Fails if any (group,
       normaliser) stays above it.""")
def fits_inverse_hessian(ctx: Context, tol: Tol) -> Verdict:
    cfg = ctx.config("psgd.fit_hessian")
    return decide_fit(ctx.result("psgd.fit_hessian"), cfg.normalizers, fit_cases(False, False), tol)


@claim("psgd.fits_inverse_hessian_dense", paper=PAPER, expected="fails", experiments=("psgd.fit_hessian",),
       tol=Tol(k_se=3.0, max_rel_error=0.1),
       statement="""The same for the dense groups (general Q with Q^-1 kept by Woodbury; triangular Q) on an
       ill-conditioned SPD H (condition number cond): P within max_rel_error of |H|^-1 after the configured number of
       fitting steps. Expected to fail at cond 1e3: the normalised step moves the directions of small |H| slowly,
       so the dense fit is still at ~0.2 after 5000 steps (the figure psgd_fit_error shows the rate).""")
def fits_inverse_hessian_dense(ctx: Context, tol: Tol) -> Verdict:
    cfg = ctx.config("psgd.fit_hessian")
    return decide_fit(ctx.result("psgd.fit_hessian"), cfg.normalizers, fit_cases(True, False), tol)


@claim("psgd.fits_indefinite_hessian", paper=PAPER, expected="fails", experiments=("psgd.fit_hessian",),
       tol=Tol(k_se=3.0, max_rel_error=0.1),
       statement="""The same on indefinite H (dense Q; Kron with one negative eigenvalue in a factor): P -> |H|^-1
       within max_rel_error. With a constant lr_preconditioner the per-probe gradient of the criterion does not vanish
       at P = |H|^-1 when H is indefinite (Q h and Q^-T v differ in sign on the negative directions), so the fit
       stalls at a noise floor; the suite measures whether that floor is below max_rel_error.""")
def fits_indefinite_hessian(ctx: Context, tol: Tol) -> Verdict:
    cfg = ctx.config("psgd.fit_hessian")
    return decide_fit(ctx.result("psgd.fit_hessian"), cfg.normalizers, fit_cases(None, True), tol)


def decide_whitening(r: Mapping[str, Any], kinds: tuple[str, ...], lrs: tuple[float, ...], tol: Tol) -> Verdict:
    """At the smallest lr_preconditioner each group's final error <= max_rel_error, and it is below the error at the
    largest lr (the floor shrinks with the step)."""
    j_small, j_large = int(np.argmin(lrs)), int(np.argmax(lrs))
    parts = {}
    for kind in kinds:
        small, large = _final(r[f"err_{kind}_lr{j_small}"]), _final(r[f"err_{kind}_lr{j_large}"])
        m, se = _mean_se(small)
        se = se if np.isfinite(se) else 0.0
        parts[f"{kind}/lr{lrs[j_small]}"] = Verdict.below(m, tol.max_rel_error, se, k=tol.k_se,
                                                          note=f"error {m:.3g} +- {se:.2g}")
        d, sd = _mean_se(small - large)
        parts[f"{kind}/floor shrinks"] = Verdict.below(d, 0.0, sd if np.isfinite(sd) else 0.0, k=tol.k_se,
                                                       note=f"error(lr {lrs[j_small]}) - error(lr {lrs[j_large]}) "
                                                            f"= {d:.3g}")
    return Verdict.combine(parts)


@claim("psgd.whitening", paper=PAPER, expected="holds", experiments=("psgd.whitening",),
       tol=Tol(k_se=3.0, max_rel_error=0.1),
       statement="""On Gaussian gradients g ~ N(0, S) with known S, the whitening-type fit (h = g, v ~ N(0, I))
       drives P to S^-1/2: with the smaller lr_preconditioner the final error ||S^1/4 P S^1/4 - I||_F / sqrt(n) is
       below max_rel_error (dense Q, and Kron on S = S1 (x) S2), and it is smaller than with the larger
       lr_preconditioner (a constant step leaves a noise floor that shrinks with the step).""")
def whitening_claim(ctx: Context, tol: Tol) -> Verdict:
    cfg = ctx.config("psgd.whitening")
    return decide_whitening(ctx.result("psgd.whitening"), cfg.kinds, cfg.lrs, tol)


def decide_rosenbrock(r: Mapping[str, Any], tol: Tol) -> Verdict:
    """PSGD Newton's worst final f over probe seeds <= tol.target, and below the best final f of SGD and Adam."""
    newton = np.asarray(r["psgd_newton"])[:, -1]
    worst = float(np.max(newton))
    best = {k: float(np.min(np.asarray(r[k])[:, -1])) for k in ("sgd", "adam")}
    lowest = {k: float(np.min(np.asarray(r[k]))) for k in ("sgd", "adam")}
    note = ", ".join(f"{k} best final {v:.3g} (lowest along the way {lowest[k]:.3g})" for k, v in best.items())
    return Verdict.combine({
        "reaches target": Verdict.below(worst, tol.target, 0.0, note=f"PSGD Newton worst final f {worst:.3g}"),
        "beats SGD and Adam": Verdict.boolean(worst < min(best.values()), measured=worst,
                                              predicted=min(best.values()), note=note),
    }, measured=worst, predicted=tol.target)


@claim("psgd.rosenbrock", paper=PAPER, expected="fails", experiments=("psgd.rosenbrock",),
       tol=Tol(target=1e-13),
       statement="""On the 20-D Rosenbrock function from x = 0, PSGD with the dense Newton-type preconditioner
       (the demo's lr 1, lr_preconditioner 0.5) reaches f <= target (the paper: ~1e-14) within 1000 iterations for
       every probe seed, and ends below the best of SGD and Adam over learning-rate grids fixed in advance. Measured:
       it beats SGD and Adam but ends at ~5e-12 to 8e-12 (f falls ~10x per 70 iterations at the end), so the
       paper's ~1e-14 needs ~1200 iterations with these settings: the target part fails.""")
def rosenbrock_claim(ctx: Context, tol: Tol) -> Verdict:
    return decide_rosenbrock(ctx.result("psgd.rosenbrock"), tol)


def decide_rosenbrock_lbfgs(r: Mapping[str, Any]) -> Verdict:
    newton = float(np.max(np.asarray(r["psgd_newton"])[:, -1]))
    lb = float(np.min(np.asarray(r["lbfgs"])[:, -1]))
    return Verdict.boolean(newton < lb, measured=newton, predicted=lb,
                           note=f"PSGD Newton worst final f {newton:.3g} vs L-BFGS best {lb:.3g} (same number of "
                                f"iterations; L-BFGS counted in gradient evaluations)")


@claim("psgd.rosenbrock_vs_lbfgs", paper=PAPER, expected="fails", experiments=("psgd.rosenbrock",),
       statement="""PSGD Newton also ends below L-BFGS (history 10, strong Wolfe line search, the same number of
       gradient evaluations) at its best learning rate. Expected to fail: on a deterministic smooth problem L-BFGS
       reaches f = 0 to machine precision in about 100 evaluations.""")
def rosenbrock_vs_lbfgs(ctx: Context) -> Verdict:
    return decide_rosenbrock_lbfgs(ctx.result("psgd.rosenbrock"))


def decide_xor(r: Mapping[str, Any]) -> Verdict:
    """Holds iff LRA solves (loss < 0.1) in more seeds than Adam, or in as many (> 0) with a smaller median number of
    iterations; inconclusive when neither solves any seed (nothing to compare); fails otherwise."""
    lra = np.asarray(r["solved_psgd_lra"])
    adam = np.asarray(r["solved_adam"])
    n_l, n_a = int((lra >= 0).sum()), int((adam >= 0).sum())
    note = (f"solved: LRA {n_l}/{len(lra)} (iterations {lra.tolist()}), Adam {n_a}/{len(adam)} "
            f"(iterations {adam.tolist()}); -1 = not solved within the budget")
    if n_l == 0 and n_a == 0:
        return Verdict("inconclusive", n_a, n_l, note=note)
    if n_l != n_a:
        return Verdict.boolean(n_l > n_a, measured=n_l, predicted=n_a, note=note)
    med_l, med_a = float(np.median(lra[lra >= 0])), float(np.median(adam[adam >= 0]))
    return Verdict.boolean(med_l < med_a, measured=med_l, predicted=med_a, note=note + " (compared: median iterations)")


@claim("psgd.delayed_xor", paper=PAPER, expected={"smoke": "inconclusive", "default": "fails", "full": "holds"},
       experiments=("psgd.delayed_xor",),
       statement="""On the delayed XOR problem (tanh RNN, the demo's sizes), PSGD LRA (the demo's settings) brings
       the training loss below 0.1 within the iteration budget in more seeds than Adam (lr fixed in advance), or in
       as many seeds but sooner (median iterations), on the same data and initial weights. Inconclusive when
       neither solves any seed.""")
def delayed_xor_claim(ctx: Context) -> Verdict:
    return decide_xor(ctx.result("psgd.delayed_xor"))
