"""Benchmark: the batched D-SGD engine (runs x agents x dim in one tensor) vs the per-agent Python loop.

Issue target: R = 100 runs, N = 64 agents (ring), d = 10, 10^5 steps; ratio expected >= 50x. Both are timed side by
side in one process at the target sizes but over fewer steps (the loop needs minutes per hundred steps), and the time
per step is extrapolated to 10^5 steps; the per-step cost of both is constant in k, so the ratio is the same.
Also times a float32 run and, with ``--device cuda``, the GPU path.

    OMP_NUM_THREADS=1 python benchmarks/bench_dsgd.py [--device cpu|cuda] [--batched-steps 2000] [--loop-steps 5]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from sims.distributed import graphs
from sims.distributed.dsgd import per_agent_loop_dsgd, run_dsgd
from sims.distributed.noise import IsotropicNoise
from sims.distributed.objectives import TiltedQuartic
from sims.distributed.schedules import PowerSchedule


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--agents", type=int, default=64)
    ap.add_argument("--dim", type=int, default=10)
    ap.add_argument("--target-steps", type=int, default=100_000)
    ap.add_argument("--batched-steps", type=int, default=2000)
    ap.add_argument("--loop-steps", type=int, default=5)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    R, N, d = args.runs, args.agents, args.dim
    g = graphs.ring(N)
    lap = graphs.laplacian(g)
    nbrs = [sorted(g.neighbors(i)) for i in range(N)]
    c = torch.tensor(np.random.default_rng(0).standard_normal((N, d)))
    c -= c.mean(0)
    a, b, sigma = PowerSchedule(0.5, 0.75), PowerSchedule(0.3, 0.2, "beta"), 0.1
    print(f"D-SGD benchmark: R={R} runs, N={N} agents (ring), d={d}; torch {torch.__version__}, "
          f"threads {torch.get_num_threads()}, device {args.device}")

    def batched(dtype: torch.dtype, device: str) -> float:
        obj = TiltedQuartic(c.to(device, dtype), 1.0 / N)
        x0 = torch.zeros(R, N, d, dtype=dtype, device=device)
        gen = torch.Generator(device=device).manual_seed(0)
        lap_t = graphs.to_torch(lap, device=device, dtype=dtype)
        run_dsgd(obj, lap_t, x0, a, b, 20, IsotropicNoise(sigma), generator=gen, record=[], progress=False)  # warm-up
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        run_dsgd(obj, lap_t, x0, a, b, args.batched_steps, IsotropicNoise(sigma), generator=gen, record=[],
                 progress=False)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        return (time.perf_counter() - t0) / args.batched_steps

    def loop() -> float:
        def grad_one(i: int, xi: torch.Tensor) -> torch.Tensor:  # the same local gradient, one agent at a time
            g = xi.clone()
            g[0] = xi[0] ** 3 - xi[0]
            return g / N + c[i]

        gen = torch.Generator().manual_seed(0)
        t0 = time.perf_counter()
        for _ in range(R):
            per_agent_loop_dsgd(grad_one, nbrs, torch.zeros(N, d, dtype=torch.float64), a, b, args.loop_steps,
                                sigma, generator=gen)
        return (time.perf_counter() - t0) / args.loop_steps

    t_loop = loop()
    t_b64 = batched(torch.float64, "cpu")
    t_b32 = batched(torch.float32, "cpu")
    K = args.target_steps
    rows = [("per-agent Python loop (float64)", t_loop), ("batched engine, CPU float64", t_b64),
            ("batched engine, CPU float32", t_b32)]
    if args.device.startswith("cuda"):
        rows.append((f"batched engine, {args.device} float32", batched(torch.float32, args.device)))
        rows.append((f"batched engine, {args.device} float64", batched(torch.float64, args.device)))
    print(f"{'implementation':38s} {'s/step':>10s} {'s per 1e5 steps (extrap.)':>26s} {'speed-up vs loop':>17s}")
    for name, t in rows:
        print(f"{name:38s} {t:10.3e} {t * K:26.1f} {t_loop / t:17.1f}")


if __name__ == "__main__":
    main()
