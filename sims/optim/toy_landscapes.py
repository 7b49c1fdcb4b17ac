"""Low-dimensional test functions and optimizer trajectories on them (torch, autograd gradients).

2-D (AdaBelief paper, Zhuang et al. 2020): ``abs``: |x| + |y|; ``abs_rot``: |x + y| + |x - y|/10;
``quad_rot``: (x + y)^2 + (x - y)^2/10; ``beale``: (1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2
(minimum (3, 0.5)); ``rosenbrock``: (1 - x)^2 + 100 (y - x^2)^2 (minimum (1, 1)).
1-D (diffGrad paper, Dubey et al. 2019): F1, F2, F3 as piecewise functions (docstrings of :func:`f1`, ...).
Derivatives come from autograd (the diffGrad authors' notebook has a wrong derivative of F2).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

Fn = Callable[[torch.Tensor], torch.Tensor]


def abs_sum(z: torch.Tensor) -> torch.Tensor:
    """|x| + |y| (minimum 0 at the origin)."""
    return z[0].abs() + z[1].abs()


def abs_rot(z: torch.Tensor) -> torch.Tensor:
    """|x + y| + |x - y| / 10."""
    return (z[0] + z[1]).abs() + (z[0] - z[1]).abs() / 10


def quad_rot(z: torch.Tensor) -> torch.Tensor:
    """(x + y)^2 + (x - y)^2 / 10 (condition number 10, axes rotated by 45 degrees)."""
    return (z[0] + z[1]) ** 2 + (z[0] - z[1]) ** 2 / 10


def beale(z: torch.Tensor) -> torch.Tensor:
    """Beale's function; global minimum 0 at (3, 0.5)."""
    x, y = z[0], z[1]
    return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2 + (2.625 - x + x * y**3) ** 2


def rosenbrock(z: torch.Tensor) -> torch.Tensor:
    """Rosenbrock's function (1 - x)^2 + 100 (y - x^2)^2; global minimum 0 at (1, 1)."""
    return (1 - z[0]) ** 2 + 100 * (z[1] - z[0] ** 2) ** 2


def f1(x: torch.Tensor) -> torch.Tensor:
    """diffGrad's F1: (x + 0.3)^2 for x <= 0, (x - 0.2)^2 + 0.05 for x > 0 (global min -0.3, local min 0.2)."""
    return torch.where(x <= 0, (x + 0.3) ** 2, (x - 0.2) ** 2 + 0.05).sum()


def f2(x: torch.Tensor) -> torch.Tensor:
    """diffGrad's F2: -40x - 35.15 for x <= -0.9, x^3 + x sin(8x) + 0.85 otherwise."""
    return torch.where(x <= -0.9, -40 * x - 35.15, x**3 + x * torch.sin(8 * x) + 0.85).sum()


def f3(x: torch.Tensor) -> torch.Tensor:
    """diffGrad's F3: x^2 (x <= -0.5), 0.75 + x (-0.5 < x <= -0.4), -7x/8 (-0.4 < x <= 0), 7x/8 (0 < x <= 0.4),
    0.75 - x (0.4 < x <= 0.5), x^2 (x > 0.5)."""
    return torch.where(x <= -0.5, x**2, torch.where(x <= -0.4, 0.75 + x, torch.where(
        x <= 0, -7 * x / 8, torch.where(x <= 0.4, 7 * x / 8, torch.where(x <= 0.5, 0.75 - x, x**2))))).sum()


FUNCTIONS: dict[str, Fn] = {"abs": abs_sum, "abs_rot": abs_rot, "quad_rot": quad_rot, "beale": beale,
                            "rosenbrock": rosenbrock, "f1": f1, "f2": f2, "f3": f3}
MINIMA: dict[str, tuple[float, ...]] = {"abs": (0.0, 0.0), "abs_rot": (0.0, 0.0), "quad_rot": (0.0, 0.0),
                                        "beale": (3.0, 0.5), "rosenbrock": (1.0, 1.0), "f1": (-0.3,)}


def trajectory(fn: str | Fn, x0: tuple[float, ...], steps: int,
               make_optimizer: Callable[[list[torch.nn.Parameter]], torch.optim.Optimizer],
               record: Callable[[torch.optim.Optimizer, torch.nn.Parameter], Any] | None = None,
               ) -> dict[str, np.ndarray]:
    """Run ``steps`` optimizer steps on ``fn`` from ``x0`` in float64.

    Returns ``x`` (steps + 1, d) iterates, ``f`` (steps + 1,) values, ``g`` (steps, d) gradients, and, if ``record``
    is given, ``rec`` (steps, ...) its value after each step (e.g. the optimizer's effective step size).
    Non-finite values stop the run early; the remaining rows are NaN and ``diverged`` is True."""
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    f = FUNCTIONS[fn] if isinstance(fn, str) else fn
    w = torch.nn.Parameter(torch.tensor(x0, dtype=torch.float64))
    opt = make_optimizer([w])
    d = len(x0)
    xs = np.full((steps + 1, d), np.nan)
    fs = np.full(steps + 1, np.nan)
    gs = np.full((steps, d), np.nan)
    recs: list[Any] = []
    xs[0] = x0
    diverged = False
    for t in range(steps):
        opt.zero_grad(set_to_none=True)
        loss = f(w)
        fs[t] = float(loss.detach())
        loss.backward()
        assert w.grad is not None
        gs[t] = w.grad.detach().numpy()
        opt.step()
        xs[t + 1] = w.detach().numpy()
        if record is not None:
            recs.append(np.asarray(record(opt, w), dtype=np.float64))
        if not np.isfinite(xs[t + 1]).all() or abs(fs[t]) > 1e100:
            diverged = True
            break
    if not diverged:
        with torch.no_grad():
            fs[steps] = float(f(w))
    out: dict[str, np.ndarray] = {"x": xs, "f": fs, "g": gs, "diverged": np.array(diverged)}
    if record is not None:
        rec = np.full((steps,) + (recs[0].shape if recs else ()), np.nan)
        rec[: len(recs)] = np.array(recs)
        out["rec"] = rec
    return out
