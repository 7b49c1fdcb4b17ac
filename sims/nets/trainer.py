"""The one batched (vmap) trainer of small networks: R independent runs stacked in one set of tensors, trained by an
update rule (sims.optim.rules) on batches from a sampler until a stopping criterion holds, they diverge, or the step
budget is spent.

One step of the runs still active (rows ``rows`` of the original R), at step s = 1, 2, ...:

    batch          = batches(s, rows)                              # tensors with leading dimension len(rows)
    g_r, l_r       = grad, value of  loss(theta_r, *batch_r)       # torch.func.vmap(grad_and_value(loss))
    theta, state   = rule.step(theta, g, state, s)

On the check schedule (``check_every``: every k steps, or a predicate of s; always at s = max_steps) each active run is
  - *diverged* if its parameters are non-finite, their norm (all tensors together) exceeds ``max_norm``, its batch loss
    l_r is non-finite, or the criterion flags it ``bad`` (sims.runs.Divergence; its parameters are frozen at 0 and
    reported as NaN);
  - *converged* if the criterion says ``fitted`` (and it is not diverged);
  - *censored* if neither holds at s = max_steps.
A stopped run takes no further steps. With ``compact=True`` (default) stopped runs are dropped from every tensor
(params, rule state, batches: the sampler is asked only for the rows still active, so random draws depend on which
runs are still active); with ``compact=False`` every tensor keeps its R rows, samplers draw for all R runs every step
and stopped runs are held fixed (their update is masked; diverged runs stay frozen at 0).

Observers ``obs(s, params, rows, losses)`` see the parameters after each step (after the divergence check, before
compaction): :class:`TailAverage` averages functions of the last iterates, :class:`Trace` records them every k steps.

Device, dtype: those of ``params0`` (all its tensors must agree); every random draw comes from generators that the
caller hands to its samplers explicitly.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import torch
from torch.func import grad_and_value, vmap
from tqdm.auto import tqdm

from sims.optim.rules import Params, State, UpdateRule
from sims.runs import Divergence, bad_rows, check_max_norm, freeze

BatchSampler = Callable[[int, torch.Tensor], Sequence[torch.Tensor]]
"""batches(s, rows) -> tensors with leading dimension len(rows); row i belongs to run rows[i]."""
LossFn = Callable[..., torch.Tensor]
"""loss(theta_r, *batch_r) -> scalar, for ONE run (theta_r: the tuple of its parameter tensors); vmapped over runs."""


@dataclass(frozen=True)
class Stop:
    """What a stopping criterion says about the active runs: fitted (n,) bool, and optionally bad (n,) bool (extra
    divergence tests, e.g. a loss 1e6 times its initial value)."""

    fitted: torch.Tensor
    bad: torch.Tensor | None = None


Criterion = Callable[[Params, torch.Tensor, int], "Stop | torch.Tensor"]
"""stop(params, rows, s) -> Stop or a fitted (n,) bool mask, for the n active runs (rows: their original indices)."""


class Observer(Protocol):
    def __call__(self, step: int, params: Params, rows: torch.Tensor, losses: torch.Tensor) -> None: ...


@dataclass
class TrainResult:
    """Per run (R,): parameters where it stopped (NaN for diverged runs), the number of steps it took, exactly one of
    converged / censored / diverged, the step at which it diverged (-1: never), and the batch loss of its last step
    (NaN for diverged runs)."""

    params: Params
    steps: torch.Tensor
    converged: torch.Tensor
    censored: torch.Tensor
    diverged: torch.Tensor
    diverged_at: torch.Tensor
    last_loss: torch.Tensor


def geometric_schedule(resolution: int = 32) -> Callable[[int], bool]:
    """Checks at s <= resolution and then every 2^(floor(log2 s) - log2 resolution) steps, so that the first step at
    which a criterion holds is resolved to a relative 1/resolution (resolution a power of two >= 1)."""
    if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 1 \
            or resolution & (resolution - 1):
        raise ValueError(f"resolution must be a power of two >= 1, got {resolution!r}")
    k = resolution.bit_length() - 1

    def due(s: int) -> bool:
        return s <= resolution or s % (1 << (s.bit_length() - 1 - k)) == 0

    return due


def _tree_map(fn: Callable[[torch.Tensor], torch.Tensor], tree: State) -> State:
    if isinstance(tree, torch.Tensor):
        return fn(tree)
    if isinstance(tree, tuple):
        return tuple(_tree_map(fn, t) for t in tree)
    if isinstance(tree, list):
        return [_tree_map(fn, t) for t in tree]
    if isinstance(tree, dict):
        return {k: _tree_map(fn, v) for k, v in tree.items()}
    raise ValueError(f"rule state must be a tensor or a tuple/list/dict of them, got {type(tree).__name__}")


def _tree_where(mask: torch.Tensor, new: State, old: State) -> State:
    if isinstance(new, torch.Tensor):
        return torch.where(mask.view(-1, *([1] * (new.ndim - 1))), new, old)
    if isinstance(new, (tuple, list)):
        return type(new)(_tree_where(mask, a, b) for a, b in zip(new, old))
    if isinstance(new, dict):
        return {k: _tree_where(mask, new[k], old[k]) for k in new}
    raise ValueError(f"rule state must be a tensor or a tuple/list/dict of them, got {type(new).__name__}")


def _flat(params: Params) -> torch.Tensor:
    return torch.cat([p.reshape(p.shape[0], -1) for p in params], dim=1)


def _check_params(params0: Params) -> int:
    if not isinstance(params0, tuple) or not params0 or not all(isinstance(p, torch.Tensor) for p in params0):
        raise ValueError("params0 must be a non-empty tuple of (R, ...) tensors")
    if any(p.ndim == 0 for p in params0):
        raise ValueError("params0 tensors must have the runs as leading dimension (R, ...)")
    r = params0[0].shape[0]
    if r < 1 or any(p.shape[0] != r for p in params0):
        raise ValueError(f"params0 tensors must share a leading dimension R >= 1, got {[p.shape[0] for p in params0]}")
    if any(not p.is_floating_point() for p in params0):
        raise ValueError("params0 must be floating-point tensors")
    if len({(p.dtype, p.device) for p in params0}) != 1:
        raise ValueError("params0 tensors must share one dtype and one device")
    if not all(bool(torch.isfinite(p).all()) for p in params0):
        raise ValueError("params0 must be finite")
    return r


def train(
    params0: Params,
    loss: LossFn,
    batches: BatchSampler,
    rule: UpdateRule,
    *,
    max_steps: int,
    stop: Criterion | None = None,
    check_every: int | Callable[[int], bool] = 1,
    max_norm: float = math.inf,
    compact: bool = True,
    observers: Sequence[Observer] = (),
    progress: bool | None = None,
    desc: str = "train",
) -> TrainResult:
    """Train the R runs stacked in ``params0`` (see the module docstring for the step, the checks and compaction).

    ValueError for: params0 not a tuple of finite floating (R, ...) tensors on one device/dtype; max_steps not an
    int >= 1; check_every not an int >= 1 or a callable; max_norm not > 0; a sampler returning tensors whose leading
    dimension is not the number of active runs; a criterion returning masks of the wrong shape."""
    runs = _check_params(params0)
    if isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 1:
        raise ValueError(f"max_steps must be an int >= 1, got {max_steps!r}")
    if callable(check_every):
        due: Callable[[int], bool] = check_every
    elif isinstance(check_every, bool) or not isinstance(check_every, int) or check_every < 1:
        raise ValueError(f"check_every must be an int >= 1 or a callable s -> bool, got {check_every!r}")
    else:
        k_every = check_every

        def due(s: int) -> bool:
            return s % k_every == 0

    max_norm = check_max_norm(max_norm)
    for name, f in (("loss", loss), ("batches", batches)):
        if not callable(f):
            raise ValueError(f"{name} must be callable, got {f!r}")
    if not (hasattr(rule, "init") and hasattr(rule, "step")):
        raise ValueError(f"rule must have init(params) and step(params, grads, state, t), got {rule!r}")
    if stop is not None and not callable(stop):
        raise ValueError(f"stop must be None or a callable (params, rows, s) -> Stop, got {stop!r}")

    dev, dt = params0[0].device, params0[0].dtype
    div = Divergence.start(runs, dev)
    converged = torch.zeros(runs, dtype=torch.bool, device=dev)
    stopped = torch.zeros(runs, dtype=torch.bool, device=dev)
    steps = torch.zeros(runs, dtype=torch.int64, device=dev)
    last_loss = torch.full((runs,), math.nan, dtype=dt, device=dev)
    final = [torch.full_like(p, math.nan) for p in params0]
    rows = torch.arange(runs, device=dev)
    params: Params = tuple(p.clone() for p in params0)
    state = rule.init(params)
    gv = vmap(grad_and_value(loss))
    bar = tqdm(total=max_steps, disable=(not progress) if progress is not None else None, leave=False, desc=desc,
               mininterval=2.0)  # fmt: skip
    try:
        for s in range(1, max_steps + 1):
            n = rows.numel() if compact else int((~stopped).sum())
            if n == 0:
                break
            batch = tuple(batches(s, rows))
            if any(not isinstance(b, torch.Tensor) or b.ndim == 0 or b.shape[0] != rows.numel() for b in batch):
                raise ValueError(f"batches must return tensors with leading dimension {rows.numel()} (the runs asked "
                                 f"for), got {[getattr(b, 'shape', type(b).__name__) for b in batch]}")  # fmt: skip
            grads, lv = gv(params, *batch)
            new, new_state = rule.step(params, tuple(grads), state, s)
            if compact:
                params, state = tuple(new), new_state
                last_loss[rows] = lv.detach()
            else:
                act = ~stopped
                params = tuple(torch.where(act.view(-1, *([1] * (p.ndim - 1))), q, p) for p, q in zip(params, new))
                state = _tree_where(act, new_state, state)
                last_loss = torch.where(act, lv.detach(), last_loss)
            ended = None
            if s == max_steps or due(s):
                bad = bad_rows(_flat(params), max_norm) | ~torch.isfinite(lv)
                fitted = torch.zeros_like(bad)
                if stop is not None:
                    out = stop(params, rows, s)
                    out = out if isinstance(out, Stop) else Stop(out)
                    for name, m in (("fitted", out.fitted), ("bad", out.bad)):
                        if m is not None and (m.shape != bad.shape or m.dtype != torch.bool):
                            raise ValueError(f"stop must return {name} as a bool tensor of shape {tuple(bad.shape)}, "
                                             f"got {m.dtype} {tuple(m.shape)}")  # fmt: skip
                    fitted = out.fitted
                    if out.bad is not None:
                        bad = bad | out.bad
                fitted = fitted & ~bad
                ended = fitted | bad | torch.full_like(bad, s == max_steps)
                if not compact:
                    act = ~stopped
                    bad, fitted, ended = bad & act, fitted & act, ended & act
                full_bad = torch.zeros(runs, dtype=torch.bool, device=dev)
                full_bad[rows] = bad
                div.mark(full_bad, s)
                if bool(ended.any()):
                    r_end = rows[ended]
                    steps[r_end] = s
                    converged[r_end] = fitted[ended]
                    stopped[r_end] = True
                    if compact:
                        for k, p in enumerate(params):
                            final[k][r_end] = p[ended]
                if bool(bad.any()):
                    params = tuple(freeze(p, bad, div.frozen_value) for p in params)
            for obs in observers:
                obs(s, params, rows, lv.detach())
            if compact and ended is not None and bool(ended.any()):
                keep = ~ended
                rows = rows[keep]
                params = tuple(p[keep] for p in params)
                state = _tree_map(lambda t: t[keep], state)  # noqa: B023 (applied at once)
            bar.update(1)
    finally:
        bar.close()
    if not compact:
        final = list(params)
    diverged = div.diverged.clone()
    fparams = tuple(div.nan_out(p) for p in final)
    return TrainResult(params=fparams, steps=steps, converged=converged & ~diverged,
                       censored=~converged & ~diverged, diverged=diverged, diverged_at=div.diverged_at.clone(),
                       last_loss=torch.where(diverged, torch.full_like(last_loss, math.nan), last_loss))  # fmt: skip


class TailAverage:
    """Per-run average of fn(params) over the iterates of steps s >= first_step (the last max_steps - first_step + 1
    iterates): an observer. fn(params) -> dict name -> (n, ...) tensor for the n rows given. ``mean()``: dict name ->
    (R, ...) (NaN for runs that recorded nothing)."""

    def __init__(self, fn: Callable[[Params], dict[str, torch.Tensor]], runs: int, first_step: int) -> None:
        if isinstance(first_step, bool) or not isinstance(first_step, int) or first_step < 1:
            raise ValueError(f"first_step must be an int >= 1, got {first_step!r}")
        if isinstance(runs, bool) or not isinstance(runs, int) or runs < 1:
            raise ValueError(f"runs must be an int >= 1, got {runs!r}")
        self.fn, self.runs, self.first_step = fn, runs, first_step
        self.sums: dict[str, torch.Tensor] = {}
        self.count: torch.Tensor | None = None

    def __call__(self, step: int, params: Params, rows: torch.Tensor, losses: torch.Tensor) -> None:
        if step < self.first_step:
            return
        with torch.no_grad():
            vals = self.fn(params)
        for k, v in vals.items():
            if k not in self.sums:
                self.sums[k] = torch.zeros((self.runs, *v.shape[1:]), dtype=v.dtype, device=v.device)
            self.sums[k][rows] += v
        if self.count is None:
            self.count = torch.zeros(self.runs, dtype=losses.dtype, device=losses.device)
        self.count[rows] += 1

    def mean(self) -> dict[str, torch.Tensor]:
        out = {}
        for k, v in self.sums.items():
            assert self.count is not None
            c = self.count.view(-1, *([1] * (v.ndim - 1))).to(v.dtype)
            out[k] = torch.where(c > 0, v / c, torch.full_like(v, math.nan))
        return out


class Trace:
    """Records fn(params) at steps s = 1, 1 + every, 1 + 2 every, ...: an observer. ``stacked()``: dict name ->
    (T, R, ...) with NaN for runs no longer active; ``steps``: the T recorded steps."""

    def __init__(self, fn: Callable[[Params], dict[str, torch.Tensor]], runs: int, every: int) -> None:
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"every must be an int >= 1, got {every!r}")
        if isinstance(runs, bool) or not isinstance(runs, int) or runs < 1:
            raise ValueError(f"runs must be an int >= 1, got {runs!r}")
        self.fn, self.runs, self.every = fn, runs, every
        self.steps: list[int] = []
        self.records: dict[str, list[torch.Tensor]] = {}

    def __call__(self, step: int, params: Params, rows: torch.Tensor, losses: torch.Tensor) -> None:
        if (step - 1) % self.every:
            return
        with torch.no_grad():
            vals = self.fn(params)
        self.steps.append(step)
        for k, v in vals.items():
            full = torch.full((self.runs, *v.shape[1:]), math.nan, dtype=v.dtype, device=v.device)
            full[rows] = v
            self.records.setdefault(k, []).append(full)

    def stacked(self) -> dict[str, torch.Tensor]:
        return {k: torch.stack(v) for k, v in self.records.items()}


def distinct_batches(keys_shape: tuple[int, int], batch_size: int, *, generator: torch.Generator,
                     device: torch.device | str) -> torch.Tensor:  # fmt: skip
    """(n, B) indices: for each of n runs, B distinct indices out of P drawn uniformly (the B smallest of P uniform
    float64 keys); keys_shape = (n, P), 1 <= B <= P."""
    n, p = keys_shape
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or not 1 <= batch_size <= p:
        raise ValueError(f"batch_size must be an int in [1, P = {p}], got {batch_size!r}")
    keys = torch.rand((n, p), generator=generator, device=device, dtype=torch.float64)
    return torch.topk(keys, batch_size, dim=1, largest=False).indices


def gather_rows(x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """x (n, P, ...) and idx (n, B) -> (n, B, ...): x[i, idx[i]] for every run i."""
    if x.ndim < 2 or idx.ndim != 2 or idx.shape[0] != x.shape[0]:
        raise ValueError(f"x must be (n, P, ...) and idx (n, B) with the same n, got {tuple(x.shape)}, "
                         f"{tuple(idx.shape)}")  # fmt: skip
    return torch.gather(x, 1, idx.view(*idx.shape, *([1] * (x.ndim - 2))).expand(-1, -1, *x.shape[2:]))


__all__ = ["BatchSampler", "Criterion", "LossFn", "Observer", "Stop", "TailAverage", "Trace", "TrainResult",
           "distinct_batches", "gather_rows", "geometric_schedule", "train"]  # fmt: skip
