"""Run bookkeeping shared by every simulator: dtype/device parsing, alive/diverged masks, freezing diverged runs,
and masked statistics.

Convention: a batch of R independent runs is one tensor with leading dimension R. A run *diverges* the first time
its state is non-finite or its norm exceeds a stated ``max_norm``; from then on it is frozen (its state replaced by a
constant so it cannot produce NaN warnings or overflow) and excluded from every average; the fraction of diverged
runs is reported next to the statistics, never hidden in a NaN mean.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import torch

DTYPES: dict[str, torch.dtype] = {"float64": torch.float64, "float32": torch.float32, "bfloat16": torch.bfloat16,
                                  "float16": torch.float16}  # fmt: skip


def parse_dtype(name: str | torch.dtype, allowed: Sequence[str] = ("float32", "float64")) -> torch.dtype:
    """``"float64"`` -> ``torch.float64``; a ValueError naming the allowed names otherwise."""
    if isinstance(name, torch.dtype):
        names = [k for k, v in DTYPES.items() if v == name]
        if names and names[0] in allowed:
            return name
        raise ValueError(f"dtype must be one of {tuple(allowed)}, got {name}")
    if name not in allowed or name not in DTYPES:
        raise ValueError(f"dtype must be one of {tuple(allowed)}, got {name!r}")
    return DTYPES[name]


def parse_device(name: str | torch.device) -> torch.device:
    """A torch.device, checked to exist here: ``cuda`` without CUDA (or ``mps`` without MPS) is a clear ValueError."""
    try:
        dev = torch.device(name)
    except (RuntimeError, TypeError):
        raise ValueError(f"device must be a torch device name ('cpu', 'cuda', 'cuda:1'), got {name!r}") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device {str(name)!r} requested but CUDA is not available on this machine")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(f"device {str(name)!r}: only {torch.cuda.device_count()} CUDA device(s) here")
    if dev.type == "mps" and not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
        raise ValueError(f"device {str(name)!r} requested but MPS is not available on this machine")
    return dev


def check_max_norm(max_norm: float, name: str = "max_norm") -> float:
    """A divergence threshold must be a number > 0 (inf allowed: only non-finite states count)."""
    if isinstance(max_norm, bool) or not isinstance(max_norm, (int, float)) or math.isnan(max_norm) or max_norm <= 0:
        raise ValueError(f"{name} must be a number > 0 (inf allowed), got {max_norm!r}")
    return float(max_norm)


def bad_rows(x: torch.Tensor, max_norm: float = math.inf) -> torch.Tensor:
    """(R,) mask of runs whose state ``x`` (R, ...) has a non-finite entry or a norm above ``max_norm``."""
    flat = x.reshape(x.shape[0], -1)
    bad = ~torch.isfinite(flat).all(dim=1)
    if math.isfinite(max_norm):
        bad |= torch.linalg.vector_norm(torch.nan_to_num(flat, nan=0.0, posinf=0.0, neginf=0.0), dim=1) > max_norm
    return bad


@dataclass
class Divergence:
    """The alive/diverged masks of R runs and the step at which each diverged (-1: never).

    >>> div = Divergence.start(R, device)
    >>> x = div.check(x, step=k, max_norm=1e6)     # flags new divergences and freezes those runs at 0
    """

    diverged: torch.Tensor
    diverged_at: torch.Tensor
    frozen_value: float = 0.0
    _checks: int = field(default=0, repr=False)

    @classmethod
    def start(cls, runs: int, device: torch.device | str = "cpu") -> Divergence:
        if runs < 1:
            raise ValueError(f"runs must be >= 1, got {runs}")
        return cls(torch.zeros(runs, dtype=torch.bool, device=device),
                   torch.full((runs,), -1, dtype=torch.long, device=device))  # fmt: skip

    @property
    def alive(self) -> torch.Tensor:
        return ~self.diverged

    @property
    def fraction(self) -> float:
        return float(self.diverged.to(torch.float64).mean())

    def mark(self, bad: torch.Tensor, step: int) -> torch.Tensor:
        """Flag runs in ``bad`` (R,) as diverged at ``step`` (if not already); returns the newly diverged mask."""
        new = bad & ~self.diverged
        if bool(new.any()):
            self.diverged |= new
            self.diverged_at[new] = step
        return new

    def check(self, x: torch.Tensor, *, step: int, max_norm: float = math.inf,
              extra_bad: torch.Tensor | None = None) -> torch.Tensor:  # fmt: skip
        """Flag runs whose state ``x`` (R, ...) is non-finite or above ``max_norm`` (or ``extra_bad``), then return
        ``x`` with every diverged run frozen at ``frozen_value``."""
        bad = bad_rows(x, max_norm)
        if extra_bad is not None:
            bad = bad | extra_bad
        self.mark(bad, step)
        return freeze(x, self.diverged, self.frozen_value)

    def nan_out(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` (R, ...) with diverged runs replaced by NaN (for returned states, never for averages)."""
        return freeze(x, self.diverged, math.nan)


def freeze(x: torch.Tensor, mask: torch.Tensor, value: float = 0.0) -> torch.Tensor:
    """``x`` (R, ...) with the runs in ``mask`` (R,) replaced by ``value``."""
    m = mask.reshape(mask.shape[0], *([1] * (x.ndim - 1)))
    return torch.where(m, torch.tensor(value, dtype=x.dtype, device=x.device), x)


@dataclass(frozen=True)
class MaskedStats:
    """Mean and standard error over the alive runs, how many runs they rest on, and the diverged fraction."""

    mean: npt.NDArray[np.float64]
    se: npt.NDArray[np.float64]
    n_alive: int
    diverged_fraction: float


def masked_mean_se(values: npt.ArrayLike | torch.Tensor, diverged: npt.ArrayLike | torch.Tensor | None = None,
                   axis: int = 0) -> MaskedStats:  # fmt: skip
    """Mean and standard error (ddof = 1) of ``values`` over ``axis`` (the runs), excluding diverged runs.

    ``se = std / sqrt(n)`` with n the number of alive runs; NaN mean and se when no run is alive (the caller reports
    the diverged fraction; a verdict must not rest on nothing). NaN values in alive runs are an error (a simulator
    that produces NaN without flagging divergence is a bug)."""
    v = values.detach().cpu().numpy() if isinstance(values, torch.Tensor) else np.asarray(values, dtype=np.float64)
    v = np.moveaxis(np.asarray(v, dtype=np.float64), axis, 0)
    r = v.shape[0]
    if diverged is None:
        d = np.zeros(r, dtype=bool)
    else:
        d = diverged.detach().cpu().numpy() if isinstance(diverged, torch.Tensor) else np.asarray(diverged)
        d = d.astype(bool).reshape(-1)
        if d.shape[0] != r:
            raise ValueError(f"diverged must have one entry per run ({r}), got {d.shape[0]}")
    alive = v[~d]
    n = alive.shape[0]
    frac = float(d.mean()) if r else 0.0
    if n == 0:
        nan = np.full(v.shape[1:], np.nan)
        return MaskedStats(nan, nan, 0, frac)
    if not np.all(np.isfinite(alive)):
        raise ValueError("values of runs not flagged as diverged are non-finite: flag them diverged first")
    mean = alive.mean(axis=0)
    se = alive.std(axis=0, ddof=1) / math.sqrt(n) if n > 1 else np.full(v.shape[1:], np.nan)
    return MaskedStats(np.asarray(mean), np.asarray(se), n, frac)
