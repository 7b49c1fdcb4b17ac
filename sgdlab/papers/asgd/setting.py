"""The problem every asgd config shares: spectrum ``lam_i = i^-a`` (d directions), noise ``sigma2``, and ASGD's
parameters from the AccSGD mapping of ``(lr = lr_scale / tr H, kappa, xi, c)``."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from theory.linreg.parameters import AsgdParams, accsgd_to_asgd
from theory.linreg.problem import power_law_spectrum

PAPER = "asgd"


@dataclass(frozen=True)
class Setting:
    """The paper's experiment: ``lam_i = i^-a``, ``sigma2``, AccSGD parameters with ``lr = lr_scale / tr H``."""

    d: int = 2000
    a: float = 2.0
    sigma2: float = 0.01
    lr_scale: float = 1.0 / 3.0
    kappa: float = 200.0
    xi: float = 5.0
    c: float = 0.7

    def lam(self) -> np.ndarray:
        return power_law_spectrum(self.d, self.a)

    def params(self) -> AsgdParams:
        return accsgd_to_asgd(self.lr_scale / float(self.lam().sum()), self.kappa, self.xi, self.c)

    def describe(self) -> str:
        """``d=2000, lambda_i = i^-2, sigma^2 = 0.01`` (for notes)."""
        return f"d={self.d}, lambda_i = i^-{self.a:g}, sigma^2 = {self.sigma2:g}"

    def tex(self) -> str:
        """The same for figure titles (mathtext)."""
        return f"$d={self.d}$, $\\lambda_i = i^{{-{self.a:g}}}$, $\\sigma^2 = {self.sigma2:g}$"


def setting_of(cfg: Any) -> Setting:
    """The problem part of a config (every config with these fields; extra fields ignored)."""
    return Setting(**{f.name: getattr(cfg, f.name) for f in fields(Setting)})
