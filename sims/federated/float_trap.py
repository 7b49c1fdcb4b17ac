"""What floating-point client times do to FedFix: the trap in the authors' simulator, next to the exact periods.

The reference simulator (Accenture/Labs-Federated-Learning, branch asynchronous_FL) computes, in float64,
``tau_i = 1 - i X/100/(M-1)``, FedFix's weights ``d_i = ceil(tau_i/dt) p_i`` with a float ceiling, and its schedule
by comparing float return times ``(n+1) dt + tau_i`` with ``(m+1) dt``. When ``tau_i/dt`` is an integer ``k`` in
exact arithmetic, float rounding can give ``ceil = k + 1`` (``0.2/0.2`` computed as ``1.0000000000000002``), and
the float comparisons can make the client miss a round now and then. This module replays that arithmetic
(numpy float64, written from the description above) to measure ``E[omega_i] / p_i`` for comparison with the exact
value 1 (:mod:`theory.federated.weights`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]


@dataclass(frozen=True)
class FloatFedFix:
    """Float periods ``ceil(tau/dt)``, participation counts over ``N`` rounds, ``E[omega_i]/p_i = k_i count_i / N``."""

    tau: Array
    periods: npt.NDArray[np.int64]
    counts: npt.NDArray[np.int64]
    n_rounds: int

    @property
    def ratio(self) -> Array:
        """``E[omega_i] / p_i`` under the float weights and the float schedule (exact arithmetic gives 1)."""
        return self.periods * self.counts / self.n_rounds


def float_fedfix(n_clients: int, slower_pct: float, dt: float, horizon: float) -> FloatFedFix:
    """Replay FedFix-``dt`` in float64 over ``N = int(horizon/dt)`` rounds (see module doc)."""
    if isinstance(n_clients, bool) or not isinstance(n_clients, int) or n_clients < 2:
        raise ValueError(f"n_clients must be an integer >= 2, got {n_clients!r}")
    if not (np.isfinite(slower_pct) and 0 <= slower_pct < 100):
        raise ValueError(f"slower_pct must be in [0, 100), got {slower_pct!r}")
    if not (np.isfinite(dt) and dt > 0) or not (np.isfinite(horizon) and horizon >= dt):
        raise ValueError(f"dt must be > 0 and horizon >= dt, got {dt!r}, {horizon!r}")
    tau = np.array([1 - i * slower_pct / 100 / (n_clients - 1) for i in range(n_clients)])
    periods = np.ceil(tau / dt).astype(np.int64)
    ret = tau.copy()
    counts = np.zeros(n_clients, dtype=np.int64)
    n_rounds = int(horizon / dt)
    for n in range(n_rounds):
        now = (n + 1) * dt
        who = ret <= now
        ret[who] = now + tau[who]
        counts += who
    return FloatFedFix(tau, periods, counts, n_rounds)
