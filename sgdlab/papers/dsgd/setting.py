"""The dsgd problem definition shared by the experiments: graphs and tilts from the master seed, the tilted quartic
split over agents (f_n = f/N + c_n^T x, sum_n c_n = 0), and one D-SGD run of it on the batched engine."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

from sgdlab import seeding
from sims.distributed import graphs
from sims.distributed.dsgd import DSGDTrace, run_dsgd
from sims.distributed.noise import NoiseModel
from sims.distributed.objectives import TiltedQuartic, heterogeneous_tilts
from sims.distributed.schedules import PowerSchedule
from sims.runs import parse_device, parse_dtype

PAPER = "dsgd"


def graph_laplacian(kind: str, n: int, seed: int) -> np.ndarray:
    """Laplacian of the ``kind`` graph on n agents (Erdos-Renyi p = 0.3 drawn from the seed's "graph" stream)."""
    return graphs.laplacian(graphs.make_graph(kind, n, p=0.3, rng=seeding.numpy_rng(seed, "graph")))


def tilts(n: int, scale: float, directions: tuple[int, ...] | None, seed: int) -> np.ndarray:
    """Centred tilts c_n (N, 2) from the seed's "tilts" stream, on the coordinates ``directions`` (all if None)."""
    return heterogeneous_tilts(n, 2, scale, seeding.numpy_rng(seed, "tilts"), directions=directions)


def start(runs: int, n: int, point: Sequence[float], device: str, dtype: torch.dtype) -> torch.Tensor:
    """Every agent of every run at ``point``: shape (runs, n, len(point))."""
    x0 = torch.empty(runs, n, len(point), device=device, dtype=dtype)
    x0[:] = torch.tensor(tuple(point), device=device, dtype=dtype)
    return x0


def quartic_run(
    lap: np.ndarray, c: np.ndarray, *, kink: float, x0: Sequence[float], runs: int, c_a: float, tau_a: float,
    c_b: float, tau_b: float, steps: int, noise: NoiseModel, seed: int, stream: str, device: str, dtype: str,
    record: list[int] | None = None, allow_disconnected: bool = False, curvature: float = 1.0,
    hit: Callable[[torch.Tensor], torch.Tensor] | None = None, stop_when_all_hit: bool = False, kink1: float = 0.0,
    kink1_at: float = 0.25,
) -> DSGDTrace:  # fmt: skip
    """D-SGD on f_n = f/N + c_n^T x (+ kinks, see TiltedQuartic) from ``x0`` (every agent), noise from the seed's
    ``stream``."""
    dt = parse_dtype(dtype)
    dev = str(parse_device(device))
    n = lap.shape[0]
    obj = TiltedQuartic(torch.as_tensor(c, device=dev, dtype=dt), 1.0 / n, kink=kink, curvature=curvature, kink1=kink1,
                        kink1_at=kink1_at)
    return run_dsgd(
        obj, graphs.to_torch(lap, device=dev, dtype=dt), start(runs, n, x0, dev, dt),
        PowerSchedule(c_a, tau_a), PowerSchedule(c_b, tau_b, "beta"), steps, noise,
        generator=seeding.torch_generator(seed, stream, dev), record=record, allow_disconnected=allow_disconnected,
        hit=hit, stop_when_all_hit=stop_when_all_hit,
    )  # fmt: skip


def np64(t: torch.Tensor) -> np.ndarray:
    """A tensor as a float64 numpy array on the CPU."""
    return t.detach().to("cpu", torch.float64).numpy()


def mask(t: torch.Tensor) -> np.ndarray:
    """A (R,) bool tensor (e.g. the diverged flags) as a numpy bool array: the spine reads ``diverged`` masks."""
    return t.detach().to("cpu").numpy().astype(bool)
