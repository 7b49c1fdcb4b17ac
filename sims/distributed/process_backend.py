"""The honest-worker step of :mod:`sims.distributed.byzantine` (and D-SGD's gossip step) with each worker a process
communicating over ``torch.distributed`` (gloo; localhost or several machines).

Ranks ``0 .. h-1`` are honest, ``h .. n-1`` Byzantine. One round:

1. honest rank ``i`` draws the round's random numbers exactly as the batched simulation does (the full ``(1, h, B)``
   batch positions from the shared-seed generator, then its own row), updates its momentum and half step;
2. ``all_gather`` of the half steps (Byzantine ranks contribute zeros); the Byzantine ranks build the attack vector
   from the honest half steps (omniscient adversary) with the same function as the simulation;
3. ``all_gather`` of the Byzantine vectors; honest rank ``i`` mixes (NNA or a baseline) with its own model as pivot.

For the same seed and data the iterates equal those of ``byzantine.run`` with ``R = 1`` (tests: float64, 1e-12).
Launch (one machine, 26 processes):  ``torchrun --standalone --nproc_per_node 26 -m sims.distributed.process_backend``
(see docs/monna.md); tests spawn processes with ``torch.multiprocessing`` and a file rendezvous.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

from .byzantine import (
    RunSpec,
    Split,
    authors_received,
    batch_positions,
    byzantine_vectors,
    honest_step,
    loss_acc,
    mix,
    n_params,
)


def gossip_step(x_local: torch.Tensor, W: torch.Tensor) -> torch.Tensor:
    """D-SGD gossip at this rank: ``x_i <- sum_j W_ij x_j`` (row ``i = rank`` of the mixing matrix ``W``)."""
    n = dist.get_world_size()
    if W.shape != (n, n):
        raise ValueError(f"W must be ({n}, {n}), got {tuple(W.shape)}")
    buf = [torch.empty_like(x_local) for _ in range(n)]
    dist.all_gather(buf, x_local)
    return W[dist.get_rank()].to(x_local.dtype) @ torch.stack(buf)


def run_rank(split: Split, spec: RunSpec, seed: int) -> dict[str, Any]:
    """Run ``spec.rounds`` rounds at this rank (world size ``h + f``; ``split`` with ``R = 1`` and ``h`` workers).
    Honest ranks return their final ``theta`` (d,) and test accuracy; Byzantine ranks return ``{}``."""
    spec.validate()
    rank, world = dist.get_rank(), dist.get_world_size()
    R, h = split.size.shape
    f = spec.f if spec.attack != "none" else 0
    if R != 1 or world != h + f:
        raise ValueError(f"need R = 1 and world size h + f = {h + f}, got R={R}, world={world}")
    C = split.n_classes
    d = n_params(split.x.shape[1], C)
    gen = torch.Generator().manual_seed(seed)
    dt = split.x.dtype
    theta = torch.zeros(d, dtype=dt)
    m = torch.zeros(d, dtype=dt)
    m_flip = torch.zeros(d, dtype=dt)
    honest = rank < h
    for _ in range(spec.rounds):
        ids = batch_positions(split, spec.batch, gen)            # (1, h, B): the same draw at every rank
        mask = authors_received(1, h, spec.f, gen) if spec.rule == "nna_authors" else None
        half = torch.zeros(d, dtype=dt)
        flip = torch.zeros(d, dtype=dt)
        if honest:
            xb, yb = split.x[ids[0, rank]], split.y[ids[0, rank]]
            m, half = honest_step(theta, m, xb, yb, spec.beta, spec.lr, C)
            if spec.attack == "label_flip":
                m_flip, flip = honest_step(theta, m_flip, xb, C - 1 - yb, spec.beta, spec.lr, C)
        buf = [torch.empty_like(half) for _ in range(world)]
        dist.all_gather(buf, half)
        halves = torch.stack(buf[:h])[None]                       # (1, h, d)
        flipped = None
        if spec.attack == "label_flip":
            fb = [torch.empty_like(flip) for _ in range(world)]
            dist.all_gather(fb, flip)
            flipped = torch.stack(fb[:h])[None]
        byz = torch.zeros(d, dtype=dt)
        if not honest:
            byz = byzantine_vectors(spec.attack, halves, f, spec.rule, mask, spec.params, spec.factor, flipped,
                                    spec.evals)[0, rank - h]
        bb = [torch.empty_like(byz) for _ in range(world)]
        dist.all_gather(bb, byz)
        if honest:
            cands = torch.cat([halves, torch.stack(bb[h:])[None]], 1) if f > 0 else halves
            mrow = None
            if mask is not None:
                mrow = mask[:, rank: rank + 1] if f > 0 else mask[:, rank: rank + 1, :h]
            theta = mix(spec.rule, half[None, None], cands, spec.f, mrow, spec.params)[0, 0]
    if not honest:
        return {}
    _, acc = loss_acc(theta, split.x_test, split.y_test, C)
    return {"theta": theta, "acc": float(acc)}


def _main() -> None:  # pragma: no cover - launched by torchrun
    from sklearn.datasets import load_digits

    from .byzantine import make_split

    ap = argparse.ArgumentParser(description="MoNNA with one process per worker (torchrun)")
    ap.add_argument("--f", type=int, default=5)
    ap.add_argument("--rule", default="nna_paper")
    ap.add_argument("--attack", default="sign_flip")
    ap.add_argument("--rounds", type=int, default=50)
    ap.add_argument("--beta", type=float, default=0.9)
    ap.add_argument("--lr", type=float, default=0.5)
    ap.add_argument("--alpha", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    dist.init_process_group("gloo")
    world = dist.get_world_size()
    f = a.f if a.attack != "none" else 0
    X, y = load_digits(return_X_y=True)
    rng = np.random.default_rng(a.seed)
    perm = rng.permutation(len(y))
    te, tr = perm[:360], perm[360:]
    split = make_split(X[tr] / 16.0, y[tr], X[te] / 16.0, y[te], world - f, a.alpha, 1, rng)
    out = run_rank(split, RunSpec(f=a.f, rule=a.rule, attack=a.attack, rounds=a.rounds, beta=a.beta,
                                                  lr=a.lr), a.seed)
    if out:
        print(f"rank {dist.get_rank()}: test accuracy {out['acc']:.4f}")
    dist.destroy_process_group()


if __name__ == "__main__":  # pragma: no cover
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    _main()
