"""Experiments of the signround paper: train a small GPT per seed on the stdlib corpus, then quantise it."""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from sgdlab import by_scale, experiment, seeding

PAPER = "signround"
METHODS: tuple[str, ...] = ("rtn", "sign", "adam")


@dataclass(frozen=True)
class QuantizeConfig:
    """A GPT (n_layer x n_embd) trained by Adam for ``train_steps`` on the stdlib bytes, then each Linear in its
    blocks quantised at every (bits, group_size) by RTN, SignRound and SignRound-with-Adam. Calibration:
    ``calib_samples`` training windows; tuning: ``iters`` steps on minibatches of ``calib_batch`` windows."""

    n_layer: int = 2
    n_head: int = 4
    n_embd: int = 64
    block_size: int = 64
    batch_size: int = 16
    corpus_bytes: int = 1_000_000
    train_steps: int = 400
    train_lr: float = 3e-3
    bits: tuple[int, ...] = (2, 3, 4)
    group_sizes: tuple[int, ...] = (32, -1)
    sym: bool = False
    calib_samples: int = 16
    calib_batch: int = 4
    iters: int = 100
    val_batches: int = 8
    v_bins: int = 41
    seeds: int = 3
    seed: int = 0
    device: str = "cpu"


def quantize_config(scale: str) -> QuantizeConfig:
    return by_scale(scale,
                    smoke=QuantizeConfig(n_layer=1, n_embd=32, block_size=32, batch_size=8, corpus_bytes=100_000,
                                         train_steps=200, train_lr=1e-2, calib_samples=8, iters=25, val_batches=4,
                                         seeds=2),
                    default=QuantizeConfig(),
                    full=QuantizeConfig(n_layer=6, n_head=6, n_embd=384, block_size=256, batch_size=32,
                                        corpus_bytes=20_000_000, train_steps=5000, group_sizes=(32, 64, 128, -1),
                                        calib_samples=128, calib_batch=8, iters=200, val_batches=32, seeds=3,
                                        device="cuda"))  # fmt: skip


@dataclass(frozen=True)
class QuantizeResult:
    bits: np.ndarray  # (B,)
    group_sizes: np.ndarray  # (G,)
    methods: np.ndarray  # (M,) "rtn", "sign", "adam"
    fp_val: np.ndarray  # (S,) validation loss of the full-precision model
    val: np.ndarray  # (S, M, B, G) validation loss of the quantised model
    block_mse: np.ndarray  # (S, M, B, G, K) MSE of quantised block k on quantised inputs vs the FP output
    heldout_mse: np.ndarray  # (S, M, B, G, K) the same on held-out validation windows (never used for tuning)
    v_max: np.ndarray  # (S, M, B, G) max |V| over all weights (0 for RTN)
    v_edges: np.ndarray  # (H + 1,)
    v_hist: np.ndarray  # (S, M, B, G, H) histogram of V over all weights
    losses: np.ndarray  # (S, M, B, G, K, T) minibatch block loss per tuning step (nan for RTN)
    best_iter: np.ndarray  # (S, M, B, G, K)
    tune_seconds: np.ndarray  # (S, M, B, G, K)
    train_val: np.ndarray  # (S,) final validation loss of training (= fp_val)
    n_params: int
    corpus_sha256: str


@experiment("signround.quantize", paper=PAPER, config=quantize_config, result=QuantizeResult)
def quantize(cfg: QuantizeConfig) -> QuantizeResult:
    """Per seed (init, batches, calibration windows and tuning minibatches from separate streams): train, then
    quantise a copy of the model per (method, bits, group size) and measure block MSEs and the validation loss."""
    import torch
    from tqdm.auto import tqdm

    from sims.data.stdlib_text import fixed_batches, random_batch, stdlib_text
    from sims.nets.lm_training import train_lm
    from sims.nets.transformer import GPT, GPTConfig, evaluate
    from sims.quant.fake_quant import QuantSpec
    from sims.quant.signround import block_errors, capture_inputs, rtn_blocks, signround_blocks

    corpus = stdlib_text(cfg.corpus_bytes)
    gcfg = GPTConfig(block_size=cfg.block_size, n_layer=cfg.n_layer, n_head=cfg.n_head, n_embd=cfg.n_embd)
    val = fixed_batches(corpus.val, cfg.val_batches, cfg.batch_size, cfg.block_size,
                        generator=seeding.torch_generator(0, "val"))  # fmt: skip
    S, M, B, G, K, T = cfg.seeds, len(METHODS), len(cfg.bits), len(cfg.group_sizes), cfg.n_layer, cfg.iters
    edges = np.linspace(-1.0, 1.0, cfg.v_bins + 1)
    out = {"val": np.full((S, M, B, G), np.nan), "block_mse": np.full((S, M, B, G, K), np.nan),
           "heldout_mse": np.full((S, M, B, G, K), np.nan),
           "v_max": np.zeros((S, M, B, G)), "v_hist": np.zeros((S, M, B, G, len(edges) - 1)),
           "losses": np.full((S, M, B, G, K, T), np.nan), "best_iter": np.zeros((S, M, B, G, K), dtype=int),
           "tune_seconds": np.zeros((S, M, B, G, K))}  # fmt: skip
    fp_val = np.empty(S)
    train_val = np.empty(S)
    bar = tqdm(total=S * B * G, desc="signround.quantize", leave=False)
    for s in range(S):
        seed = cfg.seed + s
        model = GPT(gcfg, generator=seeding.torch_generator(seed, "init"), device=cfg.device)
        opt = torch.optim.Adam(model.parameters(), lr=cfg.train_lr)
        curve = train_lm(model, opt, corpus.train, steps=cfg.train_steps, batch_size=cfg.batch_size,
                         generator=seeding.torch_generator(seed, "batches"), val_batches=val,
                         eval_every=cfg.train_steps)  # fmt: skip
        if curve.diverged:
            raise FloatingPointError(f"training diverged for seed {seed}")
        train_val[s] = curve.val_loss[-1]
        model.eval()
        fp_val[s] = evaluate(model, val)
        calib, _ = random_batch(corpus.train, cfg.calib_samples, cfg.block_size,
                                generator=seeding.torch_generator(seed, "calibration"), device=cfg.device)
        x0 = capture_inputs(model, model.blocks[0], calib)
        xv = capture_inputs(model, model.blocks[0], torch.cat([x for x, _ in val]).to(cfg.device))
        for b, bits in enumerate(cfg.bits):
            for g, gs in enumerate(cfg.group_sizes):
                spec = QuantSpec(bits, gs, cfg.sym)
                for m, meth in enumerate(METHODS):
                    q = copy.deepcopy(model)
                    if meth == "rtn":
                        rec = rtn_blocks(q.blocks, x0, spec, batch_size=cfg.calib_batch)
                    else:
                        rec = signround_blocks(q.blocks, x0, spec, iters=cfg.iters, batch_size=cfg.calib_batch,
                                               optimizer=meth,
                                               generator=seeding.torch_generator(seed, f"tune-{bits}-{gs}-{meth}"))
                        vs = np.concatenate([v.reshape(-1) for t in rec.tunings for v in t.v.values()])
                        out["v_max"][s, m, b, g] = float(np.abs(vs).max())
                        out["v_hist"][s, m, b, g] = np.histogram(np.clip(vs, -1, 1), bins=edges)[0]
                        for k, t in enumerate(rec.tunings):
                            out["losses"][s, m, b, g, k] = t.losses
                            out["best_iter"][s, m, b, g, k] = t.best_iter
                            out["tune_seconds"][s, m, b, g, k] = t.seconds
                    out["block_mse"][s, m, b, g] = rec.block_mse
                    out["heldout_mse"][s, m, b, g] = block_errors(model.blocks, q.blocks, xv,
                                                                  batch_size=cfg.batch_size)
                    out["val"][s, m, b, g] = evaluate(q, val)
                bar.update()
    bar.close()
    return QuantizeResult(np.array(cfg.bits), np.array(cfg.group_sizes), np.array(METHODS), fp_val, out["val"],
                          out["block_mse"], out["heldout_mse"], out["v_max"], edges, out["v_hist"], out["losses"],
                          out["best_iter"], out["tune_seconds"], train_val, model.n_params(),
                          corpus.sha256)  # fmt: skip
