"""dsgd theory: step sizes, ODE time, consensus-error prediction, exact disagreement moments, gradient flows."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
from scipy.optimize import approx_fprime

from theory.consensus import consensus_error_prediction, disagreement, disagreement_moments, pinv_tilt_norm
from theory.dsgd_flow import (
    average_flow,
    network_grad,
    penalized_rest_point,
    quartic_saddle_grad,
    quartic_saddle_value,
    tilted_quartic_critical_points,
)
from theory.dsgd_steps import ode_time, power_schedule, step_size_regime, steps_for_ode_time


def ring_laplacian(n: int) -> np.ndarray:
    a = np.zeros((n, n))
    for i in range(n):
        a[i, (i + 1) % n] = a[(i + 1) % n, i] = 1.0
    return np.diag(a.sum(1)) - a


def tilts(n: int, d: int, seed: int = 0) -> np.ndarray:
    c = np.random.default_rng(seed).standard_normal((n, d))
    return c - c.mean(0)


# -- step sizes --------------------------------------------------------------------------------------------------
def test_ode_time_is_partial_sum_and_inverse_is_minimal():
    t = ode_time(0.5, 0.75, 1000)
    assert t[0] == 0.0
    assert t[-1] == pytest.approx(sum(0.5 * j**-0.75 for j in range(1, 1001)), rel=1e-13)
    for c, tau, target in [(0.5, 0.75, 7.3), (0.2, 1.0, 1.9), (1.0, 0.6, 30.0)]:
        k = steps_for_ode_time(c, tau, target)
        tt = ode_time(c, tau, k)
        assert tt[-1] >= target > tt[-2]


@pytest.mark.parametrize(
    "ta,tb,covered",
    [(0.75, 0.2, True), (1.0, 0.3, True), (1.0, 0.49, True), (0.75, 0.25, False), (0.75, 0.75, False),
     (0.5, 0.0, False), (1.1, 0.1, False)],
)
def test_step_size_regime(ta, tb, covered):
    r = step_size_regime(ta, tb)
    assert r.covered is covered
    assert ("outside the theorem" in r.describe()) is (not covered)


def test_step_size_regime_flags_unstable_consensus_and_bad_input():
    assert not step_size_regime(0.75, 0.2, c_beta_lambda_max=2.0).covered
    with pytest.raises(ValueError, match="tau_alpha"):
        step_size_regime(float("nan"), 0.1)
    with pytest.raises(ValueError, match="c_alpha"):
        power_schedule(-1.0, 0.5, [1, 2])
    with pytest.raises(ValueError, match="k must be >= 1"):
        power_schedule(1.0, 0.5, [0, 1])


# -- consensus error ---------------------------------------------------------------------------------------------
def test_pinv_tilt_norm_matches_minimum_norm_solution():
    lap, c = ring_laplacian(8), tilts(8, 3)
    y = scipy.linalg.lstsq(lap, c)[0]  # minimum-norm solution of L y = c (c orthogonal to 1): y = L^+ c
    assert pinv_tilt_norm(lap, c) == pytest.approx(np.linalg.norm(y), rel=1e-10)
    # a common shift of all tilts is invisible to (I - J)
    assert pinv_tilt_norm(lap, c + 5.0) == pytest.approx(pinv_tilt_norm(lap, c), rel=1e-10)


def test_exact_moments_approach_quasi_static_prediction():
    """||E Y_k|| from the exact mode recursion tends to (alpha_k/beta_k)||L^+ c|| (first-order corrections shrink)."""
    lap, c = ring_laplacian(8), tilts(8, 2, 1)
    k = np.arange(1, 100_001)
    a, b = power_schedule(0.5, 1.0, k), power_schedule(0.3, 0.3, k)
    _, mean_norm = disagreement_moments(lap, c, np.zeros((2, 2)), a, b, sigma=0.0)
    pred = consensus_error_prediction(a, b, lap, c)
    rel = np.abs(mean_norm[1:] / pred - 1.0)
    # relative lag ~ (tau_a - tau_b) / (k beta_k lambda_2): decreasing in k
    lag = 0.7 / (k * b * np.linalg.eigvalsh(lap)[1])
    assert rel[9_999] < 3 * lag[9_999] and rel[-1] < 3 * lag[-1]
    assert rel[-1] < rel[9_999] < 0.01


def test_exact_moments_noise_part_matches_stationary_variance():
    """Constant steps, no tilt: E||Y||^2 -> sum_modes alpha^2 sigma^2 / (1 - r^2), r = 1 - beta lambda_i."""
    lap = ring_laplacian(6)
    a, b, s = 0.01, 0.2, 0.7
    e2, _ = disagreement_moments(lap, np.zeros((6, 2)), np.zeros((2, 2)), np.full(5000, a), np.full(5000, b), s)
    lam = np.linalg.eigvalsh(lap)[1:]
    expected = 2 * np.sum(a**2 * s**2 / (1 - (1 - b * lam) ** 2))
    assert e2[-1] == pytest.approx(expected, rel=1e-9)


def test_consensus_inputs_are_validated():
    with pytest.raises(ValueError, match="symmetric"):
        pinv_tilt_norm(np.array([[1.0, -1.0], [0.0, 0.0]]), np.zeros((2, 1)))
    with pytest.raises(ValueError, match="shape"):
        pinv_tilt_norm(ring_laplacian(4), np.zeros((3, 2)))
    assert disagreement(np.ones((2, 5, 3))).tolist() == [0.0, 0.0]


# -- flows -------------------------------------------------------------------------------------------------------
def test_quartic_gradient_is_the_derivative():
    x = np.array([0.7, -0.3, 0.4])
    fd = approx_fprime(x, lambda z: float(quartic_saddle_value(z)), 1e-7)
    np.testing.assert_allclose(quartic_saddle_grad(x), fd, atol=1e-5)
    xk = np.array([0.2, 1.5])  # beyond the kink
    fdk = approx_fprime(xk, lambda z: float(quartic_saddle_value(z, kink=0.4)), 1e-7)
    np.testing.assert_allclose(quartic_saddle_grad(xk, kink=0.4), fdk, atol=1e-5)


def test_average_flow_matches_closed_form():
    """dx/dt = -(1/N) grad f: x_2 = x_2(0) e^{-t/N}, x_1^2 = 1 / (1 + (1/x_1(0)^2 - 1) e^{-2t/N})."""
    n, x0 = 8, np.array([0.1, 1.0])
    t = np.linspace(0, 40, 41)
    x = average_flow(lambda y: network_grad(y, 1.0 / n, np.zeros((n, 2))), x0, t, n)
    np.testing.assert_allclose(x[:, 1], np.exp(-t / n), rtol=1e-8)
    np.testing.assert_allclose(x[:, 0], 1 / np.sqrt(1 + (1 / 0.01 - 1) * np.exp(-2 * t / n)), rtol=1e-8)


def test_critical_points_of_tilted_quartic():
    for s in ([0.1, 0.3], [1.0, -0.2]):
        pts = tilted_quartic_critical_points(2.0, np.array(s))
        assert len(pts) == (3 if abs(s[0]) / 2.0 < 2 / (3 * np.sqrt(3)) else 1)
        for p, kind in pts:
            np.testing.assert_allclose(2.0 * quartic_saddle_grad(p) + np.array(s), 0.0, atol=1e-12)
            assert kind == ("min" if abs(p[0]) > 1 / np.sqrt(3) else "saddle")


def test_penalized_rest_point_is_not_critical_and_tends_to_consensus():
    n = 8
    lap, c = ring_laplacian(n), tilts(n, 2, 3)
    w = 1.0 / n
    res = {}
    for ratio in (0.5, 50.0):
        x = penalized_rest_point(lap, w, c, ratio, np.array([1.0, 0.0]))
        field = -ratio * lap @ x - w * quartic_saddle_grad(x) - c
        assert np.max(np.abs(field)) < 1e-9
        xbar = x.mean(0)
        res[ratio] = (disagreement(x), np.linalg.norm(network_grad(xbar, w, c)))
    # tighter coupling: smaller disagreement (~ 1/ratio) and a more nearly critical average
    assert res[50.0][0] < res[0.5][0] / 20
    assert res[50.0][1] < res[0.5][1]
    assert res[0.5][1] > 1e-3
