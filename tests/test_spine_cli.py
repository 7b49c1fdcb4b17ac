"""The CLI's contract: clear messages and distinct exit codes, checks before running, strict JSON, overridden runs
that never touch the committed outputs, and sweeps on dask and submitit identical to the serial run."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from sgdlab import REGISTRY, Context, ResultStore
from sgdlab.cli import EXIT_DEVICE, EXIT_UNWRITABLE, EXIT_USAGE, main
from sgdlab.paths import committed_figures
from sgdlab.report import strict_json


def test_unwritable_json_path_is_refused_before_running(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    rc = main(["verify", "--scale", "smoke", "--only", "asgd.crossover", "--cache", str(tmp_path / "c"),
               "--json", str(blocker / "out.json"), "--no-report"])
    err = capsys.readouterr()
    assert rc == EXIT_UNWRITABLE and "--json folder" in err.err and "claim" not in err.out


def test_unwritable_cache_gives_one_clear_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    rc = main(["verify", "--scale", "smoke", "--only", "asgd.crossover", "--cache", str(blocker / "cache")])
    assert rc == EXIT_UNWRITABLE and "result cache" in capsys.readouterr().err


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without CUDA")
def test_cuda_requested_without_cuda(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["verify", "--scale", "smoke", "--only", "asgd", "--device", "cuda", "--cache", str(tmp_path)])
    assert rc == EXIT_DEVICE and "CUDA is not available" in capsys.readouterr().err


@pytest.mark.parametrize("argv,msg", [
    (["--workers", "0"], "--workers must be an integer >= 1"),
    (["--set", "asgd.two_by_two.n_grid=many"], "asgd.two_by_two.n_grid (int) must be an int"),
    (["--set", "asgd.two_by_two.nope=1"], "has no config field 'nope'"),
    (["--only", "no_such_paper"], "selects no claim"),
])  # fmt: skip
def test_bad_usage_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], msg: str) -> None:
    rc = main(["verify", "--scale", "smoke", "--cache", str(tmp_path), "--no-report", *argv])
    assert rc == EXIT_USAGE and msg in capsys.readouterr().err


def test_strict_json_has_no_bare_nan() -> None:
    text = strict_json([{"id": "x", "measured": float("nan"), "extra": {"se": float("inf")}}])
    assert "NaN" not in text and "Infinity" not in text
    d = json.loads(text)[0]
    assert d["measured"] is None and "measured was nan" in d["null_reason"]


def test_overridden_figures_leave_the_committed_ones_alone(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    fig_dir = committed_figures()
    before = {p: p.stat().st_mtime_ns for p in fig_dir.rglob("*.png")} if fig_dir else {}
    out = tmp_path / "out"
    rc = main(["figures", "--only", "asgd_rho", "--cache", str(tmp_path / "c"), "--set", "asgd.two_by_two.n_grid=200",
               "--out", str(out)])
    assert rc == 0 and (out / "asgd" / "asgd_rho.png").exists()
    rc = main(["figures", "--only", "asgd_rho", "--cache", str(tmp_path / "c"), "--set", "asgd.two_by_two.n_grid=200"])
    assert rc == 0 and "figures go to" in capsys.readouterr().out
    after = {p: p.stat().st_mtime_ns for p in fig_dir.rglob("*.png")} if fig_dir else {}
    assert before == after


def _grid() -> tuple[str, list[object]]:
    name = "asgd.two_by_two"
    base = REGISTRY.experiment(name).config("smoke")
    return name, [dataclasses.replace(base, n_grid=n) for n in (50, 60, 70, 80)]


def _same(a: list[object], b: list[object]) -> bool:
    from sgdlab.results import flatten

    fa, fb = [flatten(x) for x in a], [flatten(y) for y in b]
    return len(fa) == len(fb) and all(
        set(x) == set(y) and all(np.array_equal(np.asarray(x[k]), np.asarray(y[k])) for k in x) for x, y in zip(fa, fb)
    )


def test_sweep_on_a_dask_local_cluster_equals_the_serial_run(tmp_path: Path) -> None:
    distributed = pytest.importorskip("dask.distributed")
    name, cfgs = _grid()
    serial = Context(scale="smoke", store=ResultStore(tmp_path / "serial")).sweep(name, cfgs)
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    try:
        with distributed.Client(cluster) as client:
            remote = Context(scale="smoke", store=ResultStore(tmp_path / "dask"), executor=client).sweep(name, cfgs)
    finally:
        cluster.close()
    assert _same(serial, remote)


def test_sweep_on_submitit_equals_the_serial_run(tmp_path: Path) -> None:
    pytest.importorskip("submitit")
    from sgdlab.executors import submitit_executor

    name, cfgs = _grid()
    serial = Context(scale="smoke", store=ResultStore(tmp_path / "serial")).sweep(name, cfgs)
    ex = submitit_executor(tmp_path / "jobs", cluster="local", timeout_min=10)
    remote = Context(scale="smoke", store=ResultStore(tmp_path / "sub"), executor=ex, batch=2).sweep(name, cfgs)
    assert _same(serial, remote)


def test_same_seed_same_threads_gives_identical_json(tmp_path: Path) -> None:
    """Two runs from empty caches: the JSON is identical, notes included (only the timings differ)."""
    outs = []
    for run in ("a", "b"):
        path = tmp_path / f"{run}.json"
        rc = main(["verify", "--scale", "smoke", "--only", "asgd.exact_vs_mc", "heavy_tail.sampler_cf",
                   "--cache", str(tmp_path / f"cache-{run}"), "--json", str(path), "--no-report"])
        assert rc == 0
        data = json.loads(path.read_text())
        for o in data:
            o.pop("seconds")
        outs.append(json.dumps(data, sort_keys=True))
    assert outs[0] == outs[1]


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the fallback on a machine without CUDA")
def test_a_cuda_config_falls_back_to_the_cpu_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    import logging

    with caplog.at_level(logging.WARNING, logger="sgdlab.context"):
        cfg = Context(scale="full").config("asgd.mc")
    assert cfg.device == "cpu" and "running on the cpu instead" in caplog.text


def test_list_shows_tolerances_and_overridden_configs(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "--scale", "smoke", "--set", "asgd.two_by_two.n_grid=77"]) == 0
    out = capsys.readouterr().out
    assert "experiment asgd.two_by_two [smoke]: " in out and "n_grid=77" in out
    assert "tolerances: k_se=" in out or "tolerances: min_fraction=" in out


def test_notebook_session_takes_overrides(tmp_path: Path) -> None:
    from sgdlab.notebook import Session

    nb = Session("asgd", scale="smoke", cache=str(tmp_path), overrides={"asgd.two_by_two.n_grid": 64})
    assert nb.config("asgd.two_by_two").n_grid == 64 and len(nb.result("asgd.two_by_two").grid) == 64
    with pytest.raises(ValueError, match="has no config field"):
        Session("asgd", scale="smoke", cache=str(tmp_path), overrides={"asgd.two_by_two.nope": 1})
