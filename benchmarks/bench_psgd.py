"""psgd benchmark: step time and preconditioner memory per preconditioner type, the suite vs the references
(psgd-torch 0.6.1, kron-torch 0.3.3) and vs Adam, measured side by side (interleaved) in one run.

Problem: one matrix parameter ``W`` (``m x m``, ``m^2 ~ n`` parameters; 1000 x 1000 = 10^6 by default) with the loss
``f(W) = sum(a W^2 / 2 + W^4 / 4)`` (elementwise ``a > 0``): every PSGD step evaluates the gradient and, for the
Newton type, an exact Hessian-vector product (double backward), so the closure's cost is the same for both
implementations and the ratio measures the preconditioner code. Dense Newton (``O(n^2)`` memory) runs at
``--dense-n`` parameters (default 2000) instead. Adam (torch.optim.Adam, one backward per step) is the first-order
baseline. Memory: bytes of the preconditioner state (momentum excluded). kron-torch runs eagerly (torch.compile
disabled: no compiler on these machines).

Usage: ``python benchmarks/bench_psgd.py [--m 1000] [--dense-n 2000] [--repeats 5] [--device cpu|cuda]``.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse  # noqa: E402
import contextlib  # noqa: E402
import io  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

import torch  # noqa: E402

from sims.optim import psgd as P  # noqa: E402
from sims.optim.psgd_kron_whiten import KronWhitening  # noqa: E402


def _problem(shape: tuple[int, ...], device: str) -> tuple[torch.Tensor, Callable[[], torch.Tensor]]:
    g = torch.Generator().manual_seed(0)
    a = (torch.rand(shape, generator=g) + 0.1).to(device)
    W = (0.1 * torch.randn(shape, generator=g)).to(device).requires_grad_(True)
    return W, (lambda: torch.sum(0.5 * a * W * W + 0.25 * W ** 4))


def _bytes(x: Any) -> int:
    if isinstance(x, torch.Tensor):
        return x.numel() * x.element_size()
    if isinstance(x, dict):
        return sum(_bytes(v) for k, v in x.items() if k not in ("momentum",))
    if isinstance(x, (list, tuple)):
        return sum(_bytes(v) for v in x)
    return 0


def _ref_bytes(opt: Any) -> int:
    names = ("_a", "_b", "_U", "_V", "_d", "_Q", "_invQ")
    total = sum(_bytes(getattr(opt, k)) for k in names if getattr(opt, k, None) is not None)
    if getattr(opt, "_Qs_exprs", None) is not None:
        total += sum(_bytes(qe[0]) for qe in opt._Qs_exprs)
    if hasattr(opt, "param_groups"):  # kron-torch
        total += sum(_bytes(st.get("Q", [])) for st in opt.state.values() if isinstance(st, dict))
    return total


def _our_bytes(opt: Any) -> int:
    if isinstance(opt, KronWhitening):
        return sum(_bytes(st.get("Q", [])) for st in opt.state.values() if isinstance(st, dict) and "Q" in st)
    return _bytes(opt.state["psgd"]["precond"])


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def _make_step(kind: str, opt: Any, f: Callable[[], torch.Tensor]) -> Callable[[], None]:
    if kind == "closure":
        return lambda: opt.step(f)

    def step() -> None:
        opt.zero_grad()
        f().backward()
        opt.step()
    return step


def time_pair(builders: dict[str, Callable[[], tuple[Callable[[], None], Any]]], repeats: int, device: str
              ) -> dict[str, tuple[float, Any]]:
    """Build each optimizer, warm up 2 steps, then time ``repeats`` rounds of one step each, interleaved."""
    steps = {}
    objs = {}
    with contextlib.redirect_stdout(io.StringIO()):
        for name, b in builders.items():
            steps[name], objs[name] = b()
            for _ in range(2):
                steps[name]()
        times: dict[str, list[float]] = {k: [] for k in builders}
        for _ in range(repeats):
            for name in builders:
                _sync(device)
                t0 = time.perf_counter()
                steps[name]()
                _sync(device)
                times[name].append(time.perf_counter() - t0)
    return {k: (statistics.median(v), objs[k]) for k, v in times.items()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--m", type=int, default=1000, help="W is m x m (m^2 parameters)")
    ap.add_argument("--dense-n", type=int, default=2000, help="parameters for the dense Newton type")
    ap.add_argument("--rank", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    dev = args.device
    try:
        import psgd_torch  # type: ignore[import-not-found]
    except ImportError:
        psgd_torch = None
    try:
        import kron_torch.kron as kron_mod  # type: ignore[import-not-found]
        torch._dynamo.config.disable = True
    except ImportError:
        kron_mod = None
    m = args.m
    print(f"psgd benchmark on {dev} ({torch.get_num_threads()} thread(s)); torch {torch.__version__}; "
          f"W {m}x{m} = {m * m:,} parameters (dense Newton: {args.dense_n:,}); median of {args.repeats} steps")
    rows = []

    def add(label: str, n: int, res: dict[str, tuple[float, Any]], ours: str, ref: str | None) -> None:
        t_o, o = res[ours]
        t_r, r = res[ref] if ref else (float("nan"), None)
        rows.append((label, n, t_o, t_r, _our_bytes(o), _ref_bytes(r) if r is not None else 0))

    common = dict(preconditioner_init_scale=1.0)
    cases: list[tuple[str, tuple[int, ...], Callable[..., Any], Any, dict[str, Any], dict[str, Any]]] = [
        ("XMat (Newton, exact HVP)", (m, m), P.XMat, getattr(psgd_torch, "XMat", None), {}, {}),
        (f"LRA rank {args.rank} (Newton)", (m, m), P.LRA, getattr(psgd_torch, "LRA", None),
         dict(rank_of_approximation=args.rank), dict(rank_of_approximation=args.rank)),
        ("Kron (Newton, 2 triangular)", (m, m), P.Kron, getattr(psgd_torch, "Kron", None), {}, {}),
        ("Kron (whitening)", (m, m), P.Kron, getattr(psgd_torch, "Kron", None),
         dict(preconditioner_type="whitening"), dict(preconditioner_type="whitening")),
        ("dense Newton (invQ)", (args.dense_n,), P.Newton, getattr(psgd_torch, "Newton", None), {}, {}),
    ]
    for label, shape, ours_cls, ref_cls, kw_o, kw_r in cases:
        builders: dict[str, Callable[[], tuple[Callable[[], None], Any]]] = {}

        def b_ours(shape=shape, cls=ours_cls, kw=kw_o):
            W, f = _problem(shape, dev)
            opt = cls([W], generator=torch.Generator(device=dev).manual_seed(0), **common, **kw)
            return _make_step("closure", opt, f), opt
        builders["ours"] = b_ours
        if ref_cls is not None:
            def b_ref(shape=shape, cls=ref_cls, kw=kw_r):
                W, f = _problem(shape, dev)
                opt = cls([W], **common, **kw)
                return _make_step("closure", opt, f), opt
            builders["ref"] = b_ref
        res = time_pair(builders, args.repeats, dev)
        add(label, int(torch.Size(shape).numel()), res, "ours", "ref" if ref_cls is not None else None)

    builders = {}

    def b_kw():
        W, f = _problem((m, m), dev)
        opt = KronWhitening([W], generator=torch.Generator(device=dev).manual_seed(0),
                            preconditioner_update_probability=1.0)
        return _make_step("backward", opt, f), opt
    builders["ours"] = b_kw
    if kron_mod is not None:
        def b_kr():
            W, f = _problem((m, m), dev)
            opt = kron_mod.Kron([W], preconditioner_update_probability=1.0)
            return _make_step("backward", opt, f), opt
        builders["ref"] = b_kr

    def b_adam():
        W, f = _problem((m, m), dev)
        opt = torch.optim.Adam([W], lr=1e-3)
        return _make_step("backward", opt, f), opt
    builders["adam"] = b_adam
    res = time_pair(builders, args.repeats, dev)
    add("Kron whitening (kron-torch algo, every step)", m * m, res, "ours", "ref" if kron_mod is not None else None)
    t_adam = res["adam"][0]
    rows.append(("Adam (torch.optim, one backward)", m * m, t_adam, float("nan"), 2 * m * m * 4, 0))

    print("\n| type | params | suite s/step | reference s/step | suite / reference | suite / Adam | "
          "precond. MB (suite) | precond. MB (reference) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for label, n, t_o, t_r, b_o, b_r in rows:
        ratio = t_o / t_r if t_r == t_r else float("nan")
        print(f"| {label} | {n:,} | {t_o:.4f} | {t_r:.4f} | {ratio:.2f} | {t_o / t_adam:.1f} | {b_o / 2**20:.2f} | "
              f"{b_r / 2**20:.2f} |")
    print("\nAdam's row: memory = its two moment buffers. Reference = psgd-torch 0.6.1 (kron-torch 0.3.3 for the "
          "kron-torch row); float32 parameters; Newton types include one exact Hessian-vector product per step.")


if __name__ == "__main__":
    main()
