"""The asgd paper module: registrations, scale configs, and one cheap claim end to end through the spine."""

from __future__ import annotations

from pathlib import Path

import pytest

from sgdlab import REGISTRY, Context, ResultStore, load_all

CLAIMS = {"asgd.bias_small_eig", "asgd.variance_larger", "asgd.crossover", "asgd.exact_vs_mc", "sgd.zou_bound",
          "asgd.kurtosis_misspecified"}


def test_registered() -> None:
    load_all()
    ids = {c.id for c in REGISTRY.select_claims(["asgd"])}
    assert ids == CLAIMS
    assert all(c.expected_at(s) == "holds" for c in REGISTRY.select_claims(["asgd"]) for s in ("smoke", "default"))
    figs = {f.name for f in REGISTRY.select_figures(["asgd"])}
    assert {"asgd_risk_curves", "asgd_bias_variance", "asgd_rho", "asgd_exact_vs_mc", "asgd_zou_bound"} <= figs


def test_full_scale_mc_is_the_issue_run() -> None:
    load_all()
    cfg = REGISTRY.experiment("asgd.mc").config("full")
    assert (cfg.d, cfg.n_runs, cfg.n_steps, cfg.device) == (2000, 10_000, 10_000, "cuda")
    curves = REGISTRY.experiment("asgd.curves").config("default")
    assert (curves.d, curves.a, curves.sigma2) == (2000, 2.0, 0.01)


def test_crossover_claim_end_to_end(tmp_path: Path) -> None:
    ctx = Context(scale="smoke", store=ResultStore(tmp_path))
    claim = REGISTRY.claims["asgd.crossover"]
    v = claim.func(ctx, claim.tol)
    assert v.verdict == "holds", v.note
    assert v.measured == pytest.approx(v.predicted, rel=1e-9)
