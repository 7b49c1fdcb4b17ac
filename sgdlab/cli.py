"""Command line: ``python -m sgdlab {verify,figures,run,list}``.

Exit codes: 0 every verdict as expected (or the command succeeded); 1 a verdict differs from the expected one, or a
figure failed; 2 bad usage or input (unknown experiment, bad ``--set``, invalid ``--workers``); 3 an output or cache
path that cannot be written (checked before anything runs); 4 a requested device that this machine does not have.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import overrides as ov
from . import paths
from .bundle import write_bundle
from .context import Context
from .executors import EXECUTORS, dask_executor, process_executor, submitit_executor
from .figures import render
from .provenance import config_dict
from .registry import REGISTRY
from .report import strict_json, text_table, write_report
from .scales import SCALES
from .store import ResultStore, atomic_write_text, compute

EXIT_OK, EXIT_MISMATCH, EXIT_USAGE, EXIT_UNWRITABLE, EXIT_DEVICE = 0, 1, 2, 3, 4


class Unwritable(Exception):
    pass


class DeviceUnavailable(Exception):
    pass


def _check_device(device: str | None) -> None:
    if device is None:
        return
    from sims.runs import parse_device

    try:
        parse_device(device)
    except ValueError as err:
        raise DeviceUnavailable(str(err)) from None


def _writable(folder: Path, what: str) -> None:
    try:
        paths.check_writable(folder, what)
    except ValueError as err:
        raise Unwritable(str(err)) from None


def _executor(args: argparse.Namespace) -> Any:
    workers = args.workers
    if isinstance(workers, bool) or workers < 1:
        raise ValueError(f"--workers must be an integer >= 1, got {workers}")
    kind = args.executor
    if kind == "dask":
        return dask_executor(args.scheduler, workers)
    if kind == "submitit":
        folder = Path(args.cache or paths.cache_root()) / "submitit"
        return submitit_executor(folder, partition=args.slurm_partition,
                                 cluster=None if args.slurm_partition else "local")  # fmt: skip
    if kind == "processes" or (kind == "local" and workers > 1):
        return process_executor(workers)
    return None


def _context(args: argparse.Namespace) -> Context:
    _check_device(args.device)
    store = ResultStore(args.cache)
    try:
        store.check_writable()
    except ValueError as err:
        raise Unwritable(str(err)) from None
    ctx = Context(scale=args.scale, store=store, device=args.device, force=getattr(args, "force", False),
                  executor=_executor(args), overrides=ov.parse_set(args.set or []))  # fmt: skip
    ctx.validate_overrides()
    return ctx


def _tag(args: argparse.Namespace, ctx: Context) -> str:
    parts = [args.scale]
    if getattr(args, "only", None):
        parts.append("only-" + "-".join(args.only))
    if not ctx.is_default:
        desc = ov.describe(ctx.overrides) + (f" device={ctx.device}" if ctx.device else "")
        parts.append("set-" + hashlib.sha256(desc.encode()).hexdigest()[:8])
    return "_".join(p.replace("/", "-").replace(" ", "") for p in parts)


def _committed_ok(args: argparse.Namespace, ctx: Context, *, whole_suite: bool) -> bool:
    """Whether this run may write the committed outputs (see :mod:`sgdlab.paths`)."""
    return (paths.checkout_root() is not None and args.scale == "default" and ctx.is_default
            and (not getattr(args, "only", None) or not whole_suite))  # fmt: skip


def cmd_verify(args: argparse.Namespace) -> int:
    ctx = _context(args)
    claims = REGISTRY.select_claims(args.only)
    out_dir = Path(args.out) if args.out else paths.default_out(_tag(args, ctx))
    if args.report:
        report = Path(args.report)
    elif _committed_ok(args, ctx, whole_suite=True) and not args.out:
        report = paths.committed_report() or out_dir / "verification.md"
    else:
        report = out_dir / "verification.md"
    if args.json:
        _writable(Path(args.json).resolve().parent, "the --json folder")
    if not args.no_report:
        _writable(report.resolve().parent, "the report folder")
    if not ctx.is_default:
        print(f"overrides: {ov.describe(ctx.overrides) or '-'}; device: {ctx.device or 'from configs'}")
    from .verify import run_claims

    outcomes = run_claims(claims, ctx)
    print(text_table(outcomes))
    for o in outcomes:
        if not o.matches or o.verdict == "error":
            print(f"\n{o.id}: {o.verdict} (expected {o.expected}). {o.note}", file=sys.stderr)
    if args.json:
        atomic_write_text(Path(args.json), strict_json([o.to_dict() for o in outcomes]) + "\n")
    if not args.no_report:
        fig_dir = paths.committed_figures() if _committed_ok(args, ctx, whole_suite=False) else out_dir / "figures"
        rep = write_report(outcomes, report, args.scale, figures_dir=fig_dir, overrides=ctx.overrides)
        print(f"\nreport: {rep}")
    bad = [o for o in outcomes if not o.matches]
    print(f"{len(outcomes) - len(bad)} of {len(outcomes)} claims gave their expected verdict.")
    return EXIT_MISMATCH if bad else EXIT_OK


def cmd_figures(args: argparse.Namespace) -> int:
    ctx = _context(args)
    specs = REGISTRY.select_figures(args.only)
    if args.only and not specs:
        print(f"--only {args.only} selects no figure", file=sys.stderr)
        return EXIT_USAGE
    if args.out:
        out = Path(args.out)
    elif _committed_ok(args, ctx, whole_suite=False):
        out = paths.committed_figures() or paths.default_out(_tag(args, ctx)) / "figures"
    else:
        out = paths.default_out(_tag(args, ctx)) / "figures"
    _writable(out, "the figure folder")
    print(f"figures go to {out}")
    failed = 0
    for spec in specs:
        t0 = time.perf_counter()
        try:
            fpaths = render(spec, ctx, out)
            print(f"{spec.name}: {fpaths[0]} (+pdf) in {time.perf_counter() - t0:.1f} s")
        except Exception as err:
            failed += 1
            print(f"{spec.name}: FAILED: {type(err).__name__}: {err}", file=sys.stderr)
    return EXIT_MISMATCH if failed else EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    _writable(Path(args.out), "the --out folder")
    ctx = _context(args)
    exp = REGISTRY.experiment(args.experiment)
    cfg = ctx.config(exp.name)
    print(f"running {exp.name} at scale {args.scale} on {getattr(cfg, 'device', 'cpu')}: {config_dict(cfg)}")
    outputs, meta = compute(exp, cfg)
    folder = write_bundle(args.out, exp.name, outputs, meta)
    ctx.store.save(exp, cfg, outputs, meta)
    print(f"bundle: {folder} ({meta['wall_seconds']:.1f} s on {meta['device']})")
    return EXIT_OK


def cmd_list(args: argparse.Namespace) -> int:
    REGISTRY.load_all()
    ctx = Context(scale=args.scale, overrides=ov.parse_set(args.set or []))
    ctx.validate_overrides()
    for paper in REGISTRY.paper_keys():
        print(f"== {paper}")
        for e in REGISTRY.experiments.values():
            if e.paper == paper:
                fields = ", ".join(f"{k}={v}" for k, v in dataclasses.asdict(ctx.config(e.name)).items())
                print(f"  experiment {e.name} [{args.scale}]: {fields}")
        for c in REGISTRY.claims.values():
            if c.paper == paper:
                tol = c.tol.describe()
                print(f"  claim {c.id} (expected {c.expected_at(args.scale)}; tolerances: {tol or '-'}): "
                      f"{c.statement}")  # fmt: skip
        for f in REGISTRY.figures.values():
            if f.paper == paper:
                print(f"  figure {f.name}")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m sgdlab", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    sub = p.add_subparsers(dest="command", required=True)

    def common(sp: argparse.ArgumentParser, scale: str = "default") -> None:
        sp.add_argument("--scale", choices=SCALES, default=scale, help=f"problem sizes (default: {scale})")
        sp.add_argument("--set", action="append", metavar="EXP.FIELD=VALUE",
                        help="override a config field (type-checked), e.g. asgd.curves.a=1.5 or asgd.*.a=3; "
                             "repeatable; an overridden run writes under --out, never the committed report/figures")
        sp.add_argument("--device", default=None, help="torch device for simulations (cpu, cuda, cuda:1, mps)")
        sp.add_argument("--cache", default=None, help="result store folder (default: <checkout>/.sgdlab_cache, or "
                                                      "the platform cache folder for an installed package)")
        sp.add_argument("--force", action="store_true", help="recompute results even when cached")
        sp.add_argument("--workers", type=int, default=1, help="worker processes for sweeps (default 1: in process)")
        sp.add_argument("--executor", choices=EXECUTORS, default="local",
                        help="where sweep points run: local (this process, or --workers processes), processes, "
                             "dask (--scheduler ADDRESS, else a LocalCluster of --workers), submitit (Slurm with "
                             "--slurm-partition, else local subprocesses)")
        sp.add_argument("--scheduler", default=None, help="dask scheduler address, e.g. tcp://10.0.0.1:8786")
        sp.add_argument("--slurm-partition", default=None, help="Slurm partition for --executor submitit")
        sp.add_argument("-v", "--verbose", action="store_true")

    v = sub.add_parser("verify", help="run claims, print verdicts, write the report; exit 1 on unexpected verdicts")
    common(v)
    v.add_argument("--only", nargs="+", metavar="KEY", help="paper keys, claim ids or id prefixes")
    v.add_argument("--json", metavar="PATH", help="write the outcomes as a JSON list (strict JSON)")
    v.add_argument("--report", metavar="PATH", help="Markdown report path")
    v.add_argument("--out", metavar="DIR", help="output folder of a non-committed run (default: under the cache)")
    v.add_argument("--no-report", action="store_true")
    v.set_defaults(func=cmd_verify)

    f = sub.add_parser("figures", help="draw the registered figures (PNG + PDF)")
    common(f)
    f.add_argument("--only", nargs="+", metavar="KEY", help="paper keys or figure names")
    f.add_argument("--out", help="output folder (default: figures/ for the default scale and configs)")
    f.set_defaults(func=cmd_figures)

    r = sub.add_parser("run", help="run one experiment and write a compact bundle (for results/)")
    common(r, scale="full")
    r.add_argument("experiment")
    r.add_argument("--out", required=True, help="folder that receives <experiment>/{arrays.npz,meta.json}")
    r.set_defaults(func=cmd_run)

    ls = sub.add_parser("list", help="list experiments (with configs), claims (with tolerances) and figures")
    ls.add_argument("--scale", choices=SCALES, default="default")
    ls.add_argument("--set", action="append", metavar="EXP.FIELD=VALUE", help="show the configs with overrides")
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
    except Unwritable as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_UNWRITABLE
    except DeviceUnavailable as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_DEVICE
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

