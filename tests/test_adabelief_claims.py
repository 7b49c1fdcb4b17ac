"""adabelief paper: registrations and each claim's decision on synthetic results where it must fail (and hold)."""

from __future__ import annotations

import numpy as np

from sgdlab import REGISTRY, Tol, load_all
from sgdlab.papers.adabelief import claims as C
from sgdlab.papers.adabelief.experiments import MnistConfig, ToyConfig, ToyUnstableConfig, belief, belief_config


def test_registered() -> None:
    load_all()
    ids = {c.id for c in REGISTRY.select_claims(["adabelief"])}
    assert ids == {"adabelief.toy_beats_adam", "adabelief.belief_step", "adabelief.rectified_sgd_diverges",
                   "adabelief.mnist_vs_adam", "adabelief.mnist_rectified_vs_adam", "adabelief.mnist_vs_sgdm"}
    assert {f.name for f in REGISTRY.select_figures(["adabelief"])} == {
        "adabelief_toy_trajectories", "adabelief_belief_steps", "adabelief_mnist"}


def _toy_result(cfg: ToyConfig, d_adam: float, d_ab: float) -> dict:
    x = np.zeros((2, len(cfg.functions), len(cfg.lrs), 3, 2))
    from sims.optim.toy_landscapes import MINIMA
    for j, f in enumerate(cfg.functions):
        x[:, j, :, -1, :] = np.array(MINIMA[f])
        x[0, j, :, -1, 0] += d_adam
        x[1, j, :, -1, 0] += d_ab
    return {"x": x}


def test_toy_decision() -> None:
    cfg = ToyConfig(steps=2)
    assert C.decide_toy(_toy_result(cfg, 1.0, 0.1), cfg).verdict == "holds"
    assert C.decide_toy(_toy_result(cfg, 0.1, 1.0), cfg).verdict == "fails"


def test_belief_decision_fails_when_adam_steps_further() -> None:
    r = belief(belief_config("smoke"))
    assert C.decide_belief(r).verdict == "holds"
    swapped = {k.replace("adam_", "tmp_").replace("adabelief_paper_", "adam_").replace("tmp_", "adabelief_paper_"): v
               for k, v in r.items()}
    assert C.decide_belief(swapped).verdict == "fails"


def test_rectified_decision() -> None:
    cfg = ToyUnstableConfig(steps=6)
    f = np.ones((2, len(cfg.functions), len(cfg.lrs), 7))
    assert C.decide_rectified({"f": f}, cfg, Tol(blowup=1e6)).verdict == "fails"
    f[1, :, -1, 5] = np.inf
    assert C.decide_rectified({"f": f}, cfg, Tol(blowup=1e6)).verdict == "holds"


def _mnist_result(cfg: MnistConfig, acc_ours: float, acc_ref: float, ours: str, ref: str) -> dict:
    O, L, S = len(cfg.optimizers), 3, len(cfg.seeds)
    rng = np.random.default_rng(0)
    out = {}
    for m in cfg.models:
        acc = np.full((O, L, S), 0.5) + 0.001 * rng.standard_normal((O, L, S))
        acc[cfg.optimizers.index(ours)] += acc_ours - 0.5
        acc[cfg.optimizers.index(ref)] += acc_ref - 0.5
        out.update({f"{m}_final_acc": acc, f"{m}_final_train_loss": np.ones((O, L, S)),
                    f"{m}_unstable": np.zeros((O, L, S), bool), f"{m}_lr": np.ones((O, L)),
                    f"{m}_loss": np.linspace(2.0, 0.1, 20) * np.ones((O, L, S, 20))})
    return out


def test_mnist_decision_can_fail_and_hold() -> None:
    cfg = MnistConfig()
    tol = Tol(k_se=2.0, target_loss=0.5)
    assert C.decide_mnist(_mnist_result(cfg, 0.8, 0.9, "adabelief_paper", "adam"), cfg, "adabelief_paper", "adam",
                          tol).verdict == "fails"
    assert C.decide_mnist(_mnist_result(cfg, 0.9, 0.8, "adabelief_paper", "adam"), cfg, "adabelief_paper", "adam",
                          tol).verdict == "holds"
