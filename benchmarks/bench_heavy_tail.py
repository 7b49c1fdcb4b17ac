"""heavy_tail benchmark, measured side by side in one run.

1. Sampler: sims.noise.stable.symmetric_stable (torch, float64 and float32) vs scipy.stats.levy_stable.rvs (beta = 0)
   for N = 10^7 symmetric alpha-stable samples on CPU (alpha = 1.5). Ratio = scipy time / torch time.
2. Euler chain: the batched chain (sims.heavy_tails.euler_chain, R runs x d in one tensor, full gradient of a fixed
   quadratic, rotationally invariant noise) vs the per-run Python loop a researcher would write first (one run at a
   time, one (d,)-vector per step, same sampler). Target size R = 10^4, d = 100, 10^4 steps; to keep this to a couple
   of minutes both are timed on a slice (batched: all R runs for `--steps` steps; loop: `--loop-runs` runs for
   `--steps` steps) and the cost per run-step is compared (both are linear in runs and in steps). Ratio = loop cost
   per run-step / batched cost per run-step; expected >= 50x.
3. ``--device cuda``: sampler throughput (samples/s) and the batched chain on the GPU (not run in this task: no GPU).

Usage: ``python benchmarks/bench_heavy_tail.py [--n 10000000] [--runs 10000] [--d 100] [--steps 100]
[--loop-runs 20] [--device cpu|cuda]``.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core, set before numpy/torch start their thread pools
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from scipy import stats  # noqa: E402

from sims.heavy_tails.euler_chain import Quadratic, euler_chain  # noqa: E402
from sims.noise.stable import rotational_stable, symmetric_stable  # noqa: E402


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def bench_sampler(n: int, alpha: float, device: str) -> dict[str, float]:
    g = torch.Generator(device=device).manual_seed(0)
    out = {}
    for name, dt in (("torch float64", torch.float64), ("torch float32", torch.float32)):
        symmetric_stable((1000,), alpha, generator=g, device=device, dtype=dt)  # warm-up
        _sync(device)
        t = time.perf_counter()
        x = symmetric_stable((n,), alpha, generator=g, device=device, dtype=dt)
        _sync(device)
        out[name] = time.perf_counter() - t
        assert bool(torch.isfinite(x).all())
        del x
    if device == "cpu":
        t = time.perf_counter()
        stats.levy_stable.rvs(alpha, 0.0, size=n, random_state=np.random.default_rng(0))
        out["scipy levy_stable.rvs"] = time.perf_counter() - t
    return out


def bench_chain(runs: int, d: int, steps: int, loop_runs: int, device: str, dtype: torch.dtype) -> dict[str, float]:
    alpha, sigma, eta = 1.5, 1.0, 0.01
    rng = np.random.default_rng(1)
    X = rng.standard_normal((2 * d, d))
    A = torch.tensor(X.T @ X / (2 * d), device=device, dtype=dtype)
    b = torch.tensor(rng.standard_normal(d), device=device, dtype=dtype)
    q = Quadratic(A[None], b[None])
    g = torch.Generator(device=device).manual_seed(2)
    euler_chain(q.grad, torch.zeros(1, runs, d, dtype=dtype, device=device), alpha=alpha, sigma=sigma,
                eta=eta, steps=2, generator=g)  # warm-up
    _sync(device)
    t = time.perf_counter()
    res = euler_chain(q.grad, torch.zeros(1, runs, d, dtype=dtype, device=device), alpha=alpha, sigma=sigma,
                      eta=eta, steps=steps, generator=g)
    _sync(device)
    t_batched = time.perf_counter() - t
    assert res.diverged_fraction == 0.0
    # the naive version: one run at a time, one step at a time
    scale = sigma * eta ** (1.0 / alpha)
    t = time.perf_counter()
    for _ in range(loop_runs):
        theta = torch.zeros(d, dtype=dtype, device=device)
        for _ in range(steps):
            xi = rotational_stable((d,), alpha, generator=g, device=device, dtype=dtype)
            theta = theta - eta * (A @ theta - b) + scale * xi
            if not bool(torch.isfinite(theta).all()):
                break
    _sync(device)
    t_loop = time.perf_counter() - t
    return {"batched": t_batched / (runs * steps), "loop": t_loop / (loop_runs * steps), "t_batched": t_batched,
            "t_loop": t_loop}


def breakdown(runs: int, d: int, reps: int, device: str, dtype: torch.dtype) -> dict[str, float]:
    """Where the batched chain's time goes, per run-step (ns): the pieces of one step timed alone."""
    from sims.noise.stable import positive_stable

    g = torch.Generator(device=device).manual_seed(3)
    rng = np.random.default_rng(1)
    X = rng.standard_normal((2 * d, d))
    A = torch.tensor(X.T @ X / (2 * d), device=device, dtype=dtype)
    b = torch.tensor(rng.standard_normal(d), device=device, dtype=dtype)
    q = Quadratic(A[None], b[None])
    th = torch.zeros(1, runs, d, device=device, dtype=dtype)
    xi = torch.zeros(runs, d, device=device, dtype=dtype)
    parts = {
        "gaussian draws (R, d)": lambda: torch.randn((runs, d), generator=g, device=device, dtype=dtype),
        "subordinator draws (R, 1)": lambda: positive_stable((runs, 1), 0.75, generator=g, device=device, dtype=dtype),
        "rotational noise total": lambda: rotational_stable((runs, d), 1.5, generator=g, device=device, dtype=dtype),
        "gradient A theta - b": lambda: q.grad(th),
        "in-place update": lambda: th.sub_(q.grad(th), alpha=1e-3).add_(xi.unsqueeze(0), alpha=1e-3),
        "divergence check (every 10th step)": lambda: (~torch.isfinite(th).all(-1)) | (
            torch.linalg.vector_norm(th, dim=-1) > 1e12),
    }
    out = {}
    for name, f in parts.items():
        f()
        _sync(device)
        t = time.perf_counter()
        for _ in range(reps):
            f()
        _sync(device)
        out[name] = (time.perf_counter() - t) / (reps * runs) * 1e9 / (10.0 if "every 10th" in name else 1.0)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=10_000_000)
    p.add_argument("--alpha", type=float, default=1.5)
    p.add_argument("--runs", type=int, default=10_000)
    p.add_argument("--d", type=int, default=100)
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--loop-runs", type=int, default=20)
    p.add_argument("--target-steps", type=int, default=10_000)
    p.add_argument("--device", default="cpu")
    a = p.parse_args()
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, device {a.device}")

    s = bench_sampler(a.n, a.alpha, a.device)
    print(f"\n1. {a.n:.0e} symmetric alpha-stable samples, alpha = {a.alpha}")
    for k, v in s.items():
        print(f"   {k:24s} {v:8.3f} s   {a.n / v:.3e} samples/s")
    if "scipy levy_stable.rvs" in s:
        print(f"   ratio scipy / torch float64 = {s['scipy levy_stable.rvs'] / s['torch float64']:.1f}x, "
              f"scipy / torch float32 = {s['scipy levy_stable.rvs'] / s['torch float32']:.1f}x")

    print(f"\n2. Euler chain, d = {a.d}, batched R = {a.runs} vs a per-run Python loop ({a.loop_runs} runs), "
          f"{a.steps} steps each")
    for dt in (torch.float64, torch.float32):
        c = bench_chain(a.runs, a.d, a.steps, a.loop_runs, a.device, dt)
        full = a.runs * a.target_steps
        print(f"   {str(dt):14s} per run-step: batched {c['batched'] * 1e9:6.0f} ns, loop {c['loop'] * 1e9:7.0f} ns, "
              f"ratio loop / batched = {c['loop'] / c['batched']:.0f}x; extrapolated to R = {a.runs}, "
              f"{a.target_steps} steps: batched {c['batched'] * full:.0f} s, loop {c['loop'] * full / 3600:.1f} h")
    print(f"\n2b. Where the batched time goes (ns per run-step, R = {a.runs}, d = {a.d})")
    for dt in (torch.float64, torch.float32):
        bd = breakdown(a.runs, a.d, 10, a.device, dt)
        print(f"   {str(dt)}: " + ", ".join(f"{k} {v:.0f}" for k, v in bd.items()))
    if not a.device.startswith("cuda"):
        print("\n3. GPU throughput: not measured (run with --device cuda on a GPU machine).")


if __name__ == "__main__":
    main()
