"""Monte Carlo of sims.linreg against the exact recursions of theory.linreg: |mc - exact| <= k * se."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sims.linreg import simulate_linreg
from theory.linreg import parameters as Pa
from theory.linreg import problem as Pr
from theory.linreg import recursions as Rc
from theory.linreg import second_moments as SM

K = 4.0  # 4 standard errors per comparison (several comparisons per test, fixed seeds)


def _gens(seed: int) -> tuple[torch.Generator, torch.Generator]:
    return torch.Generator().manual_seed(seed), torch.Generator().manual_seed(10_000 + seed)


@pytest.mark.parametrize("features, kurt", [("gaussian", 3.0), ("rademacher", 1.0)])
@pytest.mark.parametrize("algo", ["sgd", "asgd"])
def test_mc_matches_exact(features: str, kurt: float, algo: str) -> None:
    d, n, R = 12, 120, 3000
    lam = Pr.power_law_spectrum(d, 2.0)
    p = Pa.paper_params(lam) if algo == "asgd" else Pa.sgd_as_asgd(1.0 / (3 * lam.sum()))
    m0 = Pr.band_init(d, 2, 6)
    w_star = np.linspace(-1, 1, d)
    w0 = w_star + m0.error()
    ex = Rc.asgd_risk(p, lam, m0, 0.02, n, kurtosis=kurt, avg_starts=(5,))
    g, gn = _gens(1)
    mc = simulate_linreg(lam, w0, w_star, 0.02, n, R, alpha=p.alpha, beta=p.beta, gamma=p.gamma, delta=p.delta,
                         features=features, record_steps=[0, 3, 20, 60, 120], avg_start=5, generator=g,
                         noise_generator=gn, progress=False)
    assert mc.diverged_frac == 0.0
    for j, t in enumerate(mc.steps):
        if t == 0:
            assert mc.mean[j] == pytest.approx(ex.total[0], rel=1e-12)
            continue
        assert abs(mc.mean[j] - ex.total[t]) <= K * mc.se[j], (t, mc.mean[j], ex.total[t], mc.se[j])
        if t > 5:
            assert abs(mc.avg_mean[j] - ex.avg_total[0, t]) <= K * mc.avg_se[j]


def test_kurtosis_matters() -> None:
    """Rademacher data: the Gaussian (kappa = 3) recursion is off by many standard errors at a head band."""
    d, n, R = 10, 30, 4000
    lam = Pr.power_law_spectrum(d, 2.0)
    p = Pa.paper_params(lam)
    m0 = Pr.band_init(d, 1, 2)
    g, gn = _gens(2)
    mc = simulate_linreg(lam, m0.error(), np.zeros(d), 0.0, n, R, alpha=p.alpha, beta=p.beta, gamma=p.gamma,
                         delta=p.delta, features="rademacher", record_steps=[n], generator=g, noise_generator=gn,
                         progress=False)
    right = Rc.asgd_risk(p, lam, m0, 0.0, n, kurtosis=1.0).total[n]
    wrong = Rc.asgd_risk(p, lam, m0, 0.0, n, kurtosis=3.0).total[n]
    assert abs(mc.mean[0] - right) <= K * mc.se[0]
    assert abs(mc.mean[0] - wrong) > 10 * mc.se[0]


def test_float32_and_seeding() -> None:
    d, n, R = 8, 50, 2000
    lam = Pr.power_law_spectrum(d, 1.0)
    eta = 1.0 / (3 * lam.sum())
    m0 = Pr.InitialError.from_second_moments(np.ones(d) / d)
    kw = dict(delta=eta, record_steps=[n], progress=False)
    a = simulate_linreg(lam, m0.error(), np.zeros(d), 0.1, n, R, generator=_gens(3)[0], noise_generator=_gens(3)[1],
                        **kw)  # type: ignore[arg-type]
    b = simulate_linreg(lam, m0.error(), np.zeros(d), 0.1, n, R, generator=_gens(3)[0], noise_generator=_gens(3)[1],
                        **kw)  # type: ignore[arg-type]
    assert np.array_equal(a.final, b.final)
    c = simulate_linreg(lam, m0.error(), np.zeros(d), 0.1, n, R, generator=_gens(3)[0], noise_generator=_gens(4)[1],
                        **kw)  # type: ignore[arg-type]
    assert not np.array_equal(a.final, c.final)
    f32 = simulate_linreg(lam, m0.error(), np.zeros(d), 0.1, n, R, dtype=torch.float32, generator=_gens(5)[0],
                          noise_generator=_gens(5)[1], **kw)  # type: ignore[arg-type]
    ex = Rc.sgd_risk(eta, lam, m0, 0.1, n).total[n]
    assert abs(f32.mean[0] - ex) <= K * f32.se[0]


def test_divergence_detected_and_reported() -> None:
    d, n, R = 50, 400, 200
    lam = np.full(d, 0.02)
    eta = 4.0  # mean-stable (eta lam = 0.08) but the second moment diverges (rho = 1.17, see test_asgd_theory)
    assert SM.sgd_stability(eta, lam) > 1
    g, gn = _gens(6)
    mc = simulate_linreg(lam, np.ones(d), np.zeros(d), 0.0, n, R, delta=eta, record_steps=[n], generator=g,
                         noise_generator=gn, progress=False)
    assert mc.diverged_frac > 0.5
    assert np.all(np.isfinite(mc.final))  # diverged runs are excluded, never averaged


@pytest.mark.parametrize("kw, match", [
    (dict(lam=np.array([1.0, -1.0])), "lam"),
    (dict(w0=np.ones(3)), "w0"),
    (dict(w_star=np.array([np.nan, 0.0])), "w_star"),
    (dict(sigma2=-1.0), "sigma2"),
    (dict(features="laplace"), "features"),
    (dict(delta=-0.1), "delta"),
])
def test_bad_input(kw: dict, match: str) -> None:
    args = dict(lam=np.array([1.0, 0.5]), w0=np.ones(2), w_star=np.zeros(2), sigma2=0.1, n_steps=5, n_runs=4,
                delta=0.1, generator=torch.Generator(), noise_generator=torch.Generator())
    args.update(kw)
    with pytest.raises(ValueError, match=match):
        simulate_linreg(**args)  # type: ignore[arg-type]


def test_chunked_runs_agree_with_exact() -> None:
    """Runs processed in chunks (memory O(chunk d)) estimate the same risk (all R runs are kept)."""
    d, n, R = 10, 60, 2400
    lam = Pr.power_law_spectrum(d, 2.0)
    p = Pa.paper_params(lam)
    m0 = Pr.band_init(d, 1, 4)
    kw = dict(alpha=p.alpha, beta=p.beta, gamma=p.gamma, delta=p.delta, record_steps=[n], progress=False, chunk=700)
    a = simulate_linreg(lam, m0.error(), np.zeros(d), 0.01, n, R, generator=_gens(7)[0], noise_generator=_gens(7)[1],
                        **kw)  # type: ignore[arg-type]
    ex = Rc.asgd_risk(p, lam, m0, 0.01, n).total[n]
    assert a.final.shape == (R,)
    assert abs(a.mean[0] - ex) <= K * a.se[0]
