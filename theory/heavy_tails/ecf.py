"""The scale of a symmetric alpha-stable law from empirical characteristic-function values (float64).

For X of law (S) (theory.heavy_tails.stable), E cos(tX) = phi = exp(-(c t)^alpha), so c = (-log phi)^(1/alpha) / t.
Given independent per-run means m_r of cos(t X) (time averages along R independent chains), phi is estimated by their
mean with standard error std(m)/sqrt(R), and c's standard error follows by the delta method:
se_c = c se_phi / (alpha phi |log phi|). cos is bounded, so the standard error exists for every alpha.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from theory.heavy_tails.checks import check_alpha, check_positive, finite_array


@dataclass(frozen=True)
class EcfScale:
    """Scale c and its se, the estimated phi and its se, and how many runs (finite values) it rests on."""

    scale: float
    se: float
    phi: float
    se_phi: float
    runs: int


def stable_scale_from_ecf(cos_means: npt.ArrayLike, t: float, alpha: float) -> EcfScale:
    """Scale estimate from per-run means of cos(t X) (NaN entries, e.g. diverged runs, are dropped; at least 2 must
    remain). The scale is NaN when the estimated phi lies outside (0, 1) (t badly chosen for the scale)."""
    t = check_positive(t, "t")
    alpha = check_alpha(alpha)
    raw = np.asarray(cos_means, dtype=np.float64).ravel()
    if np.any(np.isinf(raw)):
        raise ValueError("cos_means must not contain +-inf (cos is bounded)")
    v = finite_array(raw[~np.isnan(raw)], "cos_means")
    if v.size < 2:
        raise ValueError(f"cos_means must hold at least 2 finite values, got {v.size}")
    if np.any(np.abs(v) > 1.0 + 1e-12):
        raise ValueError("cos_means must lie in [-1, 1]")
    phi, se_phi = float(v.mean()), float(v.std(ddof=1) / math.sqrt(v.size))
    if not 0.0 < phi < 1.0:
        return EcfScale(math.nan, math.nan, phi, se_phi, int(v.size))
    c = (-math.log(phi)) ** (1.0 / alpha) / t
    se = c * se_phi / (alpha * phi * abs(math.log(phi)))
    return EcfScale(c, se, phi, se_phi, int(v.size))
