"""stability benchmark: matrix-free second-moment operator vs dense Q; HVP-Lanczos vs the full Hessian and PyHessian.

1. rho(Q) for n = 100 rank-one Hessians in d = 60 (Bernoulli, B = 10): dense Q (d^2 x d^2, built by one GEMM, all
   eigenvalues) vs the matrix-free operator (Lanczos through scipy eigsh, O(n d^2) per application). Same value,
   time ratio. Then the largest d each route handles within 10 s (d doubled / stepped until a run exceeds 10 s).
2. Top Hessian eigenvalue of an MLP on load_digits (MSE): HVP-Lanczos (sims.nets.hessian) vs forming the full Hessian
   (torch.func.hessian) and diagonalising it, on a ~2e3-parameter model where the full Hessian fits; on a
   ~1e5-parameter model the full Hessian (1e10 entries, 80 GB in float64) is not formed: Lanczos only.
3. The same ~1e5-parameter model (float32): sims.nets.hessian Lanczos vs PyHessian's power iteration (pip: pyhessian),
   same value, time ratio (skipped with a message if PyHessian is not installed).
``--device cuda`` runs parts 2 and 3 on a GPU (not run in this task: no GPU was available).

Usage: ``python benchmarks/bench_stability.py [--budget 10] [--device cpu|cuda]``.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import scipy.linalg  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from torch import nn  # noqa: E402

from sims.nets.hessian import HessianOperator  # noqa: E402
from theory.stability import moments as SM  # noqa: E402


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def instance(d: int, n: int = 100, seed: int = 0) -> tuple[np.ndarray, float]:
    """Rank-one factors G (n, d) and a step size at 0.9 of the full-batch limit 2 / lambda_1(H)."""
    g = np.random.default_rng(seed).normal(size=(n, d)) / np.sqrt(d)
    lam1 = float(np.linalg.eigvalsh(g.T @ g / n)[-1])
    return g, 0.9 * 2 / lam1


def dense_rho(g: np.ndarray, eta: float, b: int) -> float:
    h = np.einsum("ni,nj->nij", g, g)
    return SM.spectral_radius_dense(h, eta, b, "bernoulli")


def free_rho(g: np.ndarray, eta: float, b: int) -> float:
    return SM.spectral_radius(factors=g, eta=eta, batch=b, sampling="bernoulli")


def largest_d(route: Callable[[np.ndarray, float, int], float], ds: list[int], budget: float) -> tuple[int, float]:
    best, t_best = 0, 0.0
    for d in ds:
        g, eta = instance(d)
        t0 = time.perf_counter()
        route(g, eta, 10)
        t = time.perf_counter() - t0
        print(f"    d = {d:5d}: {t:7.2f} s")
        if t > budget:
            break
        best, t_best = d, t
    return best, t_best


def mlp(width: int, depth: int, dtype: torch.dtype, device: str) -> nn.Module:
    torch.manual_seed(0)
    layers: list[nn.Module] = [nn.Linear(64, width), nn.Tanh()]
    for _ in range(depth - 1):
        layers += [nn.Linear(width, width), nn.Tanh()]
    layers.append(nn.Linear(width, 1))
    return nn.Sequential(*layers).to(dtype=dtype, device=device)


def digits(n: int, dtype: torch.dtype, device: str) -> tuple[torch.Tensor, torch.Tensor]:
    x, y = load_digits(return_X_y=True)
    xt = torch.tensor(x[:n] / 8.0 - 1.0, dtype=dtype, device=device)
    yt = torch.tensor(np.where(y[:n] % 2 == 0, 1.0, -1.0)[:, None], dtype=dtype, device=device)
    return xt, yt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", type=float, default=10.0, help="seconds for the largest-d search")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--reps", type=int, default=5, help="repetitions of part 3 (first one includes warm-up)")
    ap.add_argument("--tol", type=float, default=1e-6, help="stopping tolerance of part 3, the same for both")
    args = ap.parse_args()
    print(f"torch {torch.__version__}, device {args.device}, threads {torch.get_num_threads()}")

    print("\n1. rho(Q), n = 100 rank-one Hessians, Bernoulli B = 10")
    g, eta = instance(60)
    rd, td = timed(lambda: dense_rho(g, eta, 10))
    rf, tf = timed(lambda: free_rho(g, eta, 10))
    print(f"  d = 60: dense {td:.2f} s (rho {rd:.12f}), matrix-free {tf:.3f} s (rho {rf:.12f}); "
          f"|diff| {abs(rd - rf):.1e}; ratio dense / matrix-free = {td / tf:.0f}x")
    print(f"  largest d within {args.budget:g} s, dense:")
    dd, tdd = largest_d(dense_rho, [20, 30, 40, 50, 60, 70, 80], args.budget)
    print(f"  largest d within {args.budget:g} s, matrix-free:")
    df, tdf = largest_d(free_rho, [100, 200, 400, 800, 1600, 3200], args.budget)
    print(f"  => dense: d = {dd} ({tdd:.1f} s); matrix-free: d = {df} ({tdf:.1f} s)")

    print("\n2. top Hessian eigenvalue of an MLP on load_digits, MSE, float64")
    x, y = digits(512, torch.float64, args.device)
    small = mlp(28, 2, torch.float64, args.device)
    op = HessianOperator(small, F.mse_loss, x, y, batch_size=256)
    op.matvec(torch.zeros(op.dim, dtype=torch.float64, device=args.device))  # warm-up (first-call overheads)
    op.num_hvp = 0
    (lan, _), tl = timed(lambda: op.top_eigenpairs(1, seed=0, tol=1e-10))
    full, th = timed(lambda: op.dense())
    ev, te = timed(lambda: scipy.linalg.eigvalsh(full.cpu().numpy(), subset_by_index=[op.dim - 1, op.dim - 1]))
    print(f"  P = {op.dim}: Lanczos {tl:.2f} s ({op.num_hvp} HVPs, lambda_1 {lan[0]:.10f}); full Hessian "
          f"{th:.2f} s + eigvalsh {te:.2f} s (lambda_1 {ev[0]:.10f}); ratio full / Lanczos = {(th + te) / tl:.1f}x")
    big = mlp(300, 2, torch.float64, args.device)
    opb = HessianOperator(big, F.mse_loss, x, y, batch_size=256)
    (lanb, _), tlb = timed(lambda: opb.top_eigenpairs(1, seed=0, tol=1e-8))
    print(f"  P = {opb.dim}: Lanczos {tlb:.2f} s ({opb.num_hvp} HVPs), lambda_1 = {lanb[0]:.8f}; the full Hessian "
          f"would hold {opb.dim ** 2:.1e} entries ({opb.dim ** 2 * 8 / 2**30:.0f} GiB): not formed")

    print("\n3. the same model in float32: sims.nets.hessian Lanczos vs PyHessian power iteration")
    try:
        import pyhessian
    except ImportError:
        print("  PyHessian not installed (pip install pyhessian): skipped")
        return
    x32, y32 = digits(512, torch.float32, args.device)
    big32 = mlp(300, 2, torch.float32, args.device)
    truth = lanb[0]  # float64 Lanczos (tol 1e-8) on the same weights: the reference value for both errors
    rows = []
    for rep in range(args.reps):
        def ours(rep: int = rep) -> Any:
            op = HessianOperator(big32, F.mse_loss, x32, y32)
            return op.top_eigenvalue(tol=args.tol, seed=rep)

        def eigsh_route(rep: int = rep) -> Any:
            op = HessianOperator(big32, F.mse_loss, x32, y32, cache_graph=True)
            return op.top_eigenpairs(1, seed=rep, tol=args.tol)[0][0]

        def run_pyhessian(rep: int = rep) -> Any:
            torch.manual_seed(rep)
            ph = pyhessian.hessian(big32, F.mse_loss, data=(x32, y32), cuda=args.device != "cpu")  # builds the graph
            return ph.eigenvalues(maxIter=1000, tol=args.tol, top_n=1)[0][0]

        (v_o, _, k_o), t_o = timed(ours)
        v_e, t_e = timed(eigsh_route)
        v_p, t_p = timed(run_pyhessian)
        rows.append((t_o, t_e, t_p, k_o, abs(v_o - truth) / truth, abs(v_e - truth) / truth, abs(v_p - truth) / truth))
        print(f"  rep {rep}: torch Lanczos {t_o:.3f} s ({k_o} HVPs, rel. err {rows[-1][4]:.1e}); scipy eigsh (cached "
              f"graph) {t_e:.3f} s (rel. err {rows[-1][5]:.1e}); PyHessian {t_p:.3f} s (rel. err {rows[-1][6]:.1e}); "
              f"PyHessian / torch Lanczos = {t_p / t_o:.2f}x")
    arr = np.array(rows)
    med = np.median(arr, axis=0)
    print(f"  P = {big32[0].in_features * 300 + 300 + 300 * 300 + 300 + 301}, tol = {args.tol:g} for all three, "
          f"medians over {args.reps} reps: torch Lanczos {med[0]:.3f} s, eigsh {med[1]:.3f} s, "
          f"PyHessian {med[2]:.3f} s;"
          f" ratio PyHessian / ours = {med[2] / med[0]:.2f}x (range {np.min(arr[:, 2] / arr[:, 0]):.2f}-"
          f"{np.max(arr[:, 2] / arr[:, 0]):.2f}); rel. errors vs float64: ours {med[4]:.1e}, PyHessian {med[6]:.1e}")


if __name__ == "__main__":
    main()
