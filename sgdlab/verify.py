"""Running claims: each gives a verdict with its numbers, compared with the verdict the suite expects."""

from __future__ import annotations

import time
import traceback
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from tqdm.auto import tqdm

from .context import Context
from .registry import Claim
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

    @property
    def matches(self) -> bool:
        return self.verdict == self.expected

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["matches"] = self.matches
        return d


def run_claim(c: Claim, ctx: Context) -> Outcome:
    """Run one claim; an exception becomes verdict ``error`` with the last lines of its traceback as the note."""
    t0 = time.perf_counter()
    try:
        v = c.func(ctx)
        if not isinstance(v, Verdict):
            raise TypeError(f"claim {c.id} returned {type(v).__name__}, not a Verdict")
    except Exception as err:  # reported, never hidden
        tb = traceback.format_exc(limit=3).strip().splitlines()
        v = Verdict("error", note=f"{type(err).__name__}: {err} | " + " / ".join(tb[-3:]))
    dt = time.perf_counter() - t0
    return Outcome(
        c.id, c.paper, c.statement, c.expected_at(ctx.scale), v.verdict, v.predicted, v.measured, v.uncertainty,
        v.tolerance, round(dt, 3), v.note, ctx.scale,
    )  # fmt: skip


def run_claims(claims: Sequence[Claim], ctx: Context) -> list[Outcome]:
    out = []
    for c in tqdm(claims, desc=f"verify ({ctx.scale})", disable=None, leave=False):
        out.append(run_claim(c, ctx))
    return out
