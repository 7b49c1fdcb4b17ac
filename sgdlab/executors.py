"""Where the points of a sweep run: here, local processes, a dask cluster, or Slurm through submitit.

Anything with ``submit(fn, *args)`` returning a future with ``result()`` works (``concurrent.futures`` executors,
``dask.distributed.Client``, ``submitit.AutoExecutor``). Points are sent in batches, so a worker imports the suite
once per batch, not once per point, and local worker processes are reused across sweeps of one context.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import Executor, ProcessPoolExecutor
from multiprocessing import get_context
from typing import Any

EXECUTORS: tuple[str, ...] = ("local", "processes", "dask", "submitit")


def process_executor(workers: int) -> Executor:
    """Local processes (spawned, so torch's threads are never forked); the pool is reused across sweeps."""
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be an integer >= 1, got {workers!r}")
    return ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"))


def dask_executor(scheduler: str | None = None, workers: int = 1) -> Any:
    """A ``dask.distributed.Client``: connected to ``scheduler`` (``tcp://host:8786``), else a ``LocalCluster`` of
    ``workers`` single-threaded processes."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as err:  # pragma: no cover
        raise ValueError("--executor dask needs dask.distributed: pip install 'sgdlab[dask]'") from err
    if scheduler:
        return Client(scheduler)
    return Client(LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None))


def submitit_executor(folder: str | os.PathLike[str], *, partition: str | None = None, cluster: str | None = None,
                      timeout_min: int = 60, cpus_per_task: int = 2, gpus_per_node: int = 0) -> Any:  # fmt: skip
    """A ``submitit.AutoExecutor`` writing its logs under ``folder``: Slurm when ``partition`` is given (or a Slurm
    cluster is detected), ``cluster="local"`` for local subprocesses (what the tests use)."""
    try:
        import submitit
    except ImportError as err:  # pragma: no cover
        raise ValueError("--executor submitit needs submitit: pip install 'sgdlab[slurm]'") from err
    ex = submitit.AutoExecutor(folder=str(folder), cluster=cluster)
    params: dict[str, Any] = {"timeout_min": timeout_min, "cpus_per_task": cpus_per_task}
    if partition:
        params["slurm_partition"] = partition
    if gpus_per_node:
        params["gpus_per_node"] = gpus_per_node
    ex.update_parameters(**params)
    return ex


def parallelism(executor: Any) -> int:
    """How many points the executor runs at once (for batching); 1 when it does not say."""
    n = getattr(executor, "_max_workers", None)
    if isinstance(n, int):
        return max(1, n)
    nthreads = getattr(executor, "nthreads", None)  # dask Client
    if callable(nthreads):
        try:
            return max(1, sum(nthreads().values()))
        except Exception:  # pragma: no cover
            return 1
    return 1


def batches(n: int, executor: Any, batch: int | None = None) -> list[range]:
    """Split ``n`` points into batches: ``batch`` points each, or about two batches per worker."""
    if n == 0:
        return []
    if batch is None or batch <= 0:
        batch = max(1, math.ceil(n / (2 * parallelism(executor))))
    return [range(i, min(n, i + batch)) for i in range(0, n, batch)]
