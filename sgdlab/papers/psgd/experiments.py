"""Experiments of the psgd paper: the fit of P on known curvature, whitening, Rosenbrock, delayed XOR."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from sgdlab import by_scale, experiment, seeding
from sims.optim.psgd_curvature import fit_curvature
from sims.optim.psgd_toys import run_delayed_xor, run_rosenbrock
from sims.runs import parse_dtype
from theory import psgd_targets as T

PAPER = "psgd"

#: Newton-type fitting problems: name -> (group, |H|^{-1} representable by the group, H indefinite)
FIT_CASES: dict[str, tuple[str, bool]] = {
    "dense_spd": ("dense", False), "triangular_spd": ("triangular", False), "kron_spd": ("kron", False),
    "uvd_lowrank": ("uvd", False), "xmat": ("xmat", False),
    "dense_indefinite": ("dense", True), "kron_indefinite": ("kron", True),
}  # fmt: skip


def record_steps(n_steps: int, k: int) -> list[int]:
    """0 and ~k log-spaced steps up to ``n_steps``."""
    return sorted({0, n_steps} | {int(round(x)) for x in np.geomspace(1, n_steps, k)})


# ----------------------------------------------------------------------------------------------------------------
# 1. Newton-type fit of P on quadratics with known H
# ----------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FitConfig:
    n1: int = 4                  # n = n1 * n2 parameters; Kron factors n1 x n1 and n2 x n2
    n2: int = 3
    cond: float = 1e3            # condition number of the SPD H
    cond_indefinite: float = 1e2
    n_negative: int = 3          # negative eigenvalues of the dense indefinite H (Kron: 1 in the first factor)
    rank: int = 2                # UVd rank = rank of the low-rank part of |H|^{-1}
    n_steps: int = 5000
    n_record: int = 30
    n_seeds: int = 2
    normalizers: tuple[tuple[str, float], ...] = (("2nd", 0.1), ("1st", 0.01))  # (step_normalizer, lr_preconditioner)
    seed: int = 0
    dtype: str = "float64"


def fit_config(scale: str) -> FitConfig:
    return by_scale(scale, smoke=FitConfig(n1=2, n2=3, n_steps=1500, n_record=12), default=FitConfig(),
                    full=FitConfig(n1=8, n2=6, n_steps=50_000, n_seeds=8, n_record=50))


def fit_hessian_of(case: str, cfg: FitConfig, seed_index: int) -> np.ndarray:
    """The ``H`` of problem ``case`` for seed ``seed_index`` (numpy stream ``H-<case>-<i>``)."""
    rng = seeding.numpy_rng(cfg.seed, f"H-{case}-{seed_index}")
    n = cfg.n1 * cfg.n2
    if case in ("dense_spd", "triangular_spd"):
        return T.spectrum_matrix(T.log_spectrum(n, cfg.cond), rng)
    if case == "kron_spd":
        return T.kron_problem(cfg.n1, cfg.n2, cfg.cond, 0, rng)
    if case == "uvd_lowrank":
        return T.lowrank_problem(n, cfg.rank, rng)
    if case == "xmat":
        return T.xmat_problem(n, rng)
    if case == "dense_indefinite":
        return T.spectrum_matrix(T.log_spectrum(n, cfg.cond_indefinite, cfg.n_negative), rng)
    if case == "kron_indefinite":
        return T.kron_problem(cfg.n1, cfg.n2, cfg.cond_indefinite, 1, rng)
    raise ValueError(f"unknown case {case!r}; known: {sorted(FIT_CASES)}")


@experiment("psgd.fit_hessian", paper=PAPER, config=fit_config, schema=1)
def fit_hessian(cfg: FitConfig) -> dict[str, Any]:
    """Per case and normaliser: the fit error of ``P`` against ``|H|^{-1}`` at log-spaced steps (``err_<case>_<norm>``,
    ``(n_seeds, n_record)``) and the final eigenvalues of ``P |H|`` (``eig_<case>_<norm>``, ``(n_seeds, n)``)."""
    steps = record_steps(cfg.n_steps, cfg.n_record)
    dtype = parse_dtype(cfg.dtype)
    out: dict[str, Any] = {"steps": np.array(steps), "n": cfg.n1 * cfg.n2}
    for case, (kind, _) in FIT_CASES.items():
        for norm, lr in cfg.normalizers:
            errs, eigs = [], []
            for i in range(cfg.n_seeds):
                H = fit_hessian_of(case, cfg, i)
                target = T.abs_inverse(H)
                g = seeding.torch_generator(cfg.seed, f"probes-{case}-{norm}-{i}")
                Ps = fit_curvature(torch.tensor(H, dtype=dtype), kind, cfg.n_steps, steps, lr_preconditioner=lr,
                                   step_normalizer=norm, rank=cfg.rank, kron_shape=(cfg.n1, cfg.n2),
                                   generator=g).double().numpy()
                errs.append([T.relative_error(P, target) for P in Ps])
                lam, U = np.linalg.eigh(H)
                absH = (U * np.abs(lam)) @ U.T
                eigs.append(np.sort(np.linalg.eigvals(Ps[-1] @ absH).real))
            out[f"err_{case}_{norm}"] = np.array(errs)
            out[f"eig_{case}_{norm}"] = np.array(eigs)
    return out


# ----------------------------------------------------------------------------------------------------------------
# 2. whitening type on Gaussian gradients with known covariance
# ----------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class WhiteningConfig:
    n1: int = 4
    n2: int = 3
    cond: float = 1e2            # condition number of the gradient covariance S (Kron: S_1 (x) S_2, sqrt each)
    n_steps: int = 5000
    n_record: int = 30
    n_seeds: int = 4
    lrs: tuple[float, ...] = (0.1, 0.01)
    step_normalizer: str = "2nd"
    kinds: tuple[str, ...] = ("dense", "kron")
    seed: int = 0
    dtype: str = "float64"


def whitening_config(scale: str) -> WhiteningConfig:
    return by_scale(scale, smoke=WhiteningConfig(n1=2, n2=3, n_steps=4000, n_record=12, n_seeds=2),
                    default=WhiteningConfig(),
                    full=WhiteningConfig(n1=8, n2=6, n_steps=50_000, n_seeds=8, lrs=(0.1, 0.03, 0.01, 0.003)))


def whitening_covariance_of(kind: str, cfg: WhiteningConfig, seed_index: int) -> np.ndarray:
    rng = seeding.numpy_rng(cfg.seed, f"S-{kind}-{seed_index}")
    if kind == "kron":
        c = float(np.sqrt(cfg.cond))
        return np.kron(T.gaussian_covariance(cfg.n1, c, rng), T.gaussian_covariance(cfg.n2, c, rng))
    return T.gaussian_covariance(cfg.n1 * cfg.n2, cfg.cond, rng)


@experiment("psgd.whitening", paper=PAPER, config=whitening_config, schema=1)
def whitening(cfg: WhiteningConfig) -> dict[str, Any]:
    """Fit error of the whitening-type ``P`` against ``S^{-1/2}`` (``err_<kind>_lr<j>``, ``(n_seeds, n_record)``)."""
    steps = record_steps(cfg.n_steps, cfg.n_record)
    dtype = parse_dtype(cfg.dtype)
    out: dict[str, Any] = {"steps": np.array(steps), "lrs": np.array(cfg.lrs)}
    for kind in cfg.kinds:
        for j, lr in enumerate(cfg.lrs):
            errs = []
            for i in range(cfg.n_seeds):
                S = whitening_covariance_of(kind, cfg, i)
                g = seeding.torch_generator(cfg.seed, f"whitening-{kind}-{j}-{i}")
                Ps = fit_curvature(torch.tensor(S, dtype=dtype), kind, cfg.n_steps, steps, mode="whitening",
                                   lr_preconditioner=lr, step_normalizer=cfg.step_normalizer,
                                   kron_shape=(cfg.n1, cfg.n2), generator=g).double().numpy()
                target = T.inverse_sqrt(S)
                errs.append([T.relative_error(P, target) for P in Ps])
            out[f"err_{kind}_lr{j}"] = np.array(errs)
    return out


# ----------------------------------------------------------------------------------------------------------------
# 3. Rosenbrock
# ----------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RosenbrockConfig:
    dim: int = 20
    n_iter: int = 1000
    n_seeds: int = 2             # probe seeds of the PSGD runs (the baselines are deterministic)
    # PSGD: (name, lr, lr_preconditioner), the settings of psgd_torch's hello_psgd.py demo
    psgd: tuple[tuple[str, float, float], ...] = (("psgd_newton", 1.0, 0.5), ("psgd_xmat", 1.0, 0.2),
                                                  ("psgd_lra", 1.0, 0.2))
    # baselines: the grid chosen in advance, best final f reported
    sgd_lrs: tuple[float, ...] = (1e-4, 3e-4, 1e-3, 2e-3)
    adam_lrs: tuple[float, ...] = (1e-3, 3e-3, 1e-2, 3e-2, 1e-1)
    lbfgs_lrs: tuple[float, ...] = (1.0, 0.1)
    seed: int = 0


def rosenbrock_config(scale: str) -> RosenbrockConfig:
    return by_scale(scale, smoke=RosenbrockConfig(n_seeds=1, psgd=(("psgd_newton", 1.0, 0.5),),
                                                  sgd_lrs=(1e-3,), adam_lrs=(1e-2,), lbfgs_lrs=(1.0,)),
                    default=RosenbrockConfig(), full=RosenbrockConfig(n_seeds=10, dim=50, n_iter=2000))


@experiment("psgd.rosenbrock", paper=PAPER, config=rosenbrock_config, schema=1)
def rosenbrock(cfg: RosenbrockConfig) -> dict[str, Any]:
    """``f`` over iterations: ``<psgd name>`` ``(n_seeds, n_iter + 1)``; ``sgd``, ``adam``, ``lbfgs``
    ``(n_lrs, n_iter + 1)`` (L-BFGS: one gradient evaluation per iteration, strong Wolfe line search)."""
    out: dict[str, Any] = {"iters": np.arange(cfg.n_iter + 1)}
    for name, lr, lr_pre in cfg.psgd:
        out[name] = np.array([run_rosenbrock(name, lr, cfg.dim, cfg.n_iter, lr_preconditioner=lr_pre,
                                             generator=seeding.torch_generator(cfg.seed, f"probes-{name}-{i}"))
                              for i in range(cfg.n_seeds)])
    for name, lrs in (("sgd", cfg.sgd_lrs), ("adam", cfg.adam_lrs), ("lbfgs", cfg.lbfgs_lrs)):
        out[name] = np.array([run_rosenbrock(name, lr, cfg.dim, cfg.n_iter,
                                             generator=seeding.torch_generator(cfg.seed, name)) for lr in lrs])
        out[f"{name}_lrs"] = np.array(lrs)
    return out


# ----------------------------------------------------------------------------------------------------------------
# 4. delayed XOR
# ----------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class XorConfig:
    seq_len: int = 16
    hidden: int = 30
    batch: int = 128
    n_iter: int = 3000
    n_seeds: int = 2
    lra_lr: float = 0.01          # the demo's settings: LRA rank 10, lr 0.01, lr_preconditioner 0.01, clip 1.0
    lra_lr_preconditioner: float = 0.01
    lra_clip: float = 1.0
    adam_lr: float = 3e-3         # chosen in advance
    seed: int = 0


def xor_config(scale: str) -> XorConfig:
    return by_scale(scale, smoke=XorConfig(seq_len=10, n_iter=150, n_seeds=1, batch=64),
                    default=XorConfig(), full=XorConfig(seq_len=40, n_iter=20_000, n_seeds=8))


@experiment("psgd.delayed_xor", paper=PAPER, config=xor_config, schema=1)
def delayed_xor(cfg: XorConfig) -> dict[str, Any]:
    """Training loss per iteration (``loss_<opt>``, ``(n_seeds, n_iter)``, NaN after success) and the iteration of
    success (``solved_<opt>``, -1 if not solved) for PSGD LRA and Adam on the same data and initial weights."""
    out: dict[str, Any] = {}
    for name, lr, kw in (("psgd_lra", cfg.lra_lr, dict(lr_preconditioner=cfg.lra_lr_preconditioner,
                                                        grad_clip_max_norm=cfg.lra_clip)),
                         ("adam", cfg.adam_lr, {})):
        runs = [run_delayed_xor(name, lr, seq_len=cfg.seq_len, hidden=cfg.hidden, batch=cfg.batch, n_iter=cfg.n_iter,
                                init_generator=seeding.torch_generator(cfg.seed, f"init-{i}"),
                                data_generator=seeding.torch_generator(cfg.seed, f"data-{i}"),
                                probe_generator=seeding.torch_generator(cfg.seed, f"probes-{i}"), **kw)
                for i in range(cfg.n_seeds)]
        out[f"loss_{name}"] = np.array([r.losses for r in runs])
        out[f"solved_{name}"] = np.array([r.solved_at for r in runs])
        out[f"seconds_{name}"] = np.array([r.seconds for r in runs])
    return out
