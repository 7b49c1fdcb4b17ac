"""The signround claims can fail: synthetic results on which each decision must come out the other way."""

from __future__ import annotations

import dataclasses

import numpy as np

from sgdlab import Tol
from sgdlab.papers.signround.claims import (
    decide_beats_rtn,
    decide_gap_grows,
    decide_signsgd_vs_adam,
    decide_v_bounded,
    v_ceiling,
)
from sgdlab.papers.signround.experiments import METHODS, QuantizeConfig, QuantizeResult

S, B, G, K, T = 4, 3, 2, 2, 10


def _result(gain_val: tuple[float, float, float] = (0.3, 0.1, 0.02), mse_factor: float = 0.5,
            adam_factor: float = 1.5, v_max: float = 0.45, noise: float = 0.01) -> QuantizeResult:  # fmt: skip
    """RTN's excess validation loss over FP is 1.0, 0.3, 0.1 at W2, W3, W4; SignRound removes ``gain_val``;
    SignRound's block MSE is ``mse_factor`` x RTN's and Adam's is ``adam_factor`` x SignRound's."""
    rng = np.random.default_rng(0)
    fp = 2.0 + 0.05 * rng.normal(size=S)
    val = np.empty((S, 3, B, G))
    mse = np.empty((S, 3, B, G, K))
    for b, (exc, gain) in enumerate(zip((1.0, 0.3, 0.1), gain_val)):
        val[:, 0, b] = fp[:, None] + exc + noise * rng.normal(size=(S, G))
        val[:, 1, b] = val[:, 0, b] - gain + noise * rng.normal(size=(S, G))
        val[:, 2, b] = val[:, 1, b] + noise * rng.normal(size=(S, G))
        base = 10.0 ** (-3 - b) * np.exp(0.05 * rng.normal(size=(S, G, K)))
        mse[:, 0, b] = base
        mse[:, 1, b] = base * mse_factor * np.exp(0.05 * rng.normal(size=(S, G, K)))
        mse[:, 2, b] = mse[:, 1, b] * adam_factor * np.exp(0.05 * rng.normal(size=(S, G, K)))
    vm = np.zeros((S, 3, B, G))
    vm[:, 1] = v_max
    vm[:, 2] = 0.6
    edges = np.linspace(-1, 1, 9)
    hist = np.ones((S, 3, B, G, 8))
    z = np.zeros((S, 3, B, G, K))
    return QuantizeResult(np.array([2, 3, 4]), np.array([32, -1]), np.array(METHODS), fp, val, mse, mse, vm, edges, hist,
                          np.zeros((S, 3, B, G, K, T)), z.astype(int), z, fp, 1000, "x")  # fmt: skip


def test_beats_rtn_holds_and_fails() -> None:
    tol = Tol(k_se=3.0)
    assert decide_beats_rtn(_result(), tol).verdict == "holds"
    assert decide_beats_rtn(_result(mse_factor=2.0), tol).verdict == "fails"  # block MSE worse than RTN
    assert decide_beats_rtn(_result(gain_val=(0.3, 0.1, -0.2)), tol).verdict == "fails"  # W4 val loss worse


def test_v_bounded_holds_and_fails() -> None:
    cfg = dataclasses.replace(QuantizeConfig(), iters=T)
    tol = Tol(atol=1e-5)
    assert v_ceiling(T) == (T - 1) * (T + 2) / (2 * T**2)
    assert decide_v_bounded(_result(v_max=v_ceiling(T)), cfg, tol).verdict == "holds"
    assert decide_v_bounded(_result(v_max=0.7), cfg, tol).verdict == "fails"


def test_signsgd_vs_adam_holds_fails_and_can_be_undecided() -> None:
    tol = Tol(k_se=3.0)
    assert decide_signsgd_vs_adam(_result(adam_factor=1.5), tol).verdict == "holds"
    assert decide_signsgd_vs_adam(_result(adam_factor=0.6), tol).verdict == "fails"  # Adam wins
    assert decide_signsgd_vs_adam(_result(adam_factor=1.0), tol).verdict == "inconclusive"


def test_gap_grows_holds_and_fails() -> None:
    tol = Tol(k_se=2.0)
    assert decide_gap_grows(_result(gain_val=(0.3, 0.1, 0.02)), tol).verdict == "holds"
    assert decide_gap_grows(_result(gain_val=(0.02, 0.1, 0.3)), tol).verdict == "fails"  # the gap shrinks
