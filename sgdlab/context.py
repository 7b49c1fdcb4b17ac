"""The context a claim, figure or notebook runs in: scale, user overrides, store, device, and how sweeps run."""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from . import overrides as ov
from .executors import batches, process_executor
from .registry import REGISTRY, discover_papers
from .specs import Experiment, check_scale
from .store import Result, ResultStore, compute

__all__ = ["Context", "process_executor"]

log = logging.getLogger("sgdlab.context")


def _available(device: str) -> bool:
    """Whether torch can use ``device`` here (imports torch only for a non-cpu device)."""
    if device == "cpu":
        return True
    from sims.runs import parse_device

    try:
        parse_device(device)
        return True
    except ValueError:
        return False


def _compute_batch(items: list[tuple[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Worker entry point (picklable): look each experiment up by name (importing only its paper) and run it."""
    return [compute(REGISTRY.experiment(name), cfg) for name, cfg in items]


@dataclass
class Context:
    """Where claims and figures get their results: ``ctx.result(name)`` runs or loads an experiment at ``scale``.

    ``overrides`` changes config fields for this context (``{"asgd.curves": {"a": 3.0}}``, ``{"asgd.curves.a": 3}``,
    ``["asgd.*.a=3"]``; see :mod:`sgdlab.overrides`); claims and figures see the overridden configs.
    ``device`` replaces the ``device`` field of configs that have one (None keeps the config's own).
    ``force`` recomputes each (experiment, config) once in this context, then reuses it.
    ``executor`` runs the missing points of :meth:`sweep` (anything with ``submit``: local processes, a dask
    ``Client``, a submitit executor); None runs them here. ``batch`` points go to a worker at a time (0: automatic).
    """

    scale: str = "default"
    store: ResultStore = field(default_factory=ResultStore)
    device: str | None = None
    force: bool = False
    executor: Any = None
    overrides: Any = None
    batch: int = 0
    _recomputed: set[Path] = field(default_factory=set, repr=False)
    _reads: list[Result] | None = field(default=None, repr=False)
    _fell_back: set[str] = field(default_factory=set, repr=False)

    def __post_init__(self) -> None:
        check_scale(self.scale)
        self.overrides = ov.normalise(self.overrides)
        if isinstance(self.batch, bool) or not isinstance(self.batch, int) or self.batch < 0:
            raise ValueError(f"batch must be an integer >= 0 (0: automatic), got {self.batch!r}")

    # -- configs -------------------------------------------------------------------------------------------------
    @property
    def is_default(self) -> bool:
        """True when nothing changes the embedded configs (no overrides, no device): the committed outputs."""
        return not self.overrides and self.device is None

    def validate_overrides(self) -> None:
        """Check every override now (unknown experiments or fields, wrong types), before anything runs."""
        found = discover_papers()
        for target in self.overrides:
            if target.split(".", 1)[0] in found:
                REGISTRY.load_paper(target.split(".", 1)[0])
        ov.validate(self.overrides, REGISTRY.experiments, lambda n: REGISTRY.experiment(n).config(self.scale))

    def experiment(self, name: str) -> Experiment:
        return REGISTRY.experiment(name)

    def config(self, name: str, **changes: Any) -> Any:
        """The experiment's config at this scale, with the device, the user's overrides, then ``changes``."""
        cfg = self.experiment(name).config(self.scale)
        fields = {f.name for f in dataclasses.fields(cfg)}
        if self.device is not None and "device" in fields:
            cfg = dataclasses.replace(cfg, device=self.device)
        elif "device" in fields and not _available(str(cfg.device)):
            if name not in self._fell_back:
                self._fell_back.add(name)
                log.warning("%s: its %s config asks for device %r, which this machine does not have: running on the "
                            "cpu instead (pass --device to choose)", name, self.scale, cfg.device)  # fmt: skip
            cfg = dataclasses.replace(cfg, device="cpu")
        cfg = ov.apply(cfg, ov.for_experiment(self.overrides, name), name=name, strict=False)
        bad = set(changes) - fields
        if bad:
            raise ValueError(f"unknown config fields {sorted(bad)} for {name!r}; fields: {sorted(fields)}")
        return dataclasses.replace(cfg, **changes) if changes else cfg

    # -- results -------------------------------------------------------------------------------------------------
    def track_reads(self) -> list[Result]:
        """Start recording the results read through this context (the runner uses it for the divergence policy)."""
        self._reads = []
        return self._reads

    def stop_tracking(self) -> None:
        self._reads = None

    def _seen(self, r: Result) -> Result:
        if self._reads is not None:
            self._reads.append(r)
        return r

    def _force_once(self, exp: Experiment, cfg: Any) -> bool:
        p = self.store.path(exp, cfg)
        if self.force and p not in self._recomputed:
            self._recomputed.add(p)
            return True
        return False

    def result(self, name: str, cfg: Any = None, **changes: Any) -> Any:
        """Load or compute experiment ``name`` for ``cfg`` (default: its config at this scale, with overrides).
        Typed experiments give their result dataclass; others a :class:`Result` (a dict of arrays)."""
        exp = self.experiment(name)
        if cfg is None:
            cfg = self.config(name, **changes)
        elif changes:
            cfg = dataclasses.replace(cfg, **changes)
        r = self._bundle(exp, cfg)
        if r is None:
            r = self.store.get_or_run(exp, cfg, force=self._force_once(exp, cfg))
        self._seen(r)
        return self.store.typed(exp, r)

    def _bundle(self, exp: Experiment, cfg: Any) -> Result | None:
        """At the full scale, a committed GPU bundle (results/<name>/) computed for this config (the device aside)
        is used instead of recomputing, and the log says so."""
        if self.scale != "full" or self.force:
            return None
        from .bundle import committed_bundle
        from .provenance import config_dict

        b = committed_bundle(exp.name)
        if b is None:
            return None
        strip = lambda d: {k: v for k, v in d.items() if k != "device"}  # noqa: E731
        if strip(json.loads(json.dumps(config_dict(cfg)))) != strip(b.meta.get("config", {})):
            log.warning("%s: the committed bundle was computed for another config; recomputing", exp.name)
            return None
        log.warning("%s: using the committed bundle results/%s (computed on %s, %s)", exp.name, exp.name,
                    b.meta.get("device", "?"), b.meta.get("finished_utc", "?"))  # fmt: skip
        return b

    def sweep(self, name: str, configs: Sequence[Any], *, desc: str | None = None) -> list[Any]:
        """Results for every config, in order. Finished points are loaded; the missing ones run on the executor in
        batches (an interrupted sweep resumes where it stopped: each point is stored as soon as it comes back)."""
        exp = self.experiment(name)
        out: list[Result | None] = []
        todo: list[int] = []
        for i, cfg in enumerate(configs):
            r = None if self._force_once(exp, cfg) else self.store.load(exp, cfg)
            out.append(r)
            if r is None:
                todo.append(i)
        bar = tqdm(total=len(todo), desc=desc or name, disable=None if todo else True, leave=False)
        local = self.executor is None or exp.module == "__main__"  # a notebook cell's experiment cannot be shipped
        if local:
            for i in todo:
                out[i] = self.store.get_or_run(exp, configs[i], force=True)
                bar.update()
        else:
            futures = []
            for b in batches(len(todo), self.executor, self.batch or None):
                idx = [todo[j] for j in b]
                futures.append((idx, self.executor.submit(_compute_batch, [(name, configs[i]) for i in idx])))
            for idx, fut in futures:
                for i, (outputs, meta) in zip(idx, fut.result()):
                    out[i] = self.store.save(exp, configs[i], outputs, meta)
                    bar.update()
        bar.close()
        res = [r for r in out if r is not None]
        for r in res:
            self._seen(r)
        return [self.store.typed(exp, r) for r in res]

    def overrides_for(self, name: str) -> Mapping[str, Any]:
        return ov.for_experiment(self.overrides, name)
