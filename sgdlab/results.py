"""Typed results: an experiment may return a dataclass of named arrays with real axes instead of a flat dict.

The store keeps named arrays; a dataclass result is flattened field by field (nested dataclasses as ``a.b``) and
given back as the same dataclass when loaded. Fields hold numpy arrays, python scalars or strings.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping
from typing import Any

SEP = "."


def is_typed(obj: Any) -> bool:
    return dataclasses.is_dataclass(obj) and not isinstance(obj, type)


def flatten(obj: Any, prefix: str = "") -> dict[str, Any]:
    """A dataclass instance (possibly nested) or a mapping as ``{name: value}`` with ``a.b`` for nested fields."""
    if is_typed(obj):
        items = [(f.name, getattr(obj, f.name)) for f in dataclasses.fields(obj)]
    elif isinstance(obj, Mapping):
        items = list(obj.items())
    else:
        raise TypeError(f"an experiment must return a mapping of arrays or a dataclass, got {type(obj).__name__}")
    out: dict[str, Any] = {}
    for k, v in items:
        name = f"{prefix}{k}"
        if is_typed(v):
            out.update(flatten(v, name + SEP))
        else:
            out[name] = v
    return out


def unflatten(cls: type, data: Mapping[str, Any], prefix: str = "") -> Any:
    """Rebuild dataclass ``cls`` from flattened ``data`` (the inverse of :func:`flatten`)."""
    hints = typing.get_type_hints(cls)
    kw: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        name = f"{prefix}{f.name}"
        tp = hints.get(f.name)
        if isinstance(tp, type) and dataclasses.is_dataclass(tp):
            kw[f.name] = unflatten(tp, data, name + SEP)
        elif name in data:
            kw[f.name] = data[name]
        elif f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING:
            continue
        else:
            raise ValueError(f"stored result lacks field {name!r} of {cls.__name__}")
    return cls(**kw)
