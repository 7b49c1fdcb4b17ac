"""dsgd theory: step sizes, ODE time, consensus-error prediction, exact disagreement moments, gradient flows."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
from scipy.optimize import approx_fprime

from theory.distributed.consensus import (
    consensus_bias_gradient,
    consensus_error_prediction,
    disagreement,
    disagreement_moments,
    noise_floor_sq,
    pinv_tilt_norm,
)
from theory.distributed.escape import SD_LOG_ABS_NORMAL, escape_time_law
from theory.distributed.flow import (
    average_flow,
    network_grad,
    penalized_rest_point,
    quartic_saddle_grad,
    quartic_saddle_value,
    tilted_quartic_critical_points,
)
from theory.distributed.steps import ode_time, power_schedule, step_size_regime, steps_for_ode_time


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



def test_disagreement_on_distinct_agents():
    """||(I - J) X||_F: two agents at -a and +a give sqrt(2) ||a||; a random batch matches an explicit projection
    with J = 1 1^T / N; a common shift changes nothing; a NaN agent gives NaN (never 0)."""
    a = np.array([3.0, 4.0])
    assert disagreement(np.stack([-a, a])) == pytest.approx(np.sqrt(2) * 5.0, rel=1e-15)
    x = np.random.default_rng(5).standard_normal((4, 7, 3))
    proj = np.eye(7) - np.ones((7, 7)) / 7
    expected = np.array([np.linalg.norm(proj @ xi) for xi in x])
    np.testing.assert_allclose(disagreement(x), expected, rtol=1e-13)
    np.testing.assert_allclose(disagreement(x + np.array([1.0, -2.0, 3.0])), expected, rtol=1e-12)
    assert disagreement(np.ones((2, 5, 3))).tolist() == [0.0, 0.0]
    y = x.copy()
    y[1, 2, 0] = np.nan
    assert np.isnan(disagreement(y)[1]) and np.isfinite(disagreement(y)[0])
    with pytest.raises(ValueError, match="agents"):
        disagreement(np.ones(3))


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


# -- escape time -------------------------------------------------------------------------------------------------
def test_effective_level_is_the_flow_time_in_log_units():
    """h_eff from the quadrature equals lim y0 e^{r T(y0 -> h)} of the flow dy/dt = phi(y) / N (solve_ivp)."""
    from scipy.integrate import solve_ivp

    from theory.distributed.escape import effective_level

    assert effective_level(0.5) == pytest.approx(0.5 / np.sqrt(0.75), rel=1e-14)
    for mu, lam in ((1.0, 0.0), (1.0, 0.1), (2.0, 0.15)):
        n, y0, h, kap = 8, 1e-7, 0.5, 0.25

        def rhs(_t, y, mu=mu, lam=lam, kap=kap, n=n):
            return [(mu * (y[0] - y[0] ** 3) - lam * (y[0] > kap)) / n]

        hit = lambda _t, y, h=h: y[0] - h  # noqa: E731
        hit.terminal = True
        sol = solve_ivp(rhs, (0, 1e4), [y0], events=hit, rtol=1e-12, atol=1e-15, max_step=0.5)
        t_hit = float(sol.t_events[0][0])
        assert np.log(y0) + mu / n * t_hit == pytest.approx(np.log(effective_level(h, mu, lam, kap)), abs=1e-5)
    with pytest.raises(ValueError, match="stops the flow"):
        effective_level(0.5, 1.0, 0.3, 0.25)


def test_escape_law_matches_linear_chain_exactly_and_its_asymptotics():
    """F_k of the law is the exact marginal of the linear chain (L): compare the variance recursion in closed form,
    and the asymptotic sd / slope with the law's own numbers."""
    law = escape_time_law(1.0, 0.6, 1.0, 8, 0.03, 0.5)
    assert law.sd == pytest.approx(law.sd_asymptotic, rel=0.01)
    assert law.mean == pytest.approx(law.mean_asymptotic, abs=0.2)
    assert law.sd_asymptotic == pytest.approx(SD_LOG_ABS_NORMAL * 8.0)
    lo = escape_time_law(1.0, 0.6, 1.0, 8, 0.01, 0.5)
    hi = escape_time_law(1.0, 0.6, 1.0, 8, 0.1, 0.5)
    assert (hi.mean - lo.mean) / np.log(10.0) == pytest.approx(-8.0, rel=0.03)
    # the variance recursion: V_k = (1 + a_k r)^2 V_{k-1} + a_k^2 s^2 by a plain loop, then F_k = erfc(h_eff / sqrt(2V))
    from scipy.special import erfc

    k = 300
    a = power_schedule(1.0, 0.6, np.arange(1, k + 1))
    v = 0.0
    for j in range(k):
        v = (1 + a[j] / 8) ** 2 * v + a[j] ** 2 * 0.03**2 / 8
    assert law.cdf[k] == pytest.approx(float(erfc(0.5 / np.sqrt(0.75) / np.sqrt(2 * v))), rel=1e-10)
    assert law.quantile(0.5) == pytest.approx(law.t[np.searchsorted(law.cdf, 0.5)])


def test_escape_law_against_a_scalar_monte_carlo_of_the_linear_chain():
    """The marginal law vs 4000 simulated copies of the scalar chain (L) with the cubic drift, first passage."""
    rng = np.random.default_rng(1)
    n, mu, sigma, h = 8, 1.0, 0.1, 0.5
    law = escape_time_law(1.0, 0.6, mu, n, sigma, h)
    y = np.zeros(4000)
    t_hit = np.full(4000, np.nan)
    alphas = power_schedule(1.0, 0.6, np.arange(1, law.t.size))
    for j, a in enumerate(alphas):
        y = y - a * (mu / n) * (y**3 - y) - a * rng.standard_normal(4000) * sigma / np.sqrt(n)
        new = np.isnan(t_hit) & (np.abs(y) >= h)
        t_hit[new] = law.t[j + 1]
        if not np.isnan(t_hit).any():
            break
    m, se = t_hit.mean(), t_hit.std(ddof=1) / np.sqrt(t_hit.size)
    # the first passage comes earlier than the marginal crossing: the law overestimates the mean by a little
    assert 0 < law.mean - m < 6 * se + 0.05 * law.mean, (m, se, law.mean)


def test_noise_floor_recursion_and_consensus_bias():
    lam = np.array([2.0, 1.0])
    assert noise_floor_sq(np.full(200_000, 1e-3), 0.1, 8, lam) == pytest.approx(1e-3 * 0.01 * 3 / 2, rel=1e-3)
    # one step from v_0 = 0: sum_i l_i^2 a^2 s^2 / N
    assert noise_floor_sq([0.1], 0.5, 4, lam) == pytest.approx(float((lam**2).sum()) * 0.01 * 0.25 / 4, rel=1e-12)
    lap, c = ring_laplacian(6), tilts(6, 2, 4)
    h = np.stack([np.diag([1.0 + i, 2.0]) for i in range(6)])
    b = consensus_bias_gradient(lap, c, h, 0.01, 0.5)
    y = np.linalg.pinv(lap) @ (c - c.mean(0))
    np.testing.assert_allclose(b, 0.02 * sum(h[i] @ y[i] for i in range(6)), rtol=1e-12, atol=1e-15)
    # identical Hessians: the bias vanishes (sum_n (L^+ c)_n = 0)
    assert np.abs(consensus_bias_gradient(lap, c, np.stack([np.eye(2)] * 6), 0.01, 0.5)).max() < 1e-14
