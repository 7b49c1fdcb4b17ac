"""Linearised SGD at an interpolating minimum, batched over runs, for three batch samplings.

    w_{t+1} = (I - eta H_hat_t) w_t,    H_hat_t = (1/B) sum_i c_{t,i} H_i,

where c_t in N^n are the batch weights: multinomial counts of B iid uniform draws (``with_replacement``), the indicator
of B distinct uniform indices (``without_replacement``), or iid Bernoulli(B/n) indicators normalised by the fixed B
(``bernoulli``). The H_i are given either as rank-one factors G (n, d), H_i = g_i g_i^T (cost O(R n d) per step), or as
a dense stack (n, d, d) (cost O(R n d^2) per step). One tensor holds the R runs.

The map is linear, so each run is renormalised to unit norm after every step and its log-norm accumulated: the
returned log(||w_t||^2 / ||w_0||^2) is exact and never overflows, so diverging runs are detected (log-ratio above a
threshold) and reported as diverged, never averaged as inf/NaN.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

SAMPLINGS: tuple[str, ...] = ("with_replacement", "without_replacement", "bernoulli")
MAX_STEPS = 10_000_000
MAX_RUNS = 100_000_000


def _batch_sizes(batch: int | Sequence[int] | torch.Tensor, runs: int, n: int,
                 device: torch.device | str) -> torch.Tensor:
    """Per-run batch sizes as an int64 tensor (runs,); ValueError naming ``batch`` unless all are integers in [1, n]."""
    b = torch.as_tensor(batch, device=device)
    if b.dtype.is_floating_point or b.dtype == torch.bool:
        if b.dtype == torch.bool or not torch.all(b == torch.round(b)):
            raise ValueError(f"batch must be an integer in [1, n={n}] (or one per run), got {batch!r}")
    b = b.to(torch.int64)
    if b.ndim == 0:
        b = b.expand(runs)
    if tuple(b.shape) != (runs,):
        raise ValueError(f"batch must be an integer or have one entry per run ({runs}), got shape {tuple(b.shape)}")
    if torch.any(b < 1) or torch.any(b > n):
        raise ValueError(f"batch must be an integer in [1, n={n}], got values in [{int(b.min())}, {int(b.max())}]")
    return b


def batch_weights(runs: int, n: int, batch: int | Sequence[int] | torch.Tensor, sampling: str, *,
                  generator: torch.Generator, device: torch.device | str, dtype: torch.dtype) -> torch.Tensor:
    """Batch weights c (runs, n) with H_hat = (1/B) sum_i c_i H_i for one step of every run (see module docstring).
    ``batch`` is one batch size B in [1, n] or one per run."""
    if not isinstance(sampling, str) or sampling not in SAMPLINGS:
        raise ValueError(f"sampling must be one of {SAMPLINGS}, got {sampling!r}")
    if isinstance(runs, bool) or not isinstance(runs, int) or not 1 <= runs <= MAX_RUNS:
        raise ValueError(f"runs must be an integer in [1, {MAX_RUNS}], got {runs!r}")
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be an integer >= 1, got {n!r}")
    b = _batch_sizes(batch, runs, n, device)
    bmax = int(b.max())
    c = torch.zeros(runs, n, device=device, dtype=dtype)
    if sampling == "with_replacement":
        idx = torch.randint(0, n, (runs, bmax), generator=generator, device=device)
        live = (torch.arange(bmax, device=device)[None, :] < b[:, None]).to(dtype)
        return c.scatter_add_(1, idx, live)
    if sampling == "without_replacement":
        keys = torch.rand(runs, n, generator=generator, device=device)
        idx = torch.topk(keys, bmax, dim=1).indices  # a uniform random ordering; its first B_r entries are the batch
        live = (torch.arange(bmax, device=device)[None, :] < b[:, None]).to(dtype)
        return c.scatter_(1, idx, live)
    keep = b.to(dtype)[:, None] / n
    return (torch.rand(runs, n, generator=generator, device=device, dtype=dtype) < keep).to(dtype)


@dataclass
class LinearSGDResult:
    """log_sq_ratio: (runs, len(times)) log(||w_t||^2 / ||w_0||^2) at the recorded times; direction: (runs, d) unit
    w_T / ||w_T||; w0: (runs, d) initial points; max_log_sq_ratio: (runs,) max over every step t = 1..T of
    log(||w_t||^2 / ||w_0||^2) (for first-passage criteria)."""

    times: torch.Tensor
    log_sq_ratio: torch.Tensor
    direction: torch.Tensor
    w0: torch.Tensor
    max_log_sq_ratio: torch.Tensor

    def final_w(self) -> torch.Tensor:
        """w_T = ||w_0|| exp(log_ratio / 2) w_T / ||w_T|| (overflows to inf for diverged runs; use only when finite)."""
        scale = self.w0.norm(dim=1) * torch.exp(0.5 * self.log_sq_ratio[:, -1])
        return self.direction * scale[:, None]

    def diverged(self, threshold: float = 1000.0, *, first_passage: bool = False) -> torch.Tensor:
        """Boolean (runs,): ||w_T||^2 >= threshold ||w_0||^2 at the last step T (``first_passage=False``) or at any
        step t <= T (``first_passage=True``, the criterion of the public code for the paper's map), or a NaN
        log-ratio (-inf means the run hit w = 0 exactly: converged). ``threshold`` must be > 1."""
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not threshold > 1 \
                or not math.isfinite(threshold):
            raise ValueError(f"threshold must be a finite number > 1, got {threshold!r}")
        last = self.max_log_sq_ratio if first_passage else self.log_sq_ratio[:, -1]
        return torch.isnan(last) | (last >= math.log(threshold))


def simulate_linear_sgd(eta: float, batch: int | Sequence[int] | torch.Tensor, sampling: str, steps: int, runs: int, *,
                        factors: torch.Tensor | None = None, hessians: torch.Tensor | None = None,
                        w0: torch.Tensor | None = None, generator: torch.Generator,
                        record_every: int | None = None) -> LinearSGDResult:
    """Run ``runs`` independent copies of linearised SGD for ``steps`` steps (module docstring); ``batch`` is one batch
    size in [1, n] or one per run (so a whole batch-size sweep is one tensor).

    Exactly one of ``factors`` (n, d) or ``hessians`` (n, d, d) is given; device and dtype are theirs. ``w0`` (runs, d)
    defaults to iid U[0, 1] entries (the Dexter et al. protocol) drawn from ``generator``; batches are drawn from the
    same generator after w0 (pass w0 explicitly to use a separate stream for it).
    """
    if (factors is None) == (hessians is None):
        raise ValueError("pass exactly one of factors (n, d) or hessians (n, d, d)")
    mat = factors if factors is not None else hessians
    assert mat is not None
    if factors is not None and factors.ndim != 2:
        raise ValueError(f"factors must have shape (n, d), got {tuple(factors.shape)}")
    if hessians is not None and (hessians.ndim != 3 or hessians.shape[1] != hessians.shape[2]):
        raise ValueError(f"hessians must have shape (n, d, d), got {tuple(hessians.shape)}")
    if isinstance(eta, bool) or not isinstance(eta, (int, float)) or not math.isfinite(eta) or eta <= 0:
        raise ValueError(f"eta must be a finite number in (0, inf), got {eta!r}")
    for name, v, hi in (("steps", steps, MAX_STEPS), ("runs", runs, MAX_RUNS)):
        if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= hi:
            raise ValueError(f"{name} must be an integer in [1, {hi}], got {v!r}")
    if not bool(torch.all(torch.isfinite(mat))):
        raise ValueError("factors/hessians must be finite (found NaN or inf)")
    if hessians is not None and bool(torch.any(torch.abs(hessians - hessians.transpose(1, 2)) >
                                               1e-10 * hessians.abs().max().clamp_min(1e-300))):
        raise ValueError("hessians must be symmetric (every H_i equal to its transpose)")
    n, d = int(mat.shape[0]), int(mat.shape[-1])
    bsz = _batch_sizes(batch, int(runs), n, mat.device)
    if sampling not in SAMPLINGS:
        raise ValueError(f"sampling must be one of {SAMPLINGS}, got {sampling!r}")
    device, dtype = mat.device, mat.dtype
    if record_every is not None and (isinstance(record_every, bool) or not isinstance(record_every, int)):
        raise ValueError(f"record_every must be an integer >= 1, got {record_every!r}")
    every = steps if record_every is None else int(record_every)
    if every < 1:
        raise ValueError(f"record_every must be >= 1, got {record_every!r}")
    if w0 is None:
        w0 = torch.rand(runs, d, generator=generator, device=device, dtype=dtype)
    elif tuple(w0.shape) != (runs, d):
        raise ValueError(f"w0 must have shape (runs, d) = {(runs, d)}, got {tuple(w0.shape)}")
    elif not bool(torch.all(torch.isfinite(w0))):
        raise ValueError("w0 must be finite (found NaN or inf)")
    nrm0 = w0.norm(dim=1, keepdim=True)
    if torch.any(nrm0 == 0):
        raise ValueError("w0 must have nonzero rows")
    u = w0 / nrm0
    logn = torch.zeros(runs, device=device, dtype=dtype)
    top = torch.full((runs,), -math.inf, device=device, dtype=dtype)
    times, recs = [], []
    scale = (eta / bsz.to(dtype))[:, None]
    for t in range(1, steps + 1):
        c = batch_weights(runs, n, bsz, sampling, generator=generator, device=device, dtype=dtype)
        if factors is not None:
            proj = u @ factors.T                      # (R, n): g_i . u
            hu = (c * proj) @ factors                 # sum_i c_i g_i (g_i . u)
        else:
            assert hessians is not None
            hu = torch.einsum("rn,nij,rj->ri", c, hessians, u)
        u = u - scale * hu
        nrm = u.norm(dim=1)
        logn = logn + 2.0 * torch.log(nrm)
        top = torch.maximum(top, logn)
        u = u / nrm.clamp_min(torch.finfo(dtype).tiny)[:, None]
        if t % every == 0 or t == steps:
            times.append(t)
            recs.append(logn.clone())
    return LinearSGDResult(torch.tensor(times), torch.stack(recs, dim=1), u, w0, top)
