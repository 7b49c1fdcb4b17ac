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


def _library_deps(module: str) -> list[Path]:
    """Source files of ``module`` and of every ``theory``/``sims`` module it uses, followed transitively through
    module globals (imported modules, functions and classes)."""
    import inspect

    seen: set[str] = set()
    todo = [module]
    while todo:
        name = todo.pop()
        if name in seen or name not in sys.modules:
            continue
        seen.add(name)
        for v in vars(sys.modules[name]).values():
            dep = v.__name__ if inspect.ismodule(v) else getattr(v, "__module__", None)
            if isinstance(dep, str) and dep.split(".")[0] in ("theory", "sims") and dep not in seen:
                todo.append(dep)
    files: set[Path] = set()
    for name in seen:
        f = getattr(sys.modules[name], "__file__", None)
        if f:
            files.add(Path(f).resolve())
    mod_file = getattr(sys.modules.get(module), "__file__", None)
    if mod_file and Path(mod_file).name == "__init__.py":  # a paper package: all of its files
        files |= {q.resolve() for q in Path(mod_file).parent.rglob("*.py")}
    return sorted(files)


def code_fingerprint(module: str) -> str:
    """sha256 over the sources of the experiment's module and of the theory/sims modules it uses (transitively):
    a result computed by other code is stale and gets recomputed."""
    h = hashlib.sha256()
    for f in _library_deps(module):
        h.update(str(f.relative_to(REPO_ROOT) if f.is_relative_to(REPO_ROOT) else f.name).encode())
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
