"""The spine: seeds, store (atomic, keyed, stale-safe, resumable), verdicts, registry, CLI, byte-stable figures."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from sgdlab import REGISTRY, Context, ResultStore, Verdict, by_scale, seeding, style
from sgdlab import store as store_mod
from sgdlab.cli import main
from sgdlab.registry import Claim, Experiment, FigureSpec, Registry
from sgdlab.verify import run_claim


@dataclasses.dataclass(frozen=True)
class ToyConfig:
    n: int = 5
    seed: int = 0


CALLS: list[ToyConfig] = []


def toy(cfg: ToyConfig) -> dict[str, object]:
    CALLS.append(cfg)
    rng = seeding.numpy_rng(cfg.seed, "data")
    return {"x": rng.normal(size=cfg.n), "mean": 1.5, "label": "toy"}


def toy_config(scale: str) -> ToyConfig:
    return by_scale(scale, smoke=ToyConfig(n=3), default=ToyConfig(n=5), full=ToyConfig(n=7))


@pytest.fixture
def toy_registered() -> Iterator[Experiment]:
    exp = Experiment("asgd.__toy", "asgd", toy, toy_config)
    REGISTRY.experiments[exp.name] = exp
    CALLS.clear()
    yield exp
    REGISTRY.experiments.pop(exp.name, None)
    for k in [k for k in REGISTRY.claims if "__toy" in k]:
        REGISTRY.claims.pop(k)
    for k in [k for k in REGISTRY.figures if "__toy" in k]:
        REGISTRY.figures.pop(k)


def test_seed_streams_are_reproducible_and_distinct() -> None:
    a1 = seeding.numpy_rng(3, "data").normal(size=4)
    a2 = seeding.numpy_rng(3, "data").normal(size=4)
    b = seeding.numpy_rng(3, "noise").normal(size=4)
    c = seeding.numpy_rng(4, "data").normal(size=4)
    assert np.array_equal(a1, a2) and not np.allclose(a1, b) and not np.allclose(a1, c)
    g1, g2 = seeding.torch_generator(3, "init"), seeding.torch_generator(3, "init")
    assert torch.equal(torch.randn(3, generator=g1), torch.randn(3, generator=g2))
    with pytest.raises(ValueError, match="seed"):
        seeding.numpy_rng(-1, "data")


def test_by_scale_rejects_unknown_scale() -> None:
    assert by_scale("smoke", smoke=1, default=2, full=3) == 1
    with pytest.raises(ValueError, match="scale must be one of"):
        by_scale("huge", smoke=1, default=2, full=3)


def test_store_roundtrip_key_and_resume(tmp_path: Path, toy_registered: Experiment) -> None:
    st = ResultStore(tmp_path)
    cfg = ToyConfig()
    r1 = st.get_or_run(toy_registered, cfg)
    r2 = st.get_or_run(toy_registered, cfg)
    assert len(CALLS) == 1, "second call must load the cached result"
    assert np.array_equal(r1["x"], r2["x"]) and r2["mean"] == 1.5 and r2["label"] == "toy"
    assert r2.meta["config"] == {"n": 5, "seed": 0} and r2.meta["seeds"] == {"seed": 0}
    for key in ("git_revision", "packages", "device", "dtype", "wall_seconds", "code_fingerprint"):
        assert key in r2.meta
    assert st.path(toy_registered, cfg) != st.path(toy_registered, ToyConfig(seed=1))
    bumped = dataclasses.replace(toy_registered, schema=2)
    assert st.path(toy_registered, cfg) != st.path(bumped, cfg)
    st.get_or_run(toy_registered, cfg, force=True)
    assert len(CALLS) == 2
    assert not list(tmp_path.rglob("*.tmp")), "no temporary files left behind"


def test_store_recomputes_stale_and_torn_results(tmp_path: Path, toy_registered: Experiment,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    st = ResultStore(tmp_path)
    st.get_or_run(toy_registered, ToyConfig())
    monkeypatch.setattr(store_mod, "fingerprint", lambda exp: "changed")
    st.get_or_run(toy_registered, ToyConfig())
    assert len(CALLS) == 2, "a result computed by other code must not be reused"
    st.path(toy_registered, ToyConfig()).write_bytes(b"torn")
    st.get_or_run(toy_registered, ToyConfig())
    assert len(CALLS) == 3


def test_atomic_write_leaves_old_file_on_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = tmp_path / "a.bin"
    store_mod.atomic_write_bytes(p, b"old")

    def boom(*a: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(store_mod.os, "replace", boom)
    with pytest.raises(OSError):
        store_mod.atomic_write_bytes(p, b"new")
    assert p.read_bytes() == b"old" and len(list(tmp_path.iterdir())) == 1


def test_sweep_resumes(tmp_path: Path, toy_registered: Experiment) -> None:
    ctx = Context(scale="smoke", store=ResultStore(tmp_path))
    cfgs = [ToyConfig(seed=s) for s in range(4)]
    ctx.sweep(toy_registered.name, cfgs[:2])
    out = ctx.sweep(toy_registered.name, cfgs)
    assert len(CALLS) == 4 and [r.meta["config"]["seed"] for r in out] == [0, 1, 2, 3]


def test_context_config_overrides_and_device(tmp_path: Path, toy_registered: Experiment) -> None:
    ctx = Context(scale="full", store=ResultStore(tmp_path))
    assert ctx.config(toy_registered.name).n == 7
    assert ctx.config(toy_registered.name, n=2).n == 2
    with pytest.raises(ValueError, match="unknown config fields"):
        ctx.config(toy_registered.name, m=2)


@pytest.mark.parametrize(
    ("v", "expected"),
    [
        (Verdict.within(1.0, 1.2, 0.1), "holds"),
        (Verdict.within(1.0, 1.4, 0.1), "fails"),
        (Verdict.within(1.0, 1.4, 0.1, resolution=0.2), "inconclusive"),
        (Verdict.within(float("nan"), 1.0, 0.1), "inconclusive"),
        (Verdict.below(1.0, 1.5, 0.1), "holds"),
        (Verdict.below(1.0, 1.1, 0.1), "inconclusive"),
        (Verdict.below(2.0, 1.5, 0.1), "fails"),
        (Verdict.above(2.0, 1.5, 0.1), "holds"),
        (Verdict.above(1.0, 1.5, 0.1), "fails"),
        (Verdict.exact(1.0 + 1e-13, 1.0), "holds"),
        (Verdict.exact(1.0 + 1e-6, 1.0), "fails"),
    ],
)
def test_verdict_constructors(v: Verdict, expected: str) -> None:
    assert v.verdict == expected


def test_verdict_combine() -> None:
    h, f, i = Verdict("holds"), Verdict("fails"), Verdict("inconclusive")
    assert Verdict.combine({"a": h, "b": h}).verdict == "holds"
    assert Verdict.combine({"a": h, "b": i}).verdict == "inconclusive"
    assert Verdict.combine({"a": i, "b": f}).verdict == "fails"
    with pytest.raises(ValueError, match="verdict must be"):
        Verdict("maybe")


def test_registry_rejects_bad_registrations() -> None:
    reg = Registry()
    with pytest.raises(ValueError, match="must be named 'nopaper.<name>'"):
        reg.add_experiment(Experiment("x", "nopaper", toy, toy_config))
    with pytest.raises(ValueError, match="paper must be a lower-case identifier"):
        reg.add_experiment(Experiment("Bad Paper.x", "Bad Paper", toy, toy_config))
    with pytest.raises(ValueError, match="expected must be"):
        reg.add_claim(Claim("asgd.x", "asgd", "s", lambda ctx: Verdict("holds"), expected="probably"))


def test_claim_errors_are_reported_not_raised(tmp_path: Path) -> None:
    def broken(ctx: Context) -> Verdict:
        raise RuntimeError("bad")

    o = run_claim(Claim("asgd.__toy_broken", "asgd", "s", broken), Context("smoke", ResultStore(tmp_path)))
    assert o.verdict == "error" and not o.matches and "RuntimeError: bad" in o.note


def test_cli_verify_json_and_exit_code(tmp_path: Path, toy_registered: Experiment) -> None:
    def good(ctx: Context) -> Verdict:
        r = ctx.result(toy_registered.name)
        return Verdict.within(r["mean"], 1.5, 0.0, floor=1e-12)

    REGISTRY.add_claim(Claim("asgd.__toy_good", "asgd", "toy mean is 1.5", good))
    js = tmp_path / "out.json"
    args = ["verify", "--scale", "smoke", "--only", "asgd.__toy_good", "--cache", str(tmp_path), "--json", str(js)]
    assert main(args) == 0
    rows = json.loads(js.read_text())
    need = {"id", "paper", "statement", "expected", "verdict", "predicted", "measured", "uncertainty", "tolerance",
            "seconds"}  # fmt: skip
    assert need <= set(rows[0]) and rows[0]["verdict"] == "holds"
    REGISTRY.add_claim(Claim("asgd.__toy_wrong", "asgd", "expects a failure", good, expected="fails"))
    assert main(args[:4] + ["asgd.__toy_wrong", "--cache", str(tmp_path), "--no-report"]) == 1
    assert main(["verify", "--only", "nopaper", "--cache", str(tmp_path)]) == 2


def test_figures_are_byte_stable(tmp_path: Path, toy_registered: Experiment) -> None:
    def fig(ctx: Context):  # type: ignore[no-untyped-def]
        r = ctx.result(toy_registered.name)
        f, ax = style.subplots()
        ax.plot(r["x"], label="x")
        style.label(ax, "index $i$", r"$x_i$")
        ax.legend()
        return f

    REGISTRY.add_figure(FigureSpec("asgd___toy_fig", "asgd", fig))
    cache = str(tmp_path / "c")
    for out in ("a", "b"):
        assert main(["figures", "--only", "asgd___toy_fig", "--cache", cache, "--out", str(tmp_path / out)]) == 0
    for ext in ("png", "pdf"):
        a = (tmp_path / "a" / "asgd" / f"asgd___toy_fig.{ext}").read_bytes()
        b = (tmp_path / "b" / "asgd" / f"asgd___toy_fig.{ext}").read_bytes()
        assert a == b and len(a) > 1000


def test_run_writes_bundle(tmp_path: Path, toy_registered: Experiment) -> None:
    from sgdlab.bundle import load_bundle

    assert main(["run", toy_registered.name, "--scale", "smoke", "--out", str(tmp_path / "res"),
                 "--cache", str(tmp_path / "c")]) == 0  # fmt: skip
    b = load_bundle(tmp_path / "res" / toy_registered.name)
    assert b["x"].shape == (3,) and b.meta["config"]["n"] == 3 and b.meta["experiment"] == toy_registered.name


def test_sweep_through_an_executor_gives_the_same_results(tmp_path: Path, toy_registered: Experiment) -> None:
    from concurrent.futures import ThreadPoolExecutor

    cfgs = [ToyConfig(seed=s) for s in range(3)]
    serial = Context(scale="smoke", store=ResultStore(tmp_path / "a")).sweep(toy_registered.name, cfgs)
    with ThreadPoolExecutor(2) as ex:
        pooled = Context(scale="smoke", store=ResultStore(tmp_path / "b"), executor=ex).sweep(toy_registered.name, cfgs)
    assert all(np.array_equal(a["x"], b["x"]) for a, b in zip(serial, pooled))


def test_code_fingerprint_follows_the_libraries_an_experiment_uses() -> None:
    from sgdlab.provenance import module_deps
    from sgdlab.registry import REGISTRY

    exp = REGISTRY.experiment("asgd.curves")
    deps = set(module_deps(exp.module))
    assert {"sims.linreg", "sgdlab.seeding"} <= deps and any(d.startswith("theory.linreg.") for d in deps)
    assert not any(d.startswith(("theory.heavy_tails", "sims.distributed", "sgdlab.papers.dsgd", "sgdlab.report"))
                   for d in deps)
