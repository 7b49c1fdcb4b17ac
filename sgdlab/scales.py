"""The three scales and the one helper that picks a size per scale.

``smoke``   CI: seconds per experiment, every claim still checked, tolerances from the smaller sample.
``default`` a laptop CPU: minutes for a paper; what reports/verification.md and figures/ are made at.
``full``    the papers' scale, usually one GPU.
"""

from __future__ import annotations

from typing import TypeVar

from .specs import SCALES, check_scale

__all__ = ["SCALES", "by_scale", "check_scale"]

T = TypeVar("T")


def by_scale(scale: str, *, smoke: T, default: T, full: T) -> T:
    """Pick the value for ``scale``: the one place where an experiment states its sizes per scale."""
    return {"smoke": smoke, "default": default, "full": full}[check_scale(scale)]
