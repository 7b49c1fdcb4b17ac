"""noise_regimes benchmarks (ratios measured side by side in one run).

1. Perceptron to zero loss at P = 4096, chi = 1, d = 16, B = 2, vanishing margin: the exact event-driven simulator
   vs the plain step-by-step SGD loop (same law; both batched over R runs), wall time per run set.
2. 64 (alpha, T, seed) network configurations trained to zero hinge loss on 8x8-digits parity: one vmap'ed ensemble
   vs a Python loop over the configurations (same code path with E = 1).

Usage: OMP_NUM_THREADS=1 python benchmarks/bench_noise_regimes.py [--device cuda] [--quick]
"""

from __future__ import annotations

import argparse
import math
import time
from typing import Any

import numpy as np
import torch

from sims.datasets import parity_split
from sims.lazy_nets import train_until_fitted
from sims.nets.alpha_mlp import init_params
from sims.perceptron.depleted_sign import depleted_sign
from sims.perceptron.sgd import event_driven, step_by_step


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def bench_perceptron(p: int, runs: int, device: str) -> dict[str, float]:
    x, y = depleted_sign(runs, p, 16, 1.0, generator=torch.Generator(device=device).manual_seed(0), device=device)
    kw: dict[str, Any] = dict(temperature=1.0, batch_size=2, alpha=math.inf)
    t0 = time.perf_counter()
    ev = event_driven(x, y, max_steps=10**12, generator=torch.Generator(device=device).manual_seed(1), **kw)
    _sync(device)
    t1 = time.perf_counter()
    sb = step_by_step(x, y, max_steps=10**8, generator=torch.Generator(device=device).manual_seed(2), **kw)
    _sync(device)
    t2 = time.perf_counter()
    assert bool(ev.converged.all()) and bool(sb.converged.all())
    per_step = ((t2 - t1) / float(sb.steps.double().sum())) / ((t1 - t0) / float(ev.steps.double().sum()))
    return {"P": p, "runs": runs, "event_s": t1 - t0, "step_s": t2 - t1, "ratio": (t2 - t1) / (t1 - t0),
            "per_step_ratio": per_step,
            "steps_ev": float(ev.steps.double().mean()), "steps_sb": float(sb.steps.double().mean()),
            "updates": float(ev.updates.double().mean())}


def bench_ensemble(n_cfg: int, p: int, device: str, max_steps: int) -> dict[str, float]:
    rng = np.random.default_rng(0)
    xtr, ytr, xte, yte = (torch.as_tensor(a, device=device) for a in parity_split("digits", p, 300, rng))
    g = torch.Generator(device=device).manual_seed(0)
    params = init_params(n_cfg, xtr.shape[1], 32, 2, generator=g, device=device)
    alpha = 2.0 ** torch.tensor([float(k) for k in np.resize([-2, 2, 6, 15], n_cfg)], dtype=torch.float64,
                                device=device)
    temp = 2.0 ** torch.tensor([float(k) for k in np.resize([-10, -9, -8, -7, -6, -5, -4, -3], n_cfg)],
                               dtype=torch.float64, device=device)
    kw: dict[str, Any] = dict(batch_size=16, max_steps=max_steps, progress=False)
    t0 = time.perf_counter()
    ens = train_until_fitted(params, xtr, ytr, xte, yte, alpha=alpha, temperature=temp,
                             generator=torch.Generator(device=device).manual_seed(1), **kw)
    _sync(device)
    t1 = time.perf_counter()
    conv = 0
    for i in range(n_cfg):
        one = train_until_fitted(tuple(q[i:i + 1] for q in params), xtr, ytr, xte, yte, alpha=alpha[i:i + 1],
                                 temperature=temp[i:i + 1], generator=torch.Generator(device=device).manual_seed(2 + i),
                                 **kw)
        conv += int(one.converged.sum())
    _sync(device)
    t2 = time.perf_counter()
    return {"configs": n_cfg, "P": p, "vmap_s": t1 - t0, "loop_s": t2 - t1, "ratio": (t2 - t1) / (t1 - t0),
            "converged_vmap": int(ens.converged.sum()), "converged_loop": conv}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--quick", action="store_true", help="smaller sizes (a smoke run of the benchmark)")
    args = ap.parse_args()
    if args.device == "cpu":
        torch.set_num_threads(1)
    print(f"torch {torch.__version__}, device {args.device}, threads {torch.get_num_threads()}")
    sizes = [(512, 8), (4096, 8)] if not args.quick else [(256, 2)]
    for p, runs in sizes:
        r = bench_perceptron(p, runs, args.device)
        print(f"perceptron chi=1 P={r['P']} ({r['runs']} runs at once): event-driven {r['event_s']:.2f} s, "
              f"step-by-step {r['step_s']:.2f} s -> ratio {r['ratio']:.0f}x, per simulated SGD step "
              f"{r['per_step_ratio']:.0f}x  (mean steps {r['steps_ev']:.3g} / {r['steps_sb']:.3g}, effective updates "
              f"{r['updates']:.3g})")
    r = bench_ensemble(64 if not args.quick else 8, 128, args.device, 20000 if not args.quick else 2000)
    print(f"nets: {r['configs']} configurations, P={r['P']}: vmap ensemble {r['vmap_s']:.2f} s, Python loop "
          f"{r['loop_s']:.2f} s -> ratio {r['ratio']:.1f}x  (converged {r['converged_vmap']} / {r['converged_loop']})")


if __name__ == "__main__":
    main()
