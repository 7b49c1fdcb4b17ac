"""Verdicts: what a claim returns.

A verdict is ``holds``, ``fails`` (a counterexample, reported honestly) or ``inconclusive`` (the measurement's
uncertainty straddles the prediction's boundary). ``error`` is given by the runner when a claim raised.
The constructors turn a measurement with a standard error into a verdict with tolerance ``k * se (+ floor)``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from .specs import VERDICTS

Number = float | int | str | None


def _f(x: Any) -> Number:
    """Plain python number (or string/None) for JSON."""
    if x is None or isinstance(x, str):
        return x
    try:
        return float(x)
    except (TypeError, ValueError):
        return str(x)


def _finite(*xs: Any) -> bool:
    return all(isinstance(x, (int, float)) and math.isfinite(x) for x in xs)


@dataclass
class Verdict:
    """A claim's outcome with the numbers behind it."""

    verdict: str
    predicted: Number = None
    measured: Number = None
    uncertainty: Number = None
    tolerance: Number = None
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    #: fraction of the runs behind the measurement that diverged (None: no runs, or not reported); the spine
    #: compares it with the claim's declared ``Tol(max_diverged=...)``
    diverged: float | None = None

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS + ("error",):
            raise ValueError(f"verdict must be one of {VERDICTS}, got {self.verdict!r}")
        if self.diverged is not None:
            d = float(self.diverged)
            if not (0.0 <= d <= 1.0):
                raise ValueError(f"diverged must be a fraction in [0, 1], got {self.diverged!r}")
            self.diverged = d
        self.predicted, self.measured = _f(self.predicted), _f(self.measured)
        self.uncertainty, self.tolerance = _f(self.uncertainty), _f(self.tolerance)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    # -- constructors ------------------------------------------------------------------------------------------
    @classmethod
    def within(
        cls,
        measured: float,
        predicted: float,
        se: float = 0.0,
        *,
        k: float = 3.0,
        floor: float = 0.0,
        resolution: float | None = None,
        note: str = "",
        diverged: float | None = None,
    ) -> Verdict:
        """Holds iff |measured - predicted| <= k * se + floor.

        ``floor`` is a model tolerance (e.g. a finite-size bias bound) stated by the claim, never tuned to pass.
        If ``resolution`` is given and the tolerance exceeds it, the sample is too small to decide: inconclusive.
        """
        m, p, se = float(measured), float(predicted), float(se)
        tol = k * se + floor
        if not _finite(m, p, tol):
            return cls("inconclusive", p, m, se, tol, (note + "; " if note else "") + "non-finite measurement",
                       diverged=diverged)
        if resolution is not None and tol > resolution:
            v = "inconclusive"
        else:
            v = "holds" if abs(m - p) <= tol else "fails"
        return cls(v, p, m, se, tol, note, diverged=diverged)

    @classmethod
    def below(cls, measured: float, bound: float, se: float = 0.0, *, k: float = 3.0, note: str = "",
              diverged: float | None = None) -> Verdict:
        """Holds iff measured + k se <= bound; fails iff measured - k se > bound; inconclusive in between."""
        m, b, se = float(measured), float(bound), float(se)
        if not _finite(m, b, se):
            return cls("inconclusive", b, m, se, k * se, (note + "; " if note else "") + "non-finite measurement",
                       diverged=diverged)
        v = "holds" if m + k * se <= b else ("fails" if m - k * se > b else "inconclusive")
        return cls(v, b, m, se, k * se, note, diverged=diverged)

    @classmethod
    def above(cls, measured: float, bound: float, se: float = 0.0, *, k: float = 3.0, note: str = "",
              diverged: float | None = None) -> Verdict:
        """Holds iff measured - k se >= bound; fails iff measured + k se < bound; inconclusive in between."""
        m, b, se = float(measured), float(bound), float(se)
        if not _finite(m, b, se):
            return cls("inconclusive", b, m, se, k * se, (note + "; " if note else "") + "non-finite measurement",
                       diverged=diverged)
        v = "holds" if m - k * se >= b else ("fails" if m + k * se < b else "inconclusive")
        return cls(v, b, m, se, k * se, note, diverged=diverged)

    @classmethod
    def exact(
        cls, measured: float, predicted: float, *, rtol: float = 1e-10, atol: float = 0.0, note: str = "",
        diverged: float | None = None,
    ) -> Verdict:
        """Holds iff |measured - predicted| <= atol + rtol |predicted| (for exact computations in float64)."""
        m, p = float(measured), float(predicted)
        tol = atol + rtol * abs(p)
        ok = _finite(m, p) and abs(m - p) <= tol
        return cls("holds" if ok else "fails", p, m, 0.0, tol, note, diverged=diverged)

    @classmethod
    def boolean(
        cls,
        ok: bool,
        *,
        predicted: Number = None,
        measured: Number = None,
        uncertainty: Number = None,
        tolerance: Number = None,
        note: str = "",
        diverged: float | None = None,
    ) -> Verdict:
        """Holds iff ``ok`` (for claims whose test is a conjunction of decided sub-checks; say them in ``note``)."""
        return cls("holds" if ok else "fails", predicted, measured, uncertainty, tolerance, note, diverged=diverged)

    @classmethod
    def combine(cls, parts: dict[str, Verdict], *, predicted: Number = None, measured: Number = None) -> Verdict:
        """All parts hold -> holds; any fails -> fails; otherwise inconclusive. The note lists every part."""
        vs = [p.verdict for p in parts.values()]
        if "fails" in vs or "error" in vs:
            v = "fails"
        else:
            v = "holds" if all(x == "holds" for x in vs) else "inconclusive"
        note = "; ".join(
            f"{name}: {p.verdict} (measured {_fmt(p.measured)}, predicted {_fmt(p.predicted)}, tol {_fmt(p.tolerance)})"
            for name, p in parts.items()
        )
        divs = [p.diverged for p in parts.values() if p.diverged is not None]
        return cls(v, predicted, measured, None, None, note, extra={k: p.to_dict() for k, p in parts.items()},
                   diverged=max(divs) if divs else None)


def _fmt(x: Number) -> str:
    if x is None:
        return "-"
    if isinstance(x, str):
        return x
    return f"{x:.4g}"
