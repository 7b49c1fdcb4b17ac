"""Experiments of the sharpness paper."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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


# ----------------------------------------------------------------------------------------------------------------
# the transformer: pseudo-updates along an Adam (or SGD) trajectory, and training with and without clipping
# ----------------------------------------------------------------------------------------------------------------
#: candidates whose update directions are compared at the same points (hyper-parameters of their usual scale; the
#: direction's sharpness does not depend on the learning rate). SGD and SGD-clip both use heavy-ball momentum 0.9,
#: Adam and Adam-clip the same betas, so each clipped method is compared with its own unclipped twin.
CANDIDATES: tuple[str, ...] = ("sgd", "adam", "sign", "normalized", "adafactor", "lion", "sgd_clip", "adam_clip")


@dataclass(frozen=True)
class LMSetting:
    """The model and data: a GPT of ``n_layer`` x ``n_embd`` on the standard library's sources (bytes)."""

    n_layer: int = 2
    n_head: int = 4
    n_embd: int = 64
    block_size: int = 64
    batch_size: int = 16
    corpus_bytes: int = 1_000_000
    device: str = "cpu"


@dataclass(frozen=True)
class TrajectoryConfig(LMSetting):
    base: str = "adam"  # the optimizer that trains the trajectory: "adam" or "sgd"
    base_lr: float = 3e-3
    steps: int = 200
    measure_every: int = 40
    mask_fraction: float = 0.01
    sgd_clip: float = 0.1
    adam_clip: float = 0.5
    seeds: int = 3
    seed: int = 0


def trajectory_config(scale: str) -> TrajectoryConfig:
    return by_scale(scale,
                    smoke=TrajectoryConfig(n_layer=1, n_embd=32, block_size=32, batch_size=8, corpus_bytes=100_000,
                                           steps=40, measure_every=4, seeds=1),
                    default=TrajectoryConfig(),
                    full=TrajectoryConfig(n_layer=6, n_head=6, n_embd=384, block_size=256, batch_size=32,
                                          corpus_bytes=20_000_000, steps=3000, measure_every=250, seeds=3,
                                          device="cuda"))  # fmt: skip


@dataclass(frozen=True)
class TrajectoryResult:
    candidates: np.ndarray  # (C,)
    steps: np.ndarray  # (M,)
    sharpness: np.ndarray  # (seed, M, C)
    masked_sharpness: np.ndarray  # (seed, M, C)
    model_decrease: np.ndarray  # (seed, M, C)
    line_decrease: np.ndarray  # (seed, M, C)
    hist_edges: np.ndarray  # (H + 1,)
    hist: np.ndarray  # (seed, C, H)
    val_loss: np.ndarray  # (seed, M)
    n_params: int
    corpus_sha256: str


def _model(cfg: LMSetting, seed: int) -> tuple[Any, Any]:
    from sims.data.stdlib_text import stdlib_text
    from sims.nets.transformer import GPT, GPTConfig

    corpus = stdlib_text(cfg.corpus_bytes)
    gcfg = GPTConfig(block_size=cfg.block_size, n_layer=cfg.n_layer, n_head=cfg.n_head, n_embd=cfg.n_embd)
    model = GPT(gcfg, generator=seeding.torch_generator(seed, "init"), device=cfg.device)
    return model, corpus


def _optimizer(name: str, params: Any, lr: float, cfg: TrajectoryConfig | None = None) -> Any:
    import torch

    from sims.optim import clip as C

    c_sgd = cfg.sgd_clip if cfg is not None else 0.1
    c_adam = cfg.adam_clip if cfg is not None else 0.5
    makers = {
        "sgd": lambda: torch.optim.SGD(params, lr=lr, momentum=0.9),
        "adam": lambda: torch.optim.Adam(params, lr=lr),
        "sign": lambda: C.SignSGD(params, lr=lr),
        "normalized": lambda: C.NormalizedSGD(params, lr=lr),
        "adafactor": lambda: torch.optim.Adafactor(params, lr=lr),
        "lion": lambda: C.Lion(params, lr=lr),
        "sgd_clip": lambda: C.ClippedSGD(params, lr=lr, c=c_sgd, momentum=0.9),
        "adam_clip": lambda: C.ClippedAdam(params, lr=lr, c=c_adam),
    }
    if name not in makers:
        raise ValueError(f"optimizer must be one of {sorted(makers)}, got {name!r}")
    return makers[name]()


@experiment("sharpness.trajectory", paper=PAPER, config=trajectory_config, result=TrajectoryResult)
def trajectory(cfg: TrajectoryConfig) -> TrajectoryResult:
    """Pseudo-updates of every candidate along a trajectory trained by ``base``, per seed (init, batches, the
    measurement batch from separate streams)."""
    from sims.data.stdlib_text import fixed_batches, random_batch
    from sims.nets.lm_training import measure_trajectory

    per = []
    for s in range(cfg.seeds):
        seed = cfg.seed + s
        model, corpus = _model(cfg, seed)
        mb = random_batch(corpus.train, 4 * cfg.batch_size, cfg.block_size,
                          generator=seeding.torch_generator(seed, "measure"))  # fmt: skip
        val = fixed_batches(corpus.val, 4, cfg.batch_size, cfg.block_size, generator=seeding.torch_generator(0, "val"))
        base = _optimizer(cfg.base, model.parameters(), cfg.base_lr, cfg)
        cands: dict[str, Any] = {n: (lambda ps, n=n: _optimizer(n, ps, 1e-3, cfg)) for n in CANDIDATES}
        per.append(measure_trajectory(model, base, cands, corpus.train, steps=cfg.steps, batch_size=cfg.batch_size,
                                      generator=seeding.torch_generator(seed, "batches"), measure_batch=mb,
                                      val_batches=val, measure_every=cfg.measure_every,
                                      mask_fraction=cfg.mask_fraction))  # fmt: skip
    t = per[0]
    return TrajectoryResult(np.array(t.names), t.steps, np.stack([p.sharpness for p in per]),
                            np.stack([p.masked_sharpness for p in per]), np.stack([p.model_decrease for p in per]),
                            np.stack([p.line_decrease for p in per]), t.hist_edges, np.stack([p.hist for p in per]),
                            np.stack([p.val_loss for p in per]), model.n_params(), corpus.sha256)  # fmt: skip


@dataclass(frozen=True)
class TrainConfig(LMSetting):
    """One training run (a point of the clip_speeds sweep): ``method`` at learning rate ``lr`` with seed ``seed``."""

    method: str = "sgd"
    lr: float = 0.1
    steps: int = 200
    eval_every: int = 50
    sgd_clip: float = 0.1
    adam_clip: float = 0.5
    seed: int = 0


def train_config(scale: str) -> TrainConfig:
    return by_scale(scale,
                    smoke=TrainConfig(n_layer=1, n_embd=32, block_size=32, batch_size=8, corpus_bytes=100_000,
                                      steps=30, eval_every=15),
                    default=TrainConfig(),
                    full=TrainConfig(n_layer=6, n_head=6, n_embd=384, block_size=256, batch_size=32,
                                     corpus_bytes=20_000_000, steps=5000, eval_every=250, device="cuda"))  # fmt: skip


#: learning-rate grids fixed in advance (per method), and seeds, per scale
LR_GRID: dict[str, tuple[float, ...]] = {"sgd": (0.1, 0.3, 1.0), "sgd_clip": (0.1, 0.3, 1.0),
                                         "adam": (1e-3, 3e-3, 1e-2), "adam_clip": (1e-3, 3e-3, 1e-2)}  # fmt: skip
TRAIN_SEEDS: dict[str, int] = {"smoke": 2, "default": 3, "full": 5}


@dataclass(frozen=True)
class TrainResult:
    steps: np.ndarray
    val_loss: np.ndarray
    train_loss: np.ndarray
    diverged: bool


@experiment("sharpness.train", paper=PAPER, config=train_config, result=TrainResult)
def train(cfg: TrainConfig) -> TrainResult:
    """Train the GPT by ``cfg.method`` at ``cfg.lr`` from init seed ``cfg.seed`` (batches from their own stream)."""
    from sims.data.stdlib_text import fixed_batches
    from sims.nets.lm_training import train_lm

    model, corpus = _model(cfg, cfg.seed)
    tcfg = TrajectoryConfig(sgd_clip=cfg.sgd_clip, adam_clip=cfg.adam_clip)
    opt = _optimizer(cfg.method, model.parameters(), cfg.lr, tcfg)
    val = fixed_batches(corpus.val, 4, cfg.batch_size, cfg.block_size, generator=seeding.torch_generator(0, "val"))
    c = train_lm(model, opt, corpus.train, steps=cfg.steps, batch_size=cfg.batch_size,
                 generator=seeding.torch_generator(cfg.seed, "batches"), val_batches=val, eval_every=cfg.eval_every)
    return TrainResult(c.steps, c.val_loss, c.train_loss, c.diverged)
