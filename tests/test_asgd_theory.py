"""Exact recursions of theory.linreg against independent brute-force computations (float64)."""

from __future__ import annotations

import numpy as np
import pytest

from theory.linreg import bounds as Bd
from theory.linreg import checks as Ck
from theory.linreg import parameters as Pa
from theory.linreg import problem as Pr
from theory.linreg import recursions as Rc
from theory.linreg import second_moments as SM
from theory.linreg import two_by_two as T2


def _brute_force(params: Pa.AsgdParams, lam: np.ndarray, w0: np.ndarray, sigma2: float, n: int, kurt: float,
                 s: int) -> tuple[np.ndarray, np.ndarray]:
    """Full (3d x 3d) second moment of Y = (w - w*, v - w*, sum_{tau=s}^{t-1} (w_tau - w*)), no diagonal closure.

    Y' = F Y - Qt (x x^T - H) Pt Y + Qt x xi; E[x x^T S x x^T] = 2 H S H + tr(HS) H + (kurt - 3) diag(lam^2 S_ii).
    Returns last-iterate risk (n+1,) and risk of mean(w_s..w_{N-1}) (n+1,; NaN for N <= s).
    """
    d = lam.size
    H = np.diag(lam)
    eye = np.eye(d)
    a, b = params.alpha, params.beta
    Cb = np.block([[a * eye, (1 - a) * eye], [a * b * eye, (1 - a * b) * eye]])
    Q = np.vstack([params.delta * eye, params.gamma * eye])
    P = np.hstack([a * eye, (1 - a) * eye])
    Amean = Cb - Q @ H @ P
    Qt = np.vstack([Q, np.zeros((d, d))])
    Pt = np.hstack([P, np.zeros((d, d))])
    y0 = np.concatenate([w0, w0, np.zeros(d)])
    Sig = np.outer(y0, y0)
    last = np.empty(n + 1)
    avg = np.full(n + 1, np.nan)
    for t in range(n + 1):
        last[t] = 0.5 * np.trace(H @ Sig[:d, :d])
        if t > s:
            avg[t] = 0.5 * np.trace(H @ Sig[2 * d :, 2 * d :]) / (t - s) ** 2
        if t == n:
            break
        F = np.zeros((3 * d, 3 * d))
        F[: 2 * d, : 2 * d] = Amean
        F[2 * d :, 2 * d :] = eye
        if t >= s:
            F[2 * d :, :d] = eye
        S = Pt @ Sig @ Pt.T
        four = 2 * H @ S @ H + np.trace(H @ S) * H + (kurt - 3) * np.diag(lam**2 * np.diag(S))
        Sig = F @ Sig @ F.T + Qt @ (four - H @ S @ H) @ Qt.T + sigma2 * Qt @ H @ Qt.T
    return last, avg


SPECTRA = {"power2": Pr.power_law_spectrum(5, 2.0), "power1": Pr.power_law_spectrum(4, 1.0)}


@pytest.mark.parametrize("spec", list(SPECTRA))
@pytest.mark.parametrize("kurt", [3.0, 1.0, 5.0])
@pytest.mark.parametrize("start", [0, 7])
def test_asgd_recursion_matches_full_covariance(spec: str, kurt: float, start: int) -> None:
    lam = SPECTRA[spec]
    d = lam.size
    p = Pa.accsgd_to_asgd(0.15 / lam.sum(), kappa=30.0, xi=3.0)
    w0 = np.linspace(1.0, -0.5, d)
    n, sigma2 = 40, 0.3
    rc = Rc.asgd_risk(p, lam, Pr.InitialError.from_error(w0), sigma2, n, kurtosis=kurt, avg_starts=(start,))
    # off-diagonal entries of (w0 - w*)(w0 - w*)^T do not enter: the brute force keeps them, the recursion does not
    last, avg = _brute_force(p, lam, w0, sigma2, n, kurt, start)
    np.testing.assert_allclose(rc.total, last, rtol=1e-11, atol=0)
    np.testing.assert_allclose(rc.avg_total[0, start + 1 :], avg[start + 1 :], rtol=1e-11, atol=0)
    assert np.all(np.isnan(rc.avg_total[0, : start + 1]))


@pytest.mark.parametrize("kurt", [3.0, 1.0])
def test_sgd_recursion_matches_full_covariance(kurt: float) -> None:
    lam = SPECTRA["power2"]
    eta = 0.3 / lam.sum()
    w0 = np.array([0.3, -1.0, 0.5, 2.0, 1.0])
    rc = Rc.sgd_risk(eta, lam, Pr.InitialError.from_error(w0), 0.2, 30, kurtosis=kurt, avg_starts=(3,))
    last, avg = _brute_force(Pa.sgd_as_asgd(eta), lam, w0, 0.2, 30, kurt, 3)
    np.testing.assert_allclose(rc.total, last, rtol=1e-11)
    np.testing.assert_allclose(rc.avg_total[0, 4:], avg[4:], rtol=1e-11)


def test_bias_variance_split_and_directions() -> None:
    lam = Pr.power_law_spectrum(50, 2.0)
    p = Pa.paper_params(lam)
    m0 = Pr.band_init(50, 3, 9)
    rc = Rc.asgd_risk(p, lam, m0, 0.05, 300, avg_starts=(0,))
    bias_only = Rc.asgd_risk(p, lam, m0, 0.0, 300)
    var_only = Rc.asgd_risk(p, lam, Pr.InitialError.zero(50), 0.05, 300)
    np.testing.assert_allclose(rc.bias, bias_only.total, rtol=1e-13)
    np.testing.assert_allclose(rc.variance, var_only.total, rtol=1e-13)
    assert np.all(bias_only.variance == 0.0) and np.all(var_only.bias == 0.0)
    np.testing.assert_allclose(rc.dir_bias.sum(), rc.bias[-1], rtol=1e-12)
    np.testing.assert_allclose(rc.dir_variance.sum(), rc.variance[-1], rtol=1e-12)
    np.testing.assert_allclose(rc.dir_avg_bias.sum(), rc.avg_bias[0, -1], rtol=1e-12)
    np.testing.assert_allclose(rc.dir_avg_variance.sum(), rc.avg_variance[0, -1], rtol=1e-12)


def test_tail_average_matches_explicit_window() -> None:
    lam = Pr.power_law_spectrum(30, 2.0)
    p = Pa.paper_params(lam)
    m0 = Pr.band_init(30, 1, 5)
    ns = [10, 41, 100]
    tb, tv = Rc.tail_averaged_risk("asgd", p, lam, m0, 0.01, ns)
    for N, b, v in zip(ns, tb, tv):
        rc = Rc.asgd_risk(p, lam, m0, 0.01, N, avg_starts=(N // 2,))
        assert b == pytest.approx(rc.avg_bias[0, N], rel=1e-12)
        assert v == pytest.approx(rc.avg_variance[0, N], rel=1e-12)


def _dense_second_moment_map(op: SM.SecondMomentOperator) -> np.ndarray:
    k, d = op.k, op.lam.size
    Lm = np.zeros((k * d, k * d))
    for i in range(d):
        Lm[i * k : (i + 1) * k, i * k : (i + 1) * k] = op.T[:, :, i]
        for j in range(d):
            Lm[i * k : (i + 1) * k, j * k : (j + 1) * k] += np.outer(op.b, op.c) * op.lam[i] * op.lam[j]
    return Lm


@pytest.mark.parametrize("scale", [0.5, 1.0, 3.0, 6.0])
@pytest.mark.parametrize("kurt", [3.0, 1.0])
def test_full_map_spectral_radius_matches_dense_eigs(scale: float, kurt: float) -> None:
    lam = Pr.power_law_spectrum(12, 1.5)
    p = Pa.paper_params(lam).scaled(scale)
    op = SM.second_moment_operator(p, lam, kurt)
    dense = float(np.max(np.abs(np.linalg.eigvals(_dense_second_moment_map(op)))))
    assert SM.full_map_spectral_radius(op) == pytest.approx(dense, rel=1e-8)
    ops = SM.sgd_second_moment_operator(scale * 0.3, lam, kurt)
    dense_s = float(np.max(np.abs(np.linalg.eigvals(_dense_second_moment_map(ops)))))
    assert SM.full_map_spectral_radius(ops) == pytest.approx(dense_s, rel=1e-8)


def test_mean_converges_but_second_moment_diverges() -> None:
    """The trap: rho(A_i) < 1 for all i (means converge) while the full second-moment map has rho > 1."""
    lam = np.ones(200) * 0.01  # tr H = 2, lam_max = 0.01: mean stable for eta < 200
    eta = 1.2  # Gaussian: second moment needs sum eta lam / (2 (1 - eta lam)) < 1, i.e. eta < ~0.99
    assert np.max(np.abs(1 - eta * lam)) < 1
    assert SM.sgd_stability(eta, lam) > 1.0
    with pytest.raises(ValueError, match="eta"):
        Rc.sgd_risk(eta, lam, Pr.InitialError.from_second_moments(np.ones(200)), 0.0, 10)
    rc = Rc.sgd_risk(eta, lam, Pr.InitialError.from_second_moments(np.ones(200)), 0.0, 20000, on_unstable="report")
    assert rc.diverged and rc.diverged_at > 0 and np.isinf(rc.total[-1])
    # closed-form threshold for Gaussian SGD: sum_i eta lam_i / (2 (1 - eta lam_i)) = 1
    eta_c = 1.0 / (0.5 * 200 * 0.01 + 0.01)
    assert SM.sgd_stability(eta_c * (1 - 1e-6), lam) < 1.0 < SM.sgd_stability(eta_c * (1 + 1e-6), lam)


def test_asgd_unstable_raises_with_range() -> None:
    lam = Pr.power_law_spectrum(100, 2.0)
    p = Pa.paper_params(lam).scaled(20.0)
    with pytest.raises(ValueError, match="delta"):
        Rc.asgd_risk(p, lam, Pr.InitialError.from_second_moments(np.ones(100)), 0.01, 5)
    f = SM.max_stable_scale(Pa.paper_params(lam), lam)
    assert f > 1.0  # the reference parameters are stable
    assert SM.asgd_stability(Pa.paper_params(lam).scaled(0.99 * f), lam) < 1.0
    assert SM.asgd_stability(Pa.paper_params(lam).scaled(1.01 * f), lam) > 1.0


@pytest.mark.parametrize("bad, match", [
    (np.array([0.1, 0.5, 0.2]), "non-increasing"),
    (np.array([1.0, 0.5, -0.1]), "positive"),
    (np.array([1.0, np.nan, 0.1]), "finite"),
    (np.ones((2, 2)), "1-D"),
])
def test_bad_spectrum(bad: np.ndarray, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        Rc.sgd_risk(0.1, bad, Pr.InitialError.from_second_moments(np.ones(bad.shape[0])), 0.0, 3)
    with pytest.raises(ValueError, match="lam"):
        Ck.check_spectrum(bad)


def test_bad_arguments() -> None:
    lam = Pr.power_law_spectrum(5)
    ones = Pr.InitialError.from_second_moments(np.ones(5))
    with pytest.raises(ValueError, match="init"):
        Rc.sgd_risk(0.1, lam, Pr.InitialError.from_second_moments(np.ones(4)), 0.0, 3)
    with pytest.raises(ValueError, match="sq"):
        Pr.InitialError.from_second_moments(np.array([1, 1, np.nan, 1, 1.0]))
    with pytest.raises(ValueError, match="sigma2"):
        Rc.sgd_risk(0.1, lam, ones, -1.0, 3)
    with pytest.raises(ValueError, match="eta"):
        Rc.sgd_risk(-0.1, lam, ones, 0.0, 3)
    with pytest.raises(ValueError, match="kurtosis"):
        Rc.sgd_risk(0.1, lam, ones, 0.0, 3, kurtosis=0.5)
    with pytest.raises(ValueError, match="alpha"):
        Pa.AsgdParams(alpha=1.5, beta=0.1, gamma=0.1, delta=0.1)
    with pytest.raises(ValueError, match="delta"):
        Pa.AsgdParams(alpha=0.5, beta=0.1, gamma=0.1, delta=float("nan"))
    with pytest.raises(ValueError, match="kappa"):
        Pa.accsgd_to_asgd(0.1, kappa=1.0, xi=5.0)
    with pytest.raises(ValueError, match="avg_starts"):
        Rc.sgd_risk(0.1, lam, ones, 0.0, 3, avg_starts=(3,))
    with pytest.raises(ValueError, match="eta"):
        Bd.zou_bound(lam, 1.0, 10, ones, 0.1)


def test_accsgd_mapping_reproduces_accsgd_update() -> None:
    """Iterate the AccSGD buffer/parameter update (its own parameterisation) and Jain et al.'s form with the mapped
    parameters on a deterministic quadratic: the extrapolated points agree to float64 precision."""
    rng = np.random.default_rng(0)
    d = 6
    Hm = rng.standard_normal((d, d))
    Hm = Hm @ Hm.T / d + 0.1 * np.eye(d)
    lr, kappa, xi, c = 0.05, 50.0, 4.0, 0.7

    def grad(z: np.ndarray) -> np.ndarray:
        return Hm @ (z - 1.0)

    # AccSGD: large_lr = lr kappa / c, Beta = c^2 xi / kappa, zeta = c / (c + Beta); buffer starts at the parameter
    large_lr, Beta = lr * kappa / c, c * c * xi / kappa
    zeta = c / (c + Beta)
    par0 = rng.standard_normal(d)
    par, buf = par0.copy(), par0.copy()
    us = []
    for _ in range(50):
        g = grad(par)
        buf = Beta * ((1.0 / Beta - 1.0) * buf - large_lr * g + par)
        par = zeta * (par - lr * g) + (1.0 - zeta) * buf
        us.append(par.copy())
    p = Pa.accsgd_to_asgd(lr, kappa, xi, c)
    w, v = par0.copy(), par0.copy()  # w_0 = v_0 = u_0
    for t in range(50):
        u = p.alpha * w + (1 - p.alpha) * v
        g = grad(u)
        w, v = u - p.delta * g, p.beta * u + (1 - p.beta) * v - p.gamma * g
        u_next = p.alpha * w + (1 - p.alpha) * v
        np.testing.assert_allclose(u_next, us[t], rtol=1e-12, atol=1e-12)


def test_two_by_two_facts() -> None:
    lam = Pr.power_law_spectrum(2000, 2.0)
    p = Pa.paper_params(lam)
    grid = np.geomspace(1e-6, 1.0, 200)
    np.testing.assert_allclose(T2.det_A(p, grid), np.linalg.det(T2.transition_matrix(p, grid)), rtol=1e-10)
    # slow eigenvalue 1 - s_eff lam + O(lam^2): finite difference at small lam
    for h in (1e-7, 1e-8):
        mu = np.max(np.abs(np.linalg.eigvals(T2.transition_matrix(p, np.array([h])))))
        assert (1 - mu) / h == pytest.approx(T2.s_eff(p), rel=50 * h / 1e-7 * 1e-4)
    # PAPERS.md example (its delta is quoted for tr H ~ 1.6; the ratio and lambda_x are checked here)
    assert T2.s_eff(p) / p.delta == pytest.approx(2.47, abs=0.01)
    assert T2.crossover_lambda(p) == pytest.approx(0.144, abs=0.005)
    assert (p.alpha, p.beta) == (pytest.approx(0.983, abs=5e-4), pytest.approx(0.01225, rel=1e-9))


def test_crossover_rho_vs_sgd() -> None:
    """rho(A(lam)) < 1 - delta lam below lambda_x and > above it (within the complex-eigenvalue regime)."""
    lam = Pr.power_law_spectrum(2000, 2.0)
    p = Pa.paper_params(lam)
    lx = T2.crossover_lambda(p)
    below = np.geomspace(lx * 1e-3, lx * 0.98, 50)
    above = np.linspace(lx * 1.02, min(0.99 / p.delta, 1.0), 50)
    assert np.all(T2.spectral_radius_A(p, below) < 1 - p.delta * below)
    assert np.all(T2.spectral_radius_A(p, above) > 1 - p.delta * above)


def test_zou_bound_dominates_exact_and_effective_dimension() -> None:
    lam = Pr.power_law_spectrum(300, 2.0)
    eta = 0.5 / (3 * lam.sum())
    m0 = Pr.band_init(300, 5, 40)
    rc = Rc.sgd_risk(eta, lam, m0, 0.01, 2000)
    for N in (50, 200, 1000, 2000):
        zb = Bd.zou_bound(lam, eta, N, m0, 0.01)
        assert zb.k_star == sum(1 for x in lam if x * eta * N >= 1)
        assert rc.avg_total[0, N] <= zb.bound
        d_eff = Bd.effective_dimension(lam, eta, N)
        assert d_eff == pytest.approx(zb.k_star + (eta * N) ** 2 * float(np.sum(lam[zb.k_star :] ** 2)))


@pytest.mark.parametrize("algo", ["sgd", "asgd"])
@pytest.mark.parametrize("frac", [0.5, 0.3])
def test_tail_average_every_n_matches_fixed_windows(algo: str, frac: float) -> None:
    """The O(N d) running tail window (s = floor(f N) for every N) equals separate fixed-start windows, and the
    brute-force full-covariance computation on a small case."""
    import math

    lam = Pr.power_law_spectrum(40, 2.0)
    p = Pa.paper_params(lam)
    m0 = Pr.band_init(40, 2, 8)
    n = 300
    kw = dict(tail_fraction=frac, avg_starts=())
    rc = Rc.asgd_risk(p, lam, m0, 0.01, n, **kw) if algo == "asgd" else Rc.sgd_risk(p.delta, lam, m0, 0.01, n, **kw)  # type: ignore[arg-type]
    ns = [1, 2, 3, 7, 50, 151, 299, 300]
    starts = [math.floor(frac * N) for N in ns]
    ref = (Rc.asgd_risk(p, lam, m0, 0.01, n, avg_starts=starts) if algo == "asgd"
           else Rc.sgd_risk(p.delta, lam, m0, 0.01, n, avg_starts=starts))
    for j, N in enumerate(ns):
        assert rc.tail_bias is not None and rc.tail_variance is not None
        assert rc.tail_bias[N] == pytest.approx(ref.avg_bias[j, N], rel=1e-10)
        assert rc.tail_variance[N] == pytest.approx(ref.avg_variance[j, N], rel=1e-10, abs=1e-300)
    assert rc.dir_tail_bias is not None and rc.dir_tail_variance is not None
    assert rc.tail_bias is not None and rc.tail_variance is not None
    np.testing.assert_allclose(rc.dir_tail_bias.sum() + rc.dir_tail_variance.sum(),
                               rc.tail_bias[n] + rc.tail_variance[n], rtol=1e-12)
    # brute force on a small case
    lam5 = SPECTRA["power2"]
    p5 = Pa.accsgd_to_asgd(0.15 / lam5.sum(), kappa=30.0, xi=3.0)
    w0 = np.linspace(1.0, -0.5, 5)
    rc5 = Rc.asgd_risk(p5, lam5, Pr.InitialError.from_error(w0), 0.3, 25, tail_fraction=frac)
    for N in (5, 12, 25):
        _, avg = _brute_force(p5, lam5, w0, 0.3, N, 3.0, math.floor(frac * N))
        assert rc5.tail_bias is not None and rc5.tail_variance is not None
        assert rc5.tail_bias[N] + rc5.tail_variance[N] == pytest.approx(avg[N], rel=1e-11)


def test_tail_window_with_singular_transition() -> None:
    """SGD written as ASGD (beta = 1) has det A = 0: the running tail window must not need A^{-1}."""
    lam = Pr.power_law_spectrum(30, 1.5)
    eta = 1.0 / (3 * lam.sum())
    m0 = Pr.band_init(30, 1, 4)
    a = Rc.asgd_risk(Pa.sgd_as_asgd(eta), lam, m0, 0.05, 200, tail_fraction=0.5)
    b = Rc.sgd_risk(eta, lam, m0, 0.05, 200, tail_fraction=0.5)
    assert np.all(T2.det_A(Pa.sgd_as_asgd(eta), lam) == 0.0)
    assert a.tail_bias is not None and b.tail_bias is not None and a.tail_variance is not None
    assert b.tail_variance is not None
    np.testing.assert_allclose(a.tail_bias[1:], b.tail_bias[1:], rtol=1e-10)
    np.testing.assert_allclose(a.tail_variance[2:], b.tail_variance[2:], rtol=1e-10)


def test_k_star_counts_the_boundary_eigenvalue() -> None:
    """k* = max{k : lam_k >= 1/(eta N)}: an eigenvalue exactly at the threshold counts."""
    lam = np.array([1.0, 0.5, 0.25])
    assert Bd.k_star(lam, 1.0, 2) == 2
    assert Bd.k_star(lam, 1.0, 1) == 1
    assert Bd.k_star(lam, 0.1, 1) == 0


def test_zou_bound_constants_by_hand() -> None:
    """Zou et al.'s bound (PAPERS.md's formula) evaluated by hand at lam = (1, 1/4), (w_0 - w*)^2 = (1, 1),
    eta = 1/10, N = 10, psi = 3, sigma^2 = 1/2: k* = 1, EffBias = 1 + 1/4 = 1.25,
    d_eff = 1/10 + 10 (1/100)(1/16) = 0.10625, EffVar = (6 (1 + 1/4) / 1 + 1/2) / (1 - 3/8) d_eff = 12.8 d_eff."""
    z = Bd.zou_bound(np.array([1.0, 0.25]), 0.1, 10, Pr.InitialError.from_second_moments([1.0, 1.0]), 0.5)
    assert z.k_star == 1
    assert z.eff_bias == pytest.approx(1.25, rel=1e-14)
    assert z.eff_var == pytest.approx(12.8 * 0.10625, rel=1e-14)
    assert z.bound == pytest.approx(2 * 1.25 + 2 * 12.8 * 0.10625, rel=1e-14)
    assert z.lower_shape == pytest.approx(1.25 + 0.5 * 0.10625, rel=1e-14)


def test_band_init_places_the_band() -> None:
    np.testing.assert_array_equal(Pr.band_init(5, 2, 3).sq, [0.0, 0.5, 0.5, 0.0, 0.0])
    np.testing.assert_array_equal(Pr.band_init(4, 1, 4, norm2=2.0).sq, [0.5, 0.5, 0.5, 0.5])
