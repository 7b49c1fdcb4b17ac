"""The house: typed overrides, discovery, tolerances at registration, the divergence policy, and typed results."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Literal

import numpy as np
import pytest

from sgdlab import REGISTRY, Context, ResultStore, Tol, Verdict, by_scale
from sgdlab import overrides as ov
from sgdlab.registry import claim, discover_papers, experiment
from sgdlab.specs import Claim
from sgdlab.verify import apply_divergence_policy, diverged_fraction, run_claim


@dataclasses.dataclass(frozen=True)
class Cfg:
    n: int = 3
    a: float = 2.0
    graph: str = "ring"
    band: tuple[int, int] = (1, 3)
    kind: Literal["x", "y"] = "x"
    flag: bool = False
    seed: int = 0


@dataclasses.dataclass(frozen=True)
class Curves:
    t: np.ndarray
    risk: np.ndarray  # (method, t)
    label: str


@pytest.fixture
def toy_paper() -> Iterator[str]:
    names = ("zztoy.curves", "zztoy.runs")

    @experiment("zztoy.curves", paper="zztoy", result=Curves,
                config=lambda s: by_scale(s, smoke=Cfg(n=2), default=Cfg(), full=Cfg(n=9)))
    def curves(cfg: Cfg) -> Curves:
        t = np.arange(cfg.n, dtype=float)
        return Curves(t=t, risk=np.stack([t ** cfg.a, t]), label=f"{cfg.graph}-{cfg.kind}")

    @experiment("zztoy.runs", paper="zztoy", config=lambda s: Cfg())
    def runs(cfg: Cfg) -> dict[str, object]:
        d = np.zeros(8, dtype=bool)
        d[: cfg.n] = True
        return {"value": float(cfg.n), "diverged": d}

    yield "zztoy"
    for n in names:
        REGISTRY.experiments.pop(n, None)
    for k in [k for k in REGISTRY.claims if k.startswith("zztoy")]:
        REGISTRY.claims.pop(k)


def test_overrides_are_type_checked_against_the_config(toy_paper: str, tmp_path) -> None:
    ctx = Context(scale="smoke", store=ResultStore(tmp_path),
                  overrides=["zztoy.curves.a=1.5", "zztoy.curves.band=(2, 5)", "zztoy.curves.kind=y",
                             "zztoy.curves.flag=true", "zztoy.*.graph=grid"])
    ctx.validate_overrides()
    cfg = ctx.config("zztoy.curves")
    assert (cfg.a, cfg.band, cfg.kind, cfg.flag, cfg.graph, cfg.n) == (1.5, (2, 5), "y", True, "grid", 2)
    assert ctx.config("zztoy.runs").graph == "grid" and not ctx.is_default
    r = ctx.result("zztoy.curves")
    assert isinstance(r, Curves) and r.label == "grid-y" and r.risk.shape == (2, 2)
    assert np.array_equal(r.risk[0], np.arange(2.0) ** 1.5)
    bad = {
        "zztoy.curves.n=1.5": r"zztoy.curves.n \(int\) must be an int",
        "zztoy.curves.a=nan": "finite float",
        "zztoy.curves.a=fast": "must be a float",
        "zztoy.curves.band=(1, 2, 3)": "must have 2 entries",
        "zztoy.curves.kind=z": r"must be one of \['x', 'y'\]",
        "zztoy.curves.flag=maybe": "must be a bool",
        "zztoy.curves.nope=1": "has no config field 'nope'; its fields: n: int, a: float",
        "zztoy.nothing.n=1": "unknown experiment 'zztoy.nothing'",
        "zztoy.*.nope=1": r"no experiment of 'zztoy' has the field\(s\) \['nope'\]",
    }
    for item, msg in bad.items():
        with pytest.raises(ValueError, match=msg):
            Context(scale="smoke", store=ResultStore(tmp_path), overrides=[item]).validate_overrides()
    with pytest.raises(ValueError, match="EXPERIMENT.FIELD=VALUE"):
        ov.parse_set(["zztoy.curves.a"])


def test_papers_are_discovered_and_loaded_lazily() -> None:
    keys = discover_papers()
    assert {"asgd", "heavy_tail", "stability", "noise_regimes", "dsgd"} <= set(keys)
    ctx = Context(scale="smoke")  # building a context imports no paper
    assert ctx.scale == "smoke"
    exp = REGISTRY.experiment("asgd.two_by_two")  # importing only asgd
    assert exp.paper == "asgd"


def test_tolerances_are_declared_and_derived() -> None:
    t = Tol(fwer=0.05, comparisons=10)
    assert abs(t.k_se - 2.8070) < 1e-3 and t.max_diverged == 0.0 and not t.divergence_measured
    assert Tol(k_se=4).describe() == "k_se=4, max_diverged=0"
    for kw, msg in (({"k_se": -1}, "non-negative"), ({"k_se": float("nan")}, "finite"), ({"fwer": 2.0}, "fwer"),
                    ({"k_se": 3, "fwer": 0.1}, "not both"), ({"max_diverged": 1.5}, r"\[0, 1\]"),
                    ({"on_diverged": "holds"}, "on_diverged")):
        with pytest.raises(ValueError, match=msg):
            Tol(**kw)
    with pytest.raises(AttributeError, match="was not declared at registration"):
        _ = Tol(k_se=3).window


def _claim(tol: Tol) -> Claim:
    return Claim("zztoy.c", "zztoy", "s", lambda ctx, t: Verdict("holds"), tol=tol)


def test_divergence_policy_never_rests_silently_on_survivors() -> None:
    v = apply_divergence_policy(Verdict.within(1.0, 1.0, 0.1, k=3, diverged=0.75), _claim(Tol(k_se=3)), None)
    assert v.verdict == "inconclusive" and "75% of the runs" in v.note and v.measured == 1.0
    v = apply_divergence_policy(Verdict("holds", measured=0.0), _claim(Tol(on_diverged="fails")), 1.0)
    assert v.verdict == "fails" and v.measured is None  # nothing survived: no measurement
    v = apply_divergence_policy(Verdict("holds", diverged=0.1), _claim(Tol(max_diverged=0.2)), None)
    assert v.verdict == "holds"
    v = apply_divergence_policy(Verdict("fails", diverged=1.0), _claim(Tol(divergence_measured=True)), None)
    assert v.verdict == "fails"
    assert diverged_fraction([{"diverged": np.array([True, False, False, False]), "x_diverged": 0.5, "a.diverged": 0.4,
                               "n_diverged_total": 7}]) == 0.45  # masks 1/4; fractions mean(0.5, 0.4)  # fmt: skip
    assert diverged_fraction([{"diverged": np.array([0.0, 1.0, 0.0, 0.0])}, {"b_diverged": np.array([0.1, 0.3])}]) == 0.225


def test_runner_reads_divergence_from_the_results_a_claim_used(toy_paper: str, tmp_path) -> None:
    @claim("zztoy.survivors", paper="zztoy", tol=Tol(k_se=3), statement="value equals n")
    def survivors(ctx: Context, tol: Tol) -> Verdict:
        r = ctx.result("zztoy.runs")
        return Verdict.within(r["value"], 3.0, 0.1, k=tol.k_se)

    ctx = Context(scale="default", store=ResultStore(tmp_path))
    o = run_claim(REGISTRY.claims["zztoy.survivors"], ctx)
    assert o.verdict == "inconclusive" and o.diverged == 3 / 8 and "37.5% of the runs" in o.note
    assert o.tolerances == "k_se=3, max_diverged=0"


def test_divergence_flags_of_sweep_points_are_pooled() -> None:
    """One run per sweep point, 2 of 25 diverged: 8%, not 100% (a max over points would say 100%)."""
    points = [{"diverged": np.bool_(i < 2), "val": 1.0} for i in range(25)]
    assert diverged_fraction(points) == 2 / 25
