"""Experiments of the sharpness paper."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sgdlab import by_scale, experiment, seeding
from theory import directional_sharpness as DS

PAPER = "sharpness"
#: the directions compared on the synthetic quadratic, in the order the paper predicts (sharpest first)
METHODS: tuple[str, ...] = ("sgd", "clip_1", "clip_10", "clip_50", "sign")
CLIP: dict[str, float] = {"sgd": 0.0, "clip_1": 0.01, "clip_10": 0.1, "clip_50": 0.5}


@dataclass(frozen=True)
class QuadraticConfig:
    """The paper's synthetic quadratic: n coordinates, a fraction ``frac`` with curvature ``h_big`` and small
    coordinates (x ~ N(0, x_big_std^2)), the rest h ~ U[0.5, 1.5], x ~ N(0, 1); ``seeds`` independent instances."""

    n: int = 10_000
    frac: float = 0.01
    h_big: float = 1000.0
    x_big_std: float = 0.05
    seeds: int = 50
    seed: int = 0


def quadratic_config(scale: str) -> QuadraticConfig:
    return by_scale(scale, smoke=QuadraticConfig(seeds=10), default=QuadraticConfig(),
                    full=QuadraticConfig(seeds=1000))  # fmt: skip


@dataclass(frozen=True)
class QuadraticResult:
    methods: np.ndarray  # (method,) names
    sharpness: np.ndarray  # (seed, method): u^T H u / ||u||^2
    decrease: np.ndarray  # (seed, method): best one-step decrease of the quadratic along u
    step: np.ndarray  # (seed, method): the best step eta*


@experiment("sharpness.quadratic", paper=PAPER, config=quadratic_config, result=QuadraticResult)
def quadratic(cfg: QuadraticConfig) -> QuadraticResult:
    """Exact sharpness and best decrease of the SGD, clipped-SGD and sign directions on ``seeds`` instances."""
    sh = np.empty((cfg.seeds, len(METHODS)))
    dec = np.empty_like(sh)
    eta = np.empty_like(sh)
    for s in range(cfg.seeds):
        rng = seeding.numpy_rng(cfg.seed + s, "quadratic")
        h, x = DS.synthetic_quadratic(rng, cfg.n, cfg.frac, cfg.h_big, cfg.x_big_std)
        g = h * x
        for j, m in enumerate(METHODS):
            u = np.sign(g) if m == "sign" else DS.clip_top_fraction(g, CLIP[m])
            sh[s, j] = DS.directional_sharpness(u, h)
            eta[s, j], dec[s, j] = DS.best_decrease(g, u, h)
    return QuadraticResult(np.array(METHODS), sh, dec, eta)
