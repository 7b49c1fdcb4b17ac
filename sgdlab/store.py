"""The result store: one ``.npz`` file per (experiment, config, schema), checked before use, written atomically.

Layout: ``<root>/<experiment>/<key>.npz``, ``key = sha256(experiment, config, schema)[:16]``. The file holds the
result's arrays and a ``__meta__`` JSON string: the experiment, key, schema and full config it was computed for, a
sha256 checksum of its arrays, the code fingerprint, and provenance (seeds, version, package versions, device, dtype,
wall time). A file is used only when its experiment, key, schema and config equal the request's, its checksum
matches its arrays and its code fingerprint equals the current sources'; otherwise it is recomputed and the log says
why. An experiment whose sources cannot be found (so staleness cannot be judged) is computed and not cached.
Writers take a lock per key (a concurrent writer waits and then reuses the result) and remove temp files that a
killed writer left.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from filelock import FileLock

from .paths import cache_root, check_writable
from .provenance import (
    code_fingerprint,
    config_dict,
    device_description,
    git_revision,
    package_versions,
    result_key,
)
from .results import flatten, is_typed, unflatten
from .specs import Experiment

log = logging.getLogger("sgdlab.store")
META = "__meta__"


class Result(dict[str, Any]):
    """The arrays of one experiment run (a dict name -> numpy array or python scalar/str) plus ``meta``."""

    meta: dict[str, Any]

    def __init__(self, data: Mapping[str, Any], meta: dict[str, Any] | None = None) -> None:
        super().__init__(data)
        self.meta = meta or {}


def normalise(outputs: Any) -> dict[str, Any]:
    """Outputs as they come back from disk: numpy arrays, 0-d values as python scalars. Rejects what npz can't hold.
    A dataclass result is flattened first (:mod:`sgdlab.results`)."""
    if is_typed(outputs):
        outputs = flatten(outputs)
    if not isinstance(outputs, Mapping):
        raise TypeError(f"an experiment must return a mapping of arrays or a dataclass, got {type(outputs).__name__}")
    out: dict[str, Any] = {}
    for k, v in outputs.items():
        if not isinstance(k, str) or not k or k == META:
            raise ValueError(f"output names must be non-empty strings other than {META!r}, got {k!r}")
        if hasattr(v, "detach"):  # a torch tensor slipped through
            v = v.detach().cpu().numpy()
        a = np.asarray(v)
        if a.dtype == object:
            raise ValueError(f"output {k!r} has object dtype; return numeric arrays or strings")
        out[k] = a.item() if a.ndim == 0 else a
    return out


def checksum(data: Mapping[str, Any]) -> str:
    """sha256 over the arrays' names, dtypes, shapes and bytes (in name order)."""
    h = hashlib.sha256()
    for k in sorted(data):
        a = np.ascontiguousarray(np.asarray(data[k]))
        h.update(k.encode())
        h.update(str(a.dtype).encode())
        h.update(str(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and an atomic rename (fsynced)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode())


def pack(arrays: Mapping[str, Any], meta: Mapping[str, Any]) -> bytes:
    buf = io.BytesIO()
    payload: dict[str, Any] = {k: np.asarray(v) for k, v in arrays.items()}
    payload[META] = np.array(json.dumps(meta))
    np.savez_compressed(buf, **payload)
    return buf.getvalue()


def unpack(path: Path) -> Result:
    with np.load(path, allow_pickle=False) as z:
        meta = json.loads(str(z[META]))
        data = normalise({k: z[k] for k in z.files if k != META})
    return Result(data, meta)


def default_root() -> Path:
    """``<checkout>/.sgdlab_cache`` in the suite's checkout, else the platform cache folder (XDG_CACHE_HOME)."""
    return cache_root()


def fingerprint(exp: Experiment) -> str | None:
    return code_fingerprint(exp.func, exp.config, exp.result)


class ResultStore:
    """Caches experiment results on disk; see the module docstring."""

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self.root = Path(root) if root is not None else default_root()
        self._warned: set[str] = set()

    def check_writable(self) -> None:
        """A clear error now (not a traceback after the run) when the cache folder cannot be written."""
        check_writable(self.root, "the result cache (--cache)")

    def path(self, exp: Experiment, cfg: Any) -> Path:
        return self.root / exp.name / f"{result_key(exp.name, cfg, exp.schema)}.npz"

    def why_invalid(self, r: Result, exp: Experiment, cfg: Any, fp: str | None) -> str | None:
        """The reason a stored result may not be used for (exp, cfg), or None when it may."""
        m = r.meta
        if m.get("experiment") != exp.name:
            return f"it was computed for experiment {m.get('experiment')!r}"
        if m.get("schema") != exp.schema:
            return f"its schema is {m.get('schema')!r}, not {exp.schema}"
        if m.get("config") != json.loads(json.dumps(config_dict(cfg))):
            return "it was computed for another config"
        if m.get("key") != result_key(exp.name, cfg, exp.schema):
            return "its key differs from the request's"
        if m.get("checksum") != checksum(r):
            return "its arrays do not match their checksum (edited or corrupted)"
        if fp is None or m.get("code_fingerprint") != fp:
            return "the code it depends on changed since it was computed"
        return None

    def load(self, exp: Experiment, cfg: Any, *, quiet: bool = False) -> Result | None:
        """The cached result, or None when absent, unreadable, for another request, corrupted or stale."""
        p = self.path(exp, cfg)
        if not p.exists():
            return None
        try:
            r = unpack(p)
        except Exception as err:  # a torn or foreign file: recompute
            log.warning("ignoring unreadable cache file %s: %s", p, err)
            return None
        why = self.why_invalid(r, exp, cfg, fingerprint(exp))
        if why is not None:
            if quiet:
                return None
            log.warning("not using cached %s (%s): %s; recomputing", exp.name, p.name, why)
            return None
        return r

    def save(self, exp: Experiment, cfg: Any, outputs: Any, meta: Mapping[str, Any]) -> Result:
        data = normalise(outputs)
        meta = {**meta, "checksum": checksum(data)}
        if meta.get("code_fingerprint") is None:
            if exp.name not in self._warned:
                self._warned.add(exp.name)
                log.warning("%s: its source code cannot be found, so a cached result could not be checked for "
                            "staleness: computed, not cached", exp.name)  # fmt: skip
            return Result(data, dict(meta))
        atomic_write_bytes(self.path(exp, cfg), pack(data, meta))
        return Result(data, dict(meta))

    def _clean_temps(self, p: Path) -> None:
        """Remove temp files of ``p`` (called under its lock: any temp file is a killed writer's leftover)."""
        for t in p.parent.glob(f".{p.name}.*.tmp"):
            try:
                t.unlink()
            except OSError:  # pragma: no cover
                pass

    def get_or_run(self, exp: Experiment, cfg: Any, *, force: bool = False) -> Result:
        """Load the cached result for (exp, cfg) or compute, store and return it (one writer per key at a time)."""
        if not force:
            r = self.load(exp, cfg)
            if r is not None:
                return r
        p = self.path(exp, cfg)
        p.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(p) + ".lock"):
            self._clean_temps(p)
            if not force:  # another writer may have finished while we waited
                r = self.load(exp, cfg, quiet=True)
                if r is not None:
                    return r
            outputs, meta = compute(exp, cfg)
            return self.save(exp, cfg, outputs, meta)

    def typed(self, exp: Experiment, r: Result) -> Any:
        """The result as the experiment's declared dataclass (with ``meta`` attached), or ``r`` itself."""
        if exp.result is None:
            return r
        obj = unflatten(exp.result, r)
        try:
            object.__setattr__(obj, "meta", r.meta)
        except (AttributeError, TypeError):  # pragma: no cover  (slots)
            pass
        return obj


def compute(exp: Experiment, cfg: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run the experiment function on ``cfg``; return (normalised outputs, provenance)."""
    fp = fingerprint(exp)  # of the sources as they are when the run starts (an edit during the run makes it stale)
    t0 = time.perf_counter()
    raw = exp.func(cfg)
    if exp.result is not None and not isinstance(raw, exp.result):
        raise TypeError(f"experiment {exp.name} declares result {exp.result.__name__} but returned "
                        f"{type(raw).__name__}")  # fmt: skip
    outputs = normalise(raw)
    wall = time.perf_counter() - t0
    cd = config_dict(cfg)
    meta = {
        "experiment": exp.name,
        "paper": exp.paper,
        "schema": exp.schema,
        "key": result_key(exp.name, cfg, exp.schema),
        "config_type": type(cfg).__name__,
        "config": cd,
        "seeds": {k: v for k, v in cd.items() if "seed" in k},
        "git_revision": git_revision(),
        "packages": package_versions(),
        "device": device_description(str(cd.get("device", "cpu"))),
        "dtype": str(cd.get("dtype", "float64")),
        "wall_seconds": wall,
        "finished_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "code_fingerprint": fp,
    }
    return outputs, meta
