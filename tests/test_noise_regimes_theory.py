"""noise_regimes: perceptron predictions (depleted-sign law, order statistics) and the scaling-fit tools."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from scipy import integrate

from theory.noise_regimes.perceptron import (
    abs_x1_cdf,
    expected_min_abs_x1,
    local_exponent,
    scale_invariant_weights,
    w1_exponent,
    x1_density,
)
from theory.noise_regimes.scaling_fits import (
    bootstrap,
    collapse_exponents,
    crossover_temperature,
    exponent_of_mean_log,
    fit_log_linear,
    power_law_exponent,
)


@pytest.mark.parametrize("chi", [-0.5, 0.0, 1.0, 3.0])
def test_density_normalised_and_consistent_with_cdf(chi: float) -> None:
    total = 2.0 * integrate.quad(lambda x: x1_density(x, chi), 0.0, np.inf)[0]
    assert total == pytest.approx(1.0, abs=1e-8)
    for a in (0.1, 0.7, 2.0):
        part, _ = integrate.quad(lambda x: 2.0 * x1_density(x, chi), 0.0, a)
        assert float(abs_x1_cdf(a, chi)) == pytest.approx(part, rel=1e-7)


def test_expected_min_closed_forms_and_monte_carlo() -> None:
    # chi = 1: |x_1| is Rayleigh, its minimum over P is Rayleigh with scale 1/sqrt(P): E = sqrt(pi / (2P))
    for p in (1, 10, 1000):
        assert expected_min_abs_x1(p, 1.0) == pytest.approx(math.sqrt(math.pi / (2 * p)), rel=1e-8)
    # chi = 0, P = 1: E|N(0,1)| = sqrt(2/pi)
    assert expected_min_abs_x1(1, 0.0) == pytest.approx(math.sqrt(2 / math.pi), rel=1e-8)
    rng = np.random.default_rng(0)
    for chi in (-0.5, 0.0, 3.0):
        m = np.sqrt(2 * rng.gamma((chi + 1) / 2, size=(4000, 300))).min(1)
        assert abs(m.mean() - expected_min_abs_x1(300, chi)) <= 4 * m.std() / math.sqrt(m.size)
    # asymptotic exponent 1/(1+chi)
    for chi in (0.0, 1.0, 3.0):
        e = local_exponent([1 / expected_min_abs_x1(p, chi) for p in (4096, 16384)], [4096, 16384])
        assert e[0] == pytest.approx(w1_exponent(chi), abs=0.01)


def test_bad_chi() -> None:
    for f in (lambda: x1_density(1.0, -1.0), lambda: abs_x1_cdf(1.0, -2.0), lambda: w1_exponent(-1.0),
              lambda: expected_min_abs_x1(10, -1.0)):
        with pytest.raises(ValueError, match="chi"):
            f()


def test_fits_recover_known_exponents() -> None:
    x = np.array([1.0, 2.0, 4.0, 8.0])
    assert fit_log_linear(np.log(x), np.log(3 * x**0.7))[1] == pytest.approx(0.7, abs=1e-12)
    t = np.repeat(2.0 ** np.arange(-3, 4), 3)
    p = np.tile([100.0, 200.0, 400.0], 7)
    d, g, a = collapse_exponents(t, p, 5 * t**0.9 * p**0.3)
    assert (d, g, a) == pytest.approx((0.9, 0.3, 0.3 / 0.9), abs=1e-12)
    temps = 2.0 ** np.arange(-6, 7)
    y = np.maximum(2.0, 0.5 * temps**1.0)  # crossover at T_c = 4
    tc, plateau, delta = crossover_temperature(temps, y, n_low=3, n_high=3)
    assert (tc, plateau, delta) == pytest.approx((4.0, 2.0, 1.0), rel=1e-12)
    with pytest.raises(ValueError, match="n_low"):
        crossover_temperature(temps, y, n_low=10, n_high=5)


def test_bootstrap_se_matches_the_standard_error_of_a_slope() -> None:
    """Exponent of noisy power laws: bootstrap se over seeds vs the spread of the estimate over independent data."""
    rng = np.random.default_rng(1)
    x = np.array([64.0, 128.0, 256.0, 512.0])
    stat = exponent_of_mean_log(x)

    def sample() -> np.ndarray:
        return 2.0 * x**0.5 * np.exp(0.3 * rng.standard_normal((16, x.size)))

    est = [stat(sample()) for _ in range(300)]
    true_se = float(np.std(est, ddof=1))
    boots = [bootstrap(stat, sample(), n_boot=200, rng=rng).se for _ in range(20)]
    assert np.mean(est) == pytest.approx(0.5, abs=4 * true_se / math.sqrt(300))
    assert 0.75 * true_se <= np.mean(boots) <= 1.25 * true_se
    with pytest.raises(ValueError, match="seeds"):
        bootstrap(stat, sample()[:1], n_boot=100, rng=rng)


@pytest.mark.parametrize("f, match", [
    (lambda: x1_density(1.0, math.inf), "chi"), (lambda: x1_density(1.0, math.nan), "chi"),
    (lambda: x1_density([1.0, math.nan], 1.0), "finite"), (lambda: abs_x1_cdf(math.nan, 1.0), "NaN"),
    (lambda: w1_exponent("1"), "chi"), (lambda: expected_min_abs_x1(0, 1.0), "P"),  # type: ignore[arg-type]
    (lambda: expected_min_abs_x1(2.5, 1.0), "P"),  # type: ignore[arg-type]
    (lambda: local_exponent([1.0, -1.0], [1.0, 2.0]), "> 0"),
    (lambda: local_exponent([1.0, 2.0], [2.0, 1.0]), "increasing"), (lambda: local_exponent([1.0], [1.0]), "length"),
    (lambda: local_exponent([1.0, math.nan], [1.0, 2.0]), "finite"),
    (lambda: scale_invariant_weights([1.0], math.nan, 1.0), "temperatures"),
    (lambda: scale_invariant_weights([1.0], 1.0, math.inf), "temperatures"),
    (lambda: fit_log_linear([0.0, math.nan], [1.0, 2.0]), "finite"),
    (lambda: power_law_exponent([1.0, 0.0], [1.0, 2.0]), "> 0"),
    (lambda: power_law_exponent([1.0, 2.0], [1.0, math.nan]), "> 0"),
    (lambda: bootstrap(lambda s: 0.0, np.ones((3, 2)), n_boot=5, rng=np.random.default_rng(0)), "n_boot"),
    (lambda: bootstrap(lambda s: 0.0, np.ones((3, 2)), n_boot=20.5,  # type: ignore[arg-type]
                       rng=np.random.default_rng(0)), "n_boot"),
    (lambda: bootstrap(lambda s: 0.0, np.ones((3, 2)), n_boot=20, rng=np.random.default_rng(0), level=1.5), "level"),
    (lambda: crossover_temperature([1.0, 2.0, 4.0, 8.0], [1.0, 1.0, -2.0, 4.0], n_low=1, n_high=2), "> 0"),
    (lambda: collapse_exponents([1.0, 2.0, 4.0], [1.0, 1.0, 2.0], [1.0, 1.0, 1.0]), "delta"),
    (lambda: collapse_exponents([1.0, 2.0], [1.0, 1.0, 2.0], [1.0, 1.0, 1.0]), "length"),
])  # fmt: skip
def test_bad_inputs_are_refused(f: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        f()
