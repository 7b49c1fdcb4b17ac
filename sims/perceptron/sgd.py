"""SGD on the perceptron with the margin hinge loss, run until every training point is fitted (noise_regimes).

Model f(w, x) = w . x / sqrt(d), started at w_0 = 0 (with the alpha-trick f~ = f(w) - f(w_0) the perceptron only ever
sees w - w_0, so w_0 = 0 loses nothing). Loss per point l = (1/alpha) max(0, 1 - alpha y f), i.e. margin
kappa = 1/alpha. One SGD step draws B distinct indices uniformly (no epochs) and moves

    w <- w + dt (1/B) sum_{i in batch, y_i f(w, x_i) < kappa} y_i x_i / sqrt(d),   dt = T B,

so each unfitted point of the batch adds T y_i x_i / sqrt(d); T = dt / B is the temperature and t = dt * steps the time.
At alpha = inf (vanishing margin) a point is unfitted iff y f <= 0. Training stops when no point is unfitted; a run
that reaches `max_steps` first is *censored* (never reported as converged).

Two simulators with the same law:
- `step_by_step`: the plain loop, one SGD step per iteration.
- `event_driven`: exact event-driven version. A step changes w only if its batch contains an unfitted point; with
  u unfitted points out of P the probability that a batch misses all of them is q = C(P-u, B) / C(P, B), so the number
  of steps up to and including the next effective one is Geometric(1 - q). The effective batch contains
  k >= 1 unfitted points with the hypergeometric law conditioned on k >= 1, and those k are a uniform k-subset of the
  unfitted set; fitted points of the batch contribute nothing. Both are batched over R runs (one tensor holds them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

MAX_STEPS = 2**53
"""Largest step budget: step counts are float64 in the event-driven simulator, exact up to 2^53."""


@dataclass
class PerceptronRuns:
    """Final state of R runs. w: (R, d); steps: SGD steps taken (censored runs: the budget); updates: steps that
    changed w; converged/censored: (R,) bools (exactly one of them is true per run)."""

    w: torch.Tensor
    steps: torch.Tensor
    updates: torch.Tensor
    converged: torch.Tensor
    censored: torch.Tensor

    def t_star(self, temperature: float, batch_size: int) -> torch.Tensor:
        """t* = dt * steps = T B steps (float64); NaN for censored runs (they have no t*)."""
        t = temperature * batch_size * self.steps.to(torch.float64)
        return torch.where(self.converged, t, torch.full_like(t, math.nan))


def _number(v: object, name: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ValueError(f"{name} must be a number, got {v!r}")
    return float(v)


def check_inputs(x: torch.Tensor, y: torch.Tensor, temperature: float, batch_size: int, alpha: float,
                 max_steps: int = 1) -> None:  # fmt: skip
    """ValueError naming the argument and the allowed range for bad inputs."""
    if not isinstance(x, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise ValueError("x and y must be torch tensors")
    if x.ndim != 3:
        raise ValueError(f"x must have shape (R, P, d), got {tuple(x.shape)}")
    if y.shape != x.shape[:2]:
        raise ValueError(f"y must have shape (R, P) = {tuple(x.shape[:2])}, got {tuple(y.shape)}")
    if not bool(((y == 1) | (y == -1)).all()):
        raise ValueError("y must be binary labels in {-1, +1}")
    if not bool(torch.isfinite(x).all()):
        raise ValueError("x must be finite (no NaN/inf)")
    p = x.shape[1]
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or not 1 <= batch_size <= p:
        raise ValueError(f"batch_size B must be an int with 1 <= B <= P = {p}, got {batch_size!r}")
    temperature = _number(temperature, "temperature T")
    if not (temperature > 0 and math.isfinite(temperature)):
        raise ValueError(f"temperature T must be in (0, inf), got {temperature}")
    if not _number(alpha, "alpha") > 0:
        raise ValueError(f"alpha must be in (0, inf] (margin 1/alpha), got {alpha}")
    if isinstance(max_steps, bool) or not isinstance(max_steps, int) or not 1 <= max_steps <= MAX_STEPS:
        raise ValueError(f"max_steps must be an int in [1, {MAX_STEPS:g}], got {max_steps!r}")


def _unfitted(m: torch.Tensor, kappa: float) -> torch.Tensor:
    """Unfitted iff y f < kappa (hinge loss > 0); at kappa = 0 iff y f <= 0."""
    return m <= 0 if kappa == 0.0 else m < kappa


def _log_comb(n: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """log C(n, k), -inf where k < 0 or k > n."""
    ok = (k >= 0) & (k <= n)
    n_, k_ = n.to(torch.float64), k.to(torch.float64)
    val = torch.lgamma(n_ + 1) - torch.lgamma(k_ + 1) - torch.lgamma((n_ - k_).clamp_min(0) + 1)
    return torch.where(ok, val, torch.full_like(val, -math.inf))


def log_miss_probability(p: int, u: torch.Tensor, batch_size: int) -> torch.Tensor:
    """log q, q = C(P - u, B) / C(P, B): probability that a batch of B distinct indices hits none of u marked points."""
    pp = torch.full_like(u, p)
    b = torch.full_like(u, batch_size)
    return _log_comb(pp - u, b) - _log_comb(pp, b)


def _batch_tables(p: int, batch_size: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Tables over u = 0..P: log q(u) (log_miss_probability) and the CDF over k = 1..B of
    Hypergeometric(P, u, B) conditioned on k >= 1 (rows with u = 0 are unused)."""
    u = torch.arange(p + 1, device=device)
    logq = log_miss_probability(p, u, batch_size)
    ks = torch.arange(1, batch_size + 1, device=device)
    logw = _log_comb(u[:, None], ks[None, :]) + _log_comb(p - u[:, None], batch_size - ks[None, :])
    logw[0] = 0.0
    cdf = torch.cumsum(torch.softmax(logw, dim=1), dim=1)
    return logq, cdf


def _pick(
    keys: torch.Tensor, mask: torch.Tensor, k: torch.Tensor, batch_size: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Uniform random k-subsets of the True entries of each row of mask, from i.i.d. uniform keys in [0, 1):
    indices (R, B) of the B smallest masked keys, and validity (R, B) of the first k of them."""
    keys = keys.masked_fill(~mask, 2.0)
    idx = torch.topk(keys, batch_size, dim=1, largest=False).indices
    valid = torch.arange(batch_size, device=mask.device)[None, :] < k[:, None]
    return idx, valid


def _features(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """g_i = y_i x_i / sqrt(d): the margin of point i is g_i . w and an update adds T g_i."""
    return y[..., None] * x / math.sqrt(x.shape[-1])


def event_driven(
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    temperature: float,
    batch_size: int,
    alpha: float,
    max_steps: int,
    generator: torch.Generator,
) -> PerceptronRuns:
    """Exact event-driven simulation of SGD on the margin perceptron (see the module docstring), R runs at once.

    x: (R, P, d), y: (R, P) in {-1, +1}; alpha in (0, inf] (inf: vanishing margin); max_steps: step budget.
    """
    check_inputs(x, y, temperature, batch_size, alpha, max_steps)
    r, p, d = x.shape
    kappa = 0.0 if math.isinf(alpha) else 1.0 / alpha
    g = _features(x, y)
    w = torch.zeros(r, d, dtype=x.dtype, device=x.device)
    steps = torch.zeros(r, dtype=torch.float64, device=x.device)
    updates = torch.zeros(r, dtype=torch.int64, device=x.device)
    converged = torch.zeros(r, dtype=torch.bool, device=x.device)
    censored = torch.zeros(r, dtype=torch.bool, device=x.device)
    rows = torch.arange(r, device=x.device)
    ga, wa, sa, na = g, w.clone(), steps.clone(), updates.clone()
    logq_table, kcdf_table = _batch_tables(p, batch_size, x.device)
    while rows.numel() > 0:
        m = torch.bmm(ga, wa[:, :, None])[:, :, 0]
        unf = _unfitted(m, kappa)
        u = unf.sum(1)
        done = u == 0
        logq = logq_table[u]
        rnd = torch.rand((u.shape[0], p + 2), generator=generator, dtype=torch.float64, device=x.device)
        wait = torch.floor(torch.log1p(-rnd[:, 0]) / logq) + 1.0  # Geometric(1 - q) on {1, 2, ...}
        wait = torch.where(torch.isfinite(wait), wait, torch.full_like(wait, math.inf))
        over = ~done & (sa + wait > max_steps)
        stop = done | over
        if bool(stop.any()):
            converged[rows[done]] = True
            censored[rows[over]] = True
            sa = torch.where(over, torch.full_like(sa, float(max_steps)), sa)
            w[rows[stop]] = wa[stop]
            steps[rows[stop]] = sa[stop]
            updates[rows[stop]] = na[stop]
            keep = ~stop
            rows, ga, wa, sa, na = rows[keep], ga[keep], wa[keep], sa[keep], na[keep]
            unf, u, wait, rnd = unf[keep], u[keep], wait[keep], rnd[keep]
            if rows.numel() == 0:
                break
        k = 1 + (rnd[:, 1:2] > kcdf_table[u, :-1]).sum(1)  # k >= 1 unfitted points in the effective batch
        idx, valid = _pick(rnd[:, 2:], unf, k, batch_size)
        sel = torch.gather(ga, 1, idx[:, :, None].expand(-1, -1, d))
        wa = wa + temperature * (sel * valid[:, :, None].to(sel.dtype)).sum(1)
        sa = sa + wait
        na = na + 1
    return PerceptronRuns(w=w, steps=steps.to(torch.int64), updates=updates, converged=converged, censored=censored)


def step_by_step(
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    temperature: float,
    batch_size: int,
    alpha: float,
    max_steps: int,
    generator: torch.Generator,
) -> PerceptronRuns:
    """Plain SGD loop on the margin perceptron, one step per iteration, R runs at once (reference for `event_driven`).

    Every step draws B distinct indices per run, adds T y_i x_i / sqrt(d) for each unfitted one, and checks the whole
    training set after every step that moved w.
    """
    check_inputs(x, y, temperature, batch_size, alpha, max_steps)
    r, p, d = x.shape
    kappa = 0.0 if math.isinf(alpha) else 1.0 / alpha
    g = _features(x, y)
    w = torch.zeros(r, d, dtype=x.dtype, device=x.device)
    steps = torch.zeros(r, dtype=torch.int64, device=x.device)
    updates = torch.zeros(r, dtype=torch.int64, device=x.device)
    active = torch.ones(r, dtype=torch.bool, device=x.device)
    converged = torch.zeros(r, dtype=torch.bool, device=x.device)
    ones = torch.ones(r, dtype=torch.bool, device=x.device)
    k_all = torch.full((r,), batch_size, dtype=torch.int64, device=x.device)
    for _ in range(max_steps):
        if not bool(active.any()):
            break
        keys = torch.rand((r, p), generator=generator, dtype=torch.float64, device=x.device)
        idx, _ = _pick(keys, ones[:, None].expand(r, p), k_all, batch_size)
        sel = torch.gather(g, 1, idx[:, :, None].expand(-1, -1, d))
        mb = torch.bmm(sel, w[:, :, None])[:, :, 0]
        act = _unfitted(mb, kappa) & active[:, None]
        w = w + temperature * (sel * act[:, :, None].to(sel.dtype)).sum(1)
        steps = steps + active.to(torch.int64)
        moved = act.any(1)
        updates = updates + moved.to(torch.int64)
        if bool(moved.any()):
            mr = torch.bmm(g[moved], w[moved][:, :, None])[:, :, 0]
            fit = ~_unfitted(mr, kappa).any(1)
            rows = moved.nonzero(as_tuple=True)[0][fit]
            converged[rows] = True
            active[rows] = False
    return PerceptronRuns(w=w, steps=steps, updates=updates, converged=converged, censored=~converged)


def classification_error(w: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Fraction of test points with y f(w, x) <= 0, per run. w: (R, d), x: (R, n, d), y: (R, n).
    ValueError for mismatched shapes, non-finite w or x (a NaN weight would count every point as correct), labels
    other than +-1."""
    if w.ndim != 2 or x.ndim != 3 or x.shape[0] != w.shape[0] or x.shape[2] != w.shape[1] or x.shape[1] < 1:
        raise ValueError(f"w must be (R, d) and x (R, n >= 1, d), got {tuple(w.shape)} and {tuple(x.shape)}")
    if y.shape != x.shape[:2]:
        raise ValueError(f"y must have shape (R, n) = {tuple(x.shape[:2])}, got {tuple(y.shape)}")
    if not bool(torch.isfinite(w).all()):
        raise ValueError("w must be finite (a NaN or inf weight has no classification error)")
    if not bool(torch.isfinite(x).all()):
        raise ValueError("x must be finite (no NaN/inf)")
    if not bool(((y == 1) | (y == -1)).all()):
        raise ValueError("y must be binary labels in {-1, +1}")
    m = torch.bmm(_features(x, y), w[:, :, None])[:, :, 0]
    return (m <= 0).to(torch.float64).mean(1)
