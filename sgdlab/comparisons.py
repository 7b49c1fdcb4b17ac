"""Comparisons of methods on a learning-rate grid fixed in advance, over seeds: the decision shared by the optimizer
papers' training comparisons (adabelief, diffgrad, sgd_sai).

Each method is taken at its best learning rate (lowest final training loss, unstable runs excluded); the claim holds
if ``ours`` beats ``ref`` by more than ``k_se`` standard errors of the paired difference on every model, fails if it is
worse by that much on any, and is inconclusive otherwise. The note adds the steps each method needs to reach a target
training loss.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from sims.nets.classify import best_lr_index, compare_models, steps_to_target

from .specs import Tol
from .verdict import Verdict


def combine(parts: dict[str, Verdict]) -> Verdict:
    """``Verdict.combine`` with each part's own note (its numbers) appended."""
    v = Verdict.combine(parts)
    notes = [p.note for p in parts.values() if p.note]
    if notes:
        v.note += " | " + "; ".join(notes)
    return v


def steps_note(r: Mapping[str, Any], cfg: Any, names: tuple[str, ...], target: float) -> str:
    """Steps until the running mean (10 steps) of the training loss reaches ``target``, per model and optimizer at
    its best learning rate: mean +- se over the seeds that reach it, and how many do."""
    out = []
    for m in cfg.models:
        loss = np.asarray(r[f"{m}_loss"])
        best = best_lr_index(np.asarray(r[f"{m}_final_train_loss"]), np.asarray(r[f"{m}_unstable"]))
        for o in names:
            i = cfg.optimizers.index(o)
            s = np.array([steps_to_target(x, target) for x in loss[i, best[i]]])
            ok = s[np.isfinite(s)]
            se = ok.std(ddof=1) / np.sqrt(ok.size) if ok.size > 1 else float("nan")
            out.append(f"{m} {o} {ok.mean() if ok.size else float('inf'):.0f} +- {se:.0f} ({ok.size}/{s.size} seeds)")
    return f"steps to training loss {target:g}: " + ", ".join(out)


def decide_mnist(r: Mapping[str, Any], cfg: Any, ours: str, ref: str, tol: Tol) -> Verdict:
    cmp = compare_models(dict(r), cfg.models, cfg.optimizers, ours, ref)
    v = combine({m: Verdict.above(d, 0.0, se, k=tol.k_se, note=note) for m, (d, se, note) in cmp.items()})
    v.note += "; " + steps_note(r, cfg, (ours, ref), tol.target_loss)
    return v
