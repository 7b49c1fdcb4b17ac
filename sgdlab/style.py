"""The one plotting style, and the one save helper (PNG for review, PDF for papers; byte-stable)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import matplotlib as mpl
import matplotlib.pyplot as plt
from cycler import cycler
from matplotlib.axes import Axes
from matplotlib.figure import Figure

#: Okabe-Ito, readable by colour-blind readers and in grey scale (with the line styles below).
PALETTE: tuple[str, ...] = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000")
#: Fixed colours for methods that appear in several papers.
METHOD_COLORS: dict[str, str] = {"SGD": PALETTE[0], "ASGD": PALETTE[1], "theory": "#000000", "bound": "#555555"}

RC: dict[str, Any] = {
    "figure.dpi": 110,
    "savefig.dpi": 160,
    "figure.figsize": (6.4, 4.0),
    "figure.constrained_layout.use": True,
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "legend.fontsize": 8,
    "legend.frameon": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.prop_cycle": cycler(color=list(PALETTE)),
    "lines.linewidth": 1.5,
    "image.cmap": "viridis",
    "svg.hashsalt": "sgdlab",
    "pdf.fonttype": 42,
}

#: Metadata stripped so the same figure gives the same bytes on every run.
_PNG_META = {"Software": None}
_PDF_META = {"Creator": None, "Producer": None, "CreationDate": None, "ModDate": None}


@contextmanager
def context() -> Iterator[None]:
    """Apply the style within a block (figure functions run inside it)."""
    with mpl.rc_context(RC):  # type: ignore[arg-type]
        yield


def subplots(nrows: int = 1, ncols: int = 1, *, width: float | None = None, height: float | None = None,
             **kw: Any) -> tuple[Figure, Any]:  # fmt: skip
    """``plt.subplots`` in the style, sized 3.2 x 2.6 inches per panel unless given."""
    with context():
        w = width if width is not None else 3.2 * ncols
        h = height if height is not None else 2.6 * nrows
        fig, axes = plt.subplots(nrows, ncols, figsize=(w, h), squeeze=kw.pop("squeeze", True), **kw)
    return fig, axes


def label(ax: Axes, xlabel: str, ylabel: str, title: str | None = None) -> None:
    """Axis labels (with units or the paper's notation) and an optional title."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)


def save(fig: Figure, stem: str | Path) -> list[Path]:
    """Write ``stem.png`` and ``stem.pdf`` without time stamps or software versions; returns the two paths."""
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [stem.with_suffix(".png"), stem.with_suffix(".pdf")]
    with context():
        fig.savefig(paths[0], metadata=_PNG_META)
        fig.savefig(paths[1], metadata=_PDF_META)
    return paths
