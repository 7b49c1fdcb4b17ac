"""The context a claim, figure or notebook runs in: scale, store, device, and how sweeps are executed."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from .registry import REGISTRY, Experiment, load_all
from .scales import check_scale
from .store import Result, ResultStore, compute


def _compute_by_name(name: str, cfg: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Worker entry point (picklable): look the experiment up by name in a fresh process and run it."""
    return compute(load_all().experiment(name), cfg)


def process_executor(workers: int) -> Executor:
    """Local processes (spawned, so torch's threads are never forked). Any object with ``submit(fn, *args)``
    returning futures works in its place: ``dask.distributed.Client``, ``submitit.AutoExecutor``, a thread pool."""
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    return ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"))


@dataclass
class Context:
    """Where claims and figures get their results: ``ctx.result(name)`` runs or loads an experiment at ``scale``.

    ``device`` replaces the ``device`` field of configs that have one (None keeps the config's own).
    ``force`` recomputes each (experiment, config) once in this context, then reuses it.
    ``executor`` runs the missing points of :meth:`sweep`; None runs them here, one after the other.
    """

    scale: str = "default"
    store: ResultStore = field(default_factory=ResultStore)
    device: str | None = None
    force: bool = False
    executor: Any = None
    _recomputed: set[Path] = field(default_factory=set, repr=False)

    def __post_init__(self) -> None:
        check_scale(self.scale)
        load_all()

    def experiment(self, name: str) -> Experiment:
        return REGISTRY.experiment(name)

    def config(self, name: str, **overrides: Any) -> Any:
        """The experiment's config at this context's scale, with the device and ``overrides`` applied."""
        cfg = self.experiment(name).config(self.scale)
        fields = {f.name for f in dataclasses.fields(cfg)}
        if self.device is not None and "device" in fields:
            cfg = dataclasses.replace(cfg, device=self.device)
        bad = set(overrides) - fields
        if bad:
            raise ValueError(f"unknown config fields {sorted(bad)} for {name!r}; fields: {sorted(fields)}")
        return dataclasses.replace(cfg, **overrides) if overrides else cfg

    def _force_once(self, exp: Experiment, cfg: Any) -> bool:
        p = self.store.path(exp, cfg)
        if self.force and p not in self._recomputed:
            self._recomputed.add(p)
            return True
        return False

    def result(self, name: str, cfg: Any = None, **overrides: Any) -> Result:
        """Load or compute experiment ``name`` for ``cfg`` (default: its config at this scale, with overrides)."""
        exp = self.experiment(name)
        if cfg is None:
            cfg = self.config(name, **overrides)
        elif overrides:
            cfg = dataclasses.replace(cfg, **overrides)
        return self.store.get_or_run(exp, cfg, force=self._force_once(exp, cfg))

    def sweep(self, name: str, configs: Sequence[Any], *, desc: str | None = None) -> list[Result]:
        """Results for every config, in order. Finished points are loaded; the missing ones run on the executor
        (an interrupted sweep resumes where it stopped, since each point is stored as soon as it is done)."""
        exp = self.experiment(name)
        out: list[Result | None] = []
        todo: list[int] = []
        for i, cfg in enumerate(configs):
            r = None if self._force_once(exp, cfg) else self.store.load(exp, cfg)
            out.append(r)
            if r is None:
                todo.append(i)
        bar = tqdm(total=len(todo), desc=desc or name, disable=None if todo else True, leave=False)
        if self.executor is None:
            for i in todo:
                out[i] = self.store.get_or_run(exp, configs[i], force=True)
                bar.update()
        else:
            futures = {i: self.executor.submit(_compute_by_name, name, configs[i]) for i in todo}
            for i, fut in futures.items():
                outputs, meta = fut.result()
                out[i] = self.store.save(exp, configs[i], outputs, meta)
                bar.update()
        bar.close()
        return [r for r in out if r is not None]
