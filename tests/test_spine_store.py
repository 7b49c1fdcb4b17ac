"""The result store never serves a wrong result: key, config and checksum checked; staleness over every module a
result depends on (spine modules and notebook cells included); temp files of killed writers cleaned; one writer per key.
"""

from __future__ import annotations

import dataclasses
import json
import linecache
import logging
import threading
import time
import types
from pathlib import Path

import numpy as np
import pytest

from sgdlab import ResultStore, by_scale, seeding
from sgdlab import store as store_mod
from sgdlab.provenance import code_fingerprint, module_deps
from sgdlab.specs import Experiment


@dataclasses.dataclass(frozen=True)
class Cfg:
    n: int = 4
    seed: int = 0


CALLS: list[Cfg] = []


def make(cfg: Cfg) -> dict[str, object]:
    CALLS.append(cfg)
    return {"x": seeding.numpy_rng(cfg.seed, "data").normal(size=cfg.n), "s": float(cfg.n)}


def config(scale: str) -> Cfg:
    return by_scale(scale, smoke=Cfg(2), default=Cfg(), full=Cfg(8))


EXP = Experiment("zzstore.make", "zzstore", make, config)


@pytest.fixture(autouse=True)
def _clear() -> None:
    CALLS.clear()


def test_a_result_for_another_config_under_the_key_is_not_used(tmp_path: Path,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    st = ResultStore(tmp_path)
    a, b = Cfg(n=4, seed=0), Cfg(n=6, seed=1)
    st.get_or_run(EXP, b)
    st.path(EXP, b).replace(st.path(EXP, a))  # a file computed for b now sits under a's key
    with caplog.at_level(logging.WARNING, logger="sgdlab.store"):
        r = st.get_or_run(EXP, a)
    assert len(r["x"]) == 4 and len(CALLS) == 2 and "computed for another config" in caplog.text


def test_edited_values_are_detected_by_the_checksum(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    st = ResultStore(tmp_path)
    cfg = Cfg()
    r = st.get_or_run(EXP, cfg)
    data = dict(r)
    data["s"] = 99.0  # an edited value that would flip a verdict
    store_mod.atomic_write_bytes(st.path(EXP, cfg), store_mod.pack(data, r.meta))
    with caplog.at_level(logging.WARNING, logger="sgdlab.store"):
        r2 = st.get_or_run(EXP, cfg)
    assert r2["s"] == 4.0 and len(CALLS) == 2 and "checksum" in caplog.text


def test_staleness_covers_spine_modules_an_experiment_uses() -> None:
    assert "sgdlab.seeding" in module_deps(__name__)  # this module uses sgdlab.seeding
    assert "sgdlab.report" not in module_deps(__name__)


def _cell(src: str, name: str) -> types.FunctionType:
    """A function defined the way a notebook cell defines it (module __main__, source in linecache)."""
    fname = f"<ipython-input-{abs(hash(src))}>"
    linecache.cache[fname] = (len(src), None, src.splitlines(True), fname)
    g: dict[str, object] = {"__name__": "__main__", "seeding": seeding}
    exec(compile(src, fname, "exec"), g)
    return g[name]  # type: ignore[return-value]


def test_a_notebook_cell_experiment_is_fingerprinted_by_its_source(tmp_path: Path) -> None:
    f1 = _cell("def cell(cfg):\n    return {'x': seeding.numpy_rng(cfg.seed, 'a').normal(size=cfg.n)}\n", "cell")
    f2 = _cell("def cell(cfg):\n    return {'x': 2 * seeding.numpy_rng(cfg.seed, 'a').normal(size=cfg.n)}\n", "cell")
    fp1, fp2 = code_fingerprint(f1), code_fingerprint(f2)
    assert fp1 and fp2 and fp1 != fp2  # an edited cell is a new fingerprint, never the old value
    st = ResultStore(tmp_path)
    r1 = st.get_or_run(Experiment("zzstore.cell", "zzstore", f1, config), Cfg())
    r2 = st.get_or_run(Experiment("zzstore.cell", "zzstore", f2, config), Cfg())
    assert np.allclose(r2["x"], 2 * r1["x"])


def test_without_source_nothing_is_cached(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    g: dict[str, object] = {"__name__": "__main__"}
    exec("def nosrc(cfg):\n    return {'x': 1.0}\n", g)
    exp = Experiment("zzstore.nosrc", "zzstore", g["nosrc"], config)  # type: ignore[arg-type]
    st = ResultStore(tmp_path)
    with caplog.at_level(logging.WARNING, logger="sgdlab.store"):
        st.get_or_run(exp, Cfg())
    assert "not cached" in caplog.text and not st.path(exp, Cfg()).exists()


def test_temp_files_of_a_killed_writer_are_removed(tmp_path: Path) -> None:
    st = ResultStore(tmp_path)
    p = st.path(EXP, Cfg())
    p.parent.mkdir(parents=True)
    stale = p.parent / f".{p.name}.abc123.tmp"
    stale.write_bytes(b"half a file")
    st.get_or_run(EXP, Cfg())
    assert not stale.exists() and p.exists()


def test_concurrent_writers_compute_once(tmp_path: Path) -> None:
    slow_calls: list[int] = []

    def slow(cfg: Cfg) -> dict[str, object]:
        slow_calls.append(1)
        time.sleep(0.3)
        return {"x": np.arange(cfg.n)}

    exp = Experiment("zzstore.slow", "zzstore", slow, config)
    st = ResultStore(tmp_path)
    threads = [threading.Thread(target=st.get_or_run, args=(exp, Cfg())) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(slow_calls) == 1


def test_meta_holds_the_request_and_the_suite_version(tmp_path: Path) -> None:
    st = ResultStore(tmp_path)
    r = st.get_or_run(EXP, Cfg())
    assert r.meta["config"] == {"n": 4, "seed": 0} and r.meta["experiment"] == EXP.name
    assert len(r.meta["checksum"]) == 64 and r.meta["git_revision"].startswith("0.")
    json.dumps(r.meta, allow_nan=False)


def test_imports_inside_functions_are_dependencies() -> None:
    """A lazy import in an experiment's body (``from sims.optim import clip`` inside the function) is followed."""
    deps = module_deps("sgdlab.papers.sharpness.experiments")
    assert {"sims.optim.clip", "sims.nets.lm_training", "sims.nets.directional", "theory.directional_sharpness"} <= set(deps)
    f = _cell("def lazy(cfg):\n    from sims import runs\n    return {'x': float(cfg.n)}\n", "lazy")
    g = _cell("def lazy(cfg):\n    return {'x': float(cfg.n)}\n", "lazy")
    assert code_fingerprint(f) != code_fingerprint(g)


def test_the_fingerprint_does_not_depend_on_what_is_already_imported() -> None:
    """A fresh process (lazy imports not yet run) and one that has run the experiment give the same fingerprint."""
    import subprocess
    import sys

    code = ("import sys; from sgdlab.registry import REGISTRY; from sgdlab.store import fingerprint; "
            "e = REGISTRY.experiment('sharpness.trajectory'); a = fingerprint(e); "
            "import sims.nets.lm_training, sims.optim.clip, sims.nets.directional; b = fingerprint(e); "
            "print(a, b); sys.exit(0 if a == b else 1)")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    ours = fingerprint_of("sharpness.trajectory")
    assert out.stdout.split()[0] == ours


def fingerprint_of(name: str) -> str | None:
    from sgdlab.registry import REGISTRY
    from sgdlab.store import fingerprint

    return fingerprint(REGISTRY.experiment(name))


def test_the_fingerprint_ignores_unrelated_submodules_of_a_package() -> None:
    """Importing another module of the same package (here sims.optim.psgd next to sims.optim.clip) must not change
    an experiment's fingerprint."""
    import importlib

    before = fingerprint_of("sharpness.quadratic")
    importlib.import_module("sims.optim.psgd")
    importlib.import_module("sgdlab.papers.fedfix")
    assert fingerprint_of("sharpness.quadratic") == before
