"""dsgd paper module: every configuration is where its claim says it is (inside / outside the theorem), with a
contracting consensus step, at every scale."""

from __future__ import annotations

import numpy as np
import pytest

from sgdlab.papers import dsgd
from sims import graphs
from theory.dsgd_steps import step_size_regime


@pytest.mark.parametrize("scale", ["smoke", "default", "full"])
def test_claims_configs_inside_or_outside_the_theorem(scale):
    for cfg in (dsgd.consensus_config(scale), dsgd.saddle_config(scale), dsgd.kink_config(scale),
                dsgd.disconnected_config(scale), dsgd.relu_config(scale)):
        assert step_size_regime(cfg.tau_a, cfg.tau_b).covered, cfg
    ode = dsgd.ode_config(scale)
    assert step_size_regime(ode.tau_a, ode.tau_b).covered
    v = dsgd.violation_config(scale)
    assert not step_size_regime(v.tau_a, v.tau_b).covered
    assert step_size_regime(v.tau_a, v.control_tau_b).covered
    assert dsgd.saddle_config(scale).runs >= 20  # fractions over >= 20 seeds (issue)
    ring = graphs.laplacian(graphs.ring(8))
    for cfg in (dsgd.consensus_config(scale), dsgd.saddle_config(scale), v):
        assert cfg.c_b * graphs.laplacian_spectrum(ring)[-1] < 2


def test_wilson_interval_and_alive_mask():
    lo, hi = dsgd._wilson(20, 20)
    assert 0.8 < lo < 0.85 and hi == pytest.approx(1.0)
    x = np.arange(6.0).reshape(2, 3)
    assert dsgd._alive(x, np.array([False, True, False])).tolist() == [[0.0, 2.0], [3.0, 5.0]]
