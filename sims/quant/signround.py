"""SignRound: block-wise tuning of the rounding offsets V and clip factors of every ``nn.Linear`` in a block.

For a block f (any ``nn.Module`` mapping one tensor to one tensor) with cached inputs, the quantised block f~ (each
target Linear's weight replaced by its fake quantisation W~(V, alpha, beta), ``sims.quant.fake_quant``) is tuned to
minimise the block reconstruction error

    L(V, alpha, beta) = mean || f~(X_q) - f(X_fp) ||^2

where X_fp are the full-precision inputs of the block and X_q the inputs produced by the already quantised blocks
before it. Signed gradient descent, V <- V - lr_t sign(dL/dV) (alpha, beta likewise, then clamped to [0, 1]), with
lr_t = lr (1 - t / T), lr = 1 / T by default, so that sum_t lr_t ~ 1/2 and |V| stays below about 1/2 with no clamp.
Each step uses a minibatch of the cached samples (a fresh permutation each pass); the parameters with the lowest
minibatch loss seen are restored at the end (best iterate), as in auto-round 0.16.1. V = 0, alpha = beta = 1
initially (round-to-nearest). ``optimizer="adam"`` replaces the signed step by Adam at the same learning-rate
schedule (the comparison of the paper's ablation).

``signround_blocks`` quantises a sequence of blocks in order (X_q of block k+1 is f~_k(X_q of block k)) and writes the
quantised weights into the original Linear modules; ``rtn_blocks`` does round-to-nearest for the same blocks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from sims.quant.fake_quant import QuantSpec, fake_quant, n_groups, rtn

OPTIMIZERS: tuple[str, ...] = ("sign", "adam")


class QuantLinear(nn.Module):
    """An ``nn.Linear`` whose weight is replaced by its fake quantisation with learnable V, alpha, beta."""

    def __init__(self, linear: nn.Linear, spec: QuantSpec, *, tune_clip: bool = True) -> None:
        super().__init__()
        if not isinstance(linear, nn.Linear):
            raise ValueError(f"only nn.Linear layers can be quantised, got {type(linear).__name__}")
        self.linear = linear
        self.spec = spec
        w = linear.weight
        ng = n_groups(w.detach(), spec)
        self.v = nn.Parameter(torch.zeros_like(w.detach()))
        self.min_scale = nn.Parameter(torch.ones(ng, dtype=w.dtype, device=w.device), requires_grad=tune_clip)
        self.max_scale = nn.Parameter(torch.ones(ng, dtype=w.dtype, device=w.device), requires_grad=tune_clip)

    def qweight(self) -> torch.Tensor:
        with torch.no_grad():
            self.min_scale.clamp_(0.0, 1.0)
            self.max_scale.clamp_(0.0, 1.0)
        return fake_quant(self.linear.weight.detach(), self.spec, self.v, self.min_scale, self.max_scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.qweight(), self.linear.bias)


def linear_targets(block: nn.Module, names: Sequence[str] | None = None) -> list[str]:
    """Names of the Linear layers of ``block`` to quantise: all of them, or ``names`` (each must be an nn.Linear)."""
    mods = dict(block.named_modules())
    if names is None:
        out = [n for n, m in mods.items() if isinstance(m, nn.Linear)]
        if not out:
            raise ValueError(f"block {type(block).__name__} contains no nn.Linear layer to quantise")
        return out
    for n in names:
        if n not in mods:
            raise ValueError(f"target {n!r} is not a sub-module of the block; sub-modules: {sorted(mods)[:20]}")
        if not isinstance(mods[n], nn.Linear):
            raise ValueError(f"target {n!r} is a {type(mods[n]).__name__}, not an nn.Linear: only Linear layers "
                             "are quantised")  # fmt: skip
    return list(names)


def _linear(block: nn.Module, name: str) -> nn.Linear:
    m = block.get_submodule(name)
    if not isinstance(m, nn.Linear):
        raise ValueError(f"target {name!r} is a {type(m).__name__}, not an nn.Linear")
    return m


def _swap(block: nn.Module, name: str, new: nn.Module) -> None:
    parent_name, _, attr = name.rpartition(".")
    parent = block.get_submodule(parent_name) if parent_name else block
    setattr(parent, attr, new)


@dataclass(frozen=True)
class BlockTuning:
    """One block's tuning record."""

    losses: np.ndarray  # (T,) minibatch loss at each step, before the step
    best_iter: int
    best_loss: float
    mse_rtn: float  # full-sample MSE of the block at V = 0, alpha = beta = 1 on X_q
    mse_tuned: float  # full-sample MSE after restoring the best iterate
    v: dict[str, np.ndarray]  # the restored V of each target layer
    v_max: float  # max |V| over all target weights
    seconds: float


def _sign_step(params: list[nn.Parameter], lr: float) -> None:
    with torch.no_grad():
        for p in params:
            if p.grad is not None:
                p.add_(torch.sign(p.grad), alpha=-lr)


def _mse(block: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int) -> float:
    with torch.no_grad():
        tot = sum(float(F.mse_loss(block(x[i:i + batch_size]), y[i:i + batch_size], reduction="sum"))
                  for i in range(0, len(x), batch_size))  # fmt: skip
    return tot / y.numel()


def tune_block(block: nn.Module, q_inputs: torch.Tensor, fp_outputs: torch.Tensor, spec: QuantSpec, *, iters: int,
               generator: torch.Generator, lr: float | None = None, batch_size: int = 8, optimizer: str = "sign",
               tune_clip: bool = True, targets: Sequence[str] | None = None) -> BlockTuning:  # fmt: skip
    """Tune ``block`` (module docstring) and write the quantised weights into its Linear layers (in place)."""
    import time

    if isinstance(iters, bool) or not isinstance(iters, int) or iters < 1:
        raise ValueError(f"iters must be an integer >= 1, got {iters!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}")
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {optimizer!r}")
    lr = 1.0 / iters if lr is None else lr
    if not (np.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a finite number > 0, got {lr!r}")
    if q_inputs.shape[0] != fp_outputs.shape[0] or q_inputs.shape[0] < 1:
        raise ValueError(f"q_inputs and fp_outputs must hold the same number (>= 1) of samples, got "
                         f"{q_inputs.shape[0]} and {fp_outputs.shape[0]}")  # fmt: skip
    for nm, arr in (("q_inputs", q_inputs), ("fp_outputs", fp_outputs)):
        if not bool(torch.isfinite(arr).all()):
            raise ValueError(f"{nm} contains NaN or inf")
    t0 = time.perf_counter()
    names = linear_targets(block, targets)
    frozen = [(p, p.requires_grad) for p in block.parameters()]
    for p, _ in frozen:
        p.requires_grad_(False)
    wrapped = {n: QuantLinear(_linear(block, n), spec, tune_clip=tune_clip) for n in names}
    for n, q in wrapped.items():
        _swap(block, n, q)
    params = [p for q in wrapped.values() for p in (q.v, q.min_scale, q.max_scale) if p.requires_grad]
    try:
        bs = min(batch_size, len(q_inputs))
        mse_rtn = _mse(block, q_inputs, fp_outputs, bs)
        opt = torch.optim.Adam(params, lr=lr) if optimizer == "adam" else None
        losses = np.empty(iters)
        best, best_iter = float("inf"), 0
        best_state = [p.detach().clone() for p in params]
        perm = torch.randperm(len(q_inputs), generator=generator)
        pos = 0
        for t in range(iters):
            if pos + bs > len(perm):
                perm, pos = torch.randperm(len(q_inputs), generator=generator), 0
            idx = perm[pos:pos + bs]
            pos += bs
            for p in params:
                p.grad = None
            loss = F.mse_loss(block(q_inputs[idx]), fp_outputs[idx])
            lv = float(loss.detach())
            if not np.isfinite(lv):
                raise FloatingPointError(f"the block loss is not finite at step {t}")
            losses[t] = lv
            if lv < best:
                best, best_iter = lv, t
                best_state = [p.detach().clone() for p in params]
            loss.backward()
            lr_t = lr * (1.0 - t / iters)
            if opt is None:
                _sign_step(params, lr_t)
            else:
                for gr in opt.param_groups:
                    gr["lr"] = lr_t
                opt.step()
        with torch.no_grad():
            for p, b in zip(params, best_state):
                p.copy_(b)
        mse_tuned = _mse(block, q_inputs, fp_outputs, bs)
        vs = {n: q.v.detach().cpu().numpy().copy() for n, q in wrapped.items()}
        with torch.no_grad():
            qw = {n: q.qweight().detach().clone() for n, q in wrapped.items()}
    finally:
        for n, q in wrapped.items():
            _swap(block, n, q.linear)
        for p, r in frozen:
            p.requires_grad_(r)
    with torch.no_grad():
        for n, w in qw.items():
            _linear(block, n).weight.copy_(w)
    vmax = max(float(np.abs(v).max()) for v in vs.values())
    return BlockTuning(losses, best_iter, best, mse_rtn, mse_tuned, vs, vmax, time.perf_counter() - t0)


@dataclass(frozen=True)
class ModelQuant:
    """Per-block records of quantising a sequence of blocks."""

    block_mse: np.ndarray  # (K,) full-sample MSE of quantised block k on its quantised inputs vs the FP output
    tunings: tuple[BlockTuning, ...]  # empty for RTN


def signround_blocks(blocks: Sequence[nn.Module] | nn.ModuleList, inputs: torch.Tensor, spec: QuantSpec, *, iters: int,
                     generator: torch.Generator, lr: float | None = None, batch_size: int = 8,
                     optimizer: str = "sign", tune_clip: bool = True) -> ModelQuant:  # fmt: skip
    """SignRound on ``blocks`` applied in sequence to ``inputs`` (the cached inputs of the first block), in place."""
    if len(blocks) < 1:
        raise ValueError("blocks must not be empty")
    x_fp = x_q = inputs.detach()
    recs = []
    for blk in blocks:
        with torch.no_grad():
            y_fp = blk(x_fp)
        recs.append(tune_block(blk, x_q, y_fp, spec, iters=iters, generator=generator, lr=lr, batch_size=batch_size,
                               optimizer=optimizer, tune_clip=tune_clip))  # fmt: skip
        with torch.no_grad():
            x_q = blk(x_q)
        x_fp = y_fp
    return ModelQuant(np.array([r.mse_tuned for r in recs]), tuple(recs))


@torch.no_grad()
def rtn_blocks(blocks: Sequence[nn.Module] | nn.ModuleList, inputs: torch.Tensor, spec: QuantSpec, *,
               batch_size: int = 8, targets: Sequence[str] | None = None) -> ModelQuant:  # fmt: skip
    """Round-to-nearest on every target Linear of ``blocks`` (in place), with the same block MSEs as SignRound."""
    if len(blocks) < 1:
        raise ValueError("blocks must not be empty")
    x_fp = x_q = inputs.detach()
    mse = []
    for blk in blocks:
        y_fp = blk(x_fp)
        for n in linear_targets(blk, targets):
            lin = _linear(blk, n)
            lin.weight.copy_(rtn(lin.weight, spec))
        mse.append(_mse(blk, x_q, y_fp, batch_size))
        x_q = blk(x_q)
        x_fp = y_fp
    return ModelQuant(np.array(mse), ())


@torch.no_grad()
def capture_inputs(model: nn.Module, module: nn.Module, *args: torch.Tensor) -> torch.Tensor:
    """The input tensor that ``module`` receives when ``model(*args)`` runs (a forward pre-hook)."""
    got: list[torch.Tensor] = []
    h = module.register_forward_pre_hook(lambda _m, inp: got.append(inp[0].detach().clone()))
    try:
        model(*args)
    finally:
        h.remove()
    if not got:
        raise ValueError("the module was not called by the model's forward pass")
    return got[0]


@torch.no_grad()
def block_errors(fp_blocks: Sequence[nn.Module] | nn.ModuleList, q_blocks: Sequence[nn.Module] | nn.ModuleList,
                 inputs: torch.Tensor, *, batch_size: int = 8) -> np.ndarray:  # fmt: skip
    """MSE of each quantised block on the quantised chain's inputs vs the full-precision block on the full-precision
    chain's inputs, both chains started from ``inputs`` (e.g. held-out windows that tuning never saw)."""
    if len(fp_blocks) != len(q_blocks) or len(fp_blocks) < 1:
        raise ValueError(f"fp_blocks and q_blocks must be equally long (>= 1), got {len(fp_blocks)}, {len(q_blocks)}")
    x_fp = x_q = inputs.detach()
    out = []
    for f, q in zip(fp_blocks, q_blocks):
        y_fp = torch.cat([f(x_fp[i:i + batch_size]) for i in range(0, len(x_fp), batch_size)])
        y_q = torch.cat([q(x_q[i:i + batch_size]) for i in range(0, len(x_q), batch_size)])
        out.append(float(F.mse_loss(y_q, y_fp)))
        x_fp, x_q = y_fp, y_q
    return np.array(out)
