"""monna experiments: frozen configs and pure functions of them. The numerics live in sims/distributed (byzantine.py,
nna.py, attacks.py, aggregators.py) and theory/distributed/robust_nna.py; nothing here iterates an algorithm."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from sgdlab import by_scale, experiment, seeding
from sims.distributed.byzantine import RuleParams, RunSpec, Split, make_split, run
from sims.runs import parse_dtype
from theory.distributed.robust_nna import nnm_bound, worst_case_ratios

PAPER = "monna"


def load_data(name: str, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``digits``: sklearn's 8x8 MNIST-like digits (1797 images, pixels / 16), 360 held out for test;
    ``synthetic``: a 10-class Gaussian mixture in 20 dimensions (2000 train, 500 test), class means ~ N(0, I)."""
    rng = seeding.numpy_rng(seed, "data")
    if name == "digits":
        from sklearn.datasets import load_digits

        X, y = load_digits(return_X_y=True)
        X = X / 16.0
        perm = rng.permutation(len(y))
        te, tr = perm[:360], perm[360:]
        return X[tr], y[tr], X[te], y[te]
    if name == "synthetic":
        C, p = 10, 20
        mu = rng.normal(size=(C, p))
        y = rng.integers(0, C, size=2500)
        X = mu[y] + rng.normal(size=(2500, p))
        return X[:2000], y[:2000], X[2000:], y[2000:]
    raise ValueError(f"dataset must be 'digits' or 'synthetic', got {name!r}")


def split_of(cfg: Any) -> Split:
    x, y, xt, yt = load_data(cfg.dataset, cfg.seed)
    return make_split(x, y, xt, yt, cfg.n - cfg.f, cfg.alpha, cfg.n_seeds, seeding.numpy_rng(cfg.seed, "split"),
                      dtype=parse_dtype(cfg.dtype))


def _spec(cfg: Any, rule: str, attack: str, beta: float, f: int | None = None,
          factor: float | None = None) -> RunSpec:
    return RunSpec(f=cfg.f if f is None else f, rule=rule, attack=attack, beta=beta, lr=cfg.lr, rounds=cfg.rounds,
                   batch=cfg.batch, factor=factor, evals=cfg.evals, eval_every=cfg.eval_every,
                   params=RuleParams(cc_tau=cfg.cc_tau))


# ----------------------------------------------------------------------------------------------------------------
# 1. accuracy under attack: MoNNA (both NNA variants) vs the baselines
# ----------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RobustConfig:
    dataset: str = "digits"
    n: int = 26                   # workers in all; f of them Byzantine
    f: int = 5
    alpha: float = 1.0            # Dirichlet heterogeneity
    beta: float = 0.9             # momentum (shared by all rules)
    lr: float = 0.5
    rounds: int = 100
    batch: int = 25
    n_seeds: int = 3
    rules: tuple[str, ...] = ("nna_paper", "nna_authors", "trimmed_mean", "geometric_median", "centered_clipping",
                              "average")
    attacks: tuple[str, ...] = ("none", "sign_flip", "foe", "alie", "label_flip", "mimic")
    evals: int = 6                # line-search evaluations for the adaptive FOE / ALIE factors
    eval_every: int = 10
    cc_tau: float = 1.0
    seed: int = 0
    dtype: str = "float64"


def robust_config(scale: str) -> RobustConfig:
    return by_scale(scale,
                    smoke=RobustConfig(dataset="synthetic", rounds=20, n_seeds=3, evals=4, eval_every=5,
                                       rules=("nna_paper", "nna_authors", "trimmed_mean", "average"),
                                       attacks=("sign_flip", "alie")),
                    default=RobustConfig(),
                    full=RobustConfig(rounds=1000, n_seeds=5, beta=0.99, evals=16, eval_every=50))


@experiment("monna.robust", paper=PAPER, config=robust_config, schema=1)
def robust(cfg: RobustConfig) -> dict[str, Any]:
    """Honest test accuracy ``acc_<rule>_<attack>`` (n_seeds, n_eval) at rounds ``rounds``; ``diverged_*`` (n_seeds,).
    All rules see the same splits and the same batch draws (paired across rules)."""
    split = split_of(cfg)
    out: dict[str, Any] = {}
    for attack in cfg.attacks:
        for rule in cfg.rules:
            g = seeding.torch_generator(cfg.seed, f"run-{attack}")
            r = run(split, _spec(cfg, rule, attack, cfg.beta), g)
            out["rounds"] = r["rounds"]
            out[f"acc_{rule}_{attack}"] = r["acc"]
            out[f"diverged_{rule}_{attack}"] = r["diverged"]
    return out


# ----------------------------------------------------------------------------------------------------------------
# 2. momentum: beta in betas for MoNNA under attack
# ----------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MomentumConfig:
    dataset: str = "digits"
    n: int = 26
    f: int = 5
    alpha: float = 1.0
    betas: tuple[float, ...] = (0.0, 0.99)
    lr: float = 0.5
    rounds: int = 300
    batch: int = 25
    n_seeds: int = 3
    rule: str = "nna_paper"
    attacks: tuple[str, ...] = ("sign_flip", "foe", "alie", "label_flip", "mimic")
    evals: int = 6
    eval_every: int = 20
    cc_tau: float = 1.0
    seed: int = 0
    dtype: str = "float64"


def momentum_config(scale: str) -> MomentumConfig:
    return by_scale(scale, smoke=MomentumConfig(dataset="synthetic", rounds=40, evals=4, eval_every=10,
                                                attacks=("sign_flip", "alie")),
                    default=MomentumConfig(),
                    full=MomentumConfig(rounds=2000, n_seeds=5, evals=16, eval_every=100,
                                        attacks=("sign_flip", "foe", "alie", "label_flip", "mimic")))


@experiment("monna.momentum", paper=PAPER, config=momentum_config, schema=1)
def momentum(cfg: MomentumConfig) -> dict[str, Any]:
    """``acc_b<j>_<attack>`` (n_seeds, n_eval) for ``beta = betas[j]``; paired across betas."""
    split = split_of(cfg)
    out: dict[str, Any] = {"betas": np.array(cfg.betas)}
    for attack in cfg.attacks:
        for j, beta in enumerate(cfg.betas):
            r = run(split, _spec(cfg, cfg.rule, attack, beta), seeding.torch_generator(cfg.seed, f"run-{attack}"))
            out["rounds"] = r["rounds"]
            out[f"acc_b{j}_{attack}"] = r["acc"]
            out[f"diverged_b{j}_{attack}"] = r["diverged"]
    return out


# ----------------------------------------------------------------------------------------------------------------
# 3. gradient overhead: rounds (= gradient computations per honest worker / batch) to a target vs f / n
# ----------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class OverheadConfig:
    dataset: str = "digits"
    n: int = 26
    fs: tuple[int, ...] = (0, 1, 2, 3, 4, 5, 6, 8, 10)
    alpha: float = 1.0
    beta: float = 0.9
    lr: float = 0.5
    rounds: int = 400             # cap; runs that never reach the target count as diverged (censored)
    batch: int = 25
    n_seeds: int = 4
    attack: str = "alie"
    factor: float = 1.5           # fixed ALIE factor (no line search: the cost is then f-independent)
    target_fraction: float = 0.98  # target train loss: L0 - target_fraction (L0 - L_end(f=0))
    rule: str = "nna_paper"
    evals: int = 1
    eval_every: int = 1
    cc_tau: float = 1.0
    seed: int = 0
    dtype: str = "float64"


def overhead_config(scale: str) -> OverheadConfig:
    return by_scale(scale, smoke=OverheadConfig(dataset="synthetic", fs=(0, 3, 6, 9), rounds=50, n_seeds=3),
                    default=OverheadConfig(),
                    full=OverheadConfig(fs=tuple(range(0, 13)), rounds=2000, n_seeds=8))


@experiment("monna.overhead", paper=PAPER, config=overhead_config, schema=1)
def overhead(cfg: OverheadConfig) -> dict[str, Any]:
    """``train_loss_f<f>`` (n_seeds, n_eval) and ``T`` (n_seeds, len(fs)): the first recorded round whose mean honest
    train loss is at or below the target (``rounds + 1`` and ``diverged`` True if never). Each ``f`` splits the same
    data over its ``n - f`` honest workers (Dirichlet alpha); the target is set from the ``f = fs[0]`` runs."""
    out: dict[str, Any] = {"fs": np.array(cfg.fs), "n": cfg.n}
    losses = {}
    for f in cfg.fs:
        x, y, xt, yt = load_data(cfg.dataset, cfg.seed)
        split = make_split(x, y, xt, yt, cfg.n - f, cfg.alpha, cfg.n_seeds, seeding.numpy_rng(cfg.seed, f"split-{f}"),
                           dtype=parse_dtype(cfg.dtype))
        attack = cfg.attack if f > 0 else "none"
        r = run(split, _spec(cfg, cfg.rule, attack, cfg.beta, f=f, factor=cfg.factor),
                seeding.torch_generator(cfg.seed, f"run-{f}"))
        out["rounds"] = r["rounds"]
        losses[f] = r["train_loss"]
        out[f"train_loss_f{f}"] = r["train_loss"]
    f0 = losses[cfg.fs[0]]
    L0, Lend = f0[:, 0].mean(), f0[:, -1].mean()
    target = L0 - cfg.target_fraction * (L0 - Lend)
    T = np.full((cfg.n_seeds, len(cfg.fs)), cfg.rounds + 1, dtype=float)
    for j, f in enumerate(cfg.fs):
        hit = losses[f] <= target
        for s in range(cfg.n_seeds):
            if hit[s].any():
                T[s, j] = out["rounds"][int(np.argmax(hit[s]))]
    out["T"] = T
    out["target"] = target
    out["diverged"] = T > cfg.rounds
    return out


# ----------------------------------------------------------------------------------------------------------------
# 4. the robustness coefficient of NNA vs f / n (theory, numpy)
# ----------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CoefficientConfig:
    n: int = 26
    fs: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 8, 10, 12)
    d: int = 20
    n_seeds: int = 4
    n_dirs: int = 4
    heterogeneity: tuple[str, ...] = ("gaussian", "clusters")
    seed: int = 0


def coefficient_config(scale: str) -> CoefficientConfig:
    return by_scale(scale, smoke=CoefficientConfig(fs=(1, 3, 5, 8, 12), n_seeds=2, n_dirs=2),
                    default=CoefficientConfig(), full=CoefficientConfig(fs=tuple(range(1, 13)), n_seeds=16, n_dirs=16))


def honest_vectors(kind: str, h: int, d: int, rng: np.random.Generator) -> np.ndarray:
    """``gaussian``: N(0, I_d); ``clusters``: two well separated groups (a heterogeneous honest population)."""
    if kind == "gaussian":
        return rng.normal(size=(h, d))
    if kind == "clusters":
        x = rng.normal(size=(h, d))
        x[: h // 3] += 6.0 * np.eye(d)[0]
        return x
    raise ValueError(f"kind must be 'gaussian' or 'clusters', got {kind!r}")


@experiment("monna.coefficient", paper=PAPER, config=coefficient_config, schema=1)
def coefficient(cfg: CoefficientConfig) -> dict[str, Any]:
    """Worst found ``alpha``, ``lambda``, ``kappa``, ``kappa_max`` of the paper's NNA (``<ratio>_<kind>``,
    (n_seeds, len(fs))) and the bound ``8 f / (n - f)``."""
    out: dict[str, Any] = {"fs": np.array(cfg.fs), "n": cfg.n, "bound": np.array([nnm_bound(cfg.n, f) for f in cfg.fs])}
    for kind in cfg.heterogeneity:
        res = {k: np.zeros((cfg.n_seeds, len(cfg.fs))) for k in ("alpha", "lambda", "kappa", "kappa_max")}
        for s in range(cfg.n_seeds):
            for j, f in enumerate(cfg.fs):
                rng = seeding.numpy_rng(cfg.seed, f"coef-{kind}-{s}-{f}")
                r = worst_case_ratios(honest_vectors(kind, cfg.n - f, cfg.d, rng), f, rng, n_dirs=cfg.n_dirs)
                for k in res:
                    res[k][s, j] = r[k]
        for k, v in res.items():
            out[f"{k}_{kind}"] = v
    return out

