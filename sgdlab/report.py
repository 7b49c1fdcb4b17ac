"""Tables and the Markdown report (reports/verification.md): every claim, its verdict and numbers, figure links."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from .figures import FIGURES_DIR
from .provenance import git_revision, package_versions
from .registry import REGISTRY
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
    head = "| claim | expected | verdict | predicted | measured | uncertainty | tolerance | s |" + (
        " numbers behind it |" if notes else ""
    )
    sep = "|" + "---|" * (9 if notes else 8)
    rows = []
    for o in outcomes:
        v = f"**{o.verdict}**" if o.matches else f"**{o.verdict}** (expected {o.expected}: MISMATCH)"
        row = (
            f"| `{o.id}` | {o.expected} | {v} | {fmt(o.predicted)} | {fmt(o.measured)} | {fmt(o.uncertainty)} | "
            f"{fmt(o.tolerance)} | {o.seconds:.1f} |"
        )
        if notes:
            row += f" {_md(o.note)} |"
        rows.append(row)
    return "\n".join([head, sep, *rows])


def write_report(outcomes: Sequence[Outcome], path: Path, scale: str) -> Path:
    """Write the Markdown report: summary, then per paper the statements, verdict table and figure links."""
    path.parent.mkdir(parents=True, exist_ok=True)
    n_ok = sum(o.matches for o in outcomes)
    by_v: dict[str, int] = {}
    for o in outcomes:
        by_v[o.verdict] = by_v.get(o.verdict, 0) + 1
    vers = package_versions()
    lines = [
        "# Verification report",
        "",
        f"Scale `{scale}`; git revision `{git_revision()}`; python {vers['python']}, torch {vers['torch']}, "
        f"numpy {vers['numpy']}, scipy {vers['scipy']}. Regenerate with `python -m sgdlab verify --scale {scale}`.",
        "",
        f"{len(outcomes)} claims: " + ", ".join(f"{n} {v}" for v, n in sorted(by_v.items()))
        + f"; {n_ok} match the expected verdict, {len(outcomes) - n_ok} do not.",
        "",
        "A claim the suite expects to *fail* is a counterexample it reports on purpose; `inconclusive` means the",
        "measurement's uncertainty straddles the prediction's boundary.",
    ]
    papers = list(dict.fromkeys(o.paper for o in outcomes))
    for paper in papers:
        mine = [o for o in outcomes if o.paper == paper]
        lines += ["", f"## {paper}", ""]
        lines += [f"- `{o.id}`: {o.statement}" for o in mine]
        lines += ["", markdown_table(mine), ""]
        figs = [f for f in REGISTRY.figures.values() if f.paper == paper]
        links = []
        for f in figs:
            png = FIGURES_DIR / paper / f"{f.name}.png"
            if png.exists():
                rel = os.path.relpath(png, path.parent)
                links.append(f"[{f.name}]({rel}) ([pdf]({rel[:-4]}.pdf))")
        if links:
            lines += ["Figures: " + ", ".join(links), ""]
    path.write_text("\n".join(lines).rstrip() + "\n")
    return path
