"""Add a setting: an experiment, a claim with declared tolerances, and a figure, registered from a script (the same
decorators a paper package under sgdlab/papers/<key>/ uses). Here: Monte Carlo of the stationary variance of the
AR(1) chain x <- rho x + xi, xi ~ N(0, 1), against the exact value 1 / (1 - rho^2).
"""

from dataclasses import dataclass

import numpy as np

from sgdlab import Context, Tol, Verdict, by_scale, claim, experiment, figure, seeding, style
from sgdlab.registry import REGISTRY
from sgdlab.verify import run_claims


@dataclass(frozen=True)
class AR1Config:
    rho: float = 0.5
    runs: int = 20_000
    steps: int = 200
    seed: int = 0


@experiment("ar1.stationary", paper="ar1",
            config=lambda scale: by_scale(scale, smoke=AR1Config(runs=4000), default=AR1Config(),
                                          full=AR1Config(runs=1_000_000)))
def stationary(cfg: AR1Config) -> dict[str, np.ndarray]:
    rng = seeding.numpy_rng(cfg.seed, "noise")  # one stream per source of randomness
    x = np.zeros(cfg.runs)
    for _ in range(cfg.steps):
        x = cfg.rho * x + rng.standard_normal(cfg.runs)
    return {"x_final": x}


@claim("ar1.variance", paper="ar1", experiments=("ar1.stationary",), tol=Tol(k_se=4.0),
       statement="The stationary variance of x <- rho x + xi is 1 / (1 - rho^2); it would fail for a chain that "
                 "has not mixed or a wrong noise scale.")
def variance(ctx: Context, tol: Tol) -> Verdict:
    cfg = ctx.config("ar1.stationary")
    x = ctx.result("ar1.stationary")["x_final"]
    v = x.var(ddof=1)
    se = v * np.sqrt(2.0 / (len(x) - 1))  # Gaussian: Var(s^2) = 2 sigma^4 / (n - 1)
    return Verdict.within(v, 1.0 / (1.0 - cfg.rho**2), se, k=tol.k_se, note=f"rho = {cfg.rho}, {cfg.runs} runs")


@figure("ar1_histogram", paper="ar1")
def histogram(ctx: Context):  # noqa: ANN201
    cfg = ctx.config("ar1.stationary")
    x = ctx.result("ar1.stationary")["x_final"]
    fig, ax = style.subplots()
    ax.hist(x, bins=60, density=True, alpha=0.6, label="Monte Carlo")
    s = np.sqrt(1 / (1 - cfg.rho**2))
    g = np.linspace(-4 * s, 4 * s, 200)
    ax.plot(g, np.exp(-g**2 / (2 * s * s)) / np.sqrt(2 * np.pi * s * s), "k", label="stationary law")
    style.label(ax, "$x$", "density", f"AR(1), $\\rho = {cfg.rho}$, {cfg.runs} runs")
    ax.legend()
    return fig


if __name__ == "__main__":
    for rho in (0.5, 0.9):
        ctx = Context(scale="smoke", overrides={"ar1.stationary.rho": rho})
        (o,) = run_claims(REGISTRY.select_claims(["ar1.variance"]), ctx)
        print(f"rho = {rho}: {o.verdict}; measured {o.measured:.4f} vs predicted {o.predicted:.4f} "
              f"(tolerance {o.tolerance:.4f}, declared {o.tolerances})")
