"""Running claims: each gives a verdict with its numbers, compared with the verdict the suite expects.

The runner applies the one divergence policy of the suite: a verdict never rests silently on surviving runs. The
diverged fraction behind a claim is the largest of what its verdict reports (``Verdict.diverged``) and of what the
results it read hold under the conventional names (``diverged``, ``<x>_diverged``, ``diverged_<x>``: boolean masks
or fractions). Beyond the claim's declared ``Tol(max_diverged=...)`` the verdict becomes ``Tol.on_diverged``
(inconclusive unless declared "fails") with the fraction as the reason, unless the claim declares divergence to be
its observable (``Tol(divergence_measured=True)``).
"""

from __future__ import annotations

import inspect
import math
import time
import traceback
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from .context import Context
from .specs import Claim
from .verdict import Number, Verdict


@dataclass
class Outcome:
    """One claim's outcome; the JSON of ``verify`` is a list of these (DESIGN.md's fields first)."""

    id: str
    paper: str
    statement: str
    expected: str
    verdict: str
    predicted: Number
    measured: Number
    uncertainty: Number
    tolerance: Number
    seconds: float
    note: str
    scale: str
    tolerances: str = ""
    diverged: float | None = None

    @property
    def matches(self) -> bool:
        return self.verdict == self.expected

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["matches"] = self.matches
        return d


def _is_divergence_key(k: str) -> bool:
    k = k.rsplit(".", 1)[-1]  # a field of a typed (flattened) result: "sgd.diverged"
    return k == "diverged" or k.endswith("_diverged") or k.startswith("diverged_")


def diverged_fraction(results: Iterable[Mapping[str, Any]]) -> float | None:
    """The diverged fraction of the runs behind ``results`` (None when none states any), from the conventional names.

    Boolean flags and masks (one entry per run, also a 0-d flag per result of a sweep point) are pooled over every
    result: diverged runs / runs. Float values in [0, 1] are fractions of groups of runs (or 0/1 masks stored as
    floats): their mean is the group-pooled fraction. The larger of the two is returned."""
    n_runs = n_div = 0
    fracs: list[float] = []
    for r in results:
        for k, v in r.items():
            if not _is_divergence_key(k):
                continue
            a = np.asarray(v)
            if a.size == 0:
                continue
            if a.dtype == bool:
                n_runs += a.size
                n_div += int(a.sum())
            elif np.issubdtype(a.dtype, np.floating) and np.all(np.isfinite(a)) and a.min() >= 0 and a.max() <= 1:
                fracs.append(float(a.mean()))
    out = [x for x in (n_div / n_runs if n_runs else None, float(np.mean(fracs)) if fracs else None) if x is not None]
    return max(out) if out else None


def apply_divergence_policy(v: Verdict, c: Claim, read_fraction: float | None) -> Verdict:
    """The verdict after the claim's declared divergence tolerance (see the module docstring)."""
    tol = c.tol
    fracs = [f for f in (v.diverged, read_fraction) if f is not None]
    frac = max(fracs) if fracs else None
    v.diverged = frac
    if tol.divergence_measured or frac is None or v.verdict == "error" or frac <= tol.max_diverged:
        return v
    reason = (f"{100 * frac:.3g}% of the runs behind this claim diverged, above its declared maximum "
              f"{100 * tol.max_diverged:.3g}%: the verdict ({v.verdict}) is not used")  # fmt: skip
    v.note = reason + (". " + v.note if v.note else "")
    v.verdict = tol.on_diverged
    if frac >= 1.0:
        v.measured = None  # nothing survived: there is no measurement
    return v


def _call(c: Claim, ctx: Context) -> Any:
    n_pos = len([p for p in inspect.signature(c.func).parameters.values()
                 if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)])  # fmt: skip
    return c.func(ctx, c.tol) if n_pos >= 2 else c.func(ctx)


def run_claim(c: Claim, ctx: Context) -> Outcome:
    """Run one claim; an exception becomes verdict ``error`` with the last lines of its traceback as the note."""
    t0 = time.perf_counter()
    reads = ctx.track_reads()
    try:
        v = _call(c, ctx)
        if not isinstance(v, Verdict):
            raise TypeError(f"claim {c.id} returned {type(v).__name__}, not a Verdict")
        v = apply_divergence_policy(v, c, diverged_fraction(reads))
    except Exception as err:  # reported, never hidden
        tb = traceback.format_exc(limit=3).strip().splitlines()
        v = Verdict("error", note=f"{type(err).__name__}: {err} | " + " / ".join(tb[-3:]))
    finally:
        ctx.stop_tracking()
    dt = time.perf_counter() - t0
    return Outcome(
        c.id, c.paper, c.statement, c.expected_at(ctx.scale), v.verdict, v.predicted, v.measured, v.uncertainty,
        v.tolerance, round(dt, 3), v.note, ctx.scale, c.tol.describe(), v.diverged,
    )  # fmt: skip


def run_claims(claims: Sequence[Claim], ctx: Context) -> list[Outcome]:
    out = []
    for c in tqdm(claims, desc=f"verify ({ctx.scale})", disable=None, leave=False):
        out.append(run_claim(c, ctx))
    return out


def finite_or_none(x: Any) -> Any:
    """JSON-strict value: NaN/inf become None (the reason goes in the note)."""
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x
