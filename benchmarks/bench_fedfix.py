"""Benchmark: the batched federated engine vs the per-client Python loop, M = 100 clients (F-80).

The engine does one set of tensor operations per aggregation for all runs and all participating clients; the loop
(the way the reference simulator is written) goes over runs, clients and local steps one at a time. Both are timed
side by side in one process on the first aggregations of each scheme's exact schedule (same random batches, so the
iterates are compared too), and the time per aggregation is extrapolated to the paper's horizon T = 5000 (the cost
of an aggregation does not depend on its index, only on its number of clients, which the schedule gives exactly).

    OMP_NUM_THREADS=1 python benchmarks/bench_fedfix.py [--runs 8] [--device cpu|cuda] [--loop-steps 20]
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np
import torch

from sims.federated.engine import per_client_loop, run_federated
from sims.federated.problems import make_problem
from theory.federated.client_times import client_times
from theory.federated.schedule import build_schedule
from theory.federated.schemes import parse_scheme
from theory.federated.weights import aggregation_weights


def engine(prob: Any, short: Any, w: np.ndarray, kw: dict[str, Any], n: int, device: str) -> tuple[float, Any]:
    """Seconds per aggregation of the batched engine over the first ``n`` aggregations, and its last iterate."""
    off = short.offsets[: n + 1]
    g = torch.Generator(device=device).manual_seed(0)
    run_federated(prob, off[:2], short.clients[: off[1]], w, record_steps=[0], generator=g, **kw)  # warm-up
    g = torch.Generator(device=device).manual_seed(0)
    t0 = time.perf_counter()
    r = run_federated(prob, off, short.clients[: off[-1]], w, record_steps=[n - 1], generator=g, **kw)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return (time.perf_counter() - t0) / n, r.theta[-1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=100)
    ap.add_argument("--runs", type=int, default=8)
    ap.add_argument("--dim", type=int, default=10)
    ap.add_argument("--local-steps", type=int, default=5)
    ap.add_argument("--batch", type=int, default=10)
    ap.add_argument("--horizon", type=float, default=5000.0)
    ap.add_argument("--short-horizon", type=float, default=20.0, help="schedule horizon actually simulated")
    ap.add_argument("--loop-steps", type=int, default=20, help="aggregations timed for the loop")
    ap.add_argument("--engine-steps", type=int, default=400, help="aggregations timed for the engine")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    M, R = args.clients, args.runs
    tau = client_times(M, 80)
    prob, _ = make_problem("lsq", M, 50, args.dim, np.random.default_rng(0), device=args.device)
    th0 = torch.zeros(R, args.dim, dtype=torch.float64, device=args.device)
    print(f"fedfix benchmark: M={M} clients (F-80), R={R} runs, d={args.dim}, K={args.local_steps}, "
          f"B={args.batch}; torch {torch.__version__}, threads {torch.get_num_threads()}, device {args.device}")
    print(f"{'scheme':12s} {'aggr. to T':>11s} {'clients/agg':>11s} {'loop s/agg':>11s} {'engine s/agg':>12s} "
          f"{'loop, T (h)':>11s} {'engine, T (s)':>13s} {'speed-up':>9s} {'max |diff|':>10s}")
    for name in ("FedAvg", "FedFix-0.2", "FedBuff-10", "Async"):
        sch = parse_scheme(name)
        short = build_schedule(sch, tau, args.short_horizon)
        full_steps = short.n_steps * args.horizon / args.short_horizon  # aggregations grow linearly with T
        w = np.array([float(x) for x in aggregation_weights(sch, tau)])
        kw: dict[str, Any] = dict(lr=0.01, local_steps=args.local_steps, batch=args.batch, theta0=th0)

        nl = min(args.loop_steps, short.n_steps)
        ne = min(args.engine_steps, short.n_steps)
        off = short.offsets[: nl + 1]
        g = torch.Generator(device=args.device).manual_seed(0)
        t0 = time.perf_counter()
        ref = per_client_loop(prob, off, short.clients[: off[-1]], w, record_steps=[nl - 1], generator=g, **kw)
        t_loop = (time.perf_counter() - t0) / nl
        _, th_same = engine(prob, short, w, kw, nl, args.device)
        diff = float((th_same - ref[-1]).abs().max())
        t_eng, _ = engine(prob, short, w, kw, ne, args.device)
        per = short.clients.size / short.n_steps
        print(f"{name:12s} {full_steps:11.0f} {per:11.1f} {t_loop:11.4f} {t_eng:12.5f} "
              f"{t_loop * full_steps / 3600:11.2f} {t_eng * full_steps:13.1f} {t_loop / t_eng:8.1f}x {diff:10.1e}")


if __name__ == "__main__":
    main()
