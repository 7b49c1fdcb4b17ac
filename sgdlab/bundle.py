"""Result bundles: the compact, committed form of an expensive (GPU) run, under results/<experiment>/.

A bundle is a folder with ``arrays.npz`` (the outputs) and ``meta.json`` (provenance: config, seeds, git revision,
package versions, device, dtype, wall time). It is written atomically file by file, meta last.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from . import paths
from .store import META, Result, atomic_write_bytes, checksum, normalise, pack


def write_bundle(out_dir: str | Path, name: str, outputs: dict[str, Any], meta: dict[str, Any]) -> Path:
    """Write ``<out_dir>/<name>/{arrays.npz,meta.json}``; returns the bundle folder."""
    folder = Path(out_dir) / name
    data = normalise(outputs)
    meta = {**meta, "checksum": checksum(data)}
    atomic_write_bytes(folder / "arrays.npz", pack(data, {"experiment": name}))
    atomic_write_bytes(folder / "meta.json", (json.dumps(meta, indent=1, sort_keys=True) + "\n").encode())
    return folder


def load_bundle(folder: str | Path) -> Result:
    """Read a bundle folder written by :func:`write_bundle` (``python -m sgdlab run ... --out DIR``)."""
    folder = Path(folder)
    if not (folder / "meta.json").exists():
        raise FileNotFoundError(f"no bundle at {folder} (expected arrays.npz and meta.json)")
    meta = json.loads((folder / "meta.json").read_text())
    with np.load(folder / "arrays.npz", allow_pickle=False) as z:
        data = normalise({k: z[k] for k in z.files if k != META})
    if "checksum" in meta and meta["checksum"] != checksum(data):
        raise ValueError(f"bundle {folder}: its arrays do not match the checksum in meta.json (edited or corrupted)")
    return Result(data, meta)


def committed_bundle(name: str) -> Result | None:
    """The bundle committed under results/<name>/ of the suite's checkout, if there is one."""
    root = paths.results_dir()
    if root is None:
        return None
    folder = root / name
    return load_bundle(folder) if (folder / "meta.json").exists() else None
