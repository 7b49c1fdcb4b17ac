"""Byzantine attacks on the honest half-step parameters, batched over runs: ``honest`` (R, h, d) -> (R, d), the
vector all ``f`` Byzantine workers send (omniscient attacker, same vector to every honest worker).

- ``sign_flip``: ``-mean``;  ``ipm(tau)`` (byzfl's InnerProductManipulation): ``-tau mean``;
- ``foe(k)`` (fall of empires, Xie et al. 2020): ``(1 - k) mean`` (= ``ipm(k - 1)``);
- ``alie(k)`` (a little is enough, Baruch et al. 2019): ``mean + k std`` (coordinate-wise, unbiased std);
- ``mimic``: a copy of honest worker ``target``'s vector;
- label flipping is not a function of the honest vectors (the Byzantine workers run the honest step on flipped
  labels): see :mod:`sims.distributed.byzantine`.

``line_maximize`` chooses the factor per run as in the reference implementations (byzfl's Optimal_* attacks and the
authors' code): from ``start`` expand with step ``delta`` (doubling) while the objective grows, then contract the step
by ``ratio`` for the remaining evaluations, keeping the best (steps only go forward from the best point, so an
overshoot is never refined backwards); ``evals`` objective evaluations in all. Batched: every run
keeps its own state.
"""

from __future__ import annotations

from collections.abc import Callable

import torch


def _check(honest: torch.Tensor) -> None:
    if honest.ndim != 3:
        raise ValueError(f"honest must have shape (R, h, d), got {tuple(honest.shape)}")
    if not torch.isfinite(honest).all():
        raise ValueError("honest must be finite (NaN/inf rejected)")


def _factor(x: float | torch.Tensor, honest: torch.Tensor) -> torch.Tensor:
    t = torch.as_tensor(x, dtype=honest.dtype, device=honest.device)
    return t.reshape(-1, 1) if t.ndim == 1 else t


def sign_flip(honest: torch.Tensor) -> torch.Tensor:
    _check(honest)
    return -honest.mean(dim=1)


def ipm(honest: torch.Tensor, tau: float | torch.Tensor = 2.0) -> torch.Tensor:
    _check(honest)
    return -_factor(tau, honest) * honest.mean(dim=1)


def foe(honest: torch.Tensor, k: float | torch.Tensor = 3.0) -> torch.Tensor:
    _check(honest)
    return (1.0 - _factor(k, honest)) * honest.mean(dim=1)


def alie(honest: torch.Tensor, k: float | torch.Tensor = 1.5) -> torch.Tensor:
    _check(honest)
    if honest.shape[1] < 2:
        raise ValueError("alie needs at least 2 honest vectors (unbiased std)")
    return honest.mean(dim=1) + _factor(k, honest) * honest.std(dim=1, unbiased=True)


def mimic(honest: torch.Tensor, target: int = 0) -> torch.Tensor:
    _check(honest)
    if not 0 <= target < honest.shape[1]:
        raise ValueError(f"target must be in [0, {honest.shape[1]}), got {target}")
    return honest[:, target].clone()


ATTACKS: dict[str, Callable[..., torch.Tensor]] = {"sign_flip": sign_flip, "ipm": ipm, "foe": foe, "alie": alie,
                                                   "mimic": mimic}


def line_maximize(objective: Callable[[torch.Tensor], torch.Tensor], R: int, *, start: float = 0.0,
                  delta: float = 1.0, evals: int = 16, ratio: float = 0.8, dtype: torch.dtype = torch.float64,
                  device: str | torch.device = "cpu") -> torch.Tensor:
    """Per-run best-effort argmax (R,) of ``objective(x (R,)) -> (R,)`` (expansion then contraction)."""
    if evals < 1 or delta == 0 or not 0.5 < ratio < 1:
        raise ValueError(f"need evals >= 1, delta != 0, ratio in (0.5, 1); got {evals}, {delta}, {ratio}")
    best_x = torch.full((R,), float(start), dtype=dtype, device=device)
    best_y = objective(best_x)
    step = torch.full((R,), float(delta), dtype=dtype, device=device)
    expanding = torch.ones(R, dtype=torch.bool, device=device)
    for _ in range(evals - 1):
        prop_x = best_x + step
        prop_y = objective(prop_x)
        better = prop_y > best_y
        best_x = torch.where(better, prop_x, best_x)
        best_y = torch.where(better, prop_y, best_y)
        # expansion: double on success, else shrink and switch to contraction; contraction: always shrink
        step = torch.where(expanding & better, 2 * step, ratio * step)
        expanding = expanding & better
    return best_x
