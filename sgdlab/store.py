"""The result store: one ``.npz`` file per (experiment, config, schema), written atomically, with provenance.

Layout: ``<root>/<experiment>/<key>.npz``, ``key = sha256(experiment, config, schema)[:16]``. The file holds the
result's arrays and a ``__meta__`` JSON string (config, seeds, git revision, package versions, device, dtype, wall
time, code fingerprint). A result whose code fingerprint differs from the current sources is stale: it is
recomputed (and the log says so), never silently reused.
"""

from __future__ import annotations

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

from .provenance import (
    REPO_ROOT,
    code_fingerprint,
    config_dict,
    device_description,
    git_revision,
    package_versions,
    result_key,
)
from .registry import Experiment

log = logging.getLogger("sgdlab.store")
META = "__meta__"


class Result(dict[str, Any]):
    """The arrays of one experiment run (a dict name -> numpy array or python scalar/str) plus ``meta``."""

    meta: dict[str, Any]

    def __init__(self, data: Mapping[str, Any], meta: dict[str, Any] | None = None) -> None:
        super().__init__(data)
        self.meta = meta or {}


def normalise(outputs: Mapping[str, Any]) -> dict[str, Any]:
    """Outputs as they come back from disk: numpy arrays, 0-d values as python scalars. Rejects what npz can't hold."""
    if not isinstance(outputs, Mapping):
        raise TypeError(f"an experiment must return a mapping of arrays, got {type(outputs).__name__}")
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


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and an atomic rename."""
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
    """``<repo>/.sgdlab_cache`` for a source checkout, else ``~/.cache/sgdlab``."""
    if (REPO_ROOT / "pyproject.toml").exists():
        return REPO_ROOT / ".sgdlab_cache"
    return Path.home() / ".cache" / "sgdlab"


class ResultStore:
    """Caches experiment results on disk; see the module docstring."""

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self.root = Path(root) if root is not None else default_root()

    def path(self, exp: Experiment, cfg: Any) -> Path:
        return self.root / exp.name / f"{result_key(exp.name, cfg, exp.schema)}.npz"

    def load(self, exp: Experiment, cfg: Any) -> Result | None:
        """The cached result, or None when absent, unreadable or stale (code fingerprint changed)."""
        p = self.path(exp, cfg)
        if not p.exists():
            return None
        try:
            r = unpack(p)
        except Exception as err:  # a torn or foreign file: recompute
            log.warning("ignoring unreadable cache file %s: %s", p, err)
            return None
        if r.meta.get("code_fingerprint") != code_fingerprint(exp.module):
            log.info("stale result for %s (%s): code changed since it was computed; recomputing", exp.name, p.name)
            return None
        return r

    def save(self, exp: Experiment, cfg: Any, outputs: Mapping[str, Any], meta: Mapping[str, Any]) -> Result:
        data = normalise(outputs)
        atomic_write_bytes(self.path(exp, cfg), pack(data, meta))
        return Result(data, dict(meta))

    def get_or_run(self, exp: Experiment, cfg: Any, *, force: bool = False) -> Result:
        """Load the cached result for (exp, cfg) or compute, store and return it."""
        if not force:
            r = self.load(exp, cfg)
            if r is not None:
                return r
        outputs, meta = compute(exp, cfg)
        return self.save(exp, cfg, outputs, meta)


def compute(exp: Experiment, cfg: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run the experiment function on ``cfg``; return (normalised outputs, provenance)."""
    t0 = time.perf_counter()
    outputs = normalise(exp.func(cfg))
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
        "code_fingerprint": code_fingerprint(exp.module),
    }
    return outputs, meta
