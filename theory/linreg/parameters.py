"""ASGD's parameters (Jain, Kakade, Kidambi, Netrapalli, Sidford 2018) and the AccSGD code's parameterisation.

ASGD, ``G_t(u) = x_t (x_t^T u - y_t)``, ``w_0 = v_0``::

    u_{t-1} = alpha w_{t-1} + (1 - alpha) v_{t-1}
    w_t     = u_{t-1} - delta G_t(u_{t-1})                       (short step delta)
    v_t     = beta u_{t-1} + (1 - beta) v_{t-1} - gamma G_t(u_{t-1})  (long step gamma)

SGD with step ``eta`` is ``(alpha, beta, gamma, delta) = (1, 1, 0, eta)`` (then ``v_t = w_{t-1}``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .checks import Array, check_real, check_spectrum


@dataclass(frozen=True)
class AsgdParams:
    """Jain et al.'s four parameters: momentum mixing ``alpha in (0, 1]``, ``beta in [0, 1]``, long step
    ``gamma >= 0``, short step ``delta > 0`` (all finite real numbers; stored as floats)."""

    alpha: float
    beta: float
    gamma: float
    delta: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "alpha", check_real(self.alpha, "alpha", 0.0, 1.0, lo_open=True))
        object.__setattr__(self, "beta", check_real(self.beta, "beta", 0.0, 1.0))
        object.__setattr__(self, "gamma", check_real(self.gamma, "gamma", 0.0, math.inf))
        object.__setattr__(self, "delta", check_real(self.delta, "delta", 0.0, math.inf, lo_open=True))

    @property
    def q(self) -> Array:
        """Step vector ``q = (delta, gamma)``."""
        return np.array([self.delta, self.gamma])

    @property
    def p(self) -> Array:
        """Mixing vector ``p = (alpha, 1 - alpha)`` (``u = p^T (w, v)``)."""
        return np.array([self.alpha, 1.0 - self.alpha])

    @property
    def C(self) -> Array:
        """Noise-free, gradient-free part ``C = [[alpha, 1-alpha], [alpha beta, 1 - alpha beta]]``."""
        a, b = self.alpha, self.beta
        return np.array([[a, 1.0 - a], [a * b, 1.0 - a * b]])

    def scaled(self, factor: float) -> AsgdParams:
        """Same ``alpha, beta``, both steps ``gamma, delta`` multiplied by ``factor > 0``."""
        f = check_real(factor, "factor", 0.0, lo_open=True)
        return AsgdParams(self.alpha, self.beta, self.gamma * f, self.delta * f)


def check_params(params: object, name: str = "params") -> AsgdParams:
    """``params`` if it is an :class:`AsgdParams`, else a ValueError saying how to make one."""
    if not isinstance(params, AsgdParams):
        raise ValueError(f"{name} must be an AsgdParams (see accsgd_to_asgd, sgd_as_asgd), got {type(params).__name__}")
    return params


def accsgd_to_asgd(lr: float, kappa: float, xi: float, c: float = 0.7) -> AsgdParams:
    """Map the AccSGD code parameterisation ``(lr, kappa, xi, c)`` (Kidambi et al. 2018) to Jain et al.'s.

    ``delta = lr, beta = c^2 xi / kappa, gamma = c xi delta, alpha = c / (c + beta)`` (read from the AccSGD update:
    its buffer is ``v``, its parameter is the extrapolated point ``u``). Requires ``c^2 xi <= kappa``.
    """
    lr = check_real(lr, "lr", 0.0, lo_open=True)
    kappa = check_real(kappa, "kappa", 0.0, lo_open=True)
    xi = check_real(xi, "xi", 0.0, lo_open=True)
    c = check_real(c, "c", 0.0, lo_open=True)
    beta = c * c * xi / kappa
    if beta > 1.0:
        raise ValueError(f"kappa must be >= c^2 xi = {c * c * xi:g} so that beta = c^2 xi / kappa <= 1, got {kappa}")
    return AsgdParams(alpha=c / (c + beta), beta=beta, gamma=c * xi * lr, delta=lr)


def sgd_as_asgd(eta: float) -> AsgdParams:
    """SGD with step ``eta > 0`` as an ASGD instance: ``(alpha, beta, gamma, delta) = (1, 1, 0, eta)``."""
    return AsgdParams(alpha=1.0, beta=1.0, gamma=0.0, delta=check_real(eta, "eta", 0.0, lo_open=True))


def paper_params(lam: npt.ArrayLike, kappa: float = 200.0, xi: float = 5.0, c: float = 0.7) -> AsgdParams:
    """The suite's reference ASGD setting: AccSGD mapping with ``lr = delta = 1 / (3 tr H)``."""
    lam_ = check_spectrum(lam)
    return accsgd_to_asgd(1.0 / (3.0 * float(lam_.sum())), kappa, xi, c)
