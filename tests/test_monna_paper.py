"""monna claims: each decision fails on a synthetic result that contradicts it (and holds on one that agrees);
registration of experiments, claims and figures."""

from __future__ import annotations

import numpy as np

from sgdlab import Tol
from sgdlab.papers.monna import claims as C

TOL = Tol(k_se=3.0, max_gap=0.02)


def _acc(m: float, seeds: int = 4, noise: float = 0.002) -> np.ndarray:
    rng = np.random.default_rng(int(m * 1000))
    return np.stack([np.linspace(0.1, m, 5) + noise * rng.normal(size=5) for _ in range(seeds)])


def test_robust_fails_when_a_baseline_is_better():
    rules = ("nna_paper", "trimmed_mean", "geometric_median")
    r = {"acc_nna_paper_alie": _acc(0.80), "acc_trimmed_mean_alie": _acc(0.90), "acc_geometric_median_alie": _acc(0.7)}
    assert C.decide_robust(r, rules, ("alie",), TOL).verdict == "fails"
    r["acc_nna_paper_alie"] = _acc(0.93)
    assert C.decide_robust(r, rules, ("alie",), TOL).verdict == "holds"


def test_momentum_fails_when_beta_hurts():
    r = {"acc_b0_foe": _acc(0.9), "acc_b1_foe": _acc(0.8)}
    assert C.decide_momentum(r, (0.0, 0.99), ("foe",), TOL).verdict == "fails"
    r = {"acc_b0_foe": _acc(0.8), "acc_b1_foe": _acc(0.9)}
    assert C.decide_momentum(r, (0.0, 0.99), ("foe",), TOL).verdict == "holds"


def test_overhead_fails_when_quadratic():
    fs = np.array([0, 2, 4, 6, 8, 10])
    x = fs / 26
    rng = np.random.default_rng(0)
    quad = np.stack([100 * (1 + 0.5 * x + 20 * x ** 2) * (1 + 0.005 * rng.normal(size=6)) for _ in range(4)])
    lin = np.stack([100 * (1 + 0.5 * x) * (1 + 0.005 * rng.normal(size=6)) for _ in range(4)])
    base = {"fs": fs, "n": 26, "diverged": np.zeros((4, 6), bool)}
    tol = Tol(k_se=3.0, max_slope=1.0)
    assert C.decide_overhead({**base, "T": quad}, tol).verdict == "fails"
    assert C.decide_overhead({**base, "T": lin}, tol).verdict == "holds"


def test_variants_fail_when_they_differ():
    r = {"acc_nna_paper_mimic": _acc(0.9), "acc_nna_authors_mimic": _acc(0.8)}
    assert C.decide_variants(r, ("mimic",), TOL).verdict == "fails"
    r["acc_nna_authors_mimic"] = _acc(0.9)
    assert C.decide_variants(r, ("mimic",), TOL).verdict == "holds"


def test_registered():
    from sgdlab.registry import REGISTRY

    assert {"monna.robust", "monna.momentum_helps", "monna.linear_overhead", "monna.variants"} <= set(REGISTRY.claims)
    assert {"monna.robust", "monna.momentum", "monna.overhead", "monna.coefficient"} <= set(REGISTRY.experiments)
