"""A small fully connected network trained by full-batch gradient descent with injected alpha-stable noise, many
(alpha, sigma, seed) runs in one tensor (the non-convex experiment of heavy_tail, after Dupuis & Simsekli's protocol),
on the shared batched trainer (sims.nets.trainer.train with the NoisySGD rule of sims.optim.rules):

    theta_{k+1} = theta_k - eta grad F_train(theta_k) + sigma eta^(1/alpha) xi_k,

xi_k rotationally invariant alpha-stable in R^P (P = number of parameters, law (S) of sims.noise.stable). The
generalisation gap is F_test - F_train (cross-entropy), averaged over the last iterates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from sims.heavy_tails.euler_chain import check_count
from sims.nets.trainer import TailAverage, Trace, train
from sims.noise.stable import check_real, rotational_stable
from sims.optim.rules import NoisySGD
from sims.runs import check_max_norm


@dataclass(frozen=True)
class MLPShape:
    """Layer widths (in, hidden..., out); tanh hidden units."""

    sizes: tuple[int, ...]

    @property
    def n_params(self) -> int:
        return sum(o * i + o for i, o in zip(self.sizes[:-1], self.sizes[1:]))

    def unflatten(self, theta: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """theta (R, P) -> [(W (R, out, in), b (R, out)), ...] as views."""
        out, j = [], 0
        for i, o in zip(self.sizes[:-1], self.sizes[1:]):
            W = theta[:, j : j + o * i].reshape(-1, o, i)
            j += o * i
            b = theta[:, j : j + o]
            j += o
            out.append((W, b))
        return out

    def init(self, runs: int, *, generator: torch.Generator, device: torch.device | str | None = None,
             dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """LeCun-normal weights N(0, 1/fan_in), zero biases, flattened to (runs, P)."""
        parts = []
        for i, o in zip(self.sizes[:-1], self.sizes[1:]):
            W = torch.randn(runs, o * i, generator=generator, device=device, dtype=dtype) / math.sqrt(i)
            parts += [W, torch.zeros(runs, o, device=device, dtype=dtype)]
        return torch.cat(parts, dim=1)

    def logits_one(self, theta: torch.Tensor, X: torch.Tensor) -> torch.Tensor:
        """One run: theta (P,), X (n, in) -> logits (n, out) (the per-run loss the batched trainer vmaps)."""
        h, j = X, 0
        for li, (i, o) in enumerate(zip(self.sizes[:-1], self.sizes[1:])):
            W = theta[j : j + o * i].reshape(o, i)
            j += o * i
            h = h @ W.T + theta[j : j + o]
            j += o
            if li < len(self.sizes) - 2:
                h = torch.tanh(h)
        return h

    def logits(self, theta: torch.Tensor, X: torch.Tensor) -> torch.Tensor:
        """theta (R, P), X (n, in) -> logits (R, n, out)."""
        h = X.unsqueeze(0).expand(theta.shape[0], -1, -1)
        layers = self.unflatten(theta)
        for li, (W, b) in enumerate(layers):
            h = torch.baddbmm(b.unsqueeze(1), h, W.transpose(1, 2))
            if li < len(layers) - 1:
                h = torch.tanh(h)
        return h


def cross_entropy_per_run(shape: MLPShape, theta: torch.Tensor, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of each run: (R,)."""
    z = shape.logits(theta, X)
    return torch.nn.functional.cross_entropy(z.transpose(1, 2), y.unsqueeze(0).expand(z.shape[0], -1),
                                             reduction="none").mean(dim=1)


@dataclass
class NoisyGDResult:
    """Per run (R,): train/test loss and accuracy averaged over the last `avg_last` iterates (NaN where diverged),
    the diverged mask, and the train/test loss trace every `trace_every` steps (T, R)."""

    train_loss: torch.Tensor
    test_loss: torch.Tensor
    train_acc: torch.Tensor
    test_acc: torch.Tensor
    diverged: torch.Tensor
    trace_train: torch.Tensor
    trace_test: torch.Tensor

    @property
    def gap(self) -> torch.Tensor:
        return self.test_loss - self.train_loss


def noisy_gd(
    shape: MLPShape,
    theta0: torch.Tensor,
    Xtr: torch.Tensor,
    ytr: torch.Tensor,
    Xte: torch.Tensor,
    yte: torch.Tensor,
    *,
    alpha: tuple[float, ...],
    sigma: tuple[float, ...],
    eta: float,
    steps: int,
    generator: torch.Generator,
    avg_last: int = 100,
    trace_every: int = 10,
    max_norm: float = 1e6,
    progress: bool | None = False,
) -> NoisyGDResult:
    """Full-batch GD with injected noise for R = len(alpha) runs (alpha[r], sigma[r] per run; theta0 (R, P)).

    Raises ValueError for alpha outside (0, 2], sigma < 0, eta <= 0. A run is diverged once its loss or parameters are
    non-finite or ||theta|| > max_norm; it is frozen and excluded (NaN) from the averages."""
    if theta0.ndim != 2 or theta0.shape[1] != shape.n_params or theta0.shape[0] < 1:
        raise ValueError(f"theta0 must be (R, {shape.n_params}) for {shape.sizes}, got {tuple(theta0.shape)}")
    for name, X, y in (("train", Xtr, ytr), ("test", Xte, yte)):
        if X.ndim != 2 or X.shape[1] != shape.sizes[0] or y.shape != (X.shape[0],) or X.shape[0] < 1:
            raise ValueError(f"{name} data must be X (n, {shape.sizes[0]}) and y (n,), got {tuple(X.shape)}, "
                             f"{tuple(y.shape)}")
        if not bool(torch.isfinite(X).all()):
            raise ValueError(f"{name} inputs X must be finite")
        if y.dtype != torch.long or bool(((y < 0) | (y >= shape.sizes[-1])).any()):
            raise ValueError(f"{name} labels y must be integers in [0, {shape.sizes[-1]})")
    R = theta0.shape[0]
    if len(alpha) != R or len(sigma) != R:
        raise ValueError(f"alpha and sigma must have one entry per run ({R}), got {len(alpha)} and {len(sigma)}")
    if any(not (0.0 < check_real(a, "alpha") <= 2.0) for a in alpha):
        raise ValueError(f"alpha must lie in (0, 2], got {sorted(set(alpha))}")
    if any(not check_real(s, "sigma") >= 0.0 for s in sigma):
        raise ValueError(f"sigma must be >= 0, got {sorted(set(sigma))}")
    if not check_real(eta, "eta") > 0:
        raise ValueError(f"eta must be > 0, got {eta!r}")
    check_count(steps, "steps")
    check_count(avg_last, "avg_last", high=steps)
    check_count(trace_every, "trace_every")
    max_norm = check_max_norm(max_norm)
    dev, dt = theta0.device, theta0.dtype
    P = theta0.shape[1]
    scale = torch.tensor([s * eta ** (1.0 / a) for a, s in zip(alpha, sigma)], device=dev, dtype=dt)
    groups = {a: torch.tensor([r for r in range(R) if alpha[r] == a], device=dev) for a in sorted(set(alpha))}

    def noise(rows: torch.Tensor, params: tuple[torch.Tensor, ...], t: int) -> tuple[torch.Tensor, ...]:
        # compact=False: every step draws for all R runs, one group per alpha in a fixed order
        xi = torch.empty(R, P, device=dev, dtype=dt)
        for a, idx in groups.items():
            xi[idx] = rotational_stable((len(idx), P), a, generator=generator, device=dev, dtype=dt)
        return (xi,)

    def loss(theta_r: tuple[torch.Tensor, ...]) -> torch.Tensor:
        return torch.nn.functional.cross_entropy(shape.logits_one(theta_r[0], Xtr), ytr)

    def full_batch(s: int, rows: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return ()  # full batch: the training set is shared by every run (closed over by the loss, not vmapped)

    def metrics(params: tuple[torch.Tensor, ...]) -> dict[str, torch.Tensor]:
        th = params[0]
        ce = torch.nn.functional.cross_entropy
        ztr, zte = shape.logits(th, Xtr), shape.logits(th, Xte)
        return {"trl": ce(ztr.transpose(1, 2), ytr.expand(th.shape[0], -1), reduction="none").mean(1),
                "tel": ce(zte.transpose(1, 2), yte.expand(th.shape[0], -1), reduction="none").mean(1),
                "tra": (ztr.argmax(-1) == ytr).to(dt).mean(1), "tea": (zte.argmax(-1) == yte).to(dt).mean(1)}

    tail = TailAverage(metrics, R, first_step=steps - avg_last + 1)
    trace = Trace(lambda p: {k: v for k, v in metrics(p).items() if k in ("trl", "tel")}, R, every=trace_every)
    res = train((theta0,), loss, full_batch, NoisySGD(eta, scale, noise), max_steps=steps, check_every=1,
                max_norm=max_norm, compact=False, observers=(tail, trace), progress=progress, desc="noisy GD")
    nan = torch.tensor(float("nan"), device=dev, dtype=dt)
    m = {key: torch.where(res.diverged, nan, v) for key, v in tail.mean().items()}
    tr = trace.stacked()
    return NoisyGDResult(m["trl"], m["tel"], m["tra"], m["tea"], res.diverged, tr["trl"], tr["tel"])
