"""Optimizer-state memory: bytes held by an optimizer's state, measured on a live optimizer, and parameter counts
of two reference architectures (for extrapolating the per-parameter cost).

GPT-2 1.5B (GPT-2 XL: vocab 50257, context 1024, width 1600, 48 layers, tied output embedding):
``V d + 1024 d + L (12 d^2 + 13 d) + 2 d = 1 557 611 200``. Llama-2 7B (vocab 32000, width 4096, 32 layers, MLP 11008,
RMSNorm, untied output): ``2 V d + L (4 d^2 + 3 d f + 2 d) + d = 6 738 415 616``.
"""

from __future__ import annotations

import torch

GIB = 2**30


def state_bytes(optimizer: torch.optim.Optimizer) -> tuple[int, int, int]:
    """``(bytes in state tensors with as many elements as their parameter, bytes in other state tensors, bytes of
    python numbers in the state counted as 8 each)``, summed over the optimizer's state."""
    full = other = scalars = 0
    for p, st in optimizer.state.items():
        for v in st.values():
            if torch.is_tensor(v):
                if v.numel() == p.numel():
                    full += v.numel() * v.element_size()
                else:
                    other += v.numel() * v.element_size()
            elif isinstance(v, (int, float)):
                scalars += 8
    return full, other, scalars


def gpt2_params(vocab: int = 50257, context: int = 1024, d: int = 1600, layers: int = 48) -> int:
    """Parameters of a GPT-2 model with tied output embedding (module docstring)."""
    for name, v in (("vocab", vocab), ("context", context), ("d", d), ("layers", layers)):
        if v < 1:
            raise ValueError(f"{name} must be >= 1, got {v}")
    return vocab * d + context * d + layers * (12 * d * d + 13 * d) + 2 * d


def llama2_params(vocab: int = 32000, d: int = 4096, layers: int = 32, ffn: int = 11008) -> int:
    """Parameters of a Llama-2 model with untied output layer (module docstring)."""
    for name, v in (("vocab", vocab), ("d", d), ("layers", layers), ("ffn", ffn)):
        if v < 1:
            raise ValueError(f"{name} must be >= 1, got {v}")
    return 2 * vocab * d + layers * (4 * d * d + 3 * d * ffn + 2 * d) + d
