"""The fedfix claims' decision logic on synthetic results: each can hold and can fail."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from sgdlab import Tol

cl = pytest.importorskip("sgdlab.papers.fedfix.claims")


def _weights_result(biased_ok: bool = True, exact_ok: bool = True) -> dict[str, Any]:
    r: dict[str, Any] = {"schemes": np.array(["FedAvg", "Async-identical", "FedBuff-5"]),
                         "extra_unbiased": np.ones(3, dtype=bool)}
    for j, (ex, bias) in enumerate([(exact_ok, 0.0), (False, 0.2 if biased_ok else 0.0),
                                    (False, 0.0558 if biased_ok else 0.001)]):
        r.update({f"max_bias_{j}": bias, f"exact_unbiased_{j}": ex, f"horizon_dev_{j}": 1e-4})
    return r


def test_unbiased_weights_can_fail() -> None:
    tol = Tol(min_bias=0.01)
    assert cl.decide_unbiased(_weights_result(), tol).verdict == "holds"
    assert cl.decide_unbiased(_weights_result(exact_ok=False), tol).verdict == "fails"
    assert cl.decide_unbiased(_weights_result(biased_ok=False), tol).verdict == "fails"


def test_float_trap_can_fail() -> None:
    tol = Tol(rtol=0.05, quoted=1.8)
    r = {"float_ratio": np.r_[np.ones(19), 1.83], "float_periods": np.r_[np.full(19, 3), 2],
         "exact_periods": np.r_[np.full(19, 3), 1], "tau": np.linspace(1, 0.2, 20), "float_rounds": 25000}
    assert cl.decide_float_trap(r, tol).verdict == "holds"
    r["float_ratio"] = np.r_[np.ones(19), 1.2]
    assert cl.decide_float_trap(r, tol).verdict == "fails"
    r["float_ratio"] = np.r_[np.ones(19), 1.83]
    r["float_periods"] = r["exact_periods"]
    assert cl.decide_float_trap(r, tol).verdict == "fails"


def _surrogate_result(shift_biased: float, shift_unbiased: float, seeds: int = 16) -> dict[str, Any]:
    rng = np.random.default_rng(0)
    d, M = 4, 5
    tp = np.zeros(d)
    u = np.ones(d) / 2.0
    tq_b = 0.3 * u
    r: dict[str, Any] = {"schemes": np.array(["FedAvg", "Async-identical"]), "theta_p": tp,
                         "theta_q_0": tp, "theta_q_1": tq_b, "q_0": np.full(M, 0.2),
                         "q_1": np.array([0.1, 0.15, 0.2, 0.25, 0.3])}
    r["tail_0"] = tp + shift_unbiased * u + 1e-3 * rng.standard_normal((seeds, d))
    r["tail_1"] = tq_b + shift_biased * u + 1e-3 * rng.standard_normal((seeds, d))
    return r


def test_surrogate_can_fail() -> None:
    tol = Tol(k_se=4.0, rel_offset=0.05)
    assert cl.decide_surrogate(_surrogate_result(0.0, 0.0), tol).verdict == "holds"
    # the biased scheme stays at the federated optimum: fails
    assert cl.decide_surrogate(_surrogate_result(-0.3, 0.0), tol).verdict == "fails"
    # the unbiased scheme drifts by 20% of the bias: fails
    assert cl.decide_surrogate(_surrogate_result(0.0, 0.06), tol).verdict == "fails"
    # a 3% offset of the biased scheme: fails strictly (many se), holds in the relative (logistic) form
    assert cl.decide_surrogate(_surrogate_result(0.009, 0.0), tol).verdict == "fails"
    assert cl.decide_surrogate(_surrogate_result(0.009, 0.0), tol, strict=False).verdict == "holds"


def _stability_result(ff_unstable_at_top: bool, ff_time: float) -> dict[str, Any]:
    lrs = np.array([0.01, 0.1, 0.4])
    unstable = np.zeros((3, 3))
    if ff_unstable_at_top:
        unstable[1, 2] = 1.0
    unstable[2, 1:] = 1.0
    rng = np.random.default_rng(1)
    t = np.empty((3, 3, 8))
    t[0] = np.array([20.0, 6.0, 2.0])[:, None] + 0.05 * rng.standard_normal((3, 8))
    t[1] = np.array([8.0, ff_time, ff_time])[:, None] + 0.05 * rng.standard_normal((3, 8))
    t[2] = np.array([5.0, np.inf, np.inf])[:, None]
    return {"schemes": np.array(["FedAvg", "FedFix-0.5", "Async-identical"]), "lrs": lrs, "unstable": unstable,
            "time_to_target": t}


def test_stable_fast_can_hold_and_fail() -> None:
    tol = Tol(k_se=3.0)
    assert cl.decide_stable_fast(_stability_result(False, 1.0), 30.0, tol).verdict == "holds"
    assert cl.decide_stable_fast(_stability_result(True, 1.0), 30.0, tol).verdict == "fails"
    assert cl.decide_stable_fast(_stability_result(False, 3.0), 30.0, tol).verdict == "fails"
    assert cl.max_stable_lr(np.array([0.0, 0.5, 0.0]), np.array([1.0, 2.0, 3.0])) == 1.0
    assert cl.max_stable_lr(np.array([1.0, 0.0]), np.array([1.0, 2.0])) == 0.0


def test_async_biased_can_fail() -> None:
    tol = Tol(k_se=4.0)
    rng = np.random.default_rng(2)
    rs = {"schemes": np.array(["FedAvg", "Async-identical"]), "loss_p": 1.0, "loss_q_1": 1.04,
          "tail_loss_1": 1.04 + 0.001 * rng.standard_normal(16)}
    rt = _stability_result(False, 1.0)
    rt["schemes"] = np.array(["FedAvg", "Async", "Async-identical"])
    rt["unstable"][1, 1:] = 1.0
    assert cl.decide_async(rs, rt, 30.0, tol).verdict == "holds"
    rs_unbiased = {**rs, "tail_loss_1": 1.0 + 0.001 * rng.standard_normal(16)}
    assert cl.decide_async(rs_unbiased, rt, 30.0, tol).verdict == "fails"
    rt_stable = {**rt, "unstable": np.zeros((3, 3))}
    assert cl.decide_async(rs, rt_stable, 30.0, tol).verdict == "fails"


def test_tie_is_not_faster() -> None:
    assert cl.strictly_below(0.0, 0.0, 3.0).verdict == "fails"
    assert cl.strictly_below(-0.5, 0.0, 3.0).verdict == "holds"
    assert cl.strictly_below(-0.5, 0.1, 3.0).verdict == "holds"
    assert cl.strictly_below(0.5, 0.1, 3.0).verdict == "fails"
