"""Command line: ``python -m sgdlab {verify,figures,run,list}``."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from .bundle import write_bundle
from .context import Context, process_executor
from .figures import FIGURES_DIR, render
from .provenance import REPO_ROOT, config_dict
from .registry import REGISTRY, load_all
from .report import text_table, write_report
from .scales import SCALES
from .store import ResultStore, compute
from .verify import run_claims


def _context(args: argparse.Namespace) -> Context:
    ex = process_executor(args.workers) if getattr(args, "workers", 1) > 1 else None
    return Context(scale=args.scale, store=ResultStore(args.cache), device=args.device, force=args.force, executor=ex)


def _default_out(args: argparse.Namespace, what: str) -> Path:
    """Committed places (reports/, figures/) at the default scale for the whole suite; elsewhere otherwise."""
    store_root = ResultStore(args.cache).root
    if what == "report":
        if args.scale == "default" and not args.only:
            return REPO_ROOT / "reports" / "verification.md"
        tag = args.scale + ("-" + "-".join(args.only) if args.only else "")
        return store_root / "reports" / f"verification-{tag}.md"
    return FIGURES_DIR if args.scale == "default" else store_root / f"figures-{args.scale}"


def cmd_verify(args: argparse.Namespace) -> int:
    load_all()
    claims = REGISTRY.select_claims(args.only)
    ctx = _context(args)
    outcomes = run_claims(claims, ctx)
    print(text_table(outcomes))
    for o in outcomes:
        if not o.matches or o.verdict == "error":
            print(f"\n{o.id}: {o.verdict} (expected {o.expected}). {o.note}", file=sys.stderr)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps([o.to_dict() for o in outcomes], indent=1) + "\n")
    if not args.no_report:
        rep = write_report(outcomes, Path(args.report) if args.report else _default_out(args, "report"), args.scale)
        print(f"\nreport: {rep}")
    bad = [o for o in outcomes if not o.matches]
    print(f"{len(outcomes) - len(bad)} of {len(outcomes)} claims gave their expected verdict.")
    return 1 if bad else 0


def cmd_figures(args: argparse.Namespace) -> int:
    load_all()
    specs = REGISTRY.select_figures(args.only)
    if args.only and not specs:
        print(f"--only {args.only} selects no figure", file=sys.stderr)
        return 2
    ctx = _context(args)
    out = Path(args.out) if args.out else _default_out(args, "figures")
    failed = 0
    for spec in specs:
        t0 = time.perf_counter()
        try:
            paths = render(spec, ctx, out)
            print(f"{spec.name}: {paths[0]} (+pdf) in {time.perf_counter() - t0:.1f} s")
        except Exception as err:
            failed += 1
            print(f"{spec.name}: FAILED: {type(err).__name__}: {err}", file=sys.stderr)
    return 1 if failed else 0


def cmd_run(args: argparse.Namespace) -> int:
    load_all()
    exp = REGISTRY.experiment(args.experiment)
    ctx = _context(args)
    cfg = ctx.config(exp.name)
    print(f"running {exp.name} at scale {args.scale}: {config_dict(cfg)}")
    outputs, meta = compute(exp, cfg)
    folder = write_bundle(args.out, exp.name, outputs, meta)
    ctx.store.save(exp, cfg, outputs, meta)
    print(f"bundle: {folder} ({meta['wall_seconds']:.1f} s on {meta['device']})")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    load_all()
    papers = sorted(REGISTRY.papers())
    for paper in papers:
        print(f"== {paper}")
        for e in REGISTRY.experiments.values():
            if e.paper == paper:
                fields = ", ".join(f"{k}={v}" for k, v in dataclasses.asdict(e.config(args.scale)).items())
                print(f"  experiment {e.name} [{args.scale}]: {fields}")
        for c in REGISTRY.claims.values():
            if c.paper == paper:
                print(f"  claim {c.id} (expected {c.expected_at(args.scale)}): {c.statement}")
        for f in REGISTRY.figures.values():
            if f.paper == paper:
                print(f"  figure {f.name}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m sgdlab", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    def common(sp: argparse.ArgumentParser, scale: str = "default") -> None:
        sp.add_argument("--scale", choices=SCALES, default=scale, help=f"problem sizes (default: {scale})")
        sp.add_argument("--device", default=None, help="torch device for simulations (cpu, cuda, cuda:1, mps)")
        sp.add_argument("--cache", default=None, help="result store folder (default: <repo>/.sgdlab_cache)")
        sp.add_argument("--force", action="store_true", help="recompute results even when cached")
        sp.add_argument("--workers", type=int, default=1, help="local processes for sweeps (default 1: in process)")
        sp.add_argument("-v", "--verbose", action="store_true")

    v = sub.add_parser("verify", help="run claims, print verdicts, write the report; exit 1 on unexpected verdicts")
    common(v)
    v.add_argument("--only", nargs="+", metavar="KEY", help="paper keys, claim ids or id prefixes")
    v.add_argument("--json", metavar="PATH", help="write the outcomes as a JSON list")
    v.add_argument("--report", metavar="PATH", help="Markdown report path")
    v.add_argument("--no-report", action="store_true")
    v.set_defaults(func=cmd_verify)

    f = sub.add_parser("figures", help="draw the registered figures (PNG + PDF)")
    common(f)
    f.add_argument("--only", nargs="+", metavar="KEY", help="paper keys or figure names")
    f.add_argument("--out", help="output folder (default: figures/ at default scale)")
    f.set_defaults(func=cmd_figures)

    r = sub.add_parser("run", help="run one experiment and write a compact bundle (for results/)")
    common(r, scale="full")
    r.add_argument("experiment")
    r.add_argument("--out", required=True, help="folder that receives <experiment>/{arrays.npz,meta.json}")
    r.set_defaults(func=cmd_run)

    ls = sub.add_parser("list", help="list experiments, claims and figures")
    ls.add_argument("--scale", choices=SCALES, default="default")
    ls.set_defaults(func=cmd_list)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    import matplotlib

    matplotlib.use("Agg")
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if getattr(args, "verbose", False) else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")  # fmt: skip
    try:
        return int(args.func(args))
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
