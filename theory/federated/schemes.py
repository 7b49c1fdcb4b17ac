"""Aggregation schemes of asynchronous federated learning (Fraboni et al., JMLR 2023, arXiv 2206.10189).

A scheme says *when* the server aggregates and with which *weights* ``d_i``; the server update is
    theta^{n+1} = theta^n + eta_g sum_{i in S_n} d_i (theta_i^{n} - theta^{rho_i(n)}),
with ``S_n`` the clients returning at aggregation ``n`` and ``rho_i(n)`` the index of the server model client ``i``
started from. Writing ``omega_i(n) = d_i 1[i in S_n]``, the paper's stochastic aggregation weight, the schemes are

=================  ===========================================  =======================================
name               aggregation                                  weights ``d_i``
=================  ===========================================  =======================================
``FedAvg``         every ``max_j tau_j`` (all clients, synchr.) ``p_i``
``Async``          at each client return                       ``(sum_j 1/tau_j) tau_i p_i`` (corrected)
``Async-identical``at each client return                       ``1``
``FedFix-dt``      every ``dt`` (clients returned since)        ``ceil(tau_i / dt) p_i``
``FedBuff-c``      when ``c`` clients have returned             ``1 / c`` (identical)
``FedBuff-c-corrected`` same                                    ``p_i / r_i`` (``r_i`` stationary rate)
=================  ===========================================  =======================================
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from .client_times import Rational, as_fraction

KINDS = ("fedavg", "async", "fedfix", "fedbuff")
_PAT = re.compile(r"^(fedavg|async|fedfix|fedbuff)(?:-([0-9]+(?:\.[0-9]+)?(?:/[0-9]+)?))?(?:-(identical|corrected))?$")


@dataclass(frozen=True)
class Scheme:
    """``kind`` in :data:`KINDS`; ``dt`` (FedFix period, exact), ``c`` (FedBuff buffer size), ``corrected``
    (weights chosen so that ``E[omega_i] = p_i``; FedAvg and FedFix are always corrected as in the paper)."""

    kind: str
    dt: Fraction | None = None
    c: int | None = None
    corrected: bool = True

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")
        if self.kind == "fedfix":
            if self.dt is None or not isinstance(self.dt, Fraction) or self.dt <= 0:
                raise ValueError(f"FedFix needs dt > 0 as a Fraction, got {self.dt!r}")
        elif self.dt is not None:
            raise ValueError(f"dt only applies to FedFix, got dt={self.dt!r} for {self.kind}")
        if self.kind == "fedbuff":
            if isinstance(self.c, bool) or not isinstance(self.c, int) or self.c < 1:
                raise ValueError(f"FedBuff needs an integer buffer size c >= 1, got {self.c!r}")
        elif self.c is not None:
            raise ValueError(f"c only applies to FedBuff, got c={self.c!r} for {self.kind}")
        if self.kind in ("fedavg", "fedfix") and not self.corrected:
            raise ValueError(f"{self.kind} has only the corrected weights of the paper")

    @property
    def name(self) -> str:
        """Display name: ``FedAvg``, ``Async``, ``Async-identical``, ``FedFix-0.2``, ``FedBuff-5``, ..."""
        if self.kind == "fedavg":
            return "FedAvg"
        if self.kind == "async":
            return "Async" if self.corrected else "Async-identical"
        if self.kind == "fedfix":
            assert self.dt is not None
            return f"FedFix-{_fmt(self.dt)}"
        return f"FedBuff-{self.c}" + ("-corrected" if self.corrected else "")


def _fmt(x: Fraction) -> str:
    f = float(x)
    return repr(f) if Fraction(repr(f)) == x else str(x)


def fedfix(dt: Rational | float) -> Scheme:
    return Scheme("fedfix", dt=as_fraction(dt, "dt"))


def parse_scheme(name: str) -> Scheme:
    """``"FedAvg"``, ``"Async"``, ``"Async-identical"``, ``"FedFix-0.2"``, ``"FedBuff-5"`` (identical weights, as
    in the paper), ``"FedBuff-5-corrected"`` (case-insensitive)."""
    m = _PAT.match(name.strip().lower()) if isinstance(name, str) else None
    if m is None:
        raise ValueError(f"scheme must look like FedAvg, Async[-identical], FedFix-<dt>, FedBuff-<c>[-corrected], "
                         f"got {name!r}")
    kind, arg, mod = m.groups()
    if kind == "fedavg":
        if arg or mod:
            raise ValueError(f"FedAvg takes no argument, got {name!r}")
        return Scheme("fedavg")
    if kind == "async":
        if arg or mod == "corrected":
            raise ValueError(f"Async takes no argument (Async or Async-identical), got {name!r}")
        return Scheme("async", corrected=mod != "identical")
    if arg is None:
        raise ValueError(f"{kind} needs an argument (FedFix-<dt>, FedBuff-<c>), got {name!r}")
    if kind == "fedfix":
        if mod:
            raise ValueError(f"FedFix has only the corrected weights, got {name!r}")
        return Scheme("fedfix", dt=as_fraction(arg, "dt"))
    if not arg.isdigit():
        raise ValueError(f"FedBuff's buffer size must be an integer, got {name!r}")
    return Scheme("fedbuff", c=int(arg), corrected=mod == "corrected")
