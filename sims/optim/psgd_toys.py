"""The PSGD paper's toy problems (Pooladzandi & Li 2024; psgd_torch demos), with runners for PSGD and baselines.

* Rosenbrock (hello_psgd.py): ``f(x) = sum_i 100 (x_{2i+1} - x_{2i}^2)^2 + (1 - x_{2i})^2`` (disjoint pairs), from
  ``x = 0``; minimum 0 at ``x = 1``.
* Delayed XOR (rnn_xor_problem_general_purpose_preconditioner.py): a sequence of ``T`` steps, input channel 0 is
  random +-1, channel 1 marks two positions ``i1 in [0, 0.1 T)``, ``i2 in [0.1 T, 0.5 T)``; the label is the XOR of
  the two marked signs (+1 when they differ); a tanh RNN (hidden ``H``, orthogonal recurrent init) reads the sequence
  and a linear read-out gives the logit; logistic loss. Success: loss < 0.1.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from sims.optim import psgd as P


def rosenbrock(x: torch.Tensor) -> torch.Tensor:
    """``sum_i 100 (x_{2i+1} - x_{2i}^2)^2 + (1 - x_{2i})^2`` over disjoint pairs (even length)."""
    if x.dim() != 1 or x.shape[0] % 2:
        raise ValueError(f"x must be a vector of even length, got shape {tuple(x.shape)}")
    x1, x2 = x[0::2], x[1::2]
    return torch.sum(100.0 * (x2 - x1 ** 2) ** 2 + (1.0 - x1) ** 2)


def make_optimizer(name: str, params: list[torch.Tensor], lr: float, generator: torch.Generator,
                   **kw: float) -> torch.optim.Optimizer:
    """``name``: psgd_newton, psgd_xmat, psgd_lra (PSGD classes, closure without backward), sgd, adam, lbfgs."""
    if name == "psgd_newton":
        return P.Newton(params, lr=lr, generator=generator, **kw)  # type: ignore[arg-type]
    if name == "psgd_xmat":
        return P.XMat(params, lr=lr, generator=generator, **kw)  # type: ignore[arg-type]
    if name == "psgd_lra":
        return P.LRA(params, lr=lr, generator=generator, **kw)  # type: ignore[arg-type]
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr)
    if name == "lbfgs":
        return torch.optim.LBFGS(params, lr=lr, max_iter=1, history_size=10, line_search_fn="strong_wolfe")
    raise ValueError(f"unknown optimizer {name!r}")


def _step(opt: torch.optim.Optimizer, loss_fn: Callable[[], torch.Tensor]) -> float:
    """One step; PSGD takes a loss closure, the torch optimizers a closure that calls backward. Returns the loss
    at the parameters before the step."""
    if isinstance(opt, P._PSGDBase):
        return float(opt.step(loss_fn).detach())
    out: list[float] = []

    def closure() -> float:
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        out.append(float(loss.detach()))
        return out[-1]
    opt.step(closure)
    return out[0]


def run_rosenbrock(name: str, lr: float, dim: int, n_iter: int, *, generator: torch.Generator,
                   dtype: torch.dtype = torch.float64, **kw: float) -> np.ndarray:
    """``f(x_t)`` for ``t = 0 .. n_iter`` (``x_0 = 0``); entries after a non-finite value are ``inf``.

    L-BFGS (history 10, strong Wolfe line search, no stopping tolerance) gets ``n_iter`` function-and-gradient
    evaluations; ``f`` is recorded at each evaluation (the line search's trial points included) and then held at
    the value of its final iterate when it stops early."""
    x = torch.zeros(dim, dtype=dtype, requires_grad=True)
    f = np.full(n_iter + 1, np.inf)
    if name == "lbfgs":
        lb = torch.optim.LBFGS([x], lr=lr, max_iter=n_iter, max_eval=n_iter, tolerance_grad=0.0, tolerance_change=0.0,
                               history_size=10, line_search_fn="strong_wolfe")
        vals: list[float] = []

        def closure() -> torch.Tensor:
            lb.zero_grad()
            loss = rosenbrock(x)
            loss.backward()
            vals.append(float(loss.detach()))
            return loss
        lb.step(closure)
        with torch.no_grad():
            final = float(rosenbrock(x))
        vals = vals[:n_iter] + [final]
        f[:len(vals)] = vals
        f[len(vals):] = final
        f[~np.isfinite(f)] = np.inf
        return f
    opt = make_optimizer(name, [x], lr, generator, **kw)
    for t in range(n_iter):
        f[t] = _step(opt, lambda: rosenbrock(x))
        if not math.isfinite(f[t]):
            f[t] = np.inf
            return f
    with torch.no_grad():
        f[n_iter] = float(rosenbrock(x))
    if not math.isfinite(f[n_iter]):
        f[n_iter] = np.inf
    return f


def xor_batch(batch: int, seq_len: int, generator: torch.Generator, dtype: torch.dtype = torch.float32
              ) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs ``(seq_len, batch, 2)`` and labels ``(batch, 1)`` in {-1, +1} of the delayed XOR problem."""
    if seq_len < 10:
        raise ValueError(f"seq_len must be >= 10 (the two marks need distinct windows), got {seq_len}")
    g = generator
    sign = torch.randint(0, 2, (batch, seq_len), generator=g).to(dtype) * 2 - 1
    i1 = (torch.rand(batch, generator=g) * 0.1 * seq_len).floor().long()
    i2 = (torch.rand(batch, generator=g) * 0.4 * seq_len + 0.1 * seq_len).floor().long()
    mark = torch.zeros(batch, seq_len, dtype=dtype)
    rows = torch.arange(batch)
    mark[rows, i1] = 1.0
    mark[rows, i2] = 1.0
    y = torch.where(sign[rows, i1] == sign[rows, i2], -1.0, 1.0).to(dtype).unsqueeze(1)
    return torch.stack([sign, mark], dim=2).transpose(0, 1).contiguous(), y


def rnn_params(hidden: int, generator: torch.Generator, dtype: torch.dtype = torch.float32) -> list[torch.Tensor]:
    """``[W_x (2, H), W_h (H, H) orthogonal, b (H,), W_o (H, 1), b_o ()]`` as in the demo (0.1 N(0, 1) weights)."""
    g = generator
    Wx = 0.1 * torch.randn(2, hidden, generator=g, dtype=dtype)
    A = torch.randn(hidden, hidden, generator=g, dtype=torch.float64)
    Qm, R = torch.linalg.qr(A)
    Wh = (Qm * torch.sign(torch.diagonal(R))).to(dtype)
    b = torch.zeros(hidden, dtype=dtype)
    Wo = 0.1 * torch.randn(hidden, 1, generator=g, dtype=dtype)
    bo = torch.zeros((), dtype=dtype)
    return [p.requires_grad_(True) for p in (Wx, Wh, b, Wo, bo)]


def rnn_logit(params: list[torch.Tensor], xs: torch.Tensor) -> torch.Tensor:
    """``h_t = tanh(x_t W_x + h_{t-1} W_h + b)``, ``h_0 = 0``; logit ``h_T W_o + b_o``."""
    Wx, Wh, b, Wo, bo = params
    h = torch.zeros(xs.shape[1], Wh.shape[0], dtype=xs.dtype)
    for x in torch.unbind(xs):
        h = torch.tanh(x @ Wx + h @ Wh + b)
    return h @ Wo + bo


@dataclass
class XorRun:
    losses: np.ndarray      # training loss per iteration (NaN after success/stop)
    solved_at: int          # first iteration with loss < 0.1, or -1
    seconds: float


def run_delayed_xor(name: str, lr: float, *, seq_len: int, hidden: int, batch: int, n_iter: int,
                    init_generator: torch.Generator, data_generator: torch.Generator,
                    probe_generator: torch.Generator, success_loss: float = 0.1, **kw: float) -> XorRun:
    """Train on fresh batches until the loss is below ``success_loss`` or ``n_iter`` iterations."""
    params = rnn_params(hidden, init_generator)
    opt = make_optimizer(name, params, lr, probe_generator, **kw)
    losses = np.full(n_iter, np.nan)
    t0 = time.perf_counter()
    solved = -1
    for t in range(n_iter):
        xs, y = xor_batch(batch, seq_len, data_generator)

        def loss_fn(xs: torch.Tensor = xs, y: torch.Tensor = y) -> torch.Tensor:
            return -torch.nn.functional.logsigmoid(y * rnn_logit(params, xs)).mean()
        loss = _step(opt, loss_fn)
        losses[t] = loss
        if not math.isfinite(loss):
            break
        if loss < success_loss:
            solved = t
            break
    return XorRun(losses, solved, time.perf_counter() - t0)
