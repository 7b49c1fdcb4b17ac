"""User overrides of config fields: ``--set EXPERIMENT.FIELD=VALUE`` on the CLI, ``Context(overrides=...)`` in Python.

``EXPERIMENT`` is an experiment name (``asgd.curves``) or ``PAPER.*`` for every experiment of a paper whose config
has the field. Values are parsed and type-checked against the config dataclass's annotations: ``int``, ``float``
(finite), ``bool`` (true/false), ``str``, ``Literal[...]``, optionals and tuples (``(1, 3)``, nested tuples), so a
typo gives an error naming the field and its type instead of a silently different run.
"""

from __future__ import annotations

import ast
import dataclasses
import math
import types
import typing
from collections.abc import Iterable, Mapping
from typing import Any

Overrides = dict[str, dict[str, Any]]  # experiment name or "paper.*" -> {field: value}


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def coerce(value: Any, tp: Any, where: str) -> Any:
    """``value`` (a string from the CLI or a python value) as an instance of annotation ``tp``, or a ValueError."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return value
    if origin is typing.Literal:
        for a in args:
            if value == a or (isinstance(value, str) and str(a) == value):
                return a
        raise ValueError(f"{where} must be one of {list(args)}, got {value!r}")
    if origin in (typing.Union, types.UnionType):
        if value is None or (isinstance(value, str) and value.lower() in ("none", "null")):
            if type(None) in args:
                return None
        errors = []
        for a in args:
            if a is type(None):
                continue
            try:
                return coerce(value, a, where)
            except ValueError as e:
                errors.append(str(e))
        raise ValueError(f"{where} must be {_type_name(tp)}, got {value!r}")
    if origin is tuple:
        if isinstance(value, str):
            try:
                value = ast.literal_eval(value)
            except (ValueError, SyntaxError):
                raise ValueError(f"{where} must be a tuple such as (1, 2), got {value!r}") from None
            if not isinstance(value, (tuple, list)):
                value = (value,)
        if not isinstance(value, (tuple, list)):
            raise ValueError(f"{where} must be a tuple ({_type_name(tp)}), got {value!r}")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(coerce(v, args[0], f"{where}[{i}]") for i, v in enumerate(value))
        if args and len(args) != len(value):
            raise ValueError(f"{where} must have {len(args)} entries ({_type_name(tp)}), got {len(value)}")
        return tuple(coerce(v, a, f"{where}[{i}]") for i, (v, a) in enumerate(zip(value, args))) if args \
            else tuple(value)
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
            return value.lower() in ("true", "1", "yes")
        raise ValueError(f"{where} must be a bool (true/false), got {value!r}")
    if tp is int:
        if isinstance(value, bool):
            raise ValueError(f"{where} must be an int, got {value!r}")
        if isinstance(value, int):
            return value
        if isinstance(value, str):
            try:
                return int(value.replace("_", ""))
            except ValueError:
                pass
        raise ValueError(f"{where} must be an int, got {value!r}")
    if tp is float:
        if isinstance(value, bool):
            raise ValueError(f"{where} must be a float, got {value!r}")
        try:
            x = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{where} must be a float, got {value!r}") from None
        if not math.isfinite(x):
            raise ValueError(f"{where} must be a finite float, got {value!r}")
        return x
    if tp is str:
        if not isinstance(value, str):
            raise ValueError(f"{where} must be a str, got {value!r}")
        return value
    raise ValueError(f"{where}: fields of type {_type_name(tp)} cannot be overridden")


def field_types(cfg: Any) -> dict[str, Any]:
    """Field name -> resolved annotation of a config dataclass instance."""
    hints = typing.get_type_hints(type(cfg))
    return {f.name: hints.get(f.name, Any) for f in dataclasses.fields(cfg) if f.init}


def parse_set(items: Iterable[str]) -> Overrides:
    """``["asgd.curves.a=1.5", ...]`` -> ``{"asgd.curves": {"a": "1.5"}}`` (values still strings)."""
    out: Overrides = {}
    for item in items:
        if "=" not in item:
            raise ValueError(f"--set expects EXPERIMENT.FIELD=VALUE, got {item!r}")
        lhs, value = item.split("=", 1)
        if lhs.count(".") < 2:
            raise ValueError(f"--set expects EXPERIMENT.FIELD=VALUE with EXPERIMENT like 'asgd.curves' "
                             f"(or 'asgd.*'), got {lhs!r}")  # fmt: skip
        exp, fld = lhs.rsplit(".", 1)
        out.setdefault(exp, {})[fld] = value
    return out


def normalise(overrides: Mapping[str, Any] | Iterable[str] | None) -> Overrides:
    """Accept ``{"asgd.curves": {"a": 1.5}}``, ``{"asgd.curves.a": 1.5}`` or ``["asgd.curves.a=1.5"]``."""
    if overrides is None:
        return {}
    if not isinstance(overrides, Mapping):
        return parse_set(list(overrides))
    out: Overrides = {}
    for k, v in overrides.items():
        if isinstance(v, Mapping):
            out.setdefault(k, {}).update(v)
        else:
            if k.count(".") < 2:
                raise ValueError(f"override {k!r} must be 'EXPERIMENT.FIELD' (e.g. 'asgd.curves.a')")
            exp, fld = k.rsplit(".", 1)
            out.setdefault(exp, {})[fld] = v
    return out


def for_experiment(overrides: Overrides, name: str) -> dict[str, Any]:
    """The overrides that apply to experiment ``name``: ``paper.*`` first, then the experiment's own."""
    paper = name.split(".", 1)[0]
    out: dict[str, Any] = {}
    out.update(overrides.get(f"{paper}.*", {}))
    out.update(overrides.get(name, {}))
    return out


def apply(cfg: Any, values: Mapping[str, Any], *, name: str, strict: bool = True) -> Any:
    """``cfg`` with ``values`` type-checked and replaced. Unknown fields raise (``strict``) or are skipped (used for
    ``paper.*`` overrides, which apply only where the field exists)."""
    if not values:
        return cfg
    types_ = field_types(cfg)
    new: dict[str, Any] = {}
    for fld, raw in values.items():
        if fld not in types_:
            if strict:
                known = ", ".join(f"{k}: {_type_name(t)}" for k, t in types_.items())
                raise ValueError(f"{name} has no config field {fld!r}; its fields: {known}")
            continue
        new[fld] = coerce(raw, types_[fld], f"{name}.{fld} ({_type_name(types_[fld])})")
    return dataclasses.replace(cfg, **new) if new else cfg


def validate(overrides: Overrides, experiments: Mapping[str, Any], config_at: Any) -> None:
    """Check every override against the configs now, before anything runs (``config_at(name)`` gives a config)."""
    for target, values in overrides.items():
        if target.endswith(".*"):
            paper = target[:-2]
            names = [n for n in experiments if n.split(".", 1)[0] == paper]
            if not names:
                raise ValueError(f"--set {target}: paper {paper!r} has no experiments")
            hit = set()
            for n in names:
                cfg = config_at(n)
                apply(cfg, values, name=n, strict=False)
                hit |= set(values) & set(field_types(cfg))
            missing = set(values) - hit
            if missing:
                raise ValueError(f"--set {target}: no experiment of {paper!r} has the field(s) {sorted(missing)}")
        else:
            if target not in experiments:
                raise ValueError(f"--set: unknown experiment {target!r}; known: {sorted(experiments)}")
            apply(config_at(target), values, name=target)


def describe(overrides: Overrides) -> str:
    return ", ".join(f"{e}.{k}={v}" for e, d in overrides.items() for k, v in d.items())
