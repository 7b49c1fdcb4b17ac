"""The small transformer LM and its offline corpus: seeded, causal, the right loss at initialisation."""

from __future__ import annotations

import math

import pytest
import torch

from sims.data.stdlib_text import VOCAB_SIZE, fixed_batches, random_batch, stdlib_text
from sims.nets.transformer import GPT, GPTConfig, evaluate


@pytest.fixture(scope="module")
def corpus():  # type: ignore[no-untyped-def]
    return stdlib_text(100_000)


def test_corpus_is_deterministic_and_split(corpus) -> None:  # type: ignore[no-untyped-def]
    again = stdlib_text(100_000)
    assert again.sha256 == corpus.sha256 and torch.equal(again.val, corpus.val)
    assert len(corpus.train) + len(corpus.val) == 100_000 and len(corpus.val) == 10_000
    assert int(corpus.train.max()) < VOCAB_SIZE and int(corpus.train.min()) >= 0
    for bad in (dict(max_bytes=10), dict(val_fraction=0.0), dict(val_fraction=0.9), dict(max_bytes=1.5e6)):
        with pytest.raises(ValueError):
            stdlib_text(**bad)  # type: ignore[arg-type]


def test_batches_are_shifted_windows(corpus) -> None:  # type: ignore[no-untyped-def]
    x, y = random_batch(corpus.train, 4, 16, generator=torch.Generator().manual_seed(0))
    assert x.shape == y.shape == (4, 16) and torch.equal(x[:, 1:], y[:, :-1])
    with pytest.raises(ValueError, match="block_size"):
        random_batch(corpus.train[:10], 1, 16, generator=torch.Generator())


def test_seeded_init_is_reproducible_and_the_generator_is_the_only_source() -> None:
    cfg = GPTConfig(n_layer=1, n_head=2, n_embd=16, block_size=8)
    torch.manual_seed(123)
    a = GPT(cfg, generator=torch.Generator().manual_seed(5))
    torch.manual_seed(999)  # the global RNG must not matter
    b = GPT(cfg, generator=torch.Generator().manual_seed(5))
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert a.head.weight is a.wte.weight
    std = float(a.blocks[0].attn.proj.weight.detach().std())
    assert abs(std - 0.02 / math.sqrt(2)) < 0.01


def test_attention_is_causal() -> None:
    m = GPT(GPTConfig(n_layer=2, n_head=2, n_embd=16, block_size=8), generator=torch.Generator().manual_seed(0),
            dtype=torch.float64)  # fmt: skip
    x = torch.randint(0, 256, (2, 8), generator=torch.Generator().manual_seed(1))
    x2 = x.clone()
    x2[:, 5:] = (x2[:, 5:] + 7) % 256
    z, z2 = m(x), m(x2)
    assert torch.allclose(z[:, :5], z2[:, :5], atol=1e-12) and not torch.allclose(z[:, 5:], z2[:, 5:])


def test_initial_loss_is_near_log_vocab(corpus) -> None:  # type: ignore[no-untyped-def]
    m = GPT(GPTConfig.cpu(), generator=torch.Generator().manual_seed(0))
    val = fixed_batches(corpus.val, 2, 8, 64, generator=torch.Generator().manual_seed(1))
    assert abs(evaluate(m, val) - math.log(VOCAB_SIZE)) < 0.1
    with pytest.raises(ValueError, match="divisible"):
        GPTConfig(n_head=3, n_embd=64)
    with pytest.raises(ValueError, match="exceeds block_size"):
        m(torch.zeros(1, 65, dtype=torch.long))
