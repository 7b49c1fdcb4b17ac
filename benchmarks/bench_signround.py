"""signround benchmark, side by side in one run (one CPU core unless told otherwise).

1. Fake-quant throughput: ``sims.quant.fake_quant`` (all groups at once) vs the naive version a researcher would write
   first (a Python loop over the groups, each quantised on its own), on the same out x in weight at W4 g32 asym;
   both checked equal, then timed (best of ``--repeat``). Ratio = naive / vectorised.
2. Tuning time: SignRound on a GPT (``--n-layer`` x ``--n-embd``, random init: the cost does not depend on the
   weights) at W4 g32 with ``--iters`` steps on minibatches of ``--calib-batch`` windows of ``--block-size`` bytes:
   seconds per block, per model, per step; and RTN on the same model for comparison.

Usage: ``python benchmarks/bench_signround.py [--out 768 --in 768 --iters 200 --device cpu|cuda]``.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse  # noqa: E402
import copy  # noqa: E402
import time  # noqa: E402

import torch  # noqa: E402

from sims.nets.transformer import GPT, GPTConfig  # noqa: E402
from sims.quant.fake_quant import SCALE_EPS, QuantSpec, fake_quant  # noqa: E402
from sims.quant.signround import capture_inputs, rtn_blocks, signround_blocks  # noqa: E402


def naive_fake_quant(w: torch.Tensor, bits: int, g: int, v: torch.Tensor) -> torch.Tensor:
    """Asymmetric fake quantisation group by group in a Python loop (same equations, no clip factors)."""
    out = torch.empty_like(w)
    qmax = 2**bits - 1
    for r in range(w.shape[0]):
        for c in range(0, w.shape[1], g):
            x = w[r, c:c + g]
            lo, hi = min(float(x.min()), 0.0), max(float(x.max()), 0.0)
            s = max((hi - lo) / qmax, SCALE_EPS)
            z = round(-lo / s)
            q = torch.clamp(torch.round(x / s + v[r, c:c + g]) + z, 0, qmax)
            out[r, c:c + g] = s * (q - z)
    return out


def best_time(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return min(ts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=int, default=768)
    ap.add_argument("--in", dest="inp", type=int, default=768)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--n-layer", type=int, default=2)
    ap.add_argument("--n-embd", type=int, default=64)
    ap.add_argument("--block-size", type=int, default=64)
    ap.add_argument("--calib", type=int, default=16)
    ap.add_argument("--calib-batch", type=int, default=4)
    ap.add_argument("--iters", type=int, default=100)
    ap.add_argument("--device", default="cpu")
    a = ap.parse_args()
    dev = torch.device(a.device)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, device {dev}")

    gen = torch.Generator().manual_seed(0)
    w = (torch.randn(a.out, a.inp, generator=gen) * 0.02).to(dev)
    v = ((torch.rand(a.out, a.inp, generator=gen) - 0.5) * 0.8).to(dev)
    spec = QuantSpec(4, 32)
    ref = naive_fake_quant(w, 4, 32, v)
    torch.testing.assert_close(fake_quant(w, spec, v), ref, rtol=1e-6, atol=1e-6)
    t_vec = best_time(lambda: (fake_quant(w, spec, v), sync()), a.repeat)
    t_naive = best_time(lambda: (naive_fake_quant(w, 4, 32, v), sync()), 1)
    n = w.numel()
    print(f"\n1. fake quant W4 g32 asym, {a.out}x{a.inp} ({n / 1e6:.2f} M weights, {n // 32} groups)")
    print(f"   vectorised      {t_vec * 1e3:9.2f} ms  ({n / t_vec / 1e6:8.1f} M weights/s)")
    print(f"   naive loop      {t_naive * 1e3:9.2f} ms  ({n / t_naive / 1e6:8.3f} M weights/s)")
    print(f"   ratio naive / vectorised: {t_naive / t_vec:.0f}x")

    cfg = GPTConfig(block_size=a.block_size, n_layer=a.n_layer, n_head=4, n_embd=a.n_embd)
    model = GPT(cfg, generator=torch.Generator().manual_seed(1), device=dev)
    idx = torch.randint(0, 256, (a.calib, a.block_size), generator=gen).to(dev)
    x0 = capture_inputs(model, model.blocks[0], idx)
    m1 = copy.deepcopy(model)
    t0 = time.perf_counter()
    rec = signround_blocks(m1.blocks, x0, spec, iters=a.iters, batch_size=a.calib_batch,
                           generator=torch.Generator().manual_seed(2))  # fmt: skip
    sync()
    t_sr = time.perf_counter() - t0
    m2 = copy.deepcopy(model)
    t0 = time.perf_counter()
    rtn_blocks(m2.blocks, x0, spec, batch_size=a.calib_batch)
    sync()
    t_rtn = time.perf_counter() - t0
    per = [r.seconds for r in rec.tunings]
    print(f"\n2. SignRound W4 g32, GPT {a.n_layer}x{a.n_embd} ({model.n_params()} params), T = {a.iters}, "
          f"minibatch {a.calib_batch} x {a.block_size} tokens, {a.calib} calibration windows")
    print(f"   per block       {sum(per) / len(per):9.2f} s   ({sum(per) / len(per) / a.iters * 1e3:.1f} ms/step)")
    print(f"   per model       {t_sr:9.2f} s")
    print(f"   RTN per model   {t_rtn:9.4f} s   (ratio SignRound / RTN: {t_sr / t_rtn:.0f}x)")


if __name__ == "__main__":
    main()
