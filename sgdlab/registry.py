"""Registries of experiments, claims and figures, filled by the decorators when a paper package is imported.

Paper packages are discovered, never listed: every package (or module) under ``sgdlab.papers`` is a paper, and so
is every module named by an entry point of the group ``sgdlab.papers`` in an installed distribution. A paper is
imported only when something of it is asked for (``Context`` does not import every paper).
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil
import re
from collections.abc import Callable, Iterable, Mapping
from importlib import metadata
from typing import TYPE_CHECKING, Any, TypeVar

from .specs import SCALES, VERDICTS, Claim, Experiment, FigureSpec, Tol, paper_of

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

F = TypeVar("F", bound=Callable[..., Any])
_KEY = re.compile(r"^[a-z][a-z0-9_]*$")


def discover_papers() -> dict[str, str]:
    """Paper key -> module to import: packages/modules of ``sgdlab.papers``, then entry points ``sgdlab.papers``."""
    import sgdlab.papers as papers

    out = {info.name: f"sgdlab.papers.{info.name}" for info in pkgutil.iter_modules(papers.__path__)
           if not info.name.startswith("_")}  # fmt: skip
    for ep in metadata.entry_points(group="sgdlab.papers"):
        out.setdefault(ep.name, ep.value)
    return dict(sorted(out.items()))


class Registry:
    """Holds what the decorators register; :data:`REGISTRY` is the one instance."""

    def __init__(self) -> None:
        self.experiments: dict[str, Experiment] = {}
        self.claims: dict[str, Claim] = {}
        self.figures: dict[str, FigureSpec] = {}
        self._loaded: set[str] = set()

    # -- loading -------------------------------------------------------------------------------------------------
    def load_paper(self, key: str) -> None:
        """Import paper ``key`` (registering its experiments, claims and figures); idempotent."""
        if key in self._loaded:
            return
        papers = discover_papers()
        if key not in papers:
            raise ValueError(f"unknown paper {key!r}; papers found: {sorted(papers)}")
        importlib.import_module(papers[key])
        self._loaded.add(key)

    def load_all(self) -> Registry:
        for key in discover_papers():
            self.load_paper(key)
        return self

    def paper_keys(self) -> list[str]:
        """Every paper key: discovered packages and papers registered from elsewhere (a notebook cell)."""
        return sorted(set(discover_papers()) | self.papers())

    # -- adding --------------------------------------------------------------------------------------------------
    @staticmethod
    def _check_paper(paper: str) -> None:
        if not isinstance(paper, str) or not _KEY.match(paper):
            raise ValueError(f"paper must be a lower-case identifier (a paper key such as 'asgd'), got {paper!r}")

    def add_experiment(self, e: Experiment) -> None:
        self._check_paper(e.paper)
        if paper_of(e.name) != e.paper:
            raise ValueError(f"experiment {e.name!r} must be named '{e.paper}.<name>' (its paper key first)")
        old = self.experiments.get(e.name)
        if old is not None and old.module != e.module:
            raise ValueError(f"experiment {e.name!r} registered twice ({old.module} and {e.module})")
        self.experiments[e.name] = e

    def add_claim(self, c: Claim) -> None:
        self._check_paper(c.paper)
        exp = c.expected if isinstance(c.expected, Mapping) else {s: c.expected for s in SCALES}
        if set(exp) != set(SCALES) or any(v not in VERDICTS for v in exp.values()):
            raise ValueError(f"claim {c.id!r}: expected must be a verdict or a dict over {SCALES}, got {c.expected!r}")
        if not isinstance(c.tol, Tol):
            raise ValueError(f"claim {c.id!r}: tol must be a sgdlab.Tol, got {type(c.tol).__name__}")
        self.claims[c.id] = c

    def add_figure(self, f: FigureSpec) -> None:
        self._check_paper(f.paper)
        self.figures[f.name] = f

    # -- looking up ----------------------------------------------------------------------------------------------
    def experiment(self, name: str) -> Experiment:
        if name not in self.experiments:
            key = paper_of(name)
            if key in discover_papers():
                self.load_paper(key)
        try:
            return self.experiments[name]
        except KeyError:
            raise ValueError(f"unknown experiment {name!r}; known: {sorted(self.experiments)}") from None

    def figure(self, name: str) -> FigureSpec:
        if name not in self.figures:
            self.load_all()
        try:
            return self.figures[name]
        except KeyError:
            raise ValueError(f"unknown figure {name!r}; known: {sorted(self.figures)}") from None

    @staticmethod
    def _match(key: str, ident: str, paper: str) -> bool:
        return key == paper or key == ident or ident.startswith(key + ".") or ident.startswith(key + "_")

    def _load_for(self, keys: list[str]) -> None:
        papers = discover_papers()
        wanted = {k for k in keys if k in papers} | {paper_of(k) for k in keys if paper_of(k) in papers}
        if not keys or len(wanted) < len(keys):
            self.load_all()  # a claim id whose prefix is not its paper (e.g. sgd.zou_bound in asgd)
        else:
            for k in sorted(wanted):
                self.load_paper(k)

    def select_claims(self, only: Iterable[str] | None = None) -> list[Claim]:
        """Claims whose paper key, id or id prefix is in ``only`` (all when None), in registration order."""
        keys = list(only or [])
        self._load_for(keys)
        out = [c for c in self.claims.values() if not keys or any(self._match(k, c.id, c.paper) for k in keys)]
        if keys and not out:
            raise ValueError(f"--only {keys} selects no claim; papers with claims: {sorted(self.papers())}")
        return out

    def select_figures(self, only: Iterable[str] | None = None) -> list[FigureSpec]:
        keys = list(only or [])
        self._load_for(keys)
        return [f for f in self.figures.values() if not keys or any(self._match(k, f.name, f.paper) for k in keys)]

    def papers(self) -> set[str]:
        """Papers with something registered so far."""
        return ({c.paper for c in self.claims.values()} | {e.paper for e in self.experiments.values()}
                | {f.paper for f in self.figures.values()})  # fmt: skip


REGISTRY = Registry()


def load_all() -> Registry:
    """Import every paper (registering their experiments, claims, figures); idempotent."""
    return REGISTRY.load_all()


def experiment(
    name: str, *, paper: str, config: Callable[[str], Any], schema: int = 1, result: type | None = None
) -> Callable[[F], F]:
    """Register ``func(cfg)`` as experiment ``name`` (``'<paper>.<name>'``); ``config(scale)`` returns a frozen
    dataclass. ``func`` returns named arrays, or an instance of the dataclass ``result`` (flattened by the store)."""

    def deco(func: F) -> F:
        for s in SCALES:
            cfg = config(s)
            if not (dataclasses.is_dataclass(cfg) and not isinstance(cfg, type)):
                raise TypeError(f"experiment {name!r}: config({s!r}) must return a dataclass instance")
        if result is not None and not (dataclasses.is_dataclass(result) and isinstance(result, type)):
            raise TypeError(f"experiment {name!r}: result must be a dataclass type, got {result!r}")
        REGISTRY.add_experiment(Experiment(name, paper, func, config, schema, result))
        return func

    return deco


def claim(
    id: str, *, paper: str, statement: str, expected: str | Mapping[str, str] = "holds",
    experiments: tuple[str, ...] = (), tol: Tol | None = None,
) -> Callable[[F], F]:  # fmt: skip
    """Register ``func(ctx, tol) -> Verdict`` (or ``func(ctx)``) as claim ``id`` with its statement, expected
    verdict and tolerances (``tol=Tol(k_se=4)``: the one place its thresholds are stated)."""

    def deco(func: F) -> F:
        n_pos = len([p for p in inspect.signature(func).parameters.values()
                     if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)])  # fmt: skip
        if n_pos not in (1, 2):
            raise TypeError(f"claim {id!r}: the function must take (ctx) or (ctx, tol)")
        REGISTRY.add_claim(Claim(id, paper, " ".join(statement.split()), func, expected, experiments,
                                 tol if tol is not None else Tol()))
        return func

    return deco


def figure(name: str, *, paper: str) -> Callable[[Callable[[Any], Figure]], Callable[[Any], Figure]]:
    """Register ``func(ctx) -> matplotlib Figure`` as figure ``name`` (saved as <out>/<paper>/<name>.{png,pdf})."""

    def deco(func: Callable[[Any], Figure]) -> Callable[[Any], Figure]:
        REGISTRY.add_figure(FigureSpec(name, paper, func))
        return func

    return deco
