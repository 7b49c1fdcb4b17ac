"""Rendering registered figures to figures/<paper>/<name>.{png,pdf}."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from . import style
from .context import Context
from .provenance import REPO_ROOT
from .registry import FigureSpec

FIGURES_DIR = REPO_ROOT / "figures"


def draw(spec: FigureSpec, ctx: Context) -> Figure:
    """Call the figure function inside the style."""
    with style.context():
        fig = spec.func(ctx)
    if not isinstance(fig, Figure):
        raise TypeError(f"figure {spec.name!r} must return a matplotlib Figure, got {type(fig).__name__}")
    return fig


def render(spec: FigureSpec, ctx: Context, out_dir: str | Path = FIGURES_DIR) -> list[Path]:
    """Draw ``spec`` and save it as ``<out_dir>/<paper>/<name>.png`` and ``.pdf``."""
    fig = draw(spec, ctx)
    try:
        return style.save(fig, Path(out_dir) / spec.paper / spec.name)
    finally:
        plt.close(fig)


def existing(spec: FigureSpec, out_dir: str | Path = FIGURES_DIR) -> Path | None:
    p = Path(out_dir) / spec.paper / f"{spec.name}.png"
    return p if p.exists() else None
