"""asgd benchmark: exact second-moment recursion vs Monte Carlo of equal accuracy, side by side in one run.

1. Exact recursion, d = 2000, N = 10^4: SGD and ASGD, bias/variance split, last iterate and the uniform average,
   on ONE CPU core (target < 2 s). Next to it, the recursion written the obvious way (a batched 2x2 matmul
   ``A M A^T`` per step, as a researcher would first write it) for the same output.
2. Monte Carlo (sims.linreg) at the same d and N: a pilot of R0 runs gives the relative standard error of the risk
   at N; the runs needed for 1% relative error are R0 (rel_se / 0.01)^2, and their time is the pilot's time scaled
   by R / R0 (cost is linear in R). Ratio = MC time for 1% / exact time.
3. ``--device cuda``: the same Monte Carlo with R = 10^4 runs on a GPU, reporting seconds and runs*steps*d per second
   (not run in this task: no GPU was available).

Usage: ``python benchmarks/bench_asgd.py [--pilot-runs 32] [--steps 10000] [--d 2000] [--device cpu|cuda]``.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core, set before numpy/torch start their thread pools
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from sims.linreg import simulate_linreg  # noqa: E402
from theory.linreg import parameters as Pa  # noqa: E402
from theory.linreg import problem as Pr  # noqa: E402
from theory.linreg import recursions as Rc  # noqa: E402
from theory.linreg import two_by_two as T2  # noqa: E402


def naive_asgd_risk(p: Pa.AsgdParams, lam: np.ndarray, m0: Pr.InitialError, sigma2: float, n: int) -> np.ndarray:
    """The obvious version: full 2x2 blocks M_i (d, 2, 2), ``A M A^T`` by batched matmul each step; bias and
    variance as two separate runs; last iterate only plus the average through ``R <- A R + M``."""
    A = T2.transition_matrix(p, lam)
    At = np.swapaxes(A, 1, 2)
    qq = np.outer(p.q, p.q)
    out = np.empty((2, n + 1))
    avg = np.empty((2, n + 1))
    for b, (init, s2) in enumerate(((m0.sq, 0.0), (np.zeros_like(m0.sq), sigma2))):
        M = init[:, None, None] * np.ones((2, 2))
        R = np.zeros_like(M)
        acc = 0.0
        for t in range(n + 1):
            out[b, t] = 0.5 * float(lam @ M[:, 0, 0])
            R = A @ R + M
            acc += float(lam @ (2 * R[:, 0, 0] - M[:, 0, 0]))
            avg[b, t] = 0.5 * acc / (t + 1) ** 2
            u = np.einsum("i,dij,j->d", p.p, M, p.p)
            coef = lam**2 * u + lam * float(lam @ u) + s2 * lam
            M = A @ M @ At + coef[:, None, None] * qq
    return out


def exact_both(lam: np.ndarray, p: Pa.AsgdParams, m0: Pr.InitialError, sigma2: float, n: int) -> tuple[float, dict]:
    t0 = time.perf_counter()
    rs = Rc.sgd_risk(p.delta, lam, m0, sigma2, n)
    ra = Rc.asgd_risk(p, lam, m0, sigma2, n)
    return time.perf_counter() - t0, {"sgd": rs, "asgd": ra}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--d", type=int, default=2000)
    ap.add_argument("--steps", type=int, default=10_000)
    ap.add_argument("--pilot-runs", type=int, default=32)
    ap.add_argument("--naive-steps", type=int, default=2000, help="steps for the naive recursion (time scaled)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--gpu-runs", type=int, default=10_000)
    args = ap.parse_args()
    torch.set_num_threads(1)
    d, n, sigma2 = args.d, args.steps, 0.01
    lam = Pr.power_law_spectrum(d, 2.0)
    p = Pa.paper_params(lam)
    m0 = Pr.band_init(d, 1, 3)
    print(f"asgd benchmark: d={d}, N={n}, lambda_i=i^-2, sigma2={sigma2}, w0-w* on [1,3]; "
          f"torch {torch.__version__}, threads numpy/torch = {os.environ['OMP_NUM_THREADS']}/{torch.get_num_threads()}")

    # 1. exact recursion (best of 3) and the naive version
    times = []
    for _ in range(3):
        dt, res = exact_both(lam, p, m0, sigma2, n)
        times.append(dt)
    t_exact = min(times)
    print(f"[exact] SGD + ASGD, bias/variance split, last + averaged, every step: {t_exact:.3f} s "
          f"(best of 3; target < 2 s: {'met' if t_exact < 2 else 'NOT met'})")
    nn = min(args.naive_steps, n)
    t0 = time.perf_counter()
    naive = naive_asgd_risk(p, lam, m0, sigma2, nn)
    t_naive_part = time.perf_counter() - t0
    t_naive = t_naive_part * n / nn
    ra = res["asgd"]
    err = float(np.max(np.abs(naive[0] + naive[1] - ra.total[: nn + 1]) / ra.total[: nn + 1]))
    t0 = time.perf_counter()
    Rc.asgd_risk(p, lam, m0, sigma2, n)
    t_asgd = time.perf_counter() - t0
    print(f"[naive] ASGD by batched 2x2 matmuls: {t_naive_part:.2f} s for {nn} steps -> {t_naive:.2f} s for N={n} "
          f"(ASGD alone, suite: {t_asgd:.3f} s; ratio naive/suite = {t_naive / t_asgd:.1f}x; "
          f"max rel. difference {err:.1e})")

    # 2. Monte Carlo of equal accuracy (CPU, one thread)
    total_mc = 0.0
    for name, q in (("sgd", Pa.sgd_as_asgd(p.delta)), ("asgd", p)):
        g = torch.Generator().manual_seed(0)
        gn = torch.Generator().manual_seed(1)
        mc = simulate_linreg(lam, m0.error(), np.zeros(d), sigma2, n, args.pilot_runs, alpha=q.alpha, beta=q.beta,
                             gamma=q.gamma, delta=q.delta, record_steps=[n], generator=g, noise_generator=gn,
                             progress=False)
        exact_n = float(res[name].total[n])
        rel_se = float(mc.se[0] / mc.mean[0])
        r_needed = int(np.ceil(args.pilot_runs * (rel_se / 0.01) ** 2))
        t_needed = mc.seconds * r_needed / args.pilot_runs
        total_mc += t_needed
        print(f"[mc] {name}: pilot R0={args.pilot_runs}: {mc.seconds:.1f} s, risk {mc.mean[0]:.4g} +- {mc.se[0]:.2g} "
              f"(exact {exact_n:.4g}), rel. se {rel_se:.3f} -> R={r_needed} runs for 1% -> {t_needed:.0f} s; "
              f"{args.pilot_runs * n * d / mc.seconds:.3g} runs*steps*d/s")
    print(f"[ratio] Monte Carlo at 1% relative error / exact recursion (SGD + ASGD): {total_mc:.0f} s / "
          f"{t_exact:.3f} s = {total_mc / t_exact:.3g}x")

    # 3. GPU Monte Carlo (only with --device cuda)
    if args.device != "cpu":
        dev = torch.device(args.device)
        for name, q in (("sgd", Pa.sgd_as_asgd(p.delta)), ("asgd", p)):
            g = torch.Generator(device=dev).manual_seed(0)
            gn = torch.Generator(device=dev).manual_seed(1)
            mc = simulate_linreg(lam, m0.error(), np.zeros(d), sigma2, n, args.gpu_runs, alpha=q.alpha,
                                 beta=q.beta, gamma=q.gamma, delta=q.delta, record_steps=[n], device=dev,
                                 dtype=torch.float32, generator=g, noise_generator=gn, progress=False)
            print(f"[gpu] {name}: R={args.gpu_runs}: {mc.seconds:.1f} s, "
                  f"{args.gpu_runs * n * d / mc.seconds:.3g} runs*steps*d/s, risk {mc.mean[0]:.4g} +- {mc.se[0]:.2g} "
                  f"(exact {float(res[name].total[n]):.4g})")
    else:
        print("[gpu] skipped (run with --device cuda on a GPU machine)")


if __name__ == "__main__":
    main()
