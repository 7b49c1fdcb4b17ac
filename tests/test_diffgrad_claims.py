"""diffgrad paper: registrations and each claim's decision on synthetic results where it must fail (and hold)."""

from __future__ import annotations

import numpy as np

from sgdlab import REGISTRY, Tol, load_all
from sgdlab.papers.diffgrad import claims as C
from sgdlab.papers.diffgrad.experiments import synthetic, synthetic_config


def test_registered() -> None:
    load_all()
    ids = {c.id for c in REGISTRY.select_claims(["diffgrad"])}
    assert ids == {"diffgrad.synthetic_endpoints", "diffgrad.friction_active", "diffgrad.v1_aliasing",
                   "diffgrad.v2_is_half_adam", "diffgrad.mnist_vs_adam"}


def test_synthetic_endpoints_reproduced_and_decision_can_fail() -> None:
    r = synthetic(synthetic_config("smoke"))
    tol = Tol(atol=5e-4)
    assert C.decide_synthetic(r, tol).verdict == "holds"
    swapped = {k.replace("adam_", "x_").replace("diffgrad_", "adam_").replace("x_", "diffgrad_"): v
               for k, v in r.items()}
    assert C.decide_synthetic(swapped, tol).verdict == "fails"


def test_friction_decision() -> None:
    tol = Tol(min_excess=0.05, k_se=3.0)
    tr = np.zeros((50, 6))
    tr[:, 0] = 0.001
    assert C.decide_friction({"trace": tr}, tol).verdict == "fails"
    tr[:, 0] = 0.2 + 0.001 * np.arange(50) % 3
    assert C.decide_friction({"trace": tr}, tol).verdict == "holds"


def _alias(stuck: float, free: float, d_half: float) -> dict:
    v1 = np.full((10, 6), 0.5)
    v1[:, 2:] += stuck
    v1n = np.full((10, 6), 0.5)
    v1n[:, 5] += free
    th0 = np.zeros(4)
    v1t = np.array([1.0, 0, 0, 0])
    return {"v1_inplace_trace": v1, "v1_none_trace": v1n, "theta0": th0, "v1_inplace_theta": v1t,
            "adam_half_theta": v1t + d_half, "adam_theta": 2 * v1t, "v2_theta": v1t + 0.01}


def test_alias_decision() -> None:
    tol = Tol(rel=0.05)
    assert C.decide_alias(_alias(0.0, 0.1, 0.001), tol).verdict == "holds"
    assert C.decide_alias(_alias(1e-3, 0.1, 0.001), tol).verdict == "fails"
    assert C.decide_alias(_alias(0.0, 0.0, 0.001), tol).verdict == "fails"
    assert C.decide_alias(_alias(0.0, 0.1, 0.5), tol).verdict == "fails"
    assert C.decide_v2_half_adam(_alias(0.0, 0.1, 0.001), tol).verdict == "holds"
    assert C.decide_v2_half_adam(_alias(0.0, 0.1, 0.3), tol).verdict == "fails"
