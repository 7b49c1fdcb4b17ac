"""The batched distributed-SGD engine: R independent runs of N agents in one tensor X of shape (R, N, d).

D-SGD (Swenson, Murray, Poor, Kar, JMLR 2022; the algorithm in PAPERS.md), for k = 1, 2, ...
    x_n(k) = x_n(k-1) - beta_k sum_{l ~ n} (x_n(k-1) - x_l(k-1)) - alpha_k (g_n(x_n(k-1)) + xi_n(k)),
i.e. X_k = M_k(X_{k-1}) - alpha_k (G(X_{k-1}) + Xi_k) with the mixing step M_k(X) = X - beta_k L X
("simultaneous": combine and adapt from the same state). ``order="adapt_then_combine"`` gives
X_k = M_k(X_{k-1} - alpha_k (G + Xi)) instead (diffusion / robust aggregation of half-steps).
The local objective is any batched callable ``grad(X) -> G`` (same shape as X; :mod:`sims.distributed.objectives`),
the mixing step any :class:`sims.distributed.mixing.Mixing`, the noise any
:class:`sims.distributed.noise.NoiseModel`. Everything takes ``device``/``dtype`` through its tensors and an explicit
``torch.Generator``; no global state. Runs whose state stops being finite (or whose norm exceeds ``max_norm``) are
flagged as diverged (:class:`sims.runs.Divergence`), frozen and reported as NaN in the trace.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from tqdm.auto import tqdm

from sims.distributed.graphs import components
from sims.distributed.mixing import LaplacianGossip, Mixing
from sims.distributed.noise import IsotropicNoise, NoiseModel
from sims.distributed.schedules import PowerSchedule
from sims.runs import Divergence, check_max_norm

GradFn = Callable[[torch.Tensor], torch.Tensor]
ORDERS: tuple[str, ...] = ("simultaneous", "adapt_then_combine")
MAX_RECORDED_ELEMENTS = 2**28  # about 2 GiB of float64: larger traces are refused (record fewer steps or states)


@dataclass
class DSGDTrace:
    """Output of :func:`run_distributed`. ``steps`` (T,) are the recorded iterate indices k (0 = initial state);
    ``mean`` (T, R, d) the network averages, ``disagreement`` (T, R) = ||(I - J) X_k||_F, ``final`` (R, N, d),
    ``states`` (T, R, N, d) when requested; ``diverged`` (R,) flags and ``diverged_at`` (R,) the step (-1 if not);
    ``hit_at`` (R,) the first step k at which ``hit(X_k)`` held (-1 if never, or no ``hit`` given);
    ``steps_run`` the last step computed (< ``steps`` when stopped early once every run hit).
    Recorded values of a run after it diverged, and rows after an early stop, are NaN."""

    steps: torch.Tensor
    mean: torch.Tensor
    disagreement: torch.Tensor
    final: torch.Tensor
    diverged: torch.Tensor
    diverged_at: torch.Tensor
    hit_at: torch.Tensor
    steps_run: int
    states: torch.Tensor | None = None

    @property
    def diverged_fraction(self) -> float:
        return float(self.diverged.to(torch.float64).mean())


def _int(x: object, name: str, minimum: int) -> int:
    if isinstance(x, bool) or not isinstance(x, (int, np.integer)) or x < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {x!r}")
    return int(x)


def record_grid(steps: int, points: int, *, log: bool = True) -> list[int]:
    """Up to ``points`` distinct recording steps in [0, steps] (log- or linearly spaced, always 0 and ``steps``)."""
    steps, points = _int(steps, "steps", 0), _int(points, "points", 2)
    if points > 10**7:
        raise ValueError(f"points must be <= 1e7, got {points}")
    if log and steps > 0:
        g = np.unique(np.round(np.geomspace(1, steps, points - 1)).astype(int))
        return [0, *[int(v) for v in g]]
    return sorted({int(v) for v in np.round(np.linspace(0, steps, points))})


def run_distributed(
    grad_fn: GradFn,
    mixing: Mixing,
    x0: torch.Tensor,
    alpha: PowerSchedule,
    steps: int,
    noise: NoiseModel,
    *,
    generator: torch.Generator,
    order: str = "simultaneous",
    record: Sequence[int] | None = None,
    record_states: bool = False,
    max_norm: float = 1e8,
    check_every: int = 100,
    hit: Callable[[torch.Tensor], torch.Tensor] | None = None,
    stop_when_all_hit: bool = False,
    progress: bool | None = None,
) -> DSGDTrace:
    """Run ``steps`` steps of X_k = M_k(X_{k-1}) - alpha_k (G(X_{k-1}) + Xi_k) (or adapt-then-combine, ``order``)
    on R independent runs at once.

    ``x0`` (R, N, d) floating; ``mixing`` acts on N agents; ``grad_fn(X)`` must return X's shape (checked on the
    first call). ``record``: iterate indices k in [0, steps] to record (default 100 log-spaced). ``max_norm``: a run
    whose state has a non-finite entry or Frobenius norm above it (checked every ``check_every`` steps and at recorded
    steps) is diverged. ``hit``: a map X (R, N, d) -> (R,) bool evaluated every step (first-passage times in
    ``hit_at``); with ``stop_when_all_hit`` the loop ends once every alive run has hit. ``progress``: tqdm bar
    (None: only on a terminal).
    """
    if not isinstance(x0, torch.Tensor) or x0.ndim != 3 or not x0.is_floating_point():
        raise ValueError(f"x0 must be a floating tensor of shape (runs, agents, dim), got "
                         f"{tuple(x0.shape) if isinstance(x0, torch.Tensor) else type(x0).__name__}")  # fmt: skip
    r_runs, n, d = x0.shape
    if r_runs < 1 or n < 1 or d < 1:
        raise ValueError(f"x0 must have at least one run, agent and dimension, got shape {tuple(x0.shape)}")
    if not isinstance(mixing, Mixing):
        raise ValueError(f"mixing must be a Mixing step (callable (x, k) with n_agents), got {type(mixing).__name__}")
    if mixing.n_agents != n:
        raise ValueError(f"mixing acts on {mixing.n_agents} agents but x0 has N = {n}")
    if not isinstance(alpha, PowerSchedule):
        raise ValueError(f"alpha must be a PowerSchedule, got {type(alpha).__name__}")
    if not isinstance(noise, NoiseModel):
        raise ValueError(f"noise must be a NoiseModel, got {type(noise).__name__}")
    if not isinstance(generator, torch.Generator):
        raise ValueError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    if order not in ORDERS:
        raise ValueError(f"order must be one of {ORDERS}, got {order!r}")
    steps = _int(steps, "steps", 0)
    check_every = _int(check_every, "check_every", 1)
    max_norm = check_max_norm(max_norm)
    if not bool(torch.isfinite(x0).all()):
        raise ValueError("x0 must be finite")
    rec = sorted(set(record_grid(steps, 100) if record is None else [_int(k, "record[i]", 0) for k in record]))
    if rec and rec[-1] > steps:
        raise ValueError(f"record must lie in [0, steps={steps}], got [{rec[0]}, {rec[-1]}]")
    t_n = len(rec)
    size = t_n * r_runs * (n * d if record_states else d + 1)
    if size > MAX_RECORDED_ELEMENTS:
        raise ValueError(f"the trace would hold {size:.3g} numbers (> {MAX_RECORDED_ELEMENTS:.3g}): record fewer steps "
                         f"or no states")  # fmt: skip

    dev, dt = x0.device, x0.dtype
    x = x0.clone()
    div = Divergence.start(r_runs, dev)
    hit_at = torch.full((r_runs,), -1, dtype=torch.long, device=dev)
    means = torch.full((t_n, r_runs, d), float("nan"), device=dev, dtype=dt)
    dis = torch.full((t_n, r_runs), float("nan"), device=dev, dtype=dt)
    states = torch.full((t_n, r_runs, n, d), float("nan"), device=dev, dtype=dt) if record_states else None
    ri = 0
    checked = False

    def _record(i: int) -> None:
        alive = div.alive
        m = x.mean(dim=1)
        means[i] = torch.where(alive[:, None], m, float("nan"))
        dis[i] = torch.where(alive, torch.linalg.vector_norm(x - m[:, None, :], dim=(1, 2)), float("nan"))
        if states is not None:
            states[i] = torch.where(alive[:, None, None], x, float("nan"))

    def _hit(k: int) -> bool:
        h = hit(x)  # type: ignore[misc]
        if not isinstance(h, torch.Tensor) or h.shape != (r_runs,) or h.dtype != torch.bool:
            raise ValueError(f"hit must return a bool tensor of shape (R={r_runs},), got "
                             f"{tuple(h.shape) if isinstance(h, torch.Tensor) else type(h).__name__}")  # fmt: skip
        new = h & (hit_at < 0) & div.alive
        hit_at[new] = k
        return bool(((hit_at >= 0) | div.diverged).all())

    if hit is not None:
        _hit(0)
    if ri < t_n and rec[ri] == 0:
        _record(ri)
        ri += 1
    k = 0
    for k in tqdm(range(1, steps + 1), disable=(not progress) if progress is not None else None, leave=False,
                  desc="D-SGD", mininterval=2.0):  # fmt: skip
        a_k = alpha(k)
        g = grad_fn(x)
        if not checked:
            if not isinstance(g, torch.Tensor) or g.shape != x.shape:
                raise ValueError(f"grad_fn must return a tensor of the state's shape {tuple(x.shape)}, got "
                                 f"{tuple(g.shape) if isinstance(g, torch.Tensor) else type(g).__name__}")  # fmt: skip
            checked = True
        xi = noise.sample(x.shape, generator=generator, like=x)
        if xi is not None:
            g = g + xi
        if order == "simultaneous":
            x = mixing(x, k) - a_k * g
        else:
            x = mixing(x - a_k * g, k)
        recording = ri < t_n and rec[ri] == k
        if k % check_every == 0 or k == steps or recording:
            x = div.check(x, step=k, max_norm=max_norm)
        done = _hit(k) if hit is not None else False
        if recording:
            _record(ri)
            ri += 1
        if done and stop_when_all_hit:
            x = div.check(x, step=k, max_norm=max_norm)
            break
    return DSGDTrace(
        steps=torch.tensor(rec, dtype=torch.long),
        mean=means,
        disagreement=dis,
        final=div.nan_out(x),
        diverged=div.diverged.clone(),
        diverged_at=div.diverged_at.clone(),
        hit_at=hit_at,
        steps_run=k,
        states=states,
    )


def run_dsgd(
    grad_fn: GradFn,
    lap: torch.Tensor,
    x0: torch.Tensor,
    alpha: PowerSchedule,
    beta: PowerSchedule,
    steps: int,
    noise: NoiseModel,
    *,
    generator: torch.Generator,
    allow_disconnected: bool = False,
    **kwargs: object,
) -> DSGDTrace:
    """D-SGD with the Laplacian consensus step X - beta_k L X (:class:`LaplacianGossip`: ``lap`` (N, N) must be a
    graph Laplacian, c_beta lambda_max(L) < 2, connected unless ``allow_disconnected``); other keyword arguments as
    :func:`run_distributed`."""
    if not isinstance(lap, (torch.Tensor, np.ndarray)):
        raise ValueError(f"lap must be an (N, N) tensor or array, got {type(lap).__name__}")
    if isinstance(x0, torch.Tensor) and x0.ndim == 3 and tuple(lap.shape) != (x0.shape[1], x0.shape[1]):
        n = x0.shape[1]
        raise ValueError(f"lap must have shape (N, N) = ({n}, {n}) matching x0's agents, got {tuple(lap.shape)}")
    mixing = LaplacianGossip(lap, beta, allow_disconnected=allow_disconnected)
    return run_distributed(grad_fn, mixing, x0, alpha, steps, noise, generator=generator, **kwargs)  # type: ignore[arg-type]


def component_means(x: torch.Tensor, lap: torch.Tensor) -> list[tuple[list[int], torch.Tensor]]:
    """For each connected component C of the graph, (C, mean over agents in C of x) with x (R, N, d)."""
    if x.ndim != 3 or tuple(lap.shape) != (x.shape[1], x.shape[1]):
        raise ValueError(f"x must be (R, N, d) and lap (N, N); got {tuple(x.shape)} and {tuple(lap.shape)}")
    comps = components(lap.detach().to("cpu", torch.float64).numpy())
    return [(c, x[:, c, :].mean(dim=1)) for c in comps]


def per_agent_loop_dsgd(
    grad_one: Callable[[int, torch.Tensor], torch.Tensor],
    neighbours: Sequence[Sequence[int]],
    x0: torch.Tensor,
    alpha: PowerSchedule,
    beta: PowerSchedule,
    steps: int,
    sigma: float,
    *,
    generator: torch.Generator,
) -> torch.Tensor:
    """Reference / baseline: the loop a researcher would write (one run, one agent at a time, neighbour sums in
    Python), isotropic noise. x0 (N, d); returns the final state (N, d). Used by tests and benchmarks only."""
    IsotropicNoise(sigma)  # validates sigma
    steps = _int(steps, "steps", 0)
    if x0.ndim != 2 or len(neighbours) != x0.shape[0]:
        raise ValueError(f"x0 must be (N, d) with one neighbour list per agent, got {tuple(x0.shape)} and "
                         f"{len(neighbours)} lists")  # fmt: skip
    x = x0.clone()
    n = x.shape[0]
    for k in range(1, steps + 1):
        a_k, b_k = alpha(k), beta(k)
        new = []
        for i in range(n):
            lx = sum((x[i] - x[j] for j in neighbours[i]), torch.zeros_like(x[i]))
            xi = sigma * torch.randn(x.shape[1], generator=generator, dtype=x.dtype, device=x.device)
            new.append(x[i] - b_k * lx - a_k * (grad_one(i, x[i]) + xi))
        x = torch.stack(new)
    return x
