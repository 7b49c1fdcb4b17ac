"""The sharpness claims can fail: synthetic results on which their decisions must come out the other way."""

from __future__ import annotations

import numpy as np

from sgdlab import REGISTRY, Context, ResultStore, Tol
from sgdlab.papers.sharpness.claims import decide_quadratic
from sgdlab.papers.sharpness.experiments import METHODS, QuadraticResult
from sgdlab.verify import run_claim


def _result(sharp: list[list[float]], dec: list[list[float]]) -> QuadraticResult:
    s, d = np.array(sharp, dtype=float), np.array(dec, dtype=float)
    return QuadraticResult(np.array(METHODS), s, d, np.ones_like(s))


def test_quadratic_table_fails_when_one_instance_breaks_an_ordering() -> None:
    good = [[900, 150, 36, 16, 11], [950, 140, 30, 15, 10]]
    inc = [[160, 230, 450, 640, 680], [150, 220, 430, 600, 650]]
    tol = Tol(min_fraction=1.0)
    assert decide_quadratic(_result(good, inc), tol).verdict == "holds"
    assert decide_quadratic(_result([good[0], [950, 140, 30, 9, 10]], inc), tol).verdict == "fails"
    assert decide_quadratic(_result(good, [inc[0], [150, 220, 430, 700, 650]]), tol).verdict == "fails"


def test_quadratic_table_fails_without_the_outlier_coordinates(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """With no large-curvature coordinates (h_big = 1 like the rest), clipping has nothing to remove: the orderings
    the paper predicts are not strict, and the claim reports it."""
    ctx = Context(scale="smoke", store=ResultStore(tmp_path),
                  overrides={"sharpness.quadratic.h_big": 1.0, "sharpness.quadratic.x_big_std": 1.0})
    assert run_claim(REGISTRY.claims["sharpness.quadratic_table"], ctx).verdict == "fails"


from sgdlab.papers.sharpness.claims import (  # noqa: E402
    decide_clip_reduces,
    decide_clip_speeds,
    decide_few_coordinates,
    decide_sgd_sharper,
)
from sgdlab.papers.sharpness.experiments import CANDIDATES, TrainResult, TrajectoryResult  # noqa: E402


def _traj(sharp: dict[str, float], masked_sgd: float = 0.2, noise: float = 0.05) -> TrajectoryResult:
    rng = np.random.default_rng(0)
    s = np.array([[sharp[c] for c in CANDIDATES]] * 6, dtype=float)[None] * np.exp(noise * rng.normal(size=(1, 6, 8)))
    s = np.concatenate([s, s[:, ::-1]], axis=1)  # 12 measurements
    s = s[:, :6]
    m = s.copy()
    m[..., CANDIDATES.index("sgd")] *= masked_sgd
    z = np.zeros_like(s)
    return TrajectoryResult(np.array(CANDIDATES), np.arange(1, 7) * 50, s, m, z, z, np.linspace(-12, 0, 5),
                            np.zeros((1, 8, 4)), np.zeros((1, 6)), 100, "x")  # fmt: skip


BASE = {"sgd": 100.0, "adam": 2.0, "sign": 3.0, "normalized": 90.0, "adafactor": 4.0, "lion": 3.0,
        "sgd_clip": 20.0, "adam_clip": 1.0}  # fmt: skip


def test_trajectory_claims_hold_and_fail_on_synthetic_results() -> None:
    assert decide_sgd_sharper(_traj(BASE), Tol(min_ratio=10.0)).verdict == "holds"
    assert decide_sgd_sharper(_traj({**BASE, "adam": 30.0}), Tol(min_ratio=10.0)).verdict == "fails"
    assert decide_few_coordinates(_traj(BASE), Tol(max_remaining=0.5, k_se=3)).verdict == "holds"
    assert decide_few_coordinates(_traj(BASE, masked_sgd=0.9), Tol(max_remaining=0.5, k_se=3)).verdict == "fails"
    assert decide_clip_reduces(_traj(BASE), Tol(alpha=0.05)).verdict == "holds"
    assert decide_clip_reduces(_traj({**BASE, "adam_clip": 5.0}), Tol(alpha=0.05)).verdict == "fails"
    assert decide_sgd_sharper(_traj({**BASE, "adam": -1.0}), Tol(min_ratio=10.0)).verdict == "holds"  # flatter


def _runs(final: list[float], diverged: bool = False) -> list[TrainResult]:
    return [TrainResult(np.array([0, 10]), np.array([5.0, f]), np.zeros(10), diverged) for f in final]


def test_clip_speeds_holds_fails_and_skips_diverged_learning_rates() -> None:
    def grid(sgd_clip: list[float]) -> dict:  # type: ignore[type-arg]
        return {("sgd", 0.1): _runs([3.0, 3.1, 3.05]), ("sgd", 1.0): _runs([9.0] * 3, diverged=True),
                ("sgd_clip", 0.1): _runs(sgd_clip), ("adam", 1e-3): _runs([2.5, 2.6, 2.55]),
                ("adam_clip", 1e-3): _runs([2.4, 2.5, 2.45])}  # fmt: skip

    assert decide_clip_speeds(grid([2.9, 3.0, 2.95]), Tol(k_se=2)).verdict == "holds"
    assert decide_clip_speeds(grid([3.2, 3.3, 3.25]), Tol(k_se=2)).verdict == "fails"
