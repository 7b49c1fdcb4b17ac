"""Online SGD of Gurbuzbalaban, Simsekli and Zhu (ICML 2021) on Gaussian linear regression, R runs in one tensor:
multiplicative Gaussian-data noise alone produces power-law tails (index: theory.heavy_tails.gsz.gsz_tail_index)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from tqdm.auto import tqdm

from sims.heavy_tails.euler_chain import check_count
from sims.noise.stable import check_real
from sims.runs import Divergence, check_max_norm


@dataclass
class GSZResult:
    """Final iterates x (R, d) of online SGD (NaN rows for diverged runs) and the diverged mask (R,)."""

    x: torch.Tensor
    diverged: torch.Tensor

    @property
    def diverged_fraction(self) -> float:
        return float(self.diverged.double().mean())


def gsz_online_sgd(
    runs: int,
    d: int,
    b: int,
    eta: float,
    steps: int,
    *,
    generator: torch.Generator,
    sigma_a: float = 1.0,
    sigma_y: float = 1.0,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float64,
    max_norm: float = 1e100,
    check_every: int = 10,
    progress: bool | None = False,
) -> GSZResult:
    """Online SGD on linear regression (Gurbuzbalaban, Simsekli, Zhu 2021), R runs in one tensor:

        x_{k+1} = x_k - (eta/b) sum_{i<=b} a_i (<a_i, x_k> - y_i),   a_i ~ N(0, sigma_a^2 I_d), y_i ~ N(0, sigma_y^2),

    fresh (a_i, y_i) at every step (x* = 0 without loss of generality), x_0 = 0. Stationary tails are power laws with
    the index of theory.heavy_tails.gsz.gsz_tail_index(eta, b, d, sigma_a). Divergence (non-finite or ||x|| > max_norm)
    is checked every `check_every` steps and at the end; diverged runs are frozen and returned as NaN rows."""
    if not check_real(eta, "eta") > 0:
        raise ValueError(f"eta must be > 0 and finite, got {eta!r}")
    runs, d, b = check_count(runs, "runs", high=10**9), check_count(d, "d", high=10**6), check_count(b, "b", high=10**6)
    check_count(steps, "steps")
    check_count(check_every, "check_every")
    if not (check_real(sigma_a, "sigma_a") > 0 and check_real(sigma_y, "sigma_y") >= 0):
        raise ValueError(f"sigma_a must be > 0 and sigma_y >= 0, got {sigma_a!r}, {sigma_y!r}")
    max_norm = check_max_norm(max_norm)
    x = torch.zeros(runs, d, device=device, dtype=dtype)
    div = Divergence.start(runs, x.device)
    for k in tqdm(range(steps), disable=None if progress is None else not progress, desc="gsz sgd"):
        a = sigma_a * torch.randn(runs, b, d, generator=generator, device=device, dtype=dtype)
        y = sigma_y * torch.randn(runs, b, generator=generator, device=device, dtype=dtype)
        res = (a * x.unsqueeze(1)).sum(-1) - y  # elementwise: faster than a batched matmul for small b, d
        x = x - (eta / b) * (res.unsqueeze(-1) * a).sum(1)
        if k % check_every and k != steps - 1:
            continue
        x = div.check(x, step=k, max_norm=max_norm)
    return GSZResult(x=div.nan_out(x), diverged=div.diverged)
