"""The decision logic of the heavy_tail claims on synthetic results: the helpers recover known values, and the claims
hold on data that satisfy them and fail on data that do not (so the checks can fail)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

ht = pytest.importorskip("sgdlab.papers.heavy_tail")


class FakeContext:
    def __init__(self, results: dict[str, dict[str, Any]]) -> None:
        self.results = results

    def result(self, name: str) -> dict[str, Any]:
        return self.results[name]


def test_ecf_scale_recovers_scale() -> None:
    alpha, c, t = 1.3, 0.7, 1.0 / 0.7
    phi = math.exp(-((c * t) ** alpha))
    rng = np.random.default_rng(0)
    cos_means = phi + 0.01 * rng.standard_normal(10_000)
    est, se, _, _ = ht._ecf_scale(cos_means, t, alpha)
    assert abs(est - c) <= 4 * se and se < 0.01


def test_vertex_of_exact_parabola() -> None:
    a = np.linspace(1.1, 2.0, 10)
    y = 3.0 * (a - 1.43) ** 2 + 0.5
    v, vse = ht._vertex(a, y, np.full_like(a, 1e-3), int(np.argmin(y)))
    assert abs(v - 1.43) < 1e-9 and vse < 1e-3


def _w1_result(power: float, rng: np.random.Generator) -> dict[str, Any]:
    ns = np.array([50, 100, 200, 400, 800])
    C = rng.uniform(1, 3, (12, 1))
    D = C * ns ** (-power) * np.exp(0.02 * rng.standard_normal((12, ns.size)))
    return {"ns": ns, "D": D, "bound": 10 * C / ns, "diverged": 0.0, "diverged_mb": 0.0, "batch": 5, "D_mb": D}


def test_w1_claim_can_hold_and_fail() -> None:
    rng = np.random.default_rng(1)
    assert ht.w1_one_over_n(FakeContext({"heavy_tail.w1": _w1_result(1.0, rng)})).verdict == "holds"  # type: ignore[arg-type]
    assert ht.w1_one_over_n(FakeContext({"heavy_tail.w1": _w1_result(0.5, rng)})).verdict == "fails"  # type: ignore[arg-type]


def test_gsz_claim_fails_on_wrong_index() -> None:
    r = {"b": np.array([1, 1, 2]), "eta": np.array([0.16, 0.17, 0.17]), "root": np.array([3.0, 1.5, 14.6]),
         "hill": np.array([3.05, 1.52, 9.0]), "hill_se": np.array([0.1, 0.05, 0.5]), "diverged": np.zeros(3)}
    assert ht.gsz_tail_index(FakeContext({"heavy_tail.gsz": r})).verdict == "holds"  # type: ignore[arg-type]
    r["hill"] = np.array([3.05, 2.2, 9.0])  # 14 se off at eta = 0.17
    assert ht.gsz_tail_index(FakeContext({"heavy_tail.gsz": r})).verdict == "fails"  # type: ignore[arg-type]
