"""sharpness benchmark: costs of coordinate-wise clipping, of a directional-sharpness measurement and of training the
transformer, measured side by side in one run (one thread; every timing repeated, min and median reported).

1. Clipping at ``--n-params`` (10^7) coordinates in ``--n-tensors`` (200) tensors, float32, c = 0.1 (SGD's) and
   c = 0.5 (Adam's): the threshold tau (the (floor(c n) + 1)-th largest |g_i|) by ``sims.optim.clip.clip_threshold``
   with method "topk", "kthvalue" and "sort", the whole transform ``clip_top_fraction`` (threshold + clamp), and the
   authors' approach (panyan7/adam-vs-sgd, as read in their ``torch_optimizer/sgd_clip.py``: concatenate all
   gradients, full descending sort of |g|, tau = sorted[int(c n)] read to the host, then the clipped gradient built
   as g * (|g| < tau) + sign(g) * (|g| >= tau) * tau; written here from that description). A global
   ``torch.quantile`` threshold is timed too at n below 2^24, and its failure above 2^24 elements is shown. Two
   suggested faster exact thresholds are timed next to them: kthvalue with a finiteness test on max |g| instead of
   isfinite(|g|).all(), and a bracketed selection (``bracket_threshold``).
   Everything is divided by the step time of ``torch.optim.SGD(foreach=True)`` and ``torch.optim.Adam(foreach=True)``
   on the same tensors; the full ``ClippedSGD`` / ``ClippedAdam`` steps are timed next to them.
2. On ``GPTConfig.cpu()``, a fixed measurement batch: one Hessian-vector product (``sims.nets.directional.hvp``) and
   one whole ``direction_stats`` (2 HVPs + a 52-point line search) relative to one gradient evaluation (forward +
   backward, default attention kernel, as in training).
3. Training throughput (tokens/s) of ``GPTConfig.cpu()`` with ``torch.optim.Adam`` and with ``ClippedAdam(c=0.5)``;
   with ``--device cuda`` also ``GPTConfig.gpu()`` on the GPU.

Times are process CPU time on one thread (robust to other jobs on a shared machine) and wall time; ratios are of the
CPU times. Usage: ``python benchmarks/bench_sharpness.py [--repeats 5] [--n-params 10000000] [--smoke]
[--device cuda]``.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core, set before torch starts its thread pool
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from functools import partial  # noqa: E402

import torch  # noqa: E402

from sims.data.stdlib_text import random_batch, stdlib_text  # noqa: E402
from sims.nets.directional import direction_stats, hvp  # noqa: E402
from sims.nets.transformer import GPT, GPTConfig  # noqa: E402
from sims.optim.clip import ClippedAdam, ClippedSGD, clip_threshold, clip_top_fraction  # noqa: E402

QUANTILE_LIMIT = 2**24  # torch.quantile refuses inputs with more elements than this


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_side_by_side(ops: dict[str, Callable[[], object]], repeats: int, device: torch.device,
                      warmup: int = 1) -> dict[str, tuple[list[float], list[float]]]:  # fmt: skip
    """name -> (cpu seconds, wall seconds) per repetition; the ops are interleaved within each repetition so that a
    change of machine load hits all of them alike. On a GPU only the wall (synchronised) time means anything."""
    for _ in range(warmup):
        for fn in ops.values():
            fn()
    out: dict[str, tuple[list[float], list[float]]] = {k: ([], []) for k in ops}
    for _ in range(repeats):
        for name, fn in ops.items():
            _sync(device)
            c0, w0 = time.process_time(), time.perf_counter()
            fn()
            _sync(device)
            out[name][0].append(time.process_time() - c0)
            out[name][1].append(time.perf_counter() - w0)
    return out


def _row(name: str, t: tuple[list[float], list[float]], base: dict[str, tuple[list[float], list[float]]],
         unit: float = 1e3) -> str:  # fmt: skip
    cpu, wall = t
    cells = [f"{name:<44}", f"{min(cpu) * unit:9.1f}", f"{statistics.median(cpu) * unit:9.1f}",
             f"{min(wall) * unit:9.1f}", f"{statistics.median(wall) * unit:9.1f}"]
    for b in base.values():
        cells.append(f"{min(cpu) / min(b[0]):7.2f}x {statistics.median(cpu) / statistics.median(b[0]):7.2f}x")
    return " ".join(cells)


def _header(base_names: list[str]) -> str:
    cells = [f"{'operation':<44}", f"{'cpu min':>9}", f"{'cpu med':>9}", f"{'wall min':>9}", f"{'wall med':>9}"]
    cells += [f"{'/' + b + ' min, med':>17}" for b in base_names]
    return " ".join(cells) + "\n" + "-" * (44 + 4 * 10 + 18 * len(base_names))


def tensor_sizes(n: int, k: int) -> list[int]:
    """k sizes summing to n, shaped like a network: k/2 large 'matrices' and k/2 small 'vectors' (1% of n)."""
    if k < 2 or n < 100 * k:
        raise ValueError(f"need n-tensors >= 2 and n-params >= 100 * n-tensors, got {k}, {n}")
    n_vec = k // 2
    n_mat = k - n_vec
    small = max(1, n // (100 * n_vec))
    rest = n - small * n_vec
    mats = [rest // n_mat + (1 if i < rest % n_mat else 0) for i in range(n_mat)]
    return mats + [small] * n_vec


def authors_style_clip(grads: list[torch.Tensor], c: float) -> list[torch.Tensor]:
    """The authors' global clipping, from the description in the module docstring (full sort, host threshold,
    mask arithmetic)."""
    flat = torch.cat([g.reshape(-1) for g in grads]).abs()
    srt = flat.sort(descending=True).values
    tau = float(srt[int(flat.numel() * c)])
    out = []
    for g in grads:
        a = g.abs()
        out.append(g * (a < tau) + torch.sign(g) * (a >= tau) * tau)
    return out


def bracket_threshold(grads: list[torch.Tensor], c: float, generator: torch.Generator,
                      sample: int = 65_536) -> torch.Tensor | None:  # fmt: skip
    """The same exact tau as ``clip_threshold`` (the (k+1)-th largest |g_i|, k = floor(c n)), by a bracketed selection:
    a random sample of |g| gives bounds lo <= tau <= hi (with high probability), one pass counts the coordinates below
    lo and keeps those in [lo, hi], and kthvalue runs on that small set; if the bracket missed, the full kthvalue.
    The answer never depends on the sample (only the time does). Suggested here as a faster ``clip_threshold``."""
    flat = torch.cat([g.detach().reshape(-1) for g in grads]).abs_()
    n = flat.numel()
    k = math.floor(c * n)
    if k == 0:
        return None
    if not math.isfinite(float(flat.max())):  # max of |g| is nan/inf iff some g_i is (one cheap reduction)
        raise ValueError("gradients must be finite to be clipped")
    r = n - k  # tau is the r-th smallest
    m = min(n, sample)
    idx = torch.randint(0, n, (m,), generator=generator, device=flat.device)
    s = flat[idx].sort().values
    q = r / n * m
    d = 4.0 * math.sqrt(m * (r / n) * (1 - r / n)) + 2
    lo = s[max(0, math.floor(q - d))]
    hi = s[min(m - 1, math.ceil(q + d))]
    below = int(torch.count_nonzero(flat < lo))  # count_nonzero: ~3x faster than a bool .sum() on CPU
    cand = flat[(flat >= lo) & (flat <= hi)]
    if below < r <= below + cand.numel():
        return torch.kthvalue(cand, r - below).values
    return torch.kthvalue(flat, r).values


def kthvalue_maxcheck_threshold(grads: list[torch.Tensor], c: float) -> torch.Tensor | None:
    """``clip_threshold(method="kthvalue")`` with its finiteness test done as isfinite(max |g|) instead of
    isfinite(|g|).all() (same answer, same error; suggested fix)."""
    flat = torch.cat([g.detach().reshape(-1) for g in grads]).abs_()
    n = flat.numel()
    k = math.floor(c * n)
    if k == 0:
        return None
    if not math.isfinite(float(flat.max())):
        raise ValueError("gradients must be finite to be clipped")
    return torch.kthvalue(flat, n - k).values


def quantile_threshold(grads: list[torch.Tensor], c: float) -> torch.Tensor:
    """tau by a global torch.quantile at level 1 - c (linear interpolation: not exactly the rank of the paper)."""
    return torch.quantile(torch.cat([g.reshape(-1) for g in grads]).abs(), 1.0 - c)


def bench_clipping(n: int, k: int, repeats: int, device: torch.device) -> None:
    sizes = tensor_sizes(n, k)
    g = torch.Generator(device=device).manual_seed(0)
    gen = torch.Generator(device=device).manual_seed(1)  # the bracket's samples (never change its answer)
    params = [torch.nn.Parameter(torch.randn(s, generator=g, device=device)) for s in sizes]
    grads: list[torch.Tensor] = []
    for p in params:  # heavy-tailed gradients (Student t, 2 dof) as in transformers; the values do not change timing
        z = torch.randn(p.numel(), generator=g, device=device)
        chi = torch.randn(p.numel(), 2, generator=g, device=device).pow(2).sum(1)
        grads.append(z / (chi / 2).sqrt())
        p.grad = grads[-1]
    print(f"\n[1] clipping: n = {sum(sizes):,} float32 coordinates in {len(sizes)} tensors "
          f"({len(sizes) // 2} of {sizes[0]:,}, {len(sizes) - len(sizes) // 2} of {sizes[-1]:,}), device {device}")
    # correctness side-check: every method gives the same tau (the exact rank) as the authors' index
    flat = torch.cat([x.reshape(-1) for x in grads]).abs()
    for c in (0.1, 0.5):
        ref = float(flat.sort(descending=True).values[int(flat.numel() * c)])
        taus = {m: float(clip_threshold(grads, c, method=m)) for m in ("topk", "kthvalue", "sort")}  # type: ignore[arg-type]
        taus["bracket"] = float(bracket_threshold(grads, c, gen))  # type: ignore[arg-type]
        taus["kth-max"] = float(kthvalue_maxcheck_threshold(grads, c))  # type: ignore[arg-type]
        ok = all(v == ref for v in taus.values())
        print(f"    tau(c={c}) = {ref:.6g}: topk/kthvalue/sort/bracket/kth-max agree with sorted[int(c n)]: {ok}",
              "" if ok else taus)
    del flat
    lr = 1e-12  # the steps must not change the parameters much over the repetitions
    sgd = torch.optim.SGD(params, lr=lr, foreach=True)
    adam = torch.optim.Adam(params, lr=lr, foreach=True)
    csgd = ClippedSGD(params, lr=lr, c=0.1)
    cadam = ClippedAdam(params, lr=lr, c=0.5)
    cadam0 = ClippedAdam(params, lr=lr, c=0.0)
    base: dict[str, Callable[[], object]] = {"SGD(foreach) step": sgd.step, "Adam(foreach) step": adam.step}
    ops: dict[str, Callable[[], object]] = dict(base)
    ops["ClippedSGD(c=0.1, topk) step"] = csgd.step
    ops["ClippedAdam(c=0.5, topk) step"] = cadam.step
    ops["ClippedAdam(c=0) step (no clip)"] = cadam0.step
    for c in (0.1, 0.5):
        for m in ("topk", "kthvalue", "sort"):
            ops[f"tau c={c} {m}"] = partial(clip_threshold, grads, c, method=m)
        ops[f"tau c={c} kthvalue, max-check (suggested)"] = partial(kthvalue_maxcheck_threshold, grads, c)
        ops[f"tau c={c} bracket (suggested)"] = partial(bracket_threshold, grads, c, gen)
        ops[f"tau c={c} torch.quantile (global)"] = partial(quantile_threshold, grads, c)
        for m in ("topk", "kthvalue"):
            ops[f"clip_top_fraction c={c} {m}"] = partial(clip_top_fraction, grads, c, method=m)
        ops[f"authors' clip c={c} (sort + mask)"] = partial(authors_style_clip, grads, c)
    if sum(sizes) > QUANTILE_LIMIT:
        ops = {k2: v for k2, v in ops.items() if "quantile" not in k2}
        print(f"    (torch.quantile rows left out: n > 2^24 = {QUANTILE_LIMIT:,})")
    res = time_side_by_side(ops, repeats, device)
    bres = {k2: res[k2] for k2 in base}
    print(f"    times in ms over {repeats} repetitions; ratios of CPU time to each optimizer step")
    print("    " + _header(["SGD", "Adam"]).replace("\n", "\n    "))
    for name, t in res.items():
        print("    " + _row(name, t, bres))
    del sgd, adam, csgd, cadam, cadam0
    # torch.quantile above 2^24 elements
    big = torch.zeros(QUANTILE_LIMIT + 1, device=device)
    try:
        torch.quantile(big, 0.9)
        print(f"    torch.quantile on {QUANTILE_LIMIT + 1:,} elements: no error (this torch lifted the limit)")
    except RuntimeError as e:
        print(f"    torch.quantile on {QUANTILE_LIMIT + 1:,} elements: RuntimeError: {str(e).splitlines()[0]}")
    t0 = time.process_time()
    tau = clip_threshold([big], 0.1, method="kthvalue")
    assert tau is not None
    print(f"    clip_threshold(kthvalue) on the same tensor: tau = {float(tau):g} in {time.process_time() - t0:.2f} s")


def bench_hvp(cfg: GPTConfig, batch: int, repeats: int, device: torch.device, corpus_tokens: torch.Tensor) -> None:
    model = GPT(cfg, generator=torch.Generator(device=device).manual_seed(0), device=device)
    x, y = random_batch(corpus_tokens, batch, cfg.block_size, generator=torch.Generator().manual_seed(1),
                        device=device)
    params = [p for p in model.parameters() if p.requires_grad]

    def loss(m: torch.nn.Module) -> torch.Tensor:
        return m.loss(x, y)  # type: ignore[operator]

    def grad() -> object:
        return torch.autograd.grad(loss(model), params)

    gen = torch.Generator(device=device).manual_seed(2)
    u = [torch.randn(p.shape, generator=gen, device=device) for p in params]
    ops: dict[str, Callable[[], object]] = {
        "gradient (forward + backward)": grad,
        "HVP (gradient + double backward)": lambda: hvp(model, loss, u),
        "direction_stats (2 HVP + 52 losses)": lambda: direction_stats(model, loss, u),
    }
    print(f"\n[2] directional sharpness on GPT {cfg} ({model.n_params():,} parameters), fixed batch {batch} x "
          f"{cfg.block_size} tokens, device {device}")
    res = time_side_by_side(ops, repeats, device)
    print("    " + _header(["gradient"]).replace("\n", "\n    "))
    for name, t in res.items():
        print("    " + _row(name, t, {"gradient": res["gradient (forward + backward)"]}))


def bench_throughput(cfg: GPTConfig, batch: int, steps: int, repeats: int, device: torch.device,
                     corpus_tokens: torch.Tensor) -> None:  # fmt: skip
    model = GPT(cfg, generator=torch.Generator(device=device).manual_seed(0), device=device)
    opts = {"Adam": torch.optim.Adam(model.parameters(), lr=1e-3),
            "ClippedAdam(c=0.5, topk)": ClippedAdam(model.parameters(), lr=1e-3, c=0.5)}
    gen = torch.Generator().manual_seed(3)

    def run(opt: torch.optim.Optimizer) -> None:
        for _ in range(steps):
            xb, yb = random_batch(corpus_tokens, batch, cfg.block_size, generator=gen, device=device)
            opt.zero_grad(set_to_none=True)
            model.loss(xb, yb).backward()
            opt.step()

    ops: dict[str, Callable[[], object]] = {k: partial(run, o) for k, o in opts.items()}
    res = time_side_by_side(ops, repeats, device)
    tok = steps * batch * cfg.block_size
    print(f"\n[3] training throughput, GPT {cfg} ({model.n_params():,} parameters), batch {batch} x "
          f"{cfg.block_size}, {steps} steps per repetition, device {device}")
    for name, (cpu, wall) in res.items():
        clock = wall if device.type == "cuda" else cpu
        print(f"    {name:<26} tokens/s: best {tok / min(clock):10,.0f}, median {tok / statistics.median(clock):10,.0f}"
              f"  (wall best {tok / min(wall):10,.0f})")
    a, b = res["Adam"], res["ClippedAdam(c=0.5, topk)"]
    k = 1 if device.type == "cuda" else 0
    print(f"    ClippedAdam / Adam time per step: min {min(b[k]) / min(a[k]):.2f}x, median "
          f"{statistics.median(b[k]) / statistics.median(a[k]):.2f}x")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n-params", type=int, default=10_000_000)
    ap.add_argument("--n-tensors", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--batch", type=int, default=16, help="training batch (the sharpness default scale's)")
    ap.add_argument("--measure-batch", type=int, default=64, help="fixed batch of the HVP (4 x the training batch)")
    ap.add_argument("--steps", type=int, default=20, help="training steps per throughput repetition")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--smoke", action="store_true", help="tiny sizes, a few seconds (for the test)")
    ap.add_argument("--parts", default="123", help="which parts to run, e.g. 13")
    args = ap.parse_args()
    torch.set_num_threads(1)
    cpu_cfg = GPTConfig.cpu()
    if args.smoke:
        args.n_params, args.n_tensors, args.repeats, args.steps = 20_000, 20, 2, 2
        args.batch, args.measure_batch = 4, 4
        cpu_cfg = GPTConfig(block_size=16, n_layer=1, n_head=2, n_embd=16)
    dev = torch.device(args.device)
    load = os.getloadavg() if hasattr(os, "getloadavg") else (math.nan,) * 3
    print(f"sharpness benchmark: torch {torch.__version__}, python {platform.python_version()}, "
          f"{platform.machine()} {os.cpu_count()} cores, load average {load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f}, "
          f"threads torch = {torch.get_num_threads()}, OMP_NUM_THREADS = {os.environ['OMP_NUM_THREADS']}")
    if "1" in args.parts:
        bench_clipping(args.n_params, args.n_tensors, args.repeats, torch.device("cpu"))
    corpus = stdlib_text(max_bytes=200_000 if args.smoke else 1_000_000).train
    if "2" in args.parts:
        bench_hvp(cpu_cfg, args.measure_batch, args.repeats, torch.device("cpu"), corpus)
    if "3" in args.parts:
        bench_throughput(cpu_cfg, args.batch, args.steps, args.repeats, torch.device("cpu"), corpus)
        if dev.type == "cuda":
            if "1" in args.parts:
                bench_clipping(args.n_params, args.n_tensors, args.repeats, dev)
            bench_throughput(GPTConfig.gpu(), 32, args.steps, args.repeats, dev, corpus)
        else:
            print("\n[gpu] skipped (run with --device cuda on a GPU machine)")
    load = os.getloadavg() if hasattr(os, "getloadavg") else (math.nan,) * 3
    print(f"\nload average at the end: {load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f}")


if __name__ == "__main__":
    main()
