"""What a notebook needs from the suite, in a few calls (the logic stays in the packages)."""

from __future__ import annotations

import os
from typing import Any

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from . import style
from .bundle import committed_bundle
from .context import Context
from .figures import draw
from .registry import REGISTRY, discover_papers
from .report import markdown_table
from .store import Result, ResultStore
from .verify import Outcome, run_claims


def _display(obj: Any, markdown: str | None = None) -> None:
    try:
        from IPython import get_ipython
        from IPython.display import Markdown, display

        if get_ipython() is not None:
            display(Markdown(markdown) if markdown is not None else obj)
            return
    except ImportError:
        pass
    print(markdown if markdown is not None else obj)


class Session:
    """A notebook's handle on one paper: results, figures and verdicts through the same store as the CLI.

    ``scale`` defaults to the environment variable SGDLAB_SCALE (else "default"), read when the session is made;
    ``cache`` to SGDLAB_CACHE (else the CLI's default store).
    """

    def __init__(self, paper: str, scale: str | None = None, cache: str | None = None, device: str | None = None,
                 overrides: Any = None) -> None:  # fmt: skip
        self.paper = paper
        self.scale = scale or os.environ.get("SGDLAB_SCALE", "default")
        self.ctx = Context(scale=self.scale, store=ResultStore(cache or os.environ.get("SGDLAB_CACHE")), device=device,
                           overrides=overrides)  # fmt: skip
        if paper in discover_papers():
            REGISTRY.load_paper(paper)
        if paper not in REGISTRY.papers():
            raise ValueError(f"paper {paper!r} has no registered experiments or claims; known: {REGISTRY.paper_keys()}")
        self.ctx.validate_overrides()

    def config(self, name: str, **overrides: Any) -> Any:
        return self.ctx.config(name, **overrides)

    def result(self, name: str, cfg: Any = None, **overrides: Any) -> Result:
        return self.ctx.result(name, cfg, **overrides)

    def bundle(self, name: str) -> Result | None:
        """A committed GPU bundle under results/<name>/, or None when there is none."""
        return committed_bundle(name)

    def figure(self, figure_name: str) -> Figure:
        """Draw a registered figure in the suite's style and return it, without displaying it."""
        fig = draw(REGISTRY.figure(figure_name), self.ctx)
        plt.close(fig)  # not left open: the inline backend would display an open figure at the end of the cell
        return fig

    def show(self, figure_name: str) -> None:
        """Draw a registered figure and display it once (returns nothing, so a cell ending in ``nb.show(...)`` does
        not display the figure a second time as the cell's value)."""
        _display(self.figure(figure_name))

    def verdicts(self, only: list[str] | None = None) -> list[Outcome]:
        """Run the paper's claims (or ``only`` these) and display the verdict table."""
        claims = REGISTRY.select_claims(only or [self.paper])
        outcomes = run_claims(claims, self.ctx)
        _display(None, markdown_table(outcomes))
        return outcomes

    @staticmethod
    def subplots(*args: Any, **kw: Any) -> Any:
        return style.subplots(*args, **kw)
