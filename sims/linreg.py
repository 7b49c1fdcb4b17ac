"""Monte-Carlo simulation of one-pass SGD and ASGD on linear regression, batched over R runs in one tensor.

Same model and conventions as :mod:`theory.linreg`: ``x = sqrt(lam) * g`` with ``g`` standard Gaussian or
Rademacher (independent coordinates), ``y = <w*, x> + sigma * xi``, excess risk ``1/2 ||w - w*||_H^2``, averaged
iterate ``mean(w_s, ..., w_{N-1})``, ASGD started at ``w_0 = v_0``. ASGD (Jain et al. 2018)::

    u = alpha w + (1 - alpha) v;  g = x (x^T u - y);  w <- u - delta g;  v <- beta u + (1 - beta) v - gamma g

(SGD: ``alpha = 1``, ``gamma = 0``, step ``delta``.) Features and label noise come from two separate
``torch.Generator`` streams. A run whose risk becomes non-finite or exceeds ``blowup`` times its initial scale is
marked diverged, frozen, and excluded from the means; the diverged fraction is reported.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import torch


@dataclass(frozen=True)
class McResult:
    """Monte-Carlo risk estimates at the recorded steps.

    ``steps``: recorded step indices ``t``. ``mean[j]``/``se[j]``: mean and standard error over the non-diverged
    runs of the last-iterate risk at ``steps[j]``; ``avg_mean``/``avg_se``: same for ``mean(w_s, ..., w_{t-1})``
    (NaN where the window is empty, ``t <= s``). ``final``: per-run last-iterate risk at the last step (diverged
    runs excluded). ``diverged_frac``: fraction of runs that diverged by the end. ``n_runs``: R.
    """

    steps: npt.NDArray[np.int64]
    mean: npt.NDArray[np.float64]
    se: npt.NDArray[np.float64]
    avg_start: int
    avg_mean: npt.NDArray[np.float64]
    avg_se: npt.NDArray[np.float64]
    final: npt.NDArray[np.float64]
    diverged_frac: float
    n_runs: int
    seconds: float


def _as_tensor(a: npt.ArrayLike | torch.Tensor, name: str, d: int | None, device: torch.device | str,
               dtype: torch.dtype) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(a, dtype=np.float64) if not isinstance(a, torch.Tensor) else a)
    t = t.to(device=device, dtype=dtype)
    if t.ndim != 1 or (d is not None and t.shape[0] != d):
        raise ValueError(f"{name} must be a 1-D array of length {d if d is not None else 'd'}, got {tuple(t.shape)}")
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name} must be finite (no NaN/inf)")
    return t


def simulate_linreg(lam: npt.ArrayLike | torch.Tensor, w0: npt.ArrayLike | torch.Tensor,
                    w_star: npt.ArrayLike | torch.Tensor, sigma2: float, n_steps: int, n_runs: int, *,
                    alpha: float = 1.0, beta: float = 1.0, gamma: float = 0.0, delta: float,
                    features: str = "gaussian", record_steps: Sequence[int] | None = None, avg_start: int = 0,
                    device: torch.device | str = "cpu", dtype: torch.dtype = torch.float64,
                    generator: torch.Generator, noise_generator: torch.Generator, chunk: int | None = None,
                    blowup: float = 1e12, progress: bool | None = None) -> McResult:
    """Simulate R independent runs of ASGD (SGD with the defaults ``alpha=1, beta=1, gamma=0``) for n_steps.

    Estimates ``E[1/2 ||w_t - w*||_H^2]`` at ``record_steps`` (default: every step) and the same for the averaged
    iterate ``mean(w_s..w_{t-1})``, ``s = avg_start``. Runs are processed in chunks of ``chunk`` runs (default:
    all at once) so memory stays O(chunk d). ``generator`` draws the features, ``noise_generator`` the label noise;
    both must live on ``device``.
    """
    from tqdm.auto import tqdm

    lam_t = _as_tensor(lam, "lam", None, device, dtype)
    d = lam_t.shape[0]
    if bool((lam_t <= 0).any()):
        raise ValueError("lam must be positive (allowed range lam_i > 0)")
    w0_t = _as_tensor(w0, "w0", d, device, dtype)
    ws_t = _as_tensor(w_star, "w_star", d, device, dtype)
    if not (math.isfinite(sigma2) and sigma2 >= 0):
        raise ValueError(f"sigma2 must be in [0, inf), got {sigma2!r}")
    if int(n_steps) < 1 or int(n_runs) < 1:
        raise ValueError(f"n_steps and n_runs must be >= 1, got {n_steps}, {n_runs}")
    if not 0 < alpha <= 1 or not 0 <= beta <= 1 or gamma < 0 or delta <= 0:
        raise ValueError("need alpha in (0, 1], beta in [0, 1], gamma >= 0, delta > 0; got "
                         f"alpha={alpha}, beta={beta}, gamma={gamma}, delta={delta}")
    if features not in ("gaussian", "rademacher"):
        raise ValueError(f"features must be 'gaussian' or 'rademacher', got {features!r}")
    if not 0 <= avg_start < n_steps:
        raise ValueError(f"avg_start must be in [0, n_steps) = [0, {n_steps}), got {avg_start}")
    n = int(n_steps)
    rec = np.arange(n + 1) if record_steps is None else np.asarray(sorted(set(int(s) for s in record_steps)))
    if rec.size == 0 or rec[0] < 0 or rec[-1] > n:
        raise ValueError(f"record_steps must lie in [0, n_steps] = [0, {n}]")
    rec_idx = {int(s): j for j, s in enumerate(rec)}
    R = int(n_runs)
    ch = R if chunk is None else max(1, min(int(chunk), R))
    sqrt_lam = lam_t.sqrt()
    sigma = math.sqrt(sigma2)
    init_scale = float(0.5 * (lam_t * (w0_t - ws_t) ** 2).sum()) + sigma2 * float(lam_t.sum()) + 1e-30

    # per-run accumulators (host side, float64)
    last = np.full((rec.size, R), np.nan)
    avg = np.full((rec.size, R), np.nan)
    diverged = np.zeros(R, dtype=bool)
    t0 = time.perf_counter()
    disable = None if progress is None else not progress  # None: tqdm decides (off when not a terminal)
    bar = tqdm(total=n * ((R + ch - 1) // ch), disable=disable, desc="MC linreg", leave=False)
    for c0 in range(0, R, ch):
        r = min(ch, R - c0)
        w = w0_t.expand(r, d).clone()
        v = w.clone()
        wsum = torch.zeros_like(w)
        alive = torch.ones(r, dtype=torch.bool, device=device)
        last_c = torch.full((rec.size, r), float("nan"), dtype=torch.float64, device=device)
        avg_c = torch.full((rec.size, r), float("nan"), dtype=torch.float64, device=device)

        def risk(z: torch.Tensor) -> torch.Tensor:
            return 0.5 * ((z - ws_t) ** 2 * lam_t).sum(dim=1)

        for t in range(n + 1):
            if t in rec_idx:
                j = rec_idx[t]
                rk = risk(w)
                bad = ~torch.isfinite(rk) | (rk > blowup * init_scale)
                alive &= ~bad
                last_c[j] = torch.where(alive, rk, torch.nan).to(torch.float64)
                if t > avg_start:
                    ra = risk(wsum / (t - avg_start))
                    avg_c[j] = torch.where(alive, ra, torch.nan).to(torch.float64)
            if t == n:
                break
            if t >= avg_start:
                wsum += w
            g = torch.randn(r, d, generator=generator, device=device, dtype=dtype) if features == "gaussian" else (
                torch.randint(0, 2, (r, d), generator=generator, device=device).to(dtype) * 2 - 1)
            x = g * sqrt_lam
            y = x @ ws_t + sigma * torch.randn(r, generator=noise_generator, device=device, dtype=dtype)
            if alpha == 1.0:
                u = w
            else:
                u = alpha * w + (1 - alpha) * v
            resid = (x * u).sum(dim=1) - y
            grad = x * resid[:, None]
            w_new = u - delta * grad
            if gamma != 0.0 or beta != 1.0:
                v = beta * u + (1 - beta) * v - gamma * grad
            else:
                v = u
            w = w_new
            if t % 256 == 255:  # freeze exploded runs so that inf/NaN never spreads; checked again at records
                rk = risk(w)
                bad = ~torch.isfinite(rk) | (rk > blowup * init_scale)
                if bool(bad.any()):
                    alive &= ~bad
                    w = torch.where(alive[:, None], w, ws_t)
                    v = torch.where(alive[:, None], v, ws_t)
                    wsum = torch.where(alive[:, None], wsum, torch.zeros_like(wsum))
            bar.update(1)
        diverged[c0 : c0 + r] = ~alive.cpu().numpy()
        last[:, c0 : c0 + r] = last_c.cpu().numpy()
        avg[:, c0 : c0 + r] = avg_c.cpu().numpy()
    bar.close()
    seconds = time.perf_counter() - t0
    ok = ~diverged
    n_ok = int(ok.sum())

    def stats(a: npt.NDArray[np.float64]) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        if n_ok == 0:
            nan = np.full(a.shape[0], np.nan)
            return nan, nan
        sub = a[:, ok]
        m = sub.mean(axis=1)
        se = sub.std(axis=1, ddof=1) / math.sqrt(n_ok) if n_ok > 1 else np.full(a.shape[0], np.inf)
        return m, se

    mean, se = stats(last)
    amean, ase = stats(avg)
    return McResult(steps=rec.astype(np.int64), mean=mean, se=se, avg_start=int(avg_start), avg_mean=amean,
                    avg_se=ase, final=last[-1, ok], diverged_frac=float(diverged.mean()), n_runs=R,
                    seconds=seconds)
