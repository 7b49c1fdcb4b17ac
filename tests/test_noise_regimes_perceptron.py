"""noise_regimes: depleted-sign data and the exact event-driven perceptron simulator vs the plain SGD loop."""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pytest
import torch
from scipy import stats

from sims.perceptron.depleted_sign import depleted_sign
from sims.perceptron.sgd import (
    _batch_tables,
    classification_error,
    event_driven,
    log_miss_probability,
    step_by_step,
)
from theory.noise_regimes.perceptron import abs_x1_cdf


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("chi", [-0.5, 0.0, 1.0, 3.0])
def test_depleted_sign_law(chi: float) -> None:
    x, y = depleted_sign(2, 20000, 3, chi, generator=gen(11))
    a = x[..., 0].abs().flatten().numpy()
    # |x_1| against the exact CDF (regularised incomplete gamma)
    assert stats.kstest(a, lambda t: abs_x1_cdf(t, chi)).pvalue > 1e-3
    # E[x_1^2] = E[2G] = chi + 1, within 4 standard errors
    m2 = a**2
    assert abs(m2.mean() - (chi + 1.0)) <= 4.0 * m2.std() / math.sqrt(m2.size)
    # labels are the sign of x_1, balanced, and the other coordinates are standard normal
    assert torch.equal(torch.sign(x[..., 0]), y)
    frac = (y > 0).double().mean().item()
    assert abs(frac - 0.5) <= 4.0 * 0.5 / math.sqrt(y.numel())
    assert stats.kstest(x[..., 1:].flatten().numpy(), "norm").pvalue > 1e-3


def test_bad_inputs() -> None:
    g = gen(0)
    with pytest.raises(ValueError, match="chi"):
        depleted_sign(1, 10, 2, -1.0, generator=g)
    x, y = depleted_sign(2, 8, 3, 1.0, generator=g)
    kw: dict[str, Any] = dict(temperature=1.0, batch_size=2, alpha=math.inf, max_steps=100, generator=g)
    for sim in (event_driven, step_by_step):
        with pytest.raises(ValueError, match="alpha"):
            sim(x, y, **{**kw, "alpha": 0.0})
        with pytest.raises(ValueError, match="alpha"):
            sim(x, y, **{**kw, "alpha": -2.0})
        with pytest.raises(ValueError, match="batch_size"):
            sim(x, y, **{**kw, "batch_size": 9})
        with pytest.raises(ValueError, match="temperature"):
            sim(x, y, **{**kw, "temperature": 0.0})
        with pytest.raises(ValueError, match="binary"):
            sim(x, y * 0.5, **kw)
        with pytest.raises(ValueError, match="shape"):
            sim(x[0], y, **kw)


def test_miss_probability_by_enumeration() -> None:
    p, b = 7, 3
    subsets = list(itertools.combinations(range(p), b))
    for u in range(p + 1):
        brute = sum(all(i >= u for i in s) for s in subsets) / len(subsets)  # marked points are 0..u-1
        got = math.exp(float(log_miss_probability(p, torch.tensor([u]), b)[0]))
        assert got == pytest.approx(brute, abs=1e-12)


def test_conditioned_hypergeometric_table() -> None:
    p, b = 20, 4
    _, cdf = _batch_tables(p, b, torch.device("cpu"))
    for u in range(1, p + 1):
        pmf = stats.hypergeom(p, u, b).pmf(np.arange(1, b + 1))
        np.testing.assert_allclose(cdf[u].numpy(), np.cumsum(pmf) / pmf.sum(), atol=1e-12)


@pytest.mark.parametrize("alpha", [math.inf, 2.0])
def test_event_driven_has_the_law_of_the_plain_loop(alpha: float) -> None:
    """Same data, independent randomness: steps, updates and |w| have the same distribution (k * se, KS)."""
    r, p, d, b = 3000, 16, 2, 3
    x, y = depleted_sign(r, p, d, 1.0, generator=gen(1))
    ev = event_driven(x, y, temperature=0.5, batch_size=b, alpha=alpha, max_steps=10**8, generator=gen(2))
    sb = step_by_step(x, y, temperature=0.5, batch_size=b, alpha=alpha, max_steps=10**6, generator=gen(3))
    assert bool(ev.converged.all()) and bool(sb.converged.all())
    for a, c in [
        (ev.steps.double().log(), sb.steps.double().log()),
        (ev.updates.double(), sb.updates.double()),
        (ev.w.norm(dim=1), sb.w.norm(dim=1)),
        # wasted steps per effective step: tests the geometric waiting times directly
        ((ev.steps - ev.updates).double() / ev.updates, (sb.steps - sb.updates).double() / sb.updates),
    ]:
        se = math.sqrt(a.var().item() / r + c.var().item() / r)
        assert abs(a.mean().item() - c.mean().item()) <= 4.0 * se
    assert stats.ks_2samp(ev.steps.numpy(), sb.steps.numpy()).pvalue > 1e-3
    # the plain loop really does waste steps (so the comparison tests the geometric waiting times)
    assert sb.steps.double().mean() > 1.5 * sb.updates.double().mean()


@pytest.mark.parametrize("sim", [event_driven, step_by_step])
def test_scale_invariance_is_exact_at_vanishing_margin(sim) -> None:  # type: ignore[no-untyped-def]
    x, y = depleted_sign(6, 40, 4, 1.0, generator=gen(4))
    runs = {t: sim(x, y, temperature=t, batch_size=2, alpha=math.inf, max_steps=10**6, generator=gen(5))
            for t in (2.0**-3, 1.0, 2.0**4)}
    ref = runs[1.0]
    for t, rr in runs.items():
        assert torch.equal(rr.steps, ref.steps)
        assert torch.equal(rr.w / t, ref.w)
        assert torch.equal(rr.t_star(t, 2) / t, ref.t_star(1.0, 2))


def test_margin_scaling_is_exact() -> None:
    """(c T, c kappa) gives c times the state of (T, kappa); the step count is unchanged."""
    x, y = depleted_sign(6, 40, 4, 1.0, generator=gen(6))
    a = event_driven(x, y, temperature=0.25, batch_size=2, alpha=4.0, max_steps=10**7, generator=gen(7))
    b = event_driven(x, y, temperature=0.5, batch_size=2, alpha=2.0, max_steps=10**7, generator=gen(7))
    assert torch.equal(a.steps, b.steps) and torch.equal(2.0 * a.w, b.w)
    # but the finite margin breaks T-invariance: halving T alone changes the dynamics
    c = event_driven(x, y, temperature=0.125, batch_size=2, alpha=4.0, max_steps=10**7, generator=gen(7))
    assert not torch.equal(2.0 * c.w, a.w)


@pytest.mark.parametrize("sim", [event_driven, step_by_step])
def test_converged_means_fitted_and_budget_means_censored(sim) -> None:  # type: ignore[no-untyped-def]
    x, y = depleted_sign(16, 64, 4, 1.0, generator=gen(8))
    kappa = 0.05
    full = sim(x, y, temperature=0.1, batch_size=2, alpha=1 / kappa, max_steps=10**6, generator=gen(9))
    assert bool(full.converged.all()) and not bool(full.censored.any())
    margins = torch.einsum("rpd,rd->rp", y[..., None] * x, full.w) / math.sqrt(4)
    assert bool((margins >= kappa).all())
    small = sim(x, y, temperature=0.1, batch_size=2, alpha=1 / kappa, max_steps=20, generator=gen(9))
    assert bool(small.censored.all()) and not bool(small.converged.any())
    assert bool((small.steps == 20).all())
    assert bool(torch.isnan(small.t_star(0.1, 2)).all())
    # the training set is fitted, so its error is zero
    assert float(classification_error(full.w, x, y).max()) == 0.0


@pytest.mark.parametrize("chi", [math.inf, -math.inf, math.nan, -1.0, 2e6, "1", True])
def test_depleted_sign_rejects_bad_chi(chi: Any) -> None:
    with pytest.raises(ValueError, match="chi"):
        depleted_sign(1, 4, 2, chi, generator=gen(0))


@pytest.mark.parametrize("kw, match", [
    ({"n_runs": 0}, "n_runs"), ({"n": 2.5}, "n"), ({"d": 0}, "d"), ({"n": 10**6, "n_runs": 10**4}, "memory"),
])  # fmt: skip
def test_depleted_sign_rejects_bad_sizes(kw: dict[str, Any], match: str) -> None:
    args: dict[str, Any] = {"n_runs": 1, "n": 4, "d": 2} | kw
    with pytest.raises(ValueError, match=match):
        depleted_sign(args["n_runs"], args["n"], args["d"], 1.0, generator=gen(0))


@pytest.mark.parametrize("change, match", [
    ({"temperature": math.nan}, "temperature"), ({"temperature": math.inf}, "temperature"),
    ({"temperature": "1"}, "temperature"), ({"alpha": math.nan}, "alpha"), ({"alpha": "inf"}, "alpha"),
    ({"batch_size": 2.0}, "batch_size"), ({"batch_size": True}, "batch_size"), ({"max_steps": 0}, "max_steps"),
    ({"max_steps": 2**60}, "max_steps"), ({"max_steps": 1e9}, "max_steps"),
])  # fmt: skip
def test_simulators_reject_bad_scalars(change: dict[str, Any], match: str) -> None:
    x, y = depleted_sign(2, 8, 3, 1.0, generator=gen(0))
    kw: dict[str, Any] = dict(temperature=1.0, batch_size=2, alpha=math.inf, max_steps=100, generator=gen(1))
    for sim in (event_driven, step_by_step):
        with pytest.raises(ValueError, match=match):
            sim(x, y, **{**kw, **change})
    with pytest.raises(ValueError, match="finite"):
        event_driven(x * math.nan, y, **kw)


def test_classification_error_rejects_nan_weights_and_bad_shapes() -> None:
    x, y = depleted_sign(2, 8, 3, 1.0, generator=gen(0))
    w = torch.ones(2, 3, dtype=torch.float64)
    assert classification_error(w, x, y).shape == (2,)
    for bad in (w * math.nan, w * math.inf):
        with pytest.raises(ValueError, match="w must be finite"):
            classification_error(bad, x, y)
    with pytest.raises(ValueError, match="shape|must be"):
        classification_error(w[:, :2], x, y)
    with pytest.raises(ValueError, match="y must"):
        classification_error(w, x, y[:, :3])
    with pytest.raises(ValueError, match="binary"):
        classification_error(w, x, 0.5 * y)
    # the error itself: w = e_1 classifies depleted-sign data perfectly, -e_1 gets every point wrong
    e1 = torch.zeros(2, 3, dtype=torch.float64)
    e1[:, 0] = 1.0
    assert classification_error(e1, x, y).tolist() == [0.0, 0.0]
    assert classification_error(-e1, x, y).tolist() == [1.0, 1.0]


def test_classification_error_counts_zero_margin_as_error() -> None:
    """y f(w, x) <= 0 is an error: w = 0 (the initial point) classifies nothing."""
    x, y = depleted_sign(2, 8, 3, 1.0, generator=gen(0))
    assert classification_error(torch.zeros(2, 3, dtype=torch.float64), x, y).tolist() == [1.0, 1.0]
