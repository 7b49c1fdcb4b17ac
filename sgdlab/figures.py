"""Rendering registered figures to <out>/<paper>/<name>.{png,pdf} (the committed figures/ only for the default
scale and configs of the suite's own checkout: see :mod:`sgdlab.paths`)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from . import style
from .context import Context
from .specs import FigureSpec


def draw(spec: FigureSpec, ctx: Context) -> Figure:
    """Call the figure function inside the style."""
    with style.context():
        fig = spec.func(ctx)
    if not isinstance(fig, Figure):
        raise TypeError(f"figure {spec.name!r} must return a matplotlib Figure, got {type(fig).__name__}")
    return fig


def render(spec: FigureSpec, ctx: Context, out_dir: str | Path) -> list[Path]:
    """Draw ``spec`` and save it as ``<out_dir>/<paper>/<name>.png`` and ``.pdf``."""
    fig = draw(spec, ctx)
    try:
        return style.save(fig, Path(out_dir) / spec.paper / spec.name)
    finally:
        plt.close(fig)
