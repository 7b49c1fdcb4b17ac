"""Provenance of a result: config, seeds, the suite's version (and git revision in its own checkout), package
versions, device, dtype, wall time; and the code fingerprint that makes a result computed by other code stale."""

from __future__ import annotations

import ast
import dataclasses
import hashlib
import importlib
import importlib.util
import inspect
import json
import platform
import subprocess
import sys
import textwrap
from importlib import metadata
from pathlib import Path
from typing import Any

from .paths import PACKAGE_ROOT, checkout_root

REPO_ROOT = PACKAGE_ROOT
_PACKAGES = ("numpy", "scipy", "sympy", "torch", "matplotlib", "networkx", "scikit-learn")

#: spine modules that orchestrate but never enter a result: editing them leaves cached results valid
_ORCHESTRATION = {
    "sgdlab", "sgdlab.registry", "sgdlab.specs", "sgdlab.context", "sgdlab.store", "sgdlab.verify", "sgdlab.report",
    "sgdlab.cli", "sgdlab.figures", "sgdlab.style", "sgdlab.notebook", "sgdlab.verdict", "sgdlab.overrides",
    "sgdlab.executors", "sgdlab.provenance", "sgdlab.bundle", "sgdlab.paths", "sgdlab.results", "sgdlab.__main__",
}  # fmt: skip


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


def _tracked(dep: str) -> bool:
    top = dep.split(".")[0]
    return top in ("theory", "sims") or (top == "sgdlab" and dep not in _ORCHESTRATION)


def _imports_in_source(name: str, path: str) -> set[str]:
    """Modules named by every import statement of the file, functions' bodies included (a lazy ``from sims.optim
    import clip`` inside a function is a dependency too); relative imports resolved against ``name``."""
    try:
        tree = ast.parse(Path(path).read_text())
    except (OSError, SyntaxError, ValueError):
        return set()
    is_pkg = Path(path).name == "__init__.py"
    base_parts = name.split(".") if is_pkg else name.split(".")[:-1]
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = base_parts[: len(base_parts) - (node.level - 1)] if node.level > 1 else base_parts
                mod = ".".join([*parts, node.module] if node.module else parts)
            else:
                mod = node.module or ""
            if mod:
                out.add(mod)
                out.update(f"{mod}.{a.name}" for a in node.names)  # ``from pkg import submodule``
    return out


def _spec_origin(name: str) -> str | None:
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError, AttributeError):
        return None
    return spec.origin if spec is not None and spec.origin not in (None, "built-in", "frozen") else None


def module_deps(module: str) -> list[str]:
    """``module`` and every module of ``theory``, ``sims`` and the spine's computational part (seeding, scales,
    paper packages) it uses, followed transitively through module globals (modules, functions, classes) and through
    the import statements of their sources (including imports inside functions)."""
    seen: set[str] = set()
    todo = [module]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        mod = sys.modules.get(name)
        if mod is None and _spec_origin(name) is not None:
            # import it, so that the result does not depend on what happened to be imported already (a lazy import
            # inside a function is imported only when the function runs; the fingerprint must be the same before)
            try:
                mod = importlib.import_module(name)
            except Exception:  # noqa: BLE001 - an unimportable name is simply not a dependency
                mod = None
        path = getattr(mod, "__file__", None) if mod is not None else None
        if mod is None and path is None:
            continue
        seen.add(name)
        deps: set[str] = set()
        if mod is not None:
            for v in list(vars(mod).values()):
                dep = v.__name__ if inspect.ismodule(v) else getattr(v, "__module__", None)
                # a package's submodules appear as its attributes once anything imported them: they are not its
                # dependencies (the ones it imports are found in its source below)
                if isinstance(dep, str) and not (inspect.ismodule(v) and dep.startswith(name + ".")):
                    deps.add(dep)
        if path:
            deps |= _imports_in_source(name, path)
        todo.extend(d for d in deps if _tracked(d) and d not in seen)
    return sorted(seen)


def _module_file(name: str) -> str | None:
    mod = sys.modules.get(name)
    f = getattr(mod, "__file__", None) if mod is not None else _spec_origin(name)
    return f if f and Path(f).exists() else None


def _source_files(module: str) -> list[Path] | None:
    files: set[Path] = set()
    for name in module_deps(module):
        f = _module_file(name)
        if f is None:
            return None
        files.add(Path(f).resolve())
    mod_file = getattr(sys.modules.get(module), "__file__", None)
    if mod_file and Path(mod_file).name == "__init__.py":  # a paper package: all of its files
        files |= {q.resolve() for q in Path(mod_file).parent.rglob("*.py")}
    return sorted(files)


def code_fingerprint(func: Any, *extra_objects: Any) -> str | None:
    """sha256 over the sources the experiment ``func`` depends on: its module file and the library modules it uses
    (transitively), or, for a function defined in a notebook cell or ``__main__``, the source of the function and of
    ``extra_objects`` (its config and result classes) plus the library modules they use. None when a source cannot
    be found: such a result is not cached."""
    module = func if isinstance(func, str) else func.__module__
    mod = sys.modules.get(module)
    mod_file = getattr(mod, "__file__", None)
    h = hashlib.sha256()
    in_file = module != "__main__" and bool(mod_file) and Path(str(mod_file)).is_file()
    if in_file:
        files = _source_files(module)
        if files is None:
            return None
    else:  # notebook cell, script or a module outside the suite: hash the objects' own source
        if isinstance(func, str):
            return None
        for obj in (func, *extra_objects):
            if obj is None:
                continue
            try:
                h.update(inspect.getsource(obj).encode())
            except (OSError, TypeError):
                return None
        deps: set[str] = set()
        named: set[str] = set()
        for v in list(getattr(func, "__globals__", {}).values()):
            dep = v.__name__ if inspect.ismodule(v) else getattr(v, "__module__", None)
            if isinstance(dep, str):
                named.add(dep)
        try:  # imports inside the function's body
            for node in ast.walk(ast.parse(textwrap.dedent(inspect.getsource(func)))):
                if isinstance(node, ast.Import):
                    named.update(a.name for a in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    named.add(node.module)
                    named.update(f"{node.module}.{a.name}" for a in node.names)
        except (OSError, TypeError, SyntaxError):
            return None
        for dep in named:
            if _tracked(dep):
                deps.update(module_deps(dep))
        files = []
        for name in sorted(deps):
            mf = _module_file(name)
            if mf is None:
                return None
            files.append(Path(mf).resolve())
    for fp in files:
        h.update(str(fp.relative_to(PACKAGE_ROOT) if fp.is_relative_to(PACKAGE_ROOT) else fp.name).encode())
        h.update(fp.read_bytes())
    return h.hexdigest()[:16]


def suite_version() -> str:
    try:
        return metadata.version("sgdlab")
    except metadata.PackageNotFoundError:  # pragma: no cover
        return "unknown"


def git_revision() -> str:
    """The suite's version, plus HEAD's hash (with '+dirty' for uncommitted changes) when running from the suite's
    own checkout; never the revision of some other repository the package happens to sit in."""
    version = suite_version()
    root = checkout_root()
    if root is None or not (root / ".git").exists():
        return version
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root, capture_output=True, text=True, timeout=10,
        ).stdout.strip()  # fmt: skip
        return f"{version} ({rev}{'+dirty' if dirty else ''})"
    except (OSError, subprocess.SubprocessError):
        return version


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
