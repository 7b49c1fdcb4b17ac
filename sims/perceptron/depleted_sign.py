"""The depleted-sign data set of the perceptron setting (noise_regimes).

x_2..x_d ~ N(0, 1) i.i.d.; x_1 = s sqrt(2 G) with s = +-1 (fair) and G ~ Gamma((chi + 1) / 2, 1), so that the density of
x_1 is proportional to |x_1|^chi exp(-x_1^2 / 2) (chi > -1; chi = 0 is the Gaussian). Labels y = sign(x_1).
The depletion exponent chi controls how many points lie close to the decision boundary x_1 = 0:
P(|x_1| < a) ~ a^(1 + chi) for small a.
"""

from __future__ import annotations

import torch

MAX_ENTRIES = 2**31


MAX_CHI = 1e6
"""Largest depletion exponent accepted: Gamma((chi+1)/2) samples need O(1) rejection rounds for any finite shape, but
x_1 ~ sqrt(chi) beyond it says nothing about the boundary any more."""


def check_chi(chi: float) -> None:
    """Raise ValueError unless chi is a finite number in (-1, MAX_CHI] (the density |x_1|^chi is integrable at 0 only
    for chi > -1; chi = inf would loop forever in the Gamma sampler)."""
    if isinstance(chi, bool) or not isinstance(chi, (int, float)) or not -1.0 < chi <= MAX_CHI:
        raise ValueError(f"chi must be a finite number in (-1, {MAX_CHI:g}] (density |x_1|^chi e^(-x_1^2/2) is "
                         f"integrable only for chi > -1), got {chi!r}")


def depleted_sign(
    n_runs: int,
    n: int,
    d: int,
    chi: float,
    *,
    generator: torch.Generator,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float64,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Sample `n_runs` independent data sets of `n` points in dimension `d`.

    x_1 = s sqrt(2 G), G ~ Gamma((chi+1)/2, 1), s uniform in {-1, +1}; x_{2..d} ~ N(0, 1); y = sign(x_1) = s.
    Returns x of shape (n_runs, n, d) and y of shape (n_runs, n) with values +-1 (same dtype as x).
    """
    check_chi(chi)
    for v, name in ((n_runs, "n_runs"), (n, "n"), (d, "d")):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{name} must be an int >= 1, got {v!r}")
    if n_runs * n * d > MAX_ENTRIES:
        raise ValueError(f"n_runs * n * d = {n_runs * n * d} entries exceeds the limit {MAX_ENTRIES:g} (memory)")
    shape_g = torch.full((n_runs, n), (chi + 1.0) / 2.0, dtype=torch.float64, device=device)
    # torch's Gamma sampler takes no generator: Marsaglia-Tsang with the explicit generator instead.
    g = _gamma_marsaglia_tsang(shape_g, generator)
    s = torch.randint(0, 2, (n_runs, n), generator=generator, device=device).to(torch.float64) * 2.0 - 1.0
    x = torch.randn(n_runs, n, d, generator=generator, device=device, dtype=torch.float64)
    x[..., 0] = s * torch.sqrt(2.0 * g)
    return x.to(dtype), s.to(dtype)


def _gamma_marsaglia_tsang(shape: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Gamma(shape, 1) samples with an explicit generator (Marsaglia & Tsang 2000, with the shape < 1 boost
    G(a) = G(a + 1) U^(1/a)). Vectorised rejection: redraws only the rejected entries."""
    boost = shape < 1.0
    a = torch.where(boost, shape + 1.0, shape)
    dd = a - 1.0 / 3.0
    c = 1.0 / torch.sqrt(9.0 * dd)
    out = torch.empty_like(shape)
    todo = torch.ones_like(shape, dtype=torch.bool)
    while bool(todo.any()):
        idx = todo.nonzero(as_tuple=True)
        z = torch.randn(idx[0].shape, generator=generator, dtype=shape.dtype, device=shape.device)
        u = torch.rand(idx[0].shape, generator=generator, dtype=shape.dtype, device=shape.device)
        v = (1.0 + c[idx] * z) ** 3
        ok = (v > 0) & (torch.log(u) < 0.5 * z**2 + dd[idx] - dd[idx] * v + dd[idx] * torch.log(v.clamp_min(1e-300)))
        sel = tuple(i[ok] for i in idx)
        out[sel] = dd[sel] * v[ok]
        todo[sel] = False
    u = torch.rand(shape.shape, generator=generator, dtype=shape.dtype, device=shape.device)
    return torch.where(boost, out * u ** (1.0 / shape), out)
