"""Training a language model on a token stream, plain or with pseudo-update measurements along the trajectory.

``train_lm``: theta <- optimizer step on the mean next-token cross-entropy of a random batch per step (batches from
``generator``), validation loss on fixed batches every ``eval_every`` steps; a run whose loss stops being finite is
stopped and flagged diverged.

``measure_trajectory``: the same training by a base optimizer, and every ``measure_every`` steps each candidate's
update direction (sims.nets.directional.PseudoUpdates: all candidates see the same gradients on the same batches) is
measured on a fixed measurement batch: directional sharpness, quadratic-model decrease, line-search decrease,
sharpness with the top coordinates masked, and a histogram of log10 |u_i|.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from sims.data.stdlib_text import random_batch
from sims.nets.directional import PseudoUpdates, direction_stats
from sims.nets.transformer import GPT, evaluate

Batches = list[tuple[torch.Tensor, torch.Tensor]]


def _check_steps(steps: int, every: int, name: str) -> None:
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be an integer >= 1, got {steps!r}")
    if isinstance(every, bool) or not isinstance(every, int) or every < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {every!r}")


@dataclass(frozen=True)
class TrainCurve:
    steps: np.ndarray  # (E,) steps at which the validation loss was measured
    val_loss: np.ndarray  # (E,) nats per token (nan after divergence)
    train_loss: np.ndarray  # (steps,) the batch loss of every step (nan after divergence)
    diverged: bool


def train_lm(model: GPT, optimizer: torch.optim.Optimizer, tokens: torch.Tensor, *, steps: int, batch_size: int,
             generator: torch.Generator, val_batches: Batches, eval_every: int,
             progress: bool | None = None) -> TrainCurve:  # fmt: skip
    """Train ``model`` in place; see the module docstring."""
    _check_steps(steps, eval_every, "eval_every")
    block = model.cfg.block_size
    dev = next(model.parameters()).device
    ev_steps, ev_vals = [0], [evaluate(model, val_batches)]
    tr = np.full(steps, np.nan)
    diverged = False
    for s in tqdm(range(1, steps + 1), disable=None if progress is None else not progress, leave=False, desc="lm"):
        x, y = random_batch(tokens, batch_size, block, generator=generator, device=dev)
        optimizer.zero_grad(set_to_none=True)
        loss = model.loss(x, y)
        if not torch.isfinite(loss):
            diverged = True
            break
        loss.backward()
        optimizer.step()
        tr[s - 1] = float(loss.detach())
        if s % eval_every == 0 or s == steps:
            v = evaluate(model, val_batches)
            ev_steps.append(s)
            ev_vals.append(v)
            if not math.isfinite(v):
                diverged = True
                break
    if diverged:
        ev_vals.append(math.nan)
        ev_steps.append(steps)
    return TrainCurve(np.array(ev_steps), np.array(ev_vals), tr, diverged)


@dataclass(frozen=True)
class Trajectory:
    names: tuple[str, ...]  # candidates
    steps: np.ndarray  # (M,) measured steps
    sharpness: np.ndarray  # (M, C)
    masked_sharpness: np.ndarray  # (M, C)
    model_decrease: np.ndarray  # (M, C)
    line_decrease: np.ndarray  # (M, C)
    hist_edges: np.ndarray  # (H + 1,) log10 |u_i| bin edges
    hist: np.ndarray  # (C, H) counts at the last measurement
    val_loss: np.ndarray  # (M,) of the base trajectory


def measure_trajectory(model: GPT, base: torch.optim.Optimizer,
                       candidates: dict[str, Callable[[list[nn.Parameter]], torch.optim.Optimizer]],
                       tokens: torch.Tensor, *, steps: int, batch_size: int, generator: torch.Generator,
                       measure_batch: tuple[torch.Tensor, torch.Tensor], val_batches: Batches, measure_every: int,
                       mask_fraction: float = 0.01, progress: bool | None = None) -> Trajectory:  # fmt: skip
    """Train by ``base`` and measure every candidate's pseudo-update every ``measure_every`` steps."""
    _check_steps(steps, measure_every, "measure_every")
    pu = PseudoUpdates(model, candidates)
    names = tuple(candidates)
    block = model.cfg.block_size
    dev = next(model.parameters()).device
    mx, my = measure_batch[0].to(dev), measure_batch[1].to(dev)

    def mloss(m: nn.Module) -> torch.Tensor:
        return m.loss(mx, my)  # type: ignore[operator]

    edges = np.linspace(-12, 0, 49)
    rows: list[list[tuple[float, float, float, float]]] = []
    mst, vl = [], []
    hist = np.zeros((len(names), len(edges) - 1))
    for s in tqdm(range(1, steps + 1), disable=None if progress is None else not progress, leave=False,
                  desc="pseudo-updates"):  # fmt: skip
        x, y = random_batch(tokens, batch_size, block, generator=generator, device=dev)
        base.zero_grad(set_to_none=True)
        loss = model.loss(x, y)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"the base trajectory diverged at step {s}")
        loss.backward()
        dirs = pu.step()
        if s % measure_every == 0:
            row = []
            for i, n in enumerate(names):
                st = direction_stats(model, mloss, dirs[n], mask_fraction=mask_fraction)
                row.append((st.sharpness, st.masked_sharpness, st.model_decrease, st.line_decrease))
                u = torch.cat([d.reshape(-1) for d in dirs[n]]).abs()
                u = u / u.max().clamp_min(1e-300)
                hist[i] = np.histogram(np.log10(u.clamp_min(1e-12).double().cpu().numpy()), bins=edges)[0]
            rows.append(row)
            mst.append(s)
            vl.append(evaluate(model, val_batches))
        base.step()
    a = np.array(rows, dtype=float).reshape(len(mst), len(names), 4)
    return Trajectory(names, np.array(mst), a[..., 0], a[..., 1], a[..., 2], a[..., 3], edges, hist, np.array(vl))
