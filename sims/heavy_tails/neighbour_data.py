"""Neighbouring regression datasets for algorithmic-stability experiments (numpy, float64, seeded by the caller).

Per replicate j: a ground truth theta*_j ~ N(0, I_d), a pool of n_max points a_i ~ N(0, I_d),
y_i = <a_i, theta*_j> + noise_y eps_i, and a replacement point (a', y') drawn the same way. For a size n the two
neighbouring datasets are S = (first n - 1 pool points, pool point n_max) and S' = (first n - 1 pool points, (a', y')):
they differ in exactly one point, and the datasets for different n are nested (the same pool).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class NeighbourPools:
    """pools X (J, n_max, d), y (J, n_max); replacement points a2 (J, d), y2 (J,)."""

    X: npt.NDArray[np.float64]
    y: npt.NDArray[np.float64]
    a2: npt.NDArray[np.float64]
    y2: npt.NDArray[np.float64]

    @property
    def n_max(self) -> int:
        return int(self.X.shape[1])

    def datasets(self, n: int) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """The 2J datasets of size n: X (2J, n, d), y (2J, n); rows 0..J-1 are S_j, rows J..2J-1 are S'_j."""
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= n <= self.n_max:
            raise ValueError(f"n must be an integer in [1, {self.n_max}], got {n!r}")
        J, _, d = self.X.shape
        Xs, ys = np.empty((2 * J, n, d)), np.empty((2 * J, n))
        Xs[:, : n - 1] = np.concatenate([self.X[:, : n - 1]] * 2)
        ys[:, : n - 1] = np.concatenate([self.y[:, : n - 1]] * 2)
        Xs[:J, n - 1], ys[:J, n - 1] = self.X[:, -1], self.y[:, -1]
        Xs[J:, n - 1], ys[J:, n - 1] = self.a2, self.y2
        return Xs, ys


def neighbour_pools(rng: np.random.Generator, *, replicates: int, n_max: int, d: int,
                    noise_y: float) -> NeighbourPools:  # fmt: skip
    """Draw the pools (see the module docstring); the draws per replicate are in the order theta*, X, y noise, a', y'
    noise, so that a replicate's data do not depend on how many replicates are drawn."""
    for name, v, lo in (("replicates", replicates, 1), ("n_max", n_max, 2), ("d", d, 1)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
            raise ValueError(f"{name} must be an integer >= {lo}, got {v!r}")
    if isinstance(noise_y, bool) or not isinstance(noise_y, (int, float)) or not (
            math.isfinite(noise_y) and noise_y >= 0):
        raise ValueError(f"noise_y must be a finite number >= 0, got {noise_y!r}")
    if replicates * n_max * d > 10**9:
        raise ValueError(f"replicates * n_max * d = {replicates * n_max * d} exceeds 1e9 entries: refused")
    X = np.empty((replicates, n_max, d))
    y = np.empty((replicates, n_max))
    a2 = np.empty((replicates, d))
    y2 = np.empty(replicates)
    for j in range(replicates):
        ts = rng.standard_normal(d)
        X[j] = rng.standard_normal((n_max, d))
        y[j] = X[j] @ ts + noise_y * rng.standard_normal(n_max)
        a2[j] = rng.standard_normal(d)
        y2[j] = a2[j] @ ts + noise_y * rng.standard_normal()
    return NeighbourPools(X, y, a2, y2)
