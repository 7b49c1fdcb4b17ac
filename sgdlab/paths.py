"""Where the suite reads and writes: the committed outputs of its own checkout, the cache, and output folders.

Only a run from the suite's own source checkout, at the default scale, on the embedded configs and for the whole
suite writes the committed ``reports/verification.md`` and ``figures/``. Every other run (overrides, another scale,
``--only``, an installed package) writes under an output folder and says where. Nothing is ever written into
site-packages. Environment variables are read when a function is called, never at import.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parents[1]


def checkout_root() -> Path | None:
    """The suite's own source checkout (a folder with the suite's pyproject.toml and sgdlab/), else None."""
    pp = PACKAGE_ROOT / "pyproject.toml"
    try:
        if pp.exists() and 'name = "sgdlab"' in pp.read_text() and (PACKAGE_ROOT / "sgdlab").is_dir():
            return PACKAGE_ROOT
    except OSError:  # pragma: no cover
        return None
    return None


def cache_root() -> Path:
    """``<checkout>/.sgdlab_cache`` in the source checkout; else the platform cache folder (``$XDG_CACHE_HOME/sgdlab``,
    by default ``~/.cache/sgdlab`` on Linux)."""
    root = checkout_root()
    if root is not None:
        return root / ".sgdlab_cache"
    try:
        from platformdirs import user_cache_dir

        return Path(user_cache_dir("sgdlab", appauthor=False))
    except ImportError:  # pragma: no cover
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        return Path(base) / "sgdlab"


def committed_figures() -> Path | None:
    root = checkout_root()
    return root / "figures" if root is not None else None


def committed_report() -> Path | None:
    root = checkout_root()
    return root / "reports" / "verification.md" if root is not None else None


def results_dir() -> Path | None:
    """Committed GPU bundles (``results/``) of the checkout; None for an installed package."""
    root = checkout_root()
    return root / "results" if root is not None else None


def default_out(tag: str) -> Path:
    """Output folder of a non-committed run: ``<cache>/out/<tag>`` in the checkout, ``./sgdlab-out/<tag>`` else."""
    if checkout_root() is not None:
        return cache_root() / "out" / tag
    return Path.cwd() / "sgdlab-out" / tag


def check_writable(folder: Path, what: str) -> None:
    """Raise a ValueError naming ``what`` when ``folder`` cannot be created or written (checked before a run)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".write-test-")
        os.close(fd)
        os.unlink(tmp)
    except OSError as err:
        raise ValueError(f"{what} {folder} is not writable: {err.strerror or err}") from None
