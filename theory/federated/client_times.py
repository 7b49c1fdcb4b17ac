"""Client computation times of the "F-X" scenario, as exact rationals.

Fraboni et al. (JMLR 2023, arXiv 2206.10189) give client ``i`` (``i = 0..M-1``) the time
    tau_i = 1 - i (X / 100) / (M - 1),
so the slowest client needs one time unit and the fastest ``1 - X/100`` ("the fastest is X% faster"). Everything
here is a :class:`fractions.Fraction`: periods and ceilings computed from these times are exact (no float
rounding; see :mod:`sims.federated.float_trap` for what a float ceiling does to them).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction

Rational = int | str | Fraction


def as_fraction(x: Rational | float, name: str) -> Fraction:
    """``x`` as an exact Fraction. Floats are read through their shortest decimal repr (``0.2`` -> ``1/5``), which
    is the number the user typed; NaN/inf raise a ValueError naming ``name``."""
    if isinstance(x, bool):
        raise ValueError(f"{name} must be a number, got {x!r}")
    if isinstance(x, float):
        if not math.isfinite(x):
            raise ValueError(f"{name} must be finite, got {x!r}")
        return Fraction(repr(x))
    try:
        return Fraction(x)
    except (TypeError, ValueError, ZeroDivisionError) as e:
        raise ValueError(f"{name} must be an int, a decimal string or a Fraction, got {x!r}") from e


def client_times(n_clients: int, slower_pct: Rational | float) -> tuple[Fraction, ...]:
    """``tau_i = 1 - i (X/100)/(M - 1)`` for ``i = 0..M-1`` (exact). ``M >= 1``, ``0 <= X < 100`` (X = 100 would
    give the fastest client a zero time). With ``M = 1`` the single client has ``tau_0 = 1``."""
    if isinstance(n_clients, bool) or not isinstance(n_clients, int) or n_clients < 1:
        raise ValueError(f"n_clients must be an integer >= 1, got {n_clients!r}")
    x = as_fraction(slower_pct, "slower_pct")
    if not (0 <= x < 100):
        raise ValueError(f"slower_pct must be in [0, 100), got {slower_pct!r}")
    if n_clients == 1:
        return (Fraction(1),)
    return tuple(1 - Fraction(i) * x / (100 * (n_clients - 1)) for i in range(n_clients))


def check_times(tau: Sequence[Rational | float], name: str = "tau") -> tuple[Fraction, ...]:
    """Validate client times: a non-empty sequence of positive exact rationals."""
    t = tuple(as_fraction(x, name) for x in tau)
    if not t:
        raise ValueError(f"{name} must hold at least one client time")
    if min(t) <= 0:
        raise ValueError(f"{name} must be > 0 for every client, got min {min(t)}")
    return t


def common_unit(values: Sequence[Fraction]) -> Fraction:
    """The largest unit ``u = 1/D`` (``D`` the lcm of the denominators) in which every value is an integer."""
    d = 1
    for v in values:
        d = math.lcm(d, v.denominator)
    return Fraction(1, d)


def exact_ceil(x: Fraction) -> int:
    """``ceil(x)`` of a rational, exactly (``-(-a // b)``)."""
    return -(-x.numerator // x.denominator)
