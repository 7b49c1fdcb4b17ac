"""Tables, strict JSON and the Markdown report: every claim, its verdict, numbers and declared tolerances."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .provenance import git_revision, package_versions
from .registry import REGISTRY
from .store import atomic_write_text
from .verdict import Number
from .verify import Outcome


def fmt(x: Number) -> str:
    if x is None:
        return "-"
    if isinstance(x, str):
        return x
    if x == 0:
        return "0"
    return f"{x:.4g}"


def _clean(obj: Any, path: str, notes: list[str]) -> Any:
    if isinstance(obj, float) and not math.isfinite(obj):
        notes.append(f"{path} was {obj}")
        return None
    if isinstance(obj, Mapping):
        return {k: _clean(v, f"{path}.{k}" if path else str(k), notes) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v, f"{path}[{i}]", notes) for i, v in enumerate(obj)]
    return obj


def strict_json(outcomes: list[dict[str, Any]]) -> str:
    """JSON without bare NaN/Infinity tokens: a non-finite number becomes null and its value is named in
    ``null_reason`` of that outcome."""
    out = []
    for o in outcomes:
        notes: list[str] = []
        c = _clean(o, "", notes)
        if notes:
            c["null_reason"] = "; ".join(notes)
        out.append(c)
    return json.dumps(out, indent=1, allow_nan=False)


def _mark(o: Outcome) -> str:
    return "ok" if o.matches else "MISMATCH"


def text_table(outcomes: Sequence[Outcome]) -> str:
    """A fixed-width table for the terminal."""
    head = ("claim", "expected", "verdict", "", "predicted", "measured", "uncert.", "tol.", "s")
    rows = [
        (o.id, o.expected, o.verdict, _mark(o), fmt(o.predicted), fmt(o.measured), fmt(o.uncertainty),
         fmt(o.tolerance), f"{o.seconds:.1f}")
        for o in outcomes
    ]  # fmt: skip
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip() for r in [head, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _md(s: str) -> str:
    return s.replace("|", "\\|").replace("\n", " ")


def markdown_table(outcomes: Sequence[Outcome], *, notes: bool = True) -> str:
    head = ("| claim | expected | verdict | predicted | measured | uncertainty | tolerance | declared tolerances | s |"
            + (" numbers behind it |" if notes else ""))  # fmt: skip
    sep = "|" + "---|" * (10 if notes else 9)
    rows = []
    for o in outcomes:
        v = f"**{o.verdict}**" if o.matches else f"**{o.verdict}** (expected {o.expected}: MISMATCH)"
        row = (
            f"| `{o.id}` | {o.expected} | {v} | {fmt(o.predicted)} | {fmt(o.measured)} | {fmt(o.uncertainty)} | "
            f"{fmt(o.tolerance)} | {_md(o.tolerances) or '-'} | {o.seconds:.1f} |"
        )
        if notes:
            row += f" {_md(o.note)} |"
        rows.append(row)
    return "\n".join([head, sep, *rows])


def write_report(outcomes: Sequence[Outcome], path: Path, scale: str, *, figures_dir: Path | None = None,
                 overrides: Mapping[str, Mapping[str, Any]] | None = None) -> Path:  # fmt: skip
    """Write the Markdown report atomically: summary, then per paper the statements, verdict table, figure links."""
    n_ok = sum(o.matches for o in outcomes)
    by_v: dict[str, int] = {}
    for o in outcomes:
        by_v[o.verdict] = by_v.get(o.verdict, 0) + 1
    vers = package_versions()
    ovs = ", ".join(f"`{e}.{k}={v}`" for e, d in (overrides or {}).items() for k, v in d.items())
    lines = [
        "# Verification report",
        "",
        f"Scale `{scale}`; revision `{git_revision()}`; python {vers['python']}, torch {vers['torch']}, "
        f"numpy {vers['numpy']}, scipy {vers['scipy']}. Regenerate with `python -m sgdlab verify --scale {scale}`"
        + (f" with overrides {ovs}." if ovs else " (embedded configs, no overrides)."),
        "",
        f"{len(outcomes)} claims: " + ", ".join(f"{n} {v}" for v, n in sorted(by_v.items()))
        + f"; {n_ok} match the expected verdict, {len(outcomes) - n_ok} do not.",
        "",
        "A claim the suite expects to *fail* is a counterexample it reports on purpose; `inconclusive` means the",
        "measurement's uncertainty straddles the prediction's boundary, or too many of its runs diverged. Declared",
        "tolerances are those registered with the claim (`k_se`: standard errors per comparison; `max_diverged`: the",
        "largest diverged fraction a verdict may rest on).",
    ]
    papers = list(dict.fromkeys(o.paper for o in outcomes))
    for paper in papers:
        mine = [o for o in outcomes if o.paper == paper]
        lines += ["", f"## {paper}", ""]
        lines += [f"- `{o.id}`: {o.statement}" for o in mine]
        lines += ["", markdown_table(mine), ""]
        links = []
        if figures_dir is not None:
            for f in (f for f in REGISTRY.figures.values() if f.paper == paper):
                png = figures_dir / paper / f"{f.name}.png"
                if png.exists():
                    rel = os.path.relpath(png, path.parent)
                    links.append(f"[{f.name}]({rel}) ([pdf]({rel[:-4]}.pdf))")
        if links:
            lines += ["Figures: " + ", ".join(links), ""]
    atomic_write_text(path, "\n".join(lines).rstrip() + "\n")
    return path
