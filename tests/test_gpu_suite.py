"""The prepared GPU run (benchmarks/gpu_suite.py) runs at the smoke scale on the CPU, and a committed bundle is read
at the full scale instead of recomputing."""

from __future__ import annotations

import importlib.util
import json
import tarfile
from pathlib import Path

import pytest

from sgdlab import Context, ResultStore
from sgdlab import paths as paths_mod
from sgdlab.bundle import write_bundle
from sgdlab.provenance import config_dict
from sgdlab.registry import REGISTRY
from sgdlab.store import compute

ROOT = Path(__file__).resolve().parents[1]


def _suite():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("gpu_suite", ROOT / "benchmarks" / "gpu_suite.py")
    mod = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return mod


def test_gpu_suite_smoke_writes_one_tarball_and_a_summary(tmp_path: Path) -> None:
    rc = _suite().main(["--smoke", "--out", str(tmp_path), "--parts", "asgd", "dsgd"])
    assert rc == 0
    summary = json.loads((tmp_path / "gpu_summary.json").read_text())
    assert summary["scale"] == "smoke" and {p["part"] for p in summary["parts"]} == {"asgd", "dsgd"}
    for p in summary["parts"]:
        for e in p["experiments"].values():
            assert e["status"] == "ok" and e["wall_seconds"] > 0 and "host_max_rss_mib" in e["peak_memory"]
    with tarfile.open(tmp_path / "gpu_bundles.tar.gz") as tar:
        names = set(tar.getnames())
    assert {"asgd.mc/arrays.npz", "asgd.mc/meta.json", "dsgd.consensus/meta.json"} <= names


def test_full_scale_reads_a_committed_bundle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = Context(scale="full", store=ResultStore(tmp_path / "cache"))
    cfg = ctx.config("asgd.two_by_two")
    outputs, _ = compute(REGISTRY.experiment("asgd.two_by_two"), cfg)
    outputs["s_eff"] = 123.0  # a sentinel: only the bundle has it
    meta = {"config": {**config_dict(cfg), "device": "cuda"}, "device": "cuda:0 (H200)", "finished_utc": "x"}
    write_bundle(tmp_path / "results", "asgd.two_by_two", outputs, meta)
    monkeypatch.setattr(paths_mod, "results_dir", lambda: tmp_path / "results")
    assert ctx.result("asgd.two_by_two").s_eff == 123.0  # the bundle, not a recomputation
    other = Context(scale="full", store=ResultStore(tmp_path / "cache"), overrides={"asgd.two_by_two.n_grid": 50})
    assert other.result("asgd.two_by_two").s_eff != 123.0  # another config: recomputed
