"""The process backend (one gloo process per worker, localhost) gives the iterates of the batched simulation."""

from __future__ import annotations

import os
import tempfile

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from sims.distributed import graphs
from sims.distributed.byzantine import RunSpec, make_split, run
from sims.distributed.mixing import MatrixGossip
from sims.distributed.process_backend import gossip_step, run_rank

H, F = 4, 1
SPECS = [RunSpec(f=F, rule="nna_paper", attack="sign_flip", rounds=6, batch=5, lr=0.5, beta=0.9),
         RunSpec(f=F, rule="nna_authors", attack="alie", rounds=5, batch=5, lr=0.5, beta=0.9, evals=5),
         RunSpec(f=F, rule="trimmed_mean", attack="label_flip", rounds=5, batch=5, lr=0.5, beta=0.0)]


def _ring_w(world: int) -> torch.Tensor:
    """D-SGD's gossip matrix on a ring: W = I - 0.3 L."""
    return torch.eye(world, dtype=torch.float64) - 0.3 * torch.as_tensor(graphs.laplacian(graphs.ring(world)))


def _split():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(80, 5))
    y = rng.integers(0, 3, size=80)
    return make_split(x[:60], y[:60], x[60:], y[60:], H, 1.0, 1, np.random.default_rng(4))


def _worker(rank: int, world: int, path: str, out: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{path}", rank=rank, world_size=world)
    res = {}
    for j, spec in enumerate(SPECS):
        r = run_rank(_split(), spec, seed=11 + j)
        if r:
            res[f"theta{j}"] = r["theta"]
    x = torch.arange(3, dtype=torch.float64) + rank ** 2
    res["gossip"] = gossip_step(x, _ring_w(world))
    torch.save(res, os.path.join(out, f"rank{rank}.pt"))
    dist.destroy_process_group()


@pytest.mark.skipif(not dist.is_available(), reason="torch.distributed not available")
def test_process_backend_equals_batched():
    world = H + F
    with tempfile.TemporaryDirectory() as tmp:
        mp.spawn(_worker, args=(world, os.path.join(tmp, "rdv"), tmp), nprocs=world, join=True)
        res = [torch.load(os.path.join(tmp, f"rank{r}.pt")) for r in range(world)]
    for j, spec in enumerate(SPECS):
        ref = run(_split(), spec, torch.Generator().manual_seed(11 + j))["theta"][0]
        got = torch.stack([res[r][f"theta{j}"] for r in range(H)])
        assert float((got - ref).abs().max()) < 1e-12, spec
        assert float(ref.abs().max()) > 0  # the runs moved
    X = torch.stack([torch.arange(3, dtype=torch.float64) + r ** 2 for r in range(world)])
    ref = MatrixGossip(_ring_w(world))(X[None], 1)[0]   # the batched D-SGD gossip step of sims.distributed
    np.testing.assert_allclose(torch.stack([res[r]["gossip"] for r in range(world)]).numpy(), ref.numpy(),
                               rtol=0, atol=1e-12)
