"""The simulated-time federated engine, batched over runs and over the clients of each aggregation.

Given a schedule (aggregation ``n`` takes clients ``S_n``; each started from the server model it was last sent) and
aggregation weights ``d``, every run does
    theta_i^{n}  = K local SGD steps  theta <- theta - eta_l grad_B L_i(theta)  from  theta^{rho_i(n)},
    theta^{n+1}  = theta^n + eta_g sum_{i in S_n} d_i (theta_i^n - theta^{rho_i(n)}),
and sends ``theta^{n+1}`` to the clients of ``S_n``. Mini-batches of ``B`` samples are drawn with replacement; the
indices of aggregation ``n`` are one tensor ``(R, |S_n|, K, B)`` from the generator, so the per-client reference
loop (:func:`per_client_loop`) consumes the same random numbers and must give the same iterates in float64.

The schedule comes as compressed rows (``offsets``, ``clients``), e.g. from ``theory.federated.schedule``; one
Python iteration per aggregation, none per client or per run. A run whose iterate is non-finite or exceeds
``blowup`` in norm is marked diverged and set to NaN from then on.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import torch
from tqdm.auto import tqdm

from .problems import ClientProblem, client_gradients


@dataclass(frozen=True)
class FedRun:
    """``theta`` ``(S, R, d)``: the server model after each recorded aggregation (``-1``: the initial model);
    ``diverged`` ``(R,)``; ``diverged_at`` ``(R,)`` (first aggregation at which it diverged, -1 if never)."""

    record_steps: npt.NDArray[np.int64]
    theta: torch.Tensor
    diverged: torch.Tensor
    diverged_at: torch.Tensor
    seconds: float


def _check(problem: ClientProblem, offsets: npt.ArrayLike, clients: npt.ArrayLike, weights: npt.ArrayLike,
           lr: float, local_steps: int, batch: int, server_lr: float, theta0: torch.Tensor,
           record_steps: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    off = np.asarray(offsets, dtype=np.int64)
    cl = np.asarray(clients, dtype=np.int64)
    w = np.asarray(weights, dtype=np.float64)
    rec = np.asarray(record_steps, dtype=np.int64)
    M = problem.n_clients
    if off.ndim != 1 or off.size < 1 or off[0] != 0 or np.any(np.diff(off) < 0) or off[-1] != cl.size:
        raise ValueError("offsets must start at 0, be non-decreasing and end at len(clients)")
    if cl.size and (cl.min() < 0 or cl.max() >= M):
        raise ValueError(f"clients must be indices in [0, {M})")
    if w.shape != (M,) or not np.all(np.isfinite(w)):
        raise ValueError(f"weights must be {M} finite numbers, got shape {w.shape}")
    if not (np.isfinite(lr) and lr > 0) or not (np.isfinite(server_lr) and server_lr > 0):
        raise ValueError(f"lr and server_lr must be finite and > 0, got {lr!r}, {server_lr!r}")
    for name, v in (("local_steps", local_steps), ("batch", batch)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {v!r}")
    if theta0.ndim != 2 or theta0.shape[1] != problem.dim or not bool(torch.isfinite(theta0).all()):
        raise ValueError(f"theta0 must be a finite (R, d={problem.dim}) tensor, got {tuple(theta0.shape)}")
    n_steps = off.size - 1
    if rec.ndim != 1 or (rec.size and (rec.min() < -1 or rec.max() >= n_steps or np.any(np.diff(rec) < 0))):
        raise ValueError(f"record_steps must be sorted aggregation indices in [-1, {n_steps})")
    return off, cl, w, rec


def run_federated(problem: ClientProblem, offsets: npt.ArrayLike, clients: npt.ArrayLike, weights: npt.ArrayLike,
                  *, lr: float, local_steps: int, batch: int, theta0: torch.Tensor, record_steps: npt.ArrayLike,
                  generator: torch.Generator, server_lr: float = 1.0, blowup: float = 1e6,
                  progress: bool = False) -> FedRun:
    """Run ``R = theta0.shape[0]`` independent runs of the schedule at once (see module doc)."""
    off, cl, w, rec = _check(problem, offsets, clients, weights, lr, local_steps, batch, server_lr, theta0,
                             record_steps)
    X, y = problem.X, problem.y
    dev, dt = X.device, X.dtype
    R, d = theta0.shape
    n = X.shape[1]
    theta = theta0.to(dev, dt).clone()
    sent = theta.unsqueeze(1).repeat(1, problem.n_clients, 1)  # (R, M, d): the model each client holds
    w_t = torch.as_tensor(w, dtype=dt, device=dev)
    cl_t = torch.as_tensor(cl, device=dev)
    out = torch.empty(rec.size, R, d, dtype=dt, device=dev)
    diverged = torch.zeros(R, dtype=torch.bool, device=dev)
    div_at = torch.full((R,), -1, dtype=torch.int64, device=dev)
    j = 0
    while j < rec.size and rec[j] == -1:
        out[j] = theta
        j += 1
    t0 = time.perf_counter()
    for step in tqdm(range(off.size - 1), disable=not progress, mininterval=2.0, desc="aggregations"):
        a, b = int(off[step]), int(off[step + 1])
        if b > a:
            idx = cl_t[a:b]
            P = b - a
            ind = torch.randint(n, (R, P, local_steps, batch), generator=generator, device=dev)
            Xb = X[idx.view(1, P, 1, 1), ind]  # (R, P, K, B, d)
            yb = y[idx.view(1, P, 1, 1), ind]
            start = sent[:, idx]
            loc = start
            for k in range(local_steps):
                loc = loc - lr * client_gradients(problem.kind, Xb[:, :, k], yb[:, :, k], loc, problem.l2)
            theta = theta + server_lr * torch.einsum("p,rpd->rd", w_t[idx], loc - start)
            bad = ~torch.isfinite(theta).all(-1) | (theta.abs().amax(-1) > blowup)
            new = bad & ~diverged
            if bool(new.any()):
                div_at[new] = step
                diverged |= new
                theta[diverged] = float("nan")
            sent[:, idx] = theta.unsqueeze(1)
        while j < rec.size and rec[j] == step:
            out[j] = theta
            j += 1
    return FedRun(rec, out, diverged, div_at, time.perf_counter() - t0)


def per_client_loop(problem: ClientProblem, offsets: npt.ArrayLike, clients: npt.ArrayLike, weights: npt.ArrayLike,
                    *, lr: float, local_steps: int, batch: int, theta0: torch.Tensor, record_steps: npt.ArrayLike,
                    generator: torch.Generator, server_lr: float = 1.0) -> torch.Tensor:
    """Reference: the loop a researcher would write (one run, one client, one local step at a time, as in the
    authors' simulator), drawing the same mini-batch indices as :func:`run_federated`. Returns ``(S, R, d)``;
    no divergence handling."""
    off, cl, w, rec = _check(problem, offsets, clients, weights, lr, local_steps, batch, server_lr, theta0,
                             record_steps)
    X, y = problem.X, problem.y
    R, d = theta0.shape
    n = X.shape[1]
    thetas = [theta0[r].to(X.device, X.dtype).clone() for r in range(R)]
    sent = [[thetas[r].clone() for _ in range(problem.n_clients)] for r in range(R)]
    out = []
    j = 0
    while j < rec.size and rec[j] == -1:
        out.append(torch.stack(thetas))
        j += 1
    for step in range(off.size - 1):
        a, b = int(off[step]), int(off[step + 1])
        if b > a:
            ind = torch.randint(n, (R, b - a, local_steps, batch), generator=generator, device=X.device)
            for r in range(R):
                update = torch.zeros(d, dtype=X.dtype, device=X.device)
                for p, i in enumerate(cl[a:b].tolist()):
                    loc = sent[r][i].clone()
                    for k in range(local_steps):
                        rows = ind[r, p, k]
                        loc = loc - lr * client_gradients(problem.kind, X[i, rows], y[i, rows], loc, problem.l2)
                    update = update + float(w[i]) * (loc - sent[r][i])
                thetas[r] = thetas[r] + server_lr * update
                for i in cl[a:b].tolist():
                    sent[r][i] = thetas[r].clone()
        while j < rec.size and rec[j] == step:
            out.append(torch.stack(thetas))
            j += 1
    return torch.stack(out)
