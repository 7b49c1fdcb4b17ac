"""The GPU experiments of the five analytical settings in one prepared run (issue 18), and its CPU smoke version.

On a GPU machine (torch >= 2.4, no network, no Jupyter), from the repository root:

    PYTHONPATH=. python benchmarks/gpu_suite.py --device cuda --out $OUT --budget 420

runs every part at the full scale within about ``--budget`` seconds (parts are skipped, and say so, once the budget
is spent), writes one result bundle per experiment (``<experiment>/{arrays.npz, meta.json}``, the format of
``python -m sgdlab run``) and packs them into ONE file ``$OUT/gpu_bundles.tar.gz`` plus ``$OUT/gpu_summary.json``
(device, dtype, torch version, wall time and peak memory per part). Unpack the tarball into ``results/`` and commit:
``python -m sgdlab verify --scale full`` and the notebooks then read those bundles instead of recomputing.

``--smoke`` runs the same parts at the smoke scale on the CPU (CI runs it: the script cannot rot).
"""

from __future__ import annotations

import argparse
import io
import json
import platform
import resource
import sys
import tarfile
import time
import traceback
from pathlib import Path
from typing import Any

import torch

from sgdlab import Context, ResultStore
from sgdlab.bundle import write_bundle
from sgdlab.registry import REGISTRY
from sgdlab.store import compute

#: part -> experiments it runs (full-scale configs; ``--device`` replaces their device)
PARTS: dict[str, tuple[str, ...]] = {
    "asgd": ("asgd.mc",),  # R = 10^4 runs, d = 2000, N = 10^4, SGD and ASGD vs the exact recursion
    "dsgd": ("dsgd.consensus",),  # engine throughput: runs x agents x dim x steps per second
    "heavy_tail": ("heavy_tail.nn",),  # (alpha, sigma) grid of the small net with injected alpha-stable noise
    "stability": ("stability.nn",),  # interpolating networks near the predicted threshold, NTK coherence
    "noise_regimes": ("noise_regimes.lazy", "noise_regimes.phase"),  # lazy-regime grid, phase diagram
}


def peak_memory(device: str) -> dict[str, float]:
    out = {"host_max_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}
    if device.startswith("cuda") and torch.cuda.is_available():
        out["device_peak_allocated_mib"] = torch.cuda.max_memory_allocated() / 2**20
    return out


def run_part(part: str, names: tuple[str, ...], *, scale: str, device: str, bundles: Path,
             deadline: float) -> dict[str, Any]:  # fmt: skip
    """Run the experiments of one part, write their bundles; never raises (errors are recorded)."""
    rec: dict[str, Any] = {"part": part, "experiments": {}, "device": device, "torch": torch.__version__}
    ctx = Context(scale=scale, store=ResultStore(bundles.parent / "cache"), device=device)
    for name in names:
        if time.time() > deadline:
            rec["experiments"][name] = {"status": "skipped: time budget spent"}
            continue
        if device.startswith("cuda"):
            torch.cuda.reset_peak_memory_stats()
        t0 = time.perf_counter()
        try:
            exp = REGISTRY.experiment(name)
            cfg = ctx.config(name)
            outputs, meta = compute(exp, cfg)
            meta["peak_memory"] = peak_memory(device)
            write_bundle(bundles, name, outputs, meta)
            rec["experiments"][name] = {"status": "ok", "wall_seconds": time.perf_counter() - t0,
                                        "dtype": meta.get("dtype"), "peak_memory": meta["peak_memory"],
                                        "config": meta["config"]}  # fmt: skip
        except Exception as err:  # one failing part must not lose the others
            rec["experiments"][name] = {"status": f"error: {type(err).__name__}: {err}",
                                        "traceback": traceback.format_exc(limit=4),
                                        "wall_seconds": time.perf_counter() - t0}  # fmt: skip
        print(f"[{part}] {name}: {rec['experiments'][name]['status']} "
              f"({rec['experiments'][name].get('wall_seconds', 0):.1f} s)", flush=True)  # fmt: skip
    return rec


def pack(bundles: Path, target: Path) -> Path:
    """All bundle folders in one gzipped tarball (the device returns at most 8 files)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for p in sorted(bundles.rglob("*")):
            if p.is_file():
                tar.add(p, arcname=str(p.relative_to(bundles)))
    target.write_bytes(buf.getvalue())
    return target


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--out", required=True, help="folder for gpu_bundles.tar.gz and gpu_summary.json")
    ap.add_argument("--budget", type=float, default=420.0, help="seconds for all parts together")
    ap.add_argument("--parts", nargs="+", choices=sorted(PARTS), default=sorted(PARTS))
    ap.add_argument("--smoke", action="store_true", help="smoke scale on the cpu (what CI runs)")
    args = ap.parse_args(argv)
    scale, device = ("smoke", "cpu") if args.smoke else ("full", args.device)
    if device.startswith("cuda") and not torch.cuda.is_available():
        print("error: --device cuda but CUDA is not available here (use --smoke on a CPU machine)", file=sys.stderr)
        return 4
    out = Path(args.out)
    bundles = out / "bundles"
    bundles.mkdir(parents=True, exist_ok=True)
    deadline = time.time() + args.budget
    t0 = time.perf_counter()
    parts = [run_part(p, PARTS[p], scale=scale, device=device, bundles=bundles, deadline=deadline)
             for p in args.parts]  # fmt: skip
    summary = {
        "scale": scale, "device": device, "torch": torch.__version__, "python": platform.python_version(),
        "gpu": torch.cuda.get_device_name(0) if device.startswith("cuda") else None,
        "wall_seconds": time.perf_counter() - t0, "parts": parts,
    }  # fmt: skip
    (out / "gpu_summary.json").write_text(json.dumps(summary, indent=1, default=str) + "\n")
    tarball = pack(bundles, out / "gpu_bundles.tar.gz")
    print(f"{tarball} ({tarball.stat().st_size / 2**20:.2f} MiB), {out / 'gpu_summary.json'}; "
          f"{summary['wall_seconds']:.0f} s in all")  # fmt: skip
    ok = all(e["status"] == "ok" for p in parts for e in p["experiments"].values())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
