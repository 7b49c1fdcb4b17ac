"""What the registry holds: experiment, claim and figure specs, and the tolerances a claim declares.

This module imports nothing of the spine (the store, the context and the registry import it), so the three can be
imported in any order.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

SCALES: tuple[str, ...] = ("smoke", "default", "full")
VERDICTS: tuple[str, ...] = ("holds", "fails", "inconclusive")


def check_scale(scale: str) -> str:
    """Return ``scale`` if it is one of :data:`SCALES`, else raise a ValueError naming the allowed values."""
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}, got {scale!r}")
    return scale


def paper_of(name: str) -> str:
    """The paper key an experiment name, claim id or figure name starts with (``asgd.curves`` -> ``asgd``)."""
    return name.split(".", 1)[0]


class Tol(Mapping[str, Any]):
    """The tolerances of one claim, declared at registration: one table, shown by ``sgdlab list`` and the report.

    Known names (all optional):

    - ``k_se``: standard errors allowed per comparison (``|measured - predicted| <= k_se * se``);
    - ``fwer`` with ``comparisons``: a family-wise error rate; ``k_se`` is then derived by Bonferroni for the number
      of two-sided comparisons, ``k_se = Phi^-1(1 - fwer / (2 comparisons))`` (give one or the other);
    - ``max_diverged`` (default 0): the largest fraction of diverged runs a verdict may rest on; beyond it the spine
      replaces the verdict by ``on_diverged`` ("inconclusive" by default, or "fails") with the fraction as the reason;
    - ``divergence_measured`` (default False): divergence is the claim's observable (e.g. a divergence map), so the
      policy above does not apply;
    - ``rtol``, ``atol`` (exact comparisons), ``floor`` (a stated model tolerance), ``resolution``;
    - any other name (``window``, ``slope_tol`` ...) for a claim-specific threshold, read as ``tol.window``.
    """

    _KNOWN = ("k_se", "fwer", "comparisons", "max_diverged", "on_diverged", "divergence_measured", "rtol", "atol",
              "floor", "resolution")  # fmt: skip

    def __init__(self, **values: Any) -> None:
        v = dict(values)
        if "fwer" in v:
            fwer, m = v["fwer"], v.get("comparisons", 1)
            if "k_se" in v:
                raise ValueError("Tol: give k_se or fwer (with comparisons), not both")
            if not (isinstance(fwer, (int, float)) and 0 < fwer < 1):
                raise ValueError(f"Tol: fwer must be in (0, 1), got {fwer!r}")
            if not (isinstance(m, int) and m >= 1):
                raise ValueError(f"Tol: comparisons must be an integer >= 1, got {m!r}")
            v["k_se"] = NormalDist().inv_cdf(1.0 - fwer / (2.0 * m))
        for name, x in v.items():
            if name in ("on_diverged",):
                if x not in ("inconclusive", "fails"):
                    raise ValueError(f"Tol: on_diverged must be 'inconclusive' or 'fails', got {x!r}")
            elif name == "divergence_measured":
                if not isinstance(x, bool):
                    raise ValueError(f"Tol: divergence_measured must be a bool, got {x!r}")
            elif isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x) or x < 0:
                raise ValueError(f"Tol: {name} must be a finite non-negative number, got {x!r}")
        if not 0 <= v.get("max_diverged", 0.0) <= 1:
            raise ValueError(f"Tol: max_diverged must be a fraction in [0, 1], got {v['max_diverged']!r}")
        v.setdefault("max_diverged", 0.0)
        v.setdefault("on_diverged", "inconclusive")
        v.setdefault("divergence_measured", False)
        self._v = v

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self._v[name]
        except KeyError:
            raise AttributeError(
                f"tolerance {name!r} was not declared at registration; declared: {sorted(self._v)}"
            ) from None

    def __getitem__(self, name: str) -> Any:
        return self._v[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._v)

    def __len__(self) -> int:
        return len(self._v)

    def __repr__(self) -> str:
        return f"Tol({self.describe()})"

    def describe(self) -> str:
        """``k_se=4, max_diverged=0`` (defaults that say nothing are left out)."""
        skip = {"on_diverged": "inconclusive", "divergence_measured": False}
        parts = []
        for k, x in self._v.items():
            if skip.get(k, object()) == x:
                continue
            parts.append(f"{k}={x:.4g}" if isinstance(x, float) else f"{k}={x}")
        return ", ".join(parts)


@dataclass(frozen=True)
class Experiment:
    """A pure function of a frozen config (dataclass) returning named arrays; ``config(scale)`` gives its sizes.

    ``result`` optionally names a dataclass of arrays the function returns; the store flattens it to named arrays
    and gives it back typed (see :mod:`sgdlab.results`).
    """

    name: str
    paper: str
    func: Callable[[Any], Any]
    config: Callable[[str], Any]
    schema: int = 1
    result: type | None = None

    @property
    def module(self) -> str:
        return self.func.__module__


@dataclass(frozen=True)
class Claim:
    """A registered check: stable id, paper, statement in words, expected verdict (or one per scale), tolerances."""

    id: str
    paper: str
    statement: str
    func: Callable[..., Any]
    expected: str | Mapping[str, str] = "holds"
    experiments: tuple[str, ...] = field(default=())
    tol: Tol = field(default_factory=Tol)

    def expected_at(self, scale: str) -> str:
        check_scale(scale)
        return self.expected if isinstance(self.expected, str) else self.expected[scale]


@dataclass(frozen=True)
class FigureSpec:
    """A registered function from results (through a Context) to a matplotlib figure."""

    name: str
    paper: str
    func: Callable[[Any], Figure]
