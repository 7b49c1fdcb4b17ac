"""dsgd paper package: every configuration is where its claim says it is (inside / outside the theorem), with a
contracting consensus step, at every scale; the package registers its experiments, claims and figures."""

from __future__ import annotations

import numpy as np
import pytest

from sgdlab import REGISTRY
from sgdlab.papers.dsgd import claims as C
from sgdlab.papers.dsgd import experiments as E
from sims.distributed import graphs
from theory.distributed.steps import step_size_regime


@pytest.mark.parametrize("scale", ["smoke", "default", "full"])
def test_claims_configs_inside_or_outside_the_theorem(scale):
    for cfg in (E.consensus_config(scale), E.saddle_config(scale), E.kink_config(scale),
                E.disconnected_config(scale), E.relu_config(scale), E.escape_config(scale)):
        assert step_size_regime(cfg.tau_a, cfg.tau_b).covered, cfg
    ode = E.ode_config(scale)
    assert step_size_regime(ode.tau_a, ode.tau_b).covered
    v = E.violation_config(scale)
    assert not step_size_regime(v.tau_a, v.tau_b).covered
    assert step_size_regime(v.tau_a, v.control_tau_b).covered
    assert E.saddle_config(scale).runs >= 20  # fractions over >= 20 seeds (issue)
    ring = graphs.laplacian(graphs.ring(8))
    for cfg in (E.consensus_config(scale), E.saddle_config(scale), v):
        assert cfg.c_b * graphs.laplacian_spectrum(ring)[-1] < 2
    esc = E.escape_config(scale)
    assert esc.c_b_lambda_max < 2 and 0 < esc.level < 1


def test_registration():
    REGISTRY.load_paper("dsgd")
    exps = {n for n, e in REGISTRY.experiments.items() if e.paper == "dsgd"}
    assert exps == {"dsgd.consensus", "dsgd.graphs", "dsgd.saddle", "dsgd.kink", "dsgd.violation",
                    "dsgd.disconnected", "dsgd.relu", "dsgd.ode", "dsgd.escape_time"}
    figs = {n for n, f in REGISTRY.figures.items() if f.paper == "dsgd"}
    assert {"dsgd_consensus", "dsgd_escape", "dsgd_ode_tracking", "dsgd_graphs", "dsgd_escape_time"} <= figs


def test_wilson_interval_alive_mask_and_sd_se():
    lo, hi = C.wilson(20, 20)
    assert 0.8 < lo < 0.85 and hi == pytest.approx(1.0)
    x = np.arange(6.0).reshape(2, 3)
    assert C.alive(x, np.array([False, True, False])).tolist() == [[0.0, 2.0], [3.0, 5.0]]
    z = np.random.default_rng(0).standard_normal((400, 200)) * 2.0
    sds = np.array([C.sd_se(c) for c in z.T])
    # the delta-method se of the sd matches the spread of the sd over replicates (to 15%)
    assert sds[:, 1].mean() == pytest.approx(sds[:, 0].std(ddof=1), rel=0.15)
    assert sds[:, 0].mean() == pytest.approx(2.0, rel=0.01)
