"""Optimizer step benchmark: AdaBelief, diffGrad, SGD-SaI (sims.optim) vs their reference packages and
``torch.optim.Adam(foreach=True)``, side by side in one run.

Setup: 10^7 float32 parameters in 200 tensors of equal size, fixed random gradients (one draw), one thread. Each
optimizer runs in a fresh subprocess (so its peak memory is its own): ``warmup`` steps, then ``steps`` timed steps
(median seconds per step). Peak memory of the step: growth of the process's peak RSS from before the first step to
after the last, minus the optimizer state's bytes: the temporaries a step allocates beyond parameters, gradients and
state, in units of the parameters' size (1.0 = one extra copy of all parameters). Allocations above 64 KiB are
mmapped (``MALLOC_MMAP_THRESHOLD_``) so freed temporaries leave no slack in the baseline. Ratios are against
foreach Adam measured in the same run.

Usage: ``python benchmarks/bench_optimizers.py [--params 1e7] [--tensors 200] [--steps 10] [--warmup 3]``.
A reference that is not installed is skipped.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("MALLOC_MMAP_THRESHOLD_", "65536")  # inherited by the spawned measurement processes

import argparse  # noqa: E402
import contextlib  # noqa: E402
import io  # noqa: E402
import multiprocessing as mp  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

import torch  # noqa: E402

from sims.optim.state_memory import state_bytes  # noqa: E402


def _makers() -> dict[str, Callable[[list[torch.Tensor]], Any]]:
    from sims.optim.adabelief import AdaBelief
    from sims.optim.diffgrad import DiffGrad
    from sims.optim.sgd_sai import SGDSaI

    def ref(mod: str, build: Callable[[Any, list[torch.Tensor]], Any]) -> Callable[[list[torch.Tensor]], Any]:
        def make(ps: list[torch.Tensor]) -> Any:
            m = __import__(mod)
            with contextlib.redirect_stdout(io.StringIO()):
                return build(m, ps)
        return make

    return {
        "adam_foreach": lambda ps: torch.optim.Adam(ps, foreach=True),
        "adabelief_foreach": lambda ps: AdaBelief(ps, foreach=True),
        "adabelief_loop": lambda ps: AdaBelief(ps, foreach=False),
        "adabelief-pytorch 0.2.1": ref("adabelief_pytorch", lambda m, ps: m.AdaBelief(ps, print_change_log=False)),
        "pytorch-optimizer AdaBelief": ref("pytorch_optimizer", lambda m, ps: m.AdaBelief(ps, rectify=True)),
        "diffgrad_foreach": lambda ps: DiffGrad(ps, foreach=True),
        "diffgrad_loop": lambda ps: DiffGrad(ps, foreach=False),
        "torch-optimizer DiffGrad": ref("torch_optimizer", lambda m, ps: m.DiffGrad(ps)),
        "sgd_sai_foreach": lambda ps: SGDSaI(ps, foreach=True),
        "sgd_sai_loop": lambda ps: SGDSaI(ps, foreach=False),
        "sgd-sai 1.0.3": ref("sgd_sai", lambda m, ps: m.SGD_sai(ps)),
    }


def _maxrss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: kilobytes


def _measure(name: str, n: int, k: int, steps: int, warmup: int, q: Any) -> None:
    torch.set_num_threads(1)
    try:
        make = _makers()[name]
        g = torch.Generator().manual_seed(0)
        size = n // k
        ps = [torch.nn.Parameter(torch.randn(size, generator=g) * 0.1) for _ in range(k)]
        for p in ps:
            p.grad = torch.randn(size, generator=g) * 1e-2
        opt = make(ps)
        base = _maxrss_bytes()  # parameters and gradients; no state yet
        with contextlib.redirect_stdout(io.StringIO()):  # sgd-sai prints at its first step
            for _ in range(warmup):
                opt.step()
        times = []
        for _ in range(steps):
            t0 = time.perf_counter()
            opt.step()
            times.append(time.perf_counter() - t0)
        full, other, _ = state_bytes(opt)
        extra = (_maxrss_bytes() - base - full - other) / (4 * size * k)
        q.put((name, statistics.median(times), extra, ""))
    except ImportError as e:
        q.put((name, float("nan"), float("nan"), f"skipped ({e.name} not installed)"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--params", type=float, default=1e7)
    ap.add_argument("--tensors", type=int, default=200)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    a = ap.parse_args()
    n = int(a.params)
    if n < a.tensors or a.tensors < 1 or a.steps < 1 or a.warmup < 1:
        raise SystemExit("need params >= tensors >= 1, steps >= 1, warmup >= 1")
    ctx = mp.get_context("spawn")
    rows = []
    for name in _makers():
        q = ctx.Queue()
        pr = ctx.Process(target=_measure, args=(name, n, a.tensors, a.steps, a.warmup, q))
        pr.start()
        rows.append(q.get())
        pr.join()
    adam = next(r[1] for r in rows if r[0] == "adam_foreach")
    print(f"{n:.3g} float32 parameters in {a.tensors} tensors, 1 thread, median of {a.steps} steps "
          f"(torch {torch.__version__})")
    print(f"{'optimizer':30s} {'ms/step':>9s} {'x Adam':>7s} {'step temporaries (x params)':>28s}")
    for name, t, extra, note in rows:
        if note:
            print(f"{name:30s} {note}")
        else:
            print(f"{name:30s} {1e3 * t:9.1f} {t / adam:7.2f} {extra:28.2f}")
    t = {r[0]: r[1] for r in rows}
    for base in ("adabelief", "diffgrad", "sgd_sai"):
        refs = {"adabelief": ("adabelief-pytorch 0.2.1", "pytorch-optimizer AdaBelief"),
                "diffgrad": ("torch-optimizer DiffGrad",), "sgd_sai": ("sgd-sai 1.0.3",)}[base]
        for path in ("loop", "foreach"):  # loop: the default on CPU (foreach=None); foreach: the default on CUDA
            ours = f"{base}_{path}"
            print(f"{ours}: {t[ours] / adam:.2f}x Adam(foreach); reference / ours: "
                  + ", ".join(f"{r} {t[r] / t[ours]:.2f}" for r in refs if t[r] == t[r]))

if __name__ == "__main__":
    main()
