"""Honest workers with local Polyak momentum and robust mixing under Byzantine attacks (MoNNA and baselines),
batched over runs ``R`` and honest workers ``h`` (``n = h + f`` workers in all).

Model: multinomial logistic regression, parameters ``theta = (vec W, b)`` with ``W`` (p, C), so gradients are
closed-form and the whole run is a handful of batched tensor ops per round. Round ``t`` at honest worker ``i``
(the paper's Algorithm 1):

    g_i = (1/B) sum_{(x, y) in batch_i} grad loss(theta_i; x, y)             (stochastic gradient, local data)
    m_i = beta m_i + (1 - beta) g_i                                          (Polyak momentum)
    x_i = theta_i - gamma m_i                                                (half step, sent to everyone)
    theta_i <- Mix_i(x_1..x_h, z_1..z_f)                                     (NNA or a baseline rule)

where the Byzantine vectors ``z`` are built from the honest half steps (:mod:`sims.distributed.attacks`). Label
flipping: the Byzantine vector is the mean over honest workers of ``theta_i - gamma m~_i`` with ``m~`` the momentum
of gradients on the same batches with labels ``y -> C - 1 - y``. Adaptive factors (FOE, ALIE with ``factor=None``)
are chosen per run and round by :func:`sims.distributed.attacks.line_maximize` against the rule in use, maximising
the mean distance of the honest outputs to the honest average.

Randomness: one ``torch.Generator`` drives, per round and in this order, the batch positions ``rand(R, h, B)`` and
(authors' variant only) the received sets; the process backend replays the same draws.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from . import aggregators as A
from . import attacks as K
from .nna import authors_received, nna, nna_k

RULES = ("nna_paper", "nna_authors", "average", "trimmed_mean", "geometric_median", "centered_clipping")
ATTACK_NAMES = ("none", "sign_flip", "foe", "alie", "label_flip", "mimic")


# --------------------------------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Split:
    """Training data split over honest workers (padded index table), and the test set."""
    x: torch.Tensor          # (N, p)
    y: torch.Tensor          # (N,) long
    x_test: torch.Tensor
    y_test: torch.Tensor
    idx: torch.Tensor        # (R, h, L) long, padded with 0
    size: torch.Tensor       # (R, h) long, >= 1
    n_classes: int


def dirichlet_split(y: np.ndarray, n_workers: int, alpha: float, rng: np.random.Generator) -> list[np.ndarray]:
    """Per class ``c``: proportions ``q ~ Dir(alpha 1_h)``; the class's samples (shuffled) are cut accordingly.
    Every worker is guaranteed at least one sample (a worker left empty takes one from the largest)."""
    if not alpha > 0 or not np.isfinite(alpha):
        raise ValueError(f"alpha must be a positive finite float, got {alpha}")
    if n_workers < 1:
        raise ValueError(f"n_workers must be >= 1, got {n_workers}")
    parts: list[list[int]] = [[] for _ in range(n_workers)]
    for c in np.unique(y):
        ids = rng.permutation(np.flatnonzero(y == c))
        q = rng.dirichlet(np.full(n_workers, alpha))
        cuts = (np.cumsum(q)[:-1] * len(ids)).astype(int)
        for i, chunk in enumerate(np.split(ids, cuts)):
            parts[i].extend(chunk.tolist())
    for i in range(n_workers):
        if not parts[i]:
            j = int(np.argmax([len(p) for p in parts]))
            parts[i].append(parts[j].pop())
    return [np.array(p, dtype=np.int64) for p in parts]


def make_split(x: np.ndarray, y: np.ndarray, x_test: np.ndarray, y_test: np.ndarray, n_honest: int, alpha: float,
               R: int, rng: np.random.Generator, dtype: torch.dtype = torch.float64,
               device: str | torch.device = "cpu") -> Split:
    """``R`` independent Dirichlet(alpha) splits of ``(x, y)`` over ``n_honest`` workers."""
    splits = [dirichlet_split(y, n_honest, alpha, rng) for _ in range(R)]
    L = max(len(p) for s in splits for p in s)
    idx = np.zeros((R, n_honest, L), dtype=np.int64)
    size = np.zeros((R, n_honest), dtype=np.int64)
    for r, s in enumerate(splits):
        for i, p in enumerate(s):
            idx[r, i, : len(p)] = p
            size[r, i] = len(p)
    return Split(torch.as_tensor(x, dtype=dtype, device=device), torch.as_tensor(y, device=device),
                 torch.as_tensor(x_test, dtype=dtype, device=device),
                 torch.as_tensor(y_test, device=device), torch.as_tensor(idx, device=device),
                 torch.as_tensor(size, device=device), int(max(y.max(), y_test.max()) + 1))


# --------------------------------------------------------------------------------------------------------------
# model: multinomial logistic regression
# --------------------------------------------------------------------------------------------------------------
def n_params(p: int, C: int) -> int:
    return p * C + C


def logits(theta: torch.Tensor, x: torch.Tensor, C: int) -> torch.Tensor:
    """``theta`` (..., d), ``x`` (..., B, p) or (B, p) -> (..., B, C)."""
    p = theta.shape[-1] // C - 1
    W = theta[..., : p * C].reshape(*theta.shape[:-1], p, C)
    b = theta[..., p * C:].unsqueeze(-2)
    if x.ndim == 2 and theta.ndim > 1:
        # one shared data set: a single GEMM (N, p) x (p, models * C) instead of broadcasting x to every model
        # (the broadcast allocates models x N x p floats per call)
        batch = theta.shape[:-1]
        z = x @ W.movedim(-2, 0).reshape(p, -1)
        return z.reshape(x.shape[0], *batch, C).movedim(0, -2) + b
    return x @ W + b


def grad(theta: torch.Tensor, x: torch.Tensor, y: torch.Tensor, C: int) -> torch.Tensor:
    """Mean cross-entropy gradient over the batch: ``theta`` (..., d), ``x`` (..., B, p), ``y`` (..., B)."""
    P = torch.softmax(logits(theta, x, C), dim=-1)
    E = P - torch.nn.functional.one_hot(y, C).to(P.dtype)
    B = x.shape[-2]
    gW = (x.transpose(-1, -2) @ E) / B
    return torch.cat([gW.flatten(-2), E.mean(dim=-2)], dim=-1)


def loss_acc(theta: torch.Tensor, x: torch.Tensor, y: torch.Tensor, C: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Cross-entropy and accuracy (..., ) of each model on the full set ``(x, y)``."""
    z = logits(theta, x, C)
    loss = torch.nn.functional.cross_entropy(z.reshape(-1, C), y.expand(*z.shape[:-1]).reshape(-1),
                                             reduction="none").reshape(z.shape[:-1]).mean(-1)
    acc = (z.argmax(-1) == y).to(theta.dtype).mean(-1)
    return loss, acc


def batch_positions(split: Split, B: int, generator: torch.Generator) -> torch.Tensor:
    """Sample indices (R, h, B), uniform with replacement from each worker's local data."""
    R, h = split.size.shape
    u = torch.rand(R, h, B, generator=generator, dtype=torch.float64, device=split.idx.device)
    pos = (u * split.size.unsqueeze(-1)).long().clamp_max(split.size.unsqueeze(-1) - 1)
    return torch.gather(split.idx, 2, pos)


# --------------------------------------------------------------------------------------------------------------
# mixing rules and attacks
# --------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RuleParams:
    gm_nu: float = 0.1
    gm_T: int = 3
    cc_tau: float = 1.0
    cc_L: int = 1


def mix(rule: str, pivots: torch.Tensor, candidates: torch.Tensor, f: int, mask: torch.Tensor | None = None,
        params: RuleParams = RuleParams()) -> torch.Tensor:
    """Outputs (R, m, d) of honest workers with models ``pivots`` (R, m, d) receiving ``candidates`` (R, n, d)
    (honest first, then the ``f`` Byzantine). ``mask`` (R, m, n): the authors' received sets."""
    n = candidates.shape[1]
    m = pivots.shape[1]
    if rule == "nna_paper":
        return nna(pivots, candidates, nna_k(n, f, "paper"))
    if rule == "nna_authors":
        if mask is None:
            raise ValueError("nna_authors needs the received mask")
        return nna(pivots, candidates, nna_k(n, f, "authors"), mask)
    if rule == "centered_clipping":
        z = candidates.unsqueeze(1).expand(-1, m, -1, -1)
        return A.centered_clipping(z, pivots, tau=params.cc_tau, L=params.cc_L)
    if rule == "average":
        out = A.average(candidates)
    elif rule == "trimmed_mean":
        out = A.trimmed_mean(candidates, f)
    elif rule == "geometric_median":
        out = A.geometric_median(candidates, nu=params.gm_nu, T=params.gm_T)
    else:
        raise ValueError(f"rule must be one of {RULES}, got {rule!r}")
    return out.unsqueeze(1).expand(-1, m, -1)


def byzantine_vectors(attack: str, half: torch.Tensor, f: int, rule: str, mask: torch.Tensor | None,
                      params: RuleParams, factor: float | None, flipped: torch.Tensor | None = None,
                      evals: int = 16) -> torch.Tensor:
    """The ``f`` Byzantine vectors (R, f, d) (all equal) for honest half steps ``half`` (R, h, d)."""
    R = half.shape[0]
    if attack in ("foe", "alie"):
        fn = K.foe if attack == "foe" else K.alie
        if factor is None:
            avg = half.mean(dim=1, keepdim=True)

            def objective(k: torch.Tensor) -> torch.Tensor:
                z = fn(half, k).unsqueeze(1).expand(-1, f, -1)
                out = mix(rule, half, torch.cat([half, z], 1), f, mask, params)
                return torch.linalg.vector_norm(out - avg, dim=-1).mean(-1)

            factor_t: float | torch.Tensor = K.line_maximize(objective, R, evals=evals, dtype=half.dtype,
                                                              device=half.device)
        else:
            factor_t = factor
        v = fn(half, factor_t)
    elif attack == "sign_flip":
        v = K.sign_flip(half)
    elif attack == "mimic":
        v = K.mimic(half, 0)
    elif attack == "label_flip":
        if flipped is None:
            raise ValueError("label_flip needs the flipped-label half steps")
        v = flipped.mean(dim=1)
    else:
        raise ValueError(f"attack must be one of {ATTACK_NAMES[1:]}, got {attack!r}")
    return v.unsqueeze(1).expand(-1, f, -1)


# --------------------------------------------------------------------------------------------------------------
# the run
# --------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RunSpec:
    f: int = 5
    rule: str = "nna_paper"
    attack: str = "sign_flip"
    beta: float = 0.99
    lr: float = 0.5
    rounds: int = 100
    batch: int = 25
    factor: float | None = None      # None: line search for foe / alie
    evals: int = 16
    eval_every: int = 10
    params: RuleParams = RuleParams()

    def validate(self) -> None:
        if self.rule not in RULES:
            raise ValueError(f"rule must be one of {RULES}, got {self.rule!r}")
        if self.attack not in ATTACK_NAMES:
            raise ValueError(f"attack must be one of {ATTACK_NAMES}, got {self.attack!r}")
        if not 0 <= self.beta < 1:
            raise ValueError(f"beta must be in [0, 1), got {self.beta}")
        if not (self.lr > 0 and np.isfinite(self.lr)):
            raise ValueError(f"lr must be positive and finite, got {self.lr}")
        if self.rounds < 1 or self.batch < 1 or self.eval_every < 1 or self.f < 0:
            raise ValueError("rounds, batch, eval_every must be >= 1 and f >= 0")


def honest_step(theta: torch.Tensor, m: torch.Tensor, xb: torch.Tensor, yb: torch.Tensor, beta: float, lr: float,
                C: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Momentum update and half step: returns ``(m_new, theta - lr m_new)``."""
    m = beta * m + (1 - beta) * grad(theta, xb, yb, C)
    return m, theta - lr * m


def round_step(state: dict[str, torch.Tensor], split: Split, spec: RunSpec,
               generator: torch.Generator) -> dict[str, torch.Tensor]:
    """One round for all runs and honest workers; ``state`` holds ``theta``, ``m`` (R, h, d) (and ``m_flip``)."""
    theta, m = state["theta"], state["m"]
    R, h, _ = theta.shape
    C = split.n_classes
    ids = batch_positions(split, spec.batch, generator)
    xb, yb = split.x[ids], split.y[ids]
    m, half = honest_step(theta, m, xb, yb, spec.beta, spec.lr, C)
    f = spec.f if spec.attack != "none" else 0
    mask = authors_received(R, h, spec.f, generator, theta.device) if spec.rule == "nna_authors" else None
    new = {"m": m}
    flipped = None
    if spec.attack == "label_flip":
        mf, flipped = honest_step(theta, state["m_flip"], xb, C - 1 - yb, spec.beta, spec.lr, C)
        new["m_flip"] = mf
    if f > 0:
        byz = byzantine_vectors(spec.attack, half, f, spec.rule, mask, spec.params, spec.factor, flipped, spec.evals)
        cands = torch.cat([half, byz], dim=1)
    else:
        cands = half
        if mask is not None:   # no attack: the f slots are silent, the honest arrivals stand
            mask = mask[..., :h]
    # without attack there are no Byzantine workers (n = h) but the rules still expect f faults
    new["theta"] = mix(spec.rule, half, cands, spec.f, mask, spec.params)
    return new


def run(split: Split, spec: RunSpec, generator: torch.Generator, theta0: torch.Tensor | None = None,
        progress: bool = False) -> dict[str, Any]:
    """``spec.rounds`` rounds from ``theta0`` (default 0). Returns ``rounds`` (n_eval,), per run and eval round the
    mean honest test accuracy ``acc``, test loss ``loss``, train loss of the honest models ``train_loss`` (R, n_eval),
    and ``theta`` (R, h, d) at the end; ``diverged`` (R,) bool (non-finite models)."""
    spec.validate()
    R, h = split.size.shape
    if spec.rule == "nna_authors" and h - spec.f - 1 < 0:
        raise ValueError("the authors' variant needs h >= f + 1")
    d = n_params(split.x.shape[1], split.n_classes)
    theta = torch.zeros(R, h, d, dtype=split.x.dtype, device=split.x.device) if theta0 is None else theta0.clone()
    state = {"theta": theta, "m": torch.zeros_like(theta), "m_flip": torch.zeros_like(theta)}
    rounds, acc, loss, tr = [], [], [], []

    def record(t: int) -> None:
        lo, ac = loss_acc(state["theta"], split.x_test, split.y_test, split.n_classes)
        ltr, _ = loss_acc(state["theta"], split.x, split.y, split.n_classes)
        rounds.append(t)
        acc.append(ac.mean(-1))
        loss.append(lo.mean(-1))
        tr.append(ltr.mean(-1))

    record(0)
    diverged = torch.zeros(R, dtype=torch.bool)
    it = range(1, spec.rounds + 1)
    if progress:
        from tqdm import tqdm
        it = tqdm(it, leave=False)
    for t in it:
        new = round_step(state, split, spec, generator)
        state.update(new)
        bad = ~torch.isfinite(state["theta"]).all(dim=-1).all(dim=-1)
        if bad.any():
            diverged |= bad.cpu()
            state["theta"] = torch.nan_to_num(state["theta"], nan=0.0, posinf=0.0, neginf=0.0)
        if t % spec.eval_every == 0 or t == spec.rounds:
            record(t)
    return {"rounds": np.array(rounds), "acc": torch.stack(acc, -1).cpu().numpy(),
            "loss": torch.stack(loss, -1).cpu().numpy(), "train_loss": torch.stack(tr, -1).cpu().numpy(),
            "theta": state["theta"], "diverged": diverged.numpy()}
