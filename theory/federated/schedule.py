"""Client-time schedules of asynchronous federated learning, simulated exactly in integer time units.

Client ``i`` needs ``tau_i`` time units per local work. A schedule lists the aggregations ``n = 0..N-1``: the time
``t_n`` of each, the clients ``S_n`` whose updates it aggregates, and for each the index ``rho_i(n)`` of the server
model that client started from (the model it was sent after its previous participation; ``0`` at the start).
Staleness is ``n - rho_i(n)``. Every client starts at time 0 on model 0. All times are multiples of one exact
unit ``u = 1/D`` (``D`` the lcm of the denominators of the ``tau_i``, ``dt``, ``T``), so every comparison and
ceiling is integer arithmetic: no floating-point rounding decides who participates.

Semantics (those of the authors' simulator, Accenture/Labs-Federated-Learning, branch asynchronous_FL):

- ``FedAvg``: aggregation ``n`` at ``(n+1) max_j tau_j``; all clients, ``rho_i(n) = n``; ``N = floor(T / max tau)``.
- ``Async``: one aggregation per client return, in time order (ties: lower client index first); the client restarts
  at once from the new model; returns up to time ``T`` included.
- ``FedFix-dt``: aggregation ``n`` at ``(n+1) dt`` takes every client that returned at or before it; those restart
  at ``(n+1) dt``; ``N = floor(T / dt)``. Client ``i`` therefore participates every ``ceil(tau_i/dt)`` rounds.
- ``FedBuff-c``: an aggregation takes the ``c`` earliest returns (ties: lower index first) at the time of the
  latest of them; those clients restart then (they wait for the new model); aggregations up to time ``T`` (the
  authors' loop also makes one last aggregation whose ``c``-th return falls after ``T``; the suite does not).
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import numpy.typing as npt

from .client_times import Rational, as_fraction, check_times, common_unit
from .schemes import Scheme

IntArray = npt.NDArray[np.int64]
_MAX_EVENTS = 50_000_000


@dataclass(frozen=True)
class Schedule:
    """Aggregations in compressed rows: aggregation ``n`` holds ``clients[offsets[n]:offsets[n+1]]`` with start
    models ``rho[offsets[n]:offsets[n+1]]``; its time is ``times[n] * unit`` (exact)."""

    scheme: Scheme
    tau: tuple[Fraction, ...]
    unit: Fraction
    times: IntArray
    offsets: IntArray
    clients: IntArray
    rho: IntArray

    @property
    def n_clients(self) -> int:
        return len(self.tau)

    @property
    def n_steps(self) -> int:
        return int(self.times.size)

    def step_times(self) -> npt.NDArray[np.float64]:
        """Aggregation times as float64 (for plots; the exact ones are ``times * unit``)."""
        return self.times.astype(np.float64) * float(self.unit)

    def counts(self) -> IntArray:
        """Participations of each client over the schedule."""
        return np.bincount(self.clients, minlength=self.n_clients).astype(np.int64)

    def staleness(self) -> IntArray:
        """``n - rho_i(n)`` of every participation, in the order of ``clients``."""
        steps = np.repeat(np.arange(self.n_steps, dtype=np.int64), np.diff(self.offsets))
        return steps - self.rho

    def rates(self) -> tuple[Fraction, ...]:
        """Participations of each client per aggregation over the horizon, ``count_i / N`` (exact)."""
        if self.n_steps == 0:
            raise ValueError("the schedule has no aggregation before T; increase T")
        return tuple(Fraction(int(k), self.n_steps) for k in self.counts())

    def dense(self) -> tuple[npt.NDArray[np.bool_], IntArray]:
        """``(mask [N, M], rho [N, M])`` with ``rho = -1`` where a client does not participate."""
        mask = np.zeros((self.n_steps, self.n_clients), dtype=bool)
        rho = np.full((self.n_steps, self.n_clients), -1, dtype=np.int64)
        steps = np.repeat(np.arange(self.n_steps), np.diff(self.offsets))
        mask[steps, self.clients] = True
        rho[steps, self.clients] = self.rho
        return mask, rho


def _to_units(tau: tuple[Fraction, ...], extra: Sequence[Fraction]) -> tuple[Fraction, list[int], list[int]]:
    unit = common_unit(list(tau) + list(extra))
    return unit, [int(t / unit) for t in tau], [int(x / unit) for x in extra]


def _pack(scheme: Scheme, tau: tuple[Fraction, ...], unit: Fraction, times: list[int],
          rows: list[list[tuple[int, int]]]) -> Schedule:
    offsets = np.zeros(len(rows) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(r) for r in rows])
    flat = [x for r in rows for x in r]
    clients = np.array([c for c, _ in flat], dtype=np.int64)
    rho = np.array([r for _, r in flat], dtype=np.int64)
    return Schedule(scheme, tau, unit, np.array(times, dtype=np.int64), offsets, clients, rho)


def build_schedule(scheme: Scheme, tau: Sequence[Rational | float], horizon: Rational | float) -> Schedule:
    """The exact schedule of ``scheme`` for client times ``tau`` over the time horizon ``T = horizon``."""
    if not isinstance(scheme, Scheme):
        raise ValueError(f"scheme must be a Scheme (see parse_scheme), got {scheme!r}")
    t = check_times(tau)
    T = as_fraction(horizon, "horizon")
    if T <= 0:
        raise ValueError(f"horizon must be > 0, got {horizon!r}")
    M = len(t)
    if scheme.kind == "fedbuff" and scheme.c is not None and scheme.c > M:
        raise ValueError(f"FedBuff's c must be <= n_clients = {M}, got {scheme.c}")
    extra = [T] + ([scheme.dt] if scheme.dt is not None else [])
    unit, tu, (Tu, *rest) = _to_units(t, extra)
    rate_bound = sum(Fraction(1) / x for x in t) * T
    if rate_bound > _MAX_EVENTS:
        raise ValueError(f"horizon too long: about {int(rate_bound)} client returns (limit {_MAX_EVENTS})")
    times: list[int] = []
    rows: list[list[tuple[int, int]]] = []
    if scheme.kind == "fedavg":
        step = max(tu)
        for n in range(Tu // step):
            times.append((n + 1) * step)
            rows.append([(i, n) for i in range(M)])
    elif scheme.kind == "async":
        heap = [(tu[i], i) for i in range(M)]
        heapq.heapify(heap)
        sent = [0] * M
        while heap[0][0] <= Tu:
            now, i = heapq.heappop(heap)
            n = len(times)
            times.append(now)
            rows.append([(i, sent[i])])
            sent[i] = n + 1
            heapq.heappush(heap, (now + tu[i], i))
    elif scheme.kind == "fedfix":
        dtu = rest[0]
        ret = np.array(tu, dtype=np.int64)
        tu_a = ret.copy()
        sent_a = np.zeros(M, dtype=np.int64)
        for n in range(Tu // dtu):
            now = (n + 1) * dtu
            idx = np.flatnonzero(ret <= now)
            times.append(now)
            rows.append(list(zip(idx.tolist(), sent_a[idx].tolist())))
            ret[idx] = now + tu_a[idx]
            sent_a[idx] = n + 1
    else:  # fedbuff
        c = int(scheme.c)  # type: ignore[arg-type]
        heap = [(tu[i], i) for i in range(M)]
        heapq.heapify(heap)
        sent = [0] * M
        while True:
            got = [heapq.heappop(heap) for _ in range(c)]
            now = max(x for x, _ in got)
            if now > Tu:
                break
            n = len(times)
            times.append(now)
            rows.append(sorted((i, sent[i]) for _, i in got))
            for _, i in got:
                sent[i] = n + 1
                heapq.heappush(heap, (now + tu[i], i))
    return _pack(scheme, t, unit, times, rows)


def fedbuff_cycle(tau: Sequence[Rational | float], c: int, max_steps: int = 1_000_000) -> tuple[int, int, IntArray]:
    """The periodic regime of FedBuff-``c``: the state after an aggregation is the vector of residual times
    ``return_i - t_n`` (integers in the common unit); the dynamics is deterministic, so once a state repeats the
    schedule is periodic. Returns ``(first, period, counts)``: the state after aggregation ``first`` recurs after
    ``period`` more aggregations, in which client ``i`` participates ``counts[i]`` times. Raises a ValueError if no
    state repeats within ``max_steps`` aggregations."""
    t = check_times(tau)
    M = len(t)
    if isinstance(c, bool) or not isinstance(c, int) or not 1 <= c <= M:
        raise ValueError(f"c must be an integer in [1, n_clients={M}], got {c!r}")
    unit, tu, _ = _to_units(t, [])
    heap = [(tu[i], i) for i in range(M)]
    heapq.heapify(heap)
    seen: dict[tuple[int, ...], int] = {}
    history: list[list[int]] = []
    ret = list(tu)
    now = 0
    for n in range(max_steps + 1):
        key = tuple(r - now for r in ret)
        if key in seen:
            first = seen[key]
            counts = np.zeros(M, dtype=np.int64)
            for row in history[first:n]:
                counts[row] += 1
            return first, n - first, counts
        seen[key] = n
        got = [heapq.heappop(heap) for _ in range(c)]
        now = max(x for x, _ in got)
        row = [i for _, i in got]
        for i in row:
            ret[i] = now + tu[i]
            heapq.heappush(heap, (ret[i], i))
        history.append(row)
    raise ValueError(f"no periodic regime found within max_steps={max_steps} aggregations")
