"""Benchmark: MoNNA's NNA aggregation and rounds, timed side by side in one process.

1. NNA for n = 26 workers (f = 5) and d = 10^6, every worker's output: ours (cdist + topk + one matrix product)
   vs byzfl 0.0.11's NNM (all workers at once, numpy/scipy) and vs byzfl.MoNNA called once per worker;
2. one full round (gradients, momentum, line-searched ALIE attack, NNA) of the batched simulation for R runs vs the
   same round as a Python loop over runs and workers;
3. the process backend's round time on localhost (one gloo process per worker; ``--procs`` workers).

    OMP_NUM_THREADS=1 python benchmarks/bench_monna.py [--d 1000000] [--runs 8] [--procs 6]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import tempfile
import time
import types

import numpy as np
import torch
import torch.multiprocessing as mp

from sims.distributed.byzantine import RunSpec, make_split, round_step
from sims.distributed.nna import nna


def _byzfl():
    spec = importlib.util.find_spec("byzfl")
    if spec is None or not spec.submodule_search_locations:
        return None
    stub = types.ModuleType("byzfl")
    stub.__path__ = list(spec.submodule_search_locations)
    sys.modules["byzfl"] = stub
    import byzfl.aggregators as agg
    return agg


def _time(fn, reps: int = 3) -> float:
    fn()
    t = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - t) / reps


def bench_nna(d: int) -> None:
    n, f = 26, 5
    v = np.random.default_rng(0).normal(size=(n, d))
    t = torch.tensor(v)
    ours = _time(lambda: nna(t[None], t[None], n - f))
    fast = _time(lambda: nna(t[None], t[None], n - f, exact=False))
    print(f"NNA n={n} f={f} d={d:.0e} (all {n} outputs): ours {ours * 1e3:.1f} ms (exact distances), "
          f"{fast * 1e3:.1f} ms (Gram-form distances, exact=False)")
    agg = _byzfl()
    if agg is None:
        print("  byzfl not installed: no ratio")
        return
    loop = _time(lambda: [agg.MoNNA(f=f, idx=i)(v) for i in range(n)], reps=1)
    print(f"  byzfl MoNNA called for each of the {n} workers: {loop * 1e3:.1f} ms (ratio {loop / ours:.1f}x exact, "
          f"{loop / fast:.1f}x Gram form)")
    if n * (n - f) * d * 8 > 2e9:
        print(f"  byzfl NNM skipped at this d: it gathers n (n - f) d floats ({n * (n - f) * d * 8 / 1e9:.1f} GB)")
        return
    nnm = _time(lambda: agg.NNM(f=f)(v), reps=1)
    print(f"  byzfl NNM (all workers at once) {nnm * 1e3:.1f} ms (ratio {nnm / ours:.1f}x)")


def bench_round(R: int) -> None:
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    rng = np.random.default_rng(0)
    split = make_split(X[:1400] / 16, y[:1400], X[1400:] / 16, y[1400:], 21, 1.0, R, rng)
    spec = RunSpec(f=5, rule="nna_paper", attack="alie", evals=6)
    d = 650
    st = {"theta": torch.zeros(R, 21, d, dtype=torch.float64), "m": torch.zeros(R, 21, d, dtype=torch.float64),
          "m_flip": torch.zeros(R, 21, d, dtype=torch.float64)}
    g = torch.Generator().manual_seed(0)
    batched = _time(lambda: round_step(st, split, spec, g))

    def per_worker():
        from sims.distributed.byzantine import byzantine_vectors, grad
        for r in range(R):
            half = []
            for i in range(21):
                ids = split.idx[r, i, torch.randint(0, int(split.size[r, i]), (25,), generator=g)]
                gi = grad(st["theta"][r, i], split.x[ids], split.y[ids], 10)
                half.append(st["theta"][r, i] - 0.5 * (0.9 * st["m"][r, i] + 0.1 * gi))
            hs = torch.stack(half)[None]
            byz = byzantine_vectors("alie", hs, 5, "nna_paper", None, spec.params, None, None, 6)
            cands = torch.cat([hs, byz], 1)[0]
            for i in range(21):
                nna(hs[:, i:i + 1], cands[None], 21)

    loop = _time(per_worker, reps=1)
    print(f"one round, R={R} runs x 21 honest + 5 Byzantine, digits, ALIE line search (6 evals): batched "
          f"{batched * 1e3:.1f} ms, per-worker loop {loop * 1e3:.1f} ms (ratio {loop / batched:.1f}x)")


def _proc(rank: int, world: int, path: str, rounds: int, q) -> None:
    import torch.distributed as dist

    from sims.distributed.process_backend import run_rank
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{path}", rank=rank, world_size=world)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 20))
    y = rng.integers(0, 10, 400)
    f = 1
    split = make_split(x[:300], y[:300], x[300:], y[300:], world - f, 1.0, 1, np.random.default_rng(1))
    spec = RunSpec(f=f, rule="nna_paper", attack="sign_flip", rounds=rounds)
    run_rank(split, RunSpec(f=f, rule="nna_paper", attack="sign_flip", rounds=2), 0)  # warm-up
    dist.barrier()
    t = time.perf_counter()
    run_rank(split, spec, 0)
    dist.barrier()
    if rank == 0:
        q.put((time.perf_counter() - t) / rounds)
    dist.destroy_process_group()


def bench_process(procs: int, rounds: int = 20) -> None:
    if procs < 4:
        raise ValueError(f"--procs must be >= 4 (f = 1 Byzantine needs n >= 3 with n - 2f >= 1), got {procs}")
    ctx = mp.get_context("spawn")
    q = ctx.SimpleQueue()
    with tempfile.TemporaryDirectory() as tmp:
        ps = [ctx.Process(target=_proc, args=(r, procs, os.path.join(tmp, "rdv"), rounds, q)) for r in range(procs)]
        for p in ps:
            p.start()
        for p in ps:
            p.join()
    print(f"process backend: {procs} gloo processes on localhost, synthetic d = 210: {q.get() * 1e3:.1f} ms / round")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--d", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=8)
    ap.add_argument("--procs", type=int, default=6)
    a = ap.parse_args()
    torch.set_num_threads(1)
    bench_nna(a.d)
    bench_round(a.runs)
    bench_process(a.procs)


if __name__ == "__main__":
    main()
