"""A byte-level text corpus made of the Python standard library's own source files: on every machine, no download.

The corpus is the concatenation, in sorted relative-path order, of the ``*.py`` files directly inside the standard
library folder (``sysconfig.get_paths()["stdlib"]``, sub-packages excluded), each preceded by a ``# file: NAME``
line, truncated to ``max_bytes``. Tokens are bytes (vocabulary 256). The split is fixed: the first
``1 - val_fraction`` of the bytes train, the rest validate. Different Python versions ship different sources, so the
corpus records its sha256 and the Python version; results are comparable only for equal hashes.
"""

from __future__ import annotations

import hashlib
import platform
import sysconfig
from dataclasses import dataclass
from pathlib import Path

import torch

VOCAB_SIZE = 256


@dataclass(frozen=True)
class TextCorpus:
    """Train and validation byte tokens (int64 tensors) with the corpus' provenance."""

    train: torch.Tensor
    val: torch.Tensor
    sha256: str
    n_files: int
    python: str


def stdlib_text(max_bytes: int = 2_000_000, val_fraction: float = 0.1) -> TextCorpus:
    """The corpus described in the module docstring. ``max_bytes`` >= 10_000; ``val_fraction`` in (0, 0.5]."""
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 10_000:
        raise ValueError(f"max_bytes must be an integer >= 10000, got {max_bytes!r}")
    if not (isinstance(val_fraction, float) and 0.0 < val_fraction <= 0.5):
        raise ValueError(f"val_fraction must be a float in (0, 0.5], got {val_fraction!r}")
    root = Path(sysconfig.get_paths()["stdlib"])
    files = sorted(p for p in root.glob("*.py") if p.is_file())
    if not files:
        raise FileNotFoundError(f"no Python sources found in the standard library folder {root}")
    chunks: list[bytes] = []
    total = 0
    used = 0
    for p in files:
        data = b"# file: " + p.name.encode() + b"\n" + p.read_bytes()
        chunks.append(data)
        total += len(data)
        used += 1
        if total >= max_bytes:
            break
    raw = b"".join(chunks)[:max_bytes]
    if len(raw) < 10_000:
        raise ValueError(f"the standard library at {root} holds only {len(raw)} bytes of sources")
    tokens = torch.frombuffer(bytearray(raw), dtype=torch.uint8).to(torch.int64)
    n_train = int(round(len(raw) * (1.0 - val_fraction)))
    return TextCorpus(tokens[:n_train], tokens[n_train:], hashlib.sha256(raw).hexdigest(), used,
                      platform.python_version())  # fmt: skip


def random_batch(tokens: torch.Tensor, batch_size: int, block_size: int, *, generator: torch.Generator,
                 device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    """``batch_size`` windows at uniform random offsets o: x = tokens[o : o + T], y = tokens[o + 1 : o + T + 1]."""
    if batch_size < 1 or block_size < 1:
        raise ValueError(f"batch_size and block_size must be >= 1, got {batch_size}, {block_size}")
    if len(tokens) < block_size + 2:
        raise ValueError(f"need more than block_size + 1 = {block_size + 1} tokens, got {len(tokens)}")
    off = torch.randint(0, len(tokens) - block_size - 1, (batch_size,), generator=generator)
    idx = off[:, None] + torch.arange(block_size + 1)[None, :]
    w = tokens[idx]
    return w[:, :-1].to(device), w[:, 1:].to(device)


def fixed_batches(tokens: torch.Tensor, n_batches: int, batch_size: int, block_size: int, *,
                  generator: torch.Generator) -> list[tuple[torch.Tensor, torch.Tensor]]:  # fmt: skip
    """A fixed list of batches (for evaluation or a fixed measurement batch), drawn once from ``generator``."""
    return [random_batch(tokens, batch_size, block_size, generator=generator) for _ in range(n_batches)]
