"""Monte-Carlo simulation of one-pass SGD and ASGD on linear regression, batched over R runs in one tensor.

Same model and conventions as :mod:`theory.linreg`: ``x = sqrt(lam) * g`` with ``g`` standard Gaussian or
Rademacher (independent coordinates), ``y = <w*, x> + sigma * xi``, excess risk ``1/2 ||w - w*||_H^2``, averaged
iterate ``mean(w_s, ..., w_{N-1})``, ASGD started at ``w_0 = v_0``. ASGD (Jain et al. 2018)::

    u = alpha w + (1 - alpha) v;  g = x (x^T u - y);  w <- u - delta g;  v <- beta u + (1 - beta) v - gamma g

(SGD: ``alpha = 1``, ``gamma = 0``, step ``delta``.) Features and label noise come from two separate
``torch.Generator`` streams. A run whose risk becomes non-finite or exceeds ``blowup`` times its initial scale is
marked diverged, frozen, and excluded from the means; the diverged fraction is reported (bookkeeping from
:mod:`sims.runs`).
"""

from __future__ import annotations

import math
import numbers
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import torch

from sims.runs import Divergence, freeze, masked_mean_se, parse_device, parse_dtype

#: refuse a simulation whose host-side records or per-chunk device tensors would exceed this many bytes
MAX_BYTES = 4 * 2**30


@dataclass(frozen=True)
class McResult:
    """Monte-Carlo risk estimates at the recorded steps.

    ``steps``: recorded step indices ``t``. ``mean[j]``/``se[j]``: mean and standard error over the non-diverged
    runs of the last-iterate risk at ``steps[j]`` (se NaN when fewer than two runs survive); ``avg_mean``/``avg_se``:
    same for ``mean(w_s, ..., w_{t-1})`` (NaN where the window is empty, ``t <= s``). ``final``: per-run
    last-iterate risk at the last step (diverged runs excluded). ``diverged_frac``: fraction of runs that diverged
    by the end. ``n_runs``: R.
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


def _as_tensor(a: npt.ArrayLike | torch.Tensor, name: str, d: int | None, device: torch.device,
               dtype: torch.dtype) -> torch.Tensor:
    if isinstance(a, torch.Tensor):
        t = a.detach()
    else:
        try:
            t = torch.as_tensor(np.asarray(a, dtype=np.float64))
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be an array of real numbers, got {type(a).__name__}") from None
    if not (t.is_floating_point() or t.dtype in (torch.int32, torch.int64)):
        raise ValueError(f"{name} must hold real numbers, got dtype {t.dtype}")
    if t.ndim != 1 or (d is not None and t.shape[0] != d):
        raise ValueError(f"{name} must be a 1-D array of length {d if d is not None else 'd'}, got {tuple(t.shape)}")
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name} must be finite (no NaN/inf)")
    return t.to(device=device, dtype=dtype)


def _real(x: object, name: str, lo: float, hi: float = math.inf, *, lo_open: bool = False, hi_open: bool = False,
          allow_inf: bool = False) -> float:
    """``x`` as a float after checking it is a real number (not bool/str) in the interval ``lo..hi``."""
    lb, rb = "(" if lo_open else "[", ")" if hi_open or math.isinf(hi) else "]"
    rng = f"{lb}{lo:g}, {hi:g}{rb}"
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, numbers.Real):
        raise ValueError(f"{name} must be a real number in {rng}, got {x!r} ({type(x).__name__})")
    v = float(x)
    finite_ok = math.isfinite(v) or (allow_inf and v == math.inf)
    if not finite_ok or not ((v > lo) if lo_open else (v >= lo)) or not ((v < hi) if hi_open else (v <= hi)):
        raise ValueError(f"{name} must be in {rng}, got {x!r}")
    return v


def _int(x: object, name: str, lo: int) -> int:
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, numbers.Real) or not math.isfinite(float(x)) or \
            float(x) != int(float(x)):
        raise ValueError(f"{name} must be an integer >= {lo}, got {x!r}")
    v = int(float(x))  # type: ignore[arg-type]
    if v < lo:
        raise ValueError(f"{name} must be an integer >= {lo}, got {x!r}")
    return v


def _check_generator(g: object, name: str, device: torch.device) -> torch.Generator:
    if not isinstance(g, torch.Generator):
        raise ValueError(f"{name} must be a torch.Generator, got {type(g).__name__}")
    if g.device.type != device.type:
        raise ValueError(f"{name} lives on {g.device}, but the simulation runs on {device}: make it on {device}")
    return g


def simulate_linreg(lam: npt.ArrayLike | torch.Tensor, w0: npt.ArrayLike | torch.Tensor,
                    w_star: npt.ArrayLike | torch.Tensor, sigma2: float, n_steps: int, n_runs: int, *,
                    alpha: float = 1.0, beta: float = 1.0, gamma: float = 0.0, delta: float,
                    features: str = "gaussian", record_steps: Sequence[int] | None = None, avg_start: int = 0,
                    device: torch.device | str = "cpu", dtype: torch.dtype | str = torch.float64,
                    generator: torch.Generator, noise_generator: torch.Generator, chunk: int | None = None,
                    blowup: float = 1e12, progress: bool | None = None, max_bytes: float = MAX_BYTES) -> McResult:
    """Simulate R independent runs of ASGD (SGD with the defaults ``alpha=1, beta=1, gamma=0``) for n_steps.

    Estimates ``E[1/2 ||w_t - w*||_H^2]`` at ``record_steps`` (default: every step) and the same for the averaged
    iterate ``mean(w_s..w_{t-1})``, ``s = avg_start``. Runs are processed in chunks of ``chunk`` runs (default:
    all at once) so memory stays O(chunk d). ``generator`` draws the features, ``noise_generator`` the label noise;
    both must live on ``device``. A run is diverged once its risk is non-finite or above ``blowup`` (> 0, inf
    allowed) times ``1/2 ||w_0 - w*||_H^2 + sigma2 tr H``. Simulations whose records (R x recorded steps) or chunk
    tensors would exceed ``max_bytes`` are refused.
    """
    from tqdm.auto import tqdm

    dev = parse_device(device)
    dtype = parse_dtype(dtype)
    lam_t = _as_tensor(lam, "lam", None, dev, dtype)
    d = lam_t.shape[0]
    if d == 0 or bool((lam_t <= 0).any()):
        raise ValueError("lam must be a non-empty array of positive eigenvalues (allowed range lam_i > 0)")
    w0_t = _as_tensor(w0, "w0", d, dev, dtype)
    ws_t = _as_tensor(w_star, "w_star", d, dev, dtype)
    sigma2 = _real(sigma2, "sigma2", 0.0)
    n = _int(n_steps, "n_steps", 1)
    R = _int(n_runs, "n_runs", 1)
    alpha = _real(alpha, "alpha", 0.0, 1.0, lo_open=True)
    beta = _real(beta, "beta", 0.0, 1.0)
    gamma = _real(gamma, "gamma", 0.0)
    delta = _real(delta, "delta", 0.0, lo_open=True)
    blowup = _real(blowup, "blowup", 0.0, lo_open=True, allow_inf=True)
    max_bytes = _real(max_bytes, "max_bytes", 0.0, lo_open=True, allow_inf=True)
    if features not in ("gaussian", "rademacher"):
        raise ValueError(f"features must be 'gaussian' or 'rademacher', got {features!r}")
    avg_start = _int(avg_start, "avg_start", 0)
    if not avg_start < n:
        raise ValueError(f"avg_start must be in [0, n_steps) = [0, {n}), got {avg_start}")
    generator = _check_generator(generator, "generator", dev)
    noise_generator = _check_generator(noise_generator, "noise_generator", dev)
    if record_steps is None:
        rec = np.arange(n + 1)
    else:
        if isinstance(record_steps, (str, bytes)) or not isinstance(record_steps, Sequence):
            raise ValueError(f"record_steps must be a sequence of integers in [0, n_steps], got {record_steps!r}")
        rec = np.asarray(sorted({_int(s, "record_steps entries", 0) for s in record_steps}), dtype=np.int64)
    if rec.size == 0 or rec[0] < 0 or rec[-1] > n:
        raise ValueError(f"record_steps must lie in [0, n_steps] = [0, {n}]")
    if progress is not None and not isinstance(progress, bool):
        raise ValueError(f"progress must be True, False or None, got {progress!r}")
    ch = R if chunk is None else _int(chunk, "chunk", 1)
    ch = min(ch, R)
    host_bytes = 2.0 * 8.0 * rec.size * R
    dev_bytes = 8.0 * ch * d * torch.finfo(dtype).bits / 8
    if host_bytes > max_bytes or dev_bytes > max_bytes:
        raise ValueError(f"this simulation needs {host_bytes / 2**30:.3g} GiB of records and {dev_bytes / 2**30:.3g} "
                         f"GiB per chunk, above max_bytes={max_bytes:.3g}: record fewer steps, use chunk=, or raise "
                         "max_bytes")
    device = dev
    rec_idx = {int(s): j for j, s in enumerate(rec)}
    sqrt_lam = lam_t.sqrt()
    sigma = math.sqrt(sigma2)
    init_scale = float(0.5 * (lam_t * (w0_t - ws_t) ** 2).sum()) + sigma2 * float(lam_t.sum()) + 1e-30

    # per-run records (host side, float64): (R, recorded steps)
    last = np.full((R, rec.size), np.nan)
    avg = np.full((R, rec.size), np.nan)
    diverged = np.zeros(R, dtype=bool)
    t0 = time.perf_counter()
    disable = None if progress is None else not progress  # None: tqdm decides (off when not a terminal)
    bar = tqdm(total=n * ((R + ch - 1) // ch), disable=disable, desc="MC linreg", leave=False)

    def risk(z: torch.Tensor) -> torch.Tensor:
        return 0.5 * ((z - ws_t) ** 2 * lam_t).sum(dim=1)

    def exploded(rk: torch.Tensor) -> torch.Tensor:
        return ~torch.isfinite(rk) | (rk > blowup * init_scale)

    for c0 in range(0, R, ch):
        r = min(ch, R - c0)
        w = w0_t.expand(r, d).clone()
        v = w.clone()
        wsum = torch.zeros_like(w)
        div = Divergence.start(r, device)
        last_c = torch.full((rec.size, r), float("nan"), dtype=torch.float64, device=device)
        avg_c = torch.full((rec.size, r), float("nan"), dtype=torch.float64, device=device)
        for t in range(n + 1):
            if t in rec_idx:
                j = rec_idx[t]
                rk = risk(w)
                div.mark(exploded(rk), t)
                last_c[j] = torch.where(div.alive, rk, torch.nan).to(torch.float64)
                if t > avg_start:
                    ra = risk(wsum / (t - avg_start))
                    avg_c[j] = torch.where(div.alive, ra, torch.nan).to(torch.float64)
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
                div.mark(exploded(risk(w)), t + 1)
                if bool(div.diverged.any()):
                    w, v = freeze(w, div.diverged), freeze(v, div.diverged)
                    wsum = freeze(wsum, div.diverged)
            bar.update(1)
        diverged[c0 : c0 + r] = div.diverged.cpu().numpy()
        last[c0 : c0 + r] = last_c.T.cpu().numpy()
        avg[c0 : c0 + r] = avg_c.T.cpu().numpy()
    bar.close()
    seconds = time.perf_counter() - t0
    st = masked_mean_se(last, diverged)
    amean, ase = np.full(rec.size, np.nan), np.full(rec.size, np.nan)
    has_avg = rec > avg_start  # the average over an empty window is undefined
    if has_avg.any():
        sa = masked_mean_se(avg[:, has_avg], diverged)
        amean[has_avg], ase[has_avg] = sa.mean, sa.se
    return McResult(steps=rec.astype(np.int64), mean=st.mean, se=st.se, avg_start=int(avg_start), avg_mean=amean,
                    avg_se=ase, final=last[~diverged, -1], diverged_frac=st.diverged_fraction, n_runs=R,
                    seconds=seconds)
