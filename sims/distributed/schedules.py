"""Step-size schedules of distributed SGD: alpha_k = c_alpha k^-tau_alpha (gradient), beta_k = c_beta k^-tau_beta
(consensus), for steps k = 1, 2, ... (Swenson, Murray, Poor, Kar, JMLR 2022)."""

from __future__ import annotations

import math
from dataclasses import dataclass


def _number(x: object) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


@dataclass(frozen=True)
class PowerSchedule:
    """Step size c k^-tau for k >= 1 (``name`` only labels error messages: alpha, beta, ...)."""

    c: float
    tau: float
    name: str = "alpha"

    def __post_init__(self) -> None:
        if not (_number(self.c) and math.isfinite(self.c) and self.c > 0):
            raise ValueError(f"c_{self.name} must be a finite number > 0, got {self.c!r}")
        if not (_number(self.tau) and math.isfinite(self.tau) and 0 <= self.tau <= 2):
            raise ValueError(f"tau_{self.name} must be a number in [0, 2], got {self.tau!r}")

    def __call__(self, k: int) -> float:
        """c k^-tau (k >= 1)."""
        if k < 1:
            raise ValueError(f"k must be >= 1 (steps are numbered from 1), got {k!r}")
        return self.c * float(k) ** (-self.tau)
