"""Averaged iterates in the exact recursion: per-direction products of the 2x2 transition matrices and the running
tail window.

For ``t' >= t``, ``E[z_i(t') z_i(t)^T] = A_i^(t'-t) M_i(t)``, so the second moment of a sum of iterates is a sum of
geometric series of ``A_i`` applied to ``M_i(t)``; they are accumulated by running sums (cost O(d) per step).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from .checks import Array


def mat2(X: Array, Y: Array) -> Array:
    """Per-direction product of small matrices: (k2, k2, d) x (k2, k2, d) -> (k2, k2, d)."""
    if X.shape[0] == 1:
        return X * Y
    return np.stack([np.stack([X[0, 0] * Y[0, 0] + X[0, 1] * Y[1, 0], X[0, 0] * Y[0, 1] + X[0, 1] * Y[1, 1]]),
                     np.stack([X[1, 0] * Y[0, 0] + X[1, 1] * Y[1, 0], X[1, 0] * Y[0, 1] + X[1, 1] * Y[1, 1]])])


def matvec(X: Array, v: Array) -> Array:
    """Per-direction matrix-vector product: (k2, k2, d) x (B, k2, d) -> (B, k2, d)."""
    if X.shape[0] == 1:
        return X[0, 0][None, None, :] * v
    return np.stack([X[0, 0] * v[:, 0] + X[0, 1] * v[:, 1], X[1, 0] * v[:, 0] + X[1, 1] * v[:, 1]], axis=1)


class TailWindow:
    """Running second moment of ``sum_{t=s}^{N-1} w_t`` with ``s = floor(f N)`` for every N, in O(d) per step.

    Per direction, ``E[(sum_t w_t)^2] = 2 Q - D`` with ``Q = sum_{s<=t<=t'<N} e1^T A^(t'-t) M_t e1`` and
    ``D = sum_t (M_t)_11``. Appending ``t = N`` adds ``r_1`` where ``r = A r + M_N e1``; dropping ``t = s`` removes
    ``e1^T G M_s e1`` with ``G = sum_{k=0}^{N-s} A^k`` and subtracts ``A^(N-s) M_s e1`` from ``r``. Since ``s``
    advances by at most one when N does, the exponent ``N - 1 - s`` never decreases: ``P = A^(N-1-s)`` and
    ``G = sum_{k<=N-1-s} A^k`` are updated by products only (no inverse of A, which is singular for SGD written as
    ASGD). ``M_s`` comes from a second copy of the recursion that lags behind (advanced when s is).
    """

    def __init__(self, fraction: float, A: Array, m0: Array, e1: list[int]) -> None:
        if not 0.0 <= fraction < 1.0:
            raise ValueError(f"fraction must be in [0, 1), got {fraction!r}")
        self.f = fraction
        self.A = A
        self.e1 = e1
        k2, d = A.shape[0], A.shape[2]
        self.s = 0
        self.m_lag = m0.copy()
        self.r = np.zeros((m0.shape[0], k2, d))
        self.Q = np.zeros((m0.shape[0], d))
        self.D = np.zeros((m0.shape[0], d))
        eye = np.zeros((k2, k2, d))
        for i in range(k2):
            eye[i, i] = 1.0
        self.P = eye  # A^0, valid after the first append
        self.G = eye.copy()

    def append(self, t: int, m: Array, step: Callable[[Array], Array]) -> int:
        """Include ``M_t`` (window becomes [s', t + 1)); returns the new window length."""
        me1 = m[:, self.e1, :]
        self.r = matvec(self.A, self.r) + me1
        self.Q += self.r[:, 0, :]
        self.D += m[:, 0, :]
        s_new = int(math.floor(self.f * (t + 1)))
        if t == 0:
            pass  # P = I, G = I already describe the window [0, 1)
        elif s_new == self.s + 1:
            P_tmp = mat2(self.A, self.P)  # A^(t - s)
            G_tmp = self.G + P_tmp  # sum_{k=0}^{t-s} A^k
            ms = self.m_lag[:, self.e1, :]
            self.Q -= matvec(G_tmp, ms)[:, 0, :]
            self.D -= self.m_lag[:, 0, :]
            self.r -= matvec(P_tmp, ms)
            self.m_lag = step(self.m_lag)
            self.s = s_new
        else:
            self.P = mat2(self.A, self.P)
            self.G = self.G + self.P
        return t + 1 - self.s

