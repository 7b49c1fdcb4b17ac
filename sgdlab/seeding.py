"""Independent, name-stable random streams: one per source of randomness (data, init, batches, noise, probes).

A master seed and a stream name define a :class:`numpy.random.SeedSequence` whose spawn key is a stable hash of the
name, so adding a new stream never shifts the others, and two names never share a stream.
"""

from __future__ import annotations

import zlib

import numpy as np
import torch


def seed_sequence(seed: int, name: str) -> np.random.SeedSequence:
    """SeedSequence(entropy=seed, spawn_key=(crc32(name),)); ``seed`` must be a non-negative int."""
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return np.random.SeedSequence(entropy=int(seed), spawn_key=(zlib.crc32(name.encode()),))


def numpy_rng(seed: int, name: str) -> np.random.Generator:
    """A numpy Generator (PCG64) for the stream ``name`` of master seed ``seed``."""
    return np.random.default_rng(seed_sequence(seed, name))


def torch_seed(seed: int, name: str) -> int:
    """A 63-bit integer seed for the stream ``name`` (for torch.Generator.manual_seed)."""
    return int(seed_sequence(seed, name).generate_state(1, dtype=np.uint64)[0]) >> 1


def torch_generator(seed: int, name: str, device: str | torch.device = "cpu") -> torch.Generator:
    """A torch.Generator on ``device`` seeded for the stream ``name`` of master seed ``seed``."""
    g = torch.Generator(device=torch.device(device))
    g.manual_seed(torch_seed(seed, name))
    return g
