"""Fully connected networks in the noise_regimes parameterisation, and the alpha-trick hinge loss.

Parameterisation (Sclocchi, Geiger, Wyart 2023): hidden layers z <- phi(W z / sqrt(fan_in)) with W ~ N(0, 1) (NTK
scaling) and phi normalised so that E[phi(g)^2] = 1 for g ~ N(0, 1); output f(w, x) = w_out . z / h (mean-field 1/h).
Alpha-trick: the predictor is f~(w, x) = f(w, x) - f(w_0, x) and the loss l = (1/alpha) max(0, 1 - alpha y f~); its
gradient -y grad f~ on unfitted points does not depend on alpha, alpha only sets the margin 1/alpha (large alpha:
lazy / kernel regime, small alpha: feature learning).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch

Params = tuple[torch.Tensor, ...]
ACTIVATIONS = ("relu", "gelu")


def _second_moment(phi: Callable[[torch.Tensor], torch.Tensor]) -> float:
    """E[phi(g)^2], g ~ N(0, 1), by Gauss-Hermite quadrature (probabilists' weights, 200 nodes)."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(200)
    vals = phi(torch.as_tensor(nodes, dtype=torch.float64)).numpy()
    return float(np.sum(weights * vals**2) / math.sqrt(2.0 * math.pi))


def activation(name: str) -> Callable[[torch.Tensor], torch.Tensor]:
    """phi / sqrt(E[phi(g)^2]) for phi in ACTIVATIONS (ReLU: sqrt(2) relu exactly)."""
    if name == "relu":
        return lambda z: math.sqrt(2.0) * torch.relu(z)
    if name == "gelu":
        c = math.sqrt(_second_moment(torch.nn.functional.gelu))
        return lambda z: torch.nn.functional.gelu(z) / c
    raise ValueError(f"activation must be one of {ACTIVATIONS}, got {name!r}")


def _pos_int(v: object, name: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise ValueError(f"{name} must be an int >= 1, got {v!r}")
    return v


def init_params(
    n_nets: int, d: int, h: int, depth: int, *, generator: torch.Generator, device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float64,
) -> Params:
    """Stacked N(0, 1) weights of n_nets MLPs: W_1 (n, h, d), W_2..W_depth (n, h, h), w_out (n, h)."""
    for v, name in ((n_nets, "n_nets"), (d, "d"), (h, "h"), (depth, "depth")):
        _pos_int(v, name)
    shapes = [(h, d)] + [(h, h)] * (depth - 1) + [(h,)]
    return tuple(torch.randn((n_nets, *s), generator=generator, device=device, dtype=dtype) for s in shapes)


def mlp(params: Params, x: torch.Tensor, phi: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
    """f(w, x) for one net: z <- phi(z W^T / sqrt(fan_in)) per hidden layer, f = z . w_out / h. x: (n, d) -> (n,)."""
    z = x
    for w in params[:-1]:
        z = phi(z @ w.T / math.sqrt(z.shape[-1]))
    return z @ params[-1] / params[-1].shape[-1]


def hinge_loss(
    params: Params, x: torch.Tensor, y: torch.Tensor, f0: torch.Tensor, alpha: torch.Tensor,
    phi: Callable[[torch.Tensor], torch.Tensor],
) -> torch.Tensor:
    """Mean over the batch of (1/alpha) max(0, 1 - alpha y f~), f~ = f(w, x) - f(w_0, x) (alpha-trick)."""
    ft = mlp(params, x, phi) - f0
    return (torch.relu(1.0 - alpha * y * ft) / alpha).mean()
