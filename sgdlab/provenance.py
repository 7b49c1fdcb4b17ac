"""Provenance of a result: config, seeds, git revision, package versions, device, dtype, wall time."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
_PACKAGES = ("numpy", "scipy", "sympy", "torch", "matplotlib", "networkx", "scikit-learn")


def config_dict(cfg: Any) -> dict[str, Any]:
    """The config as a JSON-able dict (tuples become lists); raises a ValueError on values JSON cannot hold."""
    d = dataclasses.asdict(cfg)
    try:
        json.dumps(d, allow_nan=False)
    except (TypeError, ValueError) as err:
        raise ValueError(f"config {type(cfg).__name__} must hold JSON-able finite values only: {err}") from None
    return d


def canonical_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)


def result_key(name: str, cfg: Any, schema: int) -> str:
    """sha256 of (experiment, config, schema), 16 hex digits: the store's key. Seeds are config fields."""
    payload = canonical_json({"experiment": name, "config": config_dict(cfg), "schema": schema})
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def code_fingerprint(module: str) -> str:
    """sha256 over the sources of theory/, sims/ and the experiment's module (or package): a changed source makes
    a cached result stale."""
    h = hashlib.sha256()
    files: list[Path] = []
    for pkg in ("theory", "sims"):
        files += sorted((REPO_ROOT / pkg).rglob("*.py"))
    mod = sys.modules.get(module)
    mod_file = getattr(mod, "__file__", None)
    if mod_file:
        p = Path(mod_file)
        files += sorted(p.parent.rglob("*.py")) if p.name == "__init__.py" else [p]
    for f in files:
        h.update(str(f.relative_to(REPO_ROOT) if f.is_relative_to(REPO_ROOT) else f).encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def git_revision() -> str:
    """HEAD's hash, with '+dirty' when the tree has uncommitted changes; 'unknown' outside a git checkout."""
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=REPO_ROOT, capture_output=True, text=True, timeout=10,
        ).stdout.strip()  # fmt: skip
        return rev + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def package_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for p in _PACKAGES:
        try:
            out[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            out[p] = "absent"
    return out


def device_description(device: str) -> str:
    if device.startswith("cuda"):
        import torch

        if torch.cuda.is_available():
            return f"{device} ({torch.cuda.get_device_name(torch.device(device))})"
    return f"{device} ({platform.processor() or platform.machine()})"
