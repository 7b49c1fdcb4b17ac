"""Aggregation weights, their expectations ``E[omega_i]`` and the surrogate weights ``q`` (exact rationals).

With ``omega_i(n) = d_i 1[i in S_n]`` and ``r_i`` the long-run fraction of aggregations in which client ``i``
participates (its stationary rate), the paper's theory (Fraboni et al. 2023) says that the server optimises the
surrogate objective
    L^q(theta) = sum_i q_i L_i(theta),        q_i = E[omega_i] / sum_j E[omega_j],        E[omega_i] = d_i r_i,
so the federated objective ``sum_i p_i L_i`` is optimised only when ``E[omega_i]`` is proportional to ``p_i``.
The stationary rates, from the exact schedules of :mod:`theory.federated.schedule`:

- FedAvg: ``r_i = 1``;
- Async: client ``i`` returns exactly at ``k tau_i``, so over ``[0, T]`` it makes ``floor(T/tau_i)`` of the
  ``sum_j floor(T/tau_j)`` aggregations: ``r_i = (1/tau_i) / sum_j (1/tau_j)``;
- FedFix-dt: client ``i`` participates every ``k_i = ceil(tau_i/dt)`` rounds (integer ceiling of a rational):
  ``r_i = 1/k_i``;
- FedBuff-c: no closed form; the schedule is eventually periodic (:func:`~theory.federated.schedule.fedbuff_cycle`)
  and ``r_i`` is the count of client ``i`` over one period divided by the period (``sum_i r_i = c``).

Hence ``E[omega_i] = p_i`` for FedAvg (``d_i = p_i``), corrected Async (``d_i = (sum_j 1/tau_j) tau_i p_i``), FedFix
(``d_i = k_i p_i``) and corrected FedBuff (``d_i = p_i / r_i``); identical weights give ``q_i`` proportional to
``r_i`` (Async: to ``1/tau_i``; FedBuff: to the participation counts).
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from functools import lru_cache

from .client_times import Rational, as_fraction, check_times, exact_ceil
from .schedule import fedbuff_cycle
from .schemes import Scheme


def check_importance(p: Sequence[Rational | float] | None, n_clients: int) -> tuple[Fraction, ...]:
    """Client importances ``p_i >= 0`` summing to 1 (exact); ``None`` means uniform ``1/M``."""
    if p is None:
        return tuple(Fraction(1, n_clients) for _ in range(n_clients))
    pp = tuple(as_fraction(x, "p") for x in p)
    if len(pp) != n_clients:
        raise ValueError(f"p must have one entry per client ({n_clients}), got {len(pp)}")
    if min(pp) < 0 or sum(pp) != 1:
        raise ValueError(f"p must be non-negative and sum to 1 exactly, got sum {sum(pp)}")
    return pp


def fedfix_periods(tau: Sequence[Rational | float], dt: Rational | float) -> tuple[int, ...]:
    """``k_i = ceil(tau_i / dt)``: the number of FedFix rounds between two participations of client ``i``."""
    t = check_times(tau)
    d = as_fraction(dt, "dt")
    if d <= 0:
        raise ValueError(f"dt must be > 0, got {dt!r}")
    return tuple(exact_ceil(x / d) for x in t)


@lru_cache(maxsize=64)
def _fedbuff_rates(tau: tuple[Fraction, ...], c: int) -> tuple[Fraction, ...]:
    _, period, counts = fedbuff_cycle(tau, c)
    return tuple(Fraction(int(k), period) for k in counts)


def stationary_rates(scheme: Scheme, tau: Sequence[Rational | float]) -> tuple[Fraction, ...]:
    """``r_i``: the long-run fraction of aggregations in which client ``i`` participates (exact; see module doc)."""
    t = check_times(tau)
    if scheme.kind == "fedavg":
        return tuple(Fraction(1) for _ in t)
    if scheme.kind == "async":
        s = sum(1 / x for x in t)
        return tuple((1 / x) / s for x in t)
    if scheme.kind == "fedfix":
        assert scheme.dt is not None
        return tuple(Fraction(1, k) for k in fedfix_periods(t, scheme.dt))
    assert scheme.c is not None
    if scheme.c > len(t):
        raise ValueError(f"FedBuff's c must be <= n_clients = {len(t)}, got {scheme.c}")
    return _fedbuff_rates(t, scheme.c)


def aggregation_weights(scheme: Scheme, tau: Sequence[Rational | float],
                        p: Sequence[Rational | float] | None = None) -> tuple[Fraction, ...]:
    """The weights ``d_i`` the server gives client ``i``'s update (table in :mod:`theory.federated.schemes`)."""
    t = check_times(tau)
    pp = check_importance(p, len(t))
    if scheme.kind == "fedavg":
        return pp
    if scheme.kind == "async":
        if not scheme.corrected:
            return tuple(Fraction(1) for _ in t)
        s = sum(1 / x for x in t)
        return tuple(s * x * pi for x, pi in zip(t, pp))
    if scheme.kind == "fedfix":
        assert scheme.dt is not None
        return tuple(k * pi for k, pi in zip(fedfix_periods(t, scheme.dt), pp))
    assert scheme.c is not None
    if not scheme.corrected:
        return tuple(Fraction(1, scheme.c) for _ in t)
    rates = stationary_rates(scheme, t)
    if min(rates) == 0:
        raise ValueError("a client never participates in FedBuff's periodic regime: no corrected weight exists")
    return tuple(pi / r for pi, r in zip(pp, rates))


def expected_weights(scheme: Scheme, tau: Sequence[Rational | float],
                     p: Sequence[Rational | float] | None = None) -> tuple[Fraction, ...]:
    """``E[omega_i] = d_i r_i`` (long run, exact)."""
    d = aggregation_weights(scheme, tau, p)
    return tuple(a * b for a, b in zip(d, stationary_rates(scheme, tau)))


def surrogate_weights(scheme: Scheme, tau: Sequence[Rational | float],
                      p: Sequence[Rational | float] | None = None) -> tuple[Fraction, ...]:
    """``q_i = E[omega_i] / sum_j E[omega_j]``: the weights of the objective the scheme actually optimises."""
    e = expected_weights(scheme, tau, p)
    s = sum(e)
    if s == 0:
        raise ValueError("all expected weights are zero")
    return tuple(x / s for x in e)


def horizon_expected_weights(d: Sequence[Fraction], counts: Sequence[int], n_steps: int) -> tuple[Fraction, ...]:
    """``E[omega_i]`` over a finite schedule: ``d_i count_i / N`` (``n`` uniform over the ``N`` aggregations)."""
    if n_steps <= 0:
        raise ValueError(f"n_steps must be >= 1, got {n_steps}")
    if len(d) != len(counts):
        raise ValueError(f"d and counts must have the same length, got {len(d)} and {len(counts)}")
    return tuple(Fraction(a) * int(k) / n_steps for a, k in zip(d, counts))


def max_bias(q: Sequence[Fraction], p: Sequence[Fraction]) -> Fraction:
    """``max_i |q_i - p_i|``."""
    if len(q) != len(p):
        raise ValueError(f"q and p must have the same length, got {len(q)} and {len(p)}")
    return max(abs(a - b) for a, b in zip(q, p))
