"""Registries of experiments, claims and figures, filled by the decorators at import of ``sgdlab.papers.*``."""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .scales import SCALES, check_scale

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

    from .context import Context
    from .verdict import Verdict

PAPER_KEYS: tuple[str, ...] = (
    "asgd", "heavy_tail", "stability", "noise_regimes", "dsgd", "sharpness", "adabelief", "diffgrad", "sgd_sai",
    "psgd", "signround", "monna", "fedfix",
)  # fmt: skip


@dataclass(frozen=True)
class Experiment:
    """A pure function of a frozen config (dataclass) returning named arrays; ``config(scale)`` gives its sizes."""

    name: str
    paper: str
    func: Callable[[Any], Mapping[str, Any]]
    config: Callable[[str], Any]
    schema: int = 1

    @property
    def module(self) -> str:
        return self.func.__module__


@dataclass(frozen=True)
class Claim:
    """A registered check: stable id, paper, statement in words, expected verdict (or one per scale)."""

    id: str
    paper: str
    statement: str
    func: Callable[[Context], Verdict]
    expected: str | Mapping[str, str] = "holds"
    experiments: tuple[str, ...] = field(default=())

    def expected_at(self, scale: str) -> str:
        check_scale(scale)
        return self.expected if isinstance(self.expected, str) else self.expected[scale]


@dataclass(frozen=True)
class FigureSpec:
    """A registered function from results (through a Context) to a matplotlib figure."""

    name: str
    paper: str
    func: Callable[[Context], Figure]


class Registry:
    """Holds what the decorators register. One instance, :data:`REGISTRY`, is filled at import of the paper modules."""

    def __init__(self) -> None:
        self.experiments: dict[str, Experiment] = {}
        self.claims: dict[str, Claim] = {}
        self.figures: dict[str, FigureSpec] = {}

    def _check_paper(self, paper: str) -> None:
        if paper not in PAPER_KEYS:
            raise ValueError(f"paper must be one of {PAPER_KEYS}, got {paper!r}")

    def add_experiment(self, e: Experiment) -> None:
        self._check_paper(e.paper)
        old = self.experiments.get(e.name)
        if old is not None and old.module != e.module:
            raise ValueError(f"experiment {e.name!r} registered twice ({old.module} and {e.module})")
        self.experiments[e.name] = e

    def add_claim(self, c: Claim) -> None:
        self._check_paper(c.paper)
        exp = c.expected if isinstance(c.expected, Mapping) else {s: c.expected for s in SCALES}
        if set(exp) != set(SCALES) or any(v not in ("holds", "fails", "inconclusive") for v in exp.values()):
            raise ValueError(f"claim {c.id!r}: expected must be a verdict or a dict over {SCALES}, got {c.expected!r}")
        self.claims[c.id] = c

    def add_figure(self, f: FigureSpec) -> None:
        self._check_paper(f.paper)
        self.figures[f.name] = f

    def experiment(self, name: str) -> Experiment:
        try:
            return self.experiments[name]
        except KeyError:
            raise ValueError(f"unknown experiment {name!r}; known: {sorted(self.experiments)}") from None

    @staticmethod
    def _match(key: str, ident: str, paper: str) -> bool:
        return key == paper or key == ident or ident.startswith(key + ".") or ident.startswith(key + "_")

    def select_claims(self, only: Iterable[str] | None = None) -> list[Claim]:
        """Claims whose paper key, id or id prefix is in ``only`` (all when None), in registration order."""
        keys = list(only or [])
        out = [c for c in self.claims.values() if not keys or any(self._match(k, c.id, c.paper) for k in keys)]
        if keys and not out:
            raise ValueError(f"--only {keys} selects no claim; papers with claims: {sorted(self.papers())}")
        return out

    def select_figures(self, only: Iterable[str] | None = None) -> list[FigureSpec]:
        keys = list(only or [])
        return [f for f in self.figures.values() if not keys or any(self._match(k, f.name, f.paper) for k in keys)]

    def papers(self) -> set[str]:
        return {c.paper for c in self.claims.values()} | {e.paper for e in self.experiments.values()}


REGISTRY = Registry()


def load_all() -> Registry:
    """Import every module of ``sgdlab.papers`` (registering their experiments, claims, figures); idempotent."""
    import sgdlab.papers as papers

    for info in sorted(pkgutil.iter_modules(papers.__path__), key=lambda i: i.name):
        importlib.import_module(f"sgdlab.papers.{info.name}")
    return REGISTRY


def experiment(
    name: str, *, paper: str, config: Callable[[str], Any], schema: int = 1
) -> Callable[[Callable[[Any], Mapping[str, Any]]], Callable[[Any], Mapping[str, Any]]]:
    """Register ``func(cfg) -> {name: array}`` as experiment ``name``; ``config(scale)`` returns a frozen dataclass."""

    def deco(func: Callable[[Any], Mapping[str, Any]]) -> Callable[[Any], Mapping[str, Any]]:
        for s in SCALES:
            cfg = config(s)
            if not (dataclasses.is_dataclass(cfg) and not isinstance(cfg, type)):
                raise TypeError(f"experiment {name!r}: config({s!r}) must return a dataclass instance")
        REGISTRY.add_experiment(Experiment(name, paper, func, config, schema))
        return func

    return deco


def claim(
    id: str, *, paper: str, statement: str, expected: str | Mapping[str, str] = "holds",
    experiments: tuple[str, ...] = (),
) -> Callable[[Callable[[Context], Verdict]], Callable[[Context], Verdict]]:  # fmt: skip
    """Register ``func(ctx) -> Verdict`` as claim ``id`` with its statement and expected verdict."""

    def deco(func: Callable[[Context], Verdict]) -> Callable[[Context], Verdict]:
        REGISTRY.add_claim(Claim(id, paper, " ".join(statement.split()), func, expected, experiments))
        return func

    return deco


def figure(name: str, *, paper: str) -> Callable[[Callable[[Context], Figure]], Callable[[Context], Figure]]:
    """Register ``func(ctx) -> matplotlib Figure`` as figure ``name`` (saved as figures/<paper>/<name>.{png,pdf})."""

    def deco(func: Callable[[Context], Figure]) -> Callable[[Context], Figure]:
        REGISTRY.add_figure(FigureSpec(name, paper, func))
        return func

    return deco
