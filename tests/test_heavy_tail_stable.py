"""Alpha-stable sampler (sims.noise.stable) against the characteristic function, scipy.stats.levy_stable and the closed-form
moments of theory.heavy_tails.stable. Statistical checks: |measured - predicted| <= k * se with fixed seeds."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import integrate, special, stats

from sims.noise.stable import positive_stable, rotational_stable, symmetric_stable
from theory.heavy_tails.stable import abs_moment, char_fn, positive_stable_laplace, positive_stable_scipy_scale

K = 5.0  # standard errors


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _ecf_check(x: np.ndarray, alpha: float, scale: float, ts: np.ndarray) -> None:
    """Real part of the empirical characteristic function vs exp(-(scale t)^alpha), se from the exact variance
    Var cos(tX) = (1 + phi(2t)) / 2 - phi(t)^2."""
    n = x.size
    for t in ts:
        phi = char_fn(t, alpha, scale)
        var = (1.0 + char_fn(2 * t, alpha, scale)) / 2.0 - phi**2
        se = math.sqrt(max(var, 1e-300) / n)
        m = float(np.cos(t * x).mean())
        assert abs(m - phi) <= K * se, (alpha, t, m, phi, se)
        # symmetric law: the imaginary part vanishes; Var sin(tX) = (1 - phi(2t)) / 2
        se_im = math.sqrt((1.0 - char_fn(2 * t, alpha, scale)) / 2.0 / n)
        assert abs(float(np.sin(t * x).mean())) <= K * se_im + 1e-12


@pytest.mark.parametrize("alpha", [0.5, 0.999, 1.0, 1.001, 1.3, 1.999, 2.0])
def test_symmetric_cf(alpha: float) -> None:
    x = symmetric_stable((100_000,), alpha, scale=1.7, generator=_gen(1)).numpy()
    assert np.isfinite(x).all()
    _ecf_check(x, alpha, 1.7, np.array([0.1, 0.4, 1.0, 2.0]))


@pytest.mark.parametrize("alpha", [0.7, 1.0, 1.5, 2.0])
def test_rotational_cf_along_directions(alpha: float) -> None:
    d = 4
    x = rotational_stable((100_000, d), alpha, scale=0.8, generator=_gen(2)).numpy()
    rng = np.random.default_rng(3)
    for _ in range(3):
        u = rng.standard_normal(d)
        u /= np.linalg.norm(u)
        _ecf_check(x @ u, alpha, 0.8, np.array([0.3, 1.0, 2.5]))


@pytest.mark.parametrize("alpha", [0.8, 1.0, 1.5, 1.9])
def test_symmetric_vs_scipy_levy_stable(alpha: float) -> None:
    """Kolmogorov-Smirnov against scipy's S1 law with beta = 0 (= S0 = our law (S)); rejects a 1.5x scale."""
    x = symmetric_stable((1500,), alpha, generator=_gen(4)).numpy()
    assert stats.kstest(x, stats.levy_stable(alpha, 0.0).cdf).pvalue > 1e-3
    wrong = stats.kstest(1.5 * x, stats.levy_stable(alpha, 0.0).cdf).pvalue
    assert wrong < 1e-3


@pytest.mark.parametrize("a", [0.3, 0.75, 0.95])
def test_positive_stable_laplace_and_scipy(a: float) -> None:
    A = positive_stable((100_000,), a, generator=_gen(5)).numpy()
    assert (A > 0).all()
    for s in [0.1, 1.0, 3.0]:
        lt = positive_stable_laplace(s, a)
        se = math.sqrt((positive_stable_laplace(2 * s, a) - lt**2) / A.size)
        assert abs(np.exp(-s * A).mean() - lt) <= K * se
    ref = stats.levy_stable(a, 1.0, scale=positive_stable_scipy_scale(a))
    assert stats.kstest(A[:1500], ref.cdf).pvalue > 1e-3


@pytest.mark.parametrize(("alpha", "d", "p"), [(1.5, 1, 0.5), (1.2, 3, 0.5), (1.8, 10, 0.8), (2.0, 5, 2.0)])
def test_norm_moment_monte_carlo(alpha: float, d: int, p: float) -> None:
    """E||X||^p: closed form vs samples; p < alpha / 2 so that ||X||^p has a finite variance (se meaningful)."""
    x = rotational_stable((200_000, d), alpha, generator=_gen(6)).numpy()
    v = np.linalg.norm(x, axis=1) ** p
    assert abs(v.mean() - abs_moment(p, alpha, 1.0, d)) <= K * v.std() / math.sqrt(v.size)


@pytest.mark.parametrize("alpha", [1.1, 1.5, 1.9])
def test_abs_moment_closed_forms(alpha: float) -> None:
    # PAPERS.md formula for E||L_1|| in R^d
    for d in [1, 2, 7]:
        ref = 2 * special.gamma((d + 1) / 2) * special.gamma(1 - 1 / alpha) / (special.gamma(d / 2) * math.sqrt(math.pi))
        assert abs(abs_moment(1.0, alpha, 1.0, d) - ref) <= 1e-12 * ref
    # scalar moment against numerical integration of scipy's density (independent computation)
    p = 0.4
    pdf = stats.levy_stable(alpha, 0.0, scale=2.0).pdf
    val, _ = integrate.quad(lambda t: 2 * t**p * pdf(t), 0, np.inf, limit=200)
    assert abs(val - abs_moment(p, alpha, 2.0, 1)) <= 1e-5 * val
    # alpha = 2: N(0, 2 c^2), E|X| = 2 c / sqrt(pi)
    assert abs(abs_moment(1.0, 2.0, 1.5) - 3.0 / math.sqrt(math.pi)) <= 1e-12


def _ecf_ok(x: np.ndarray, alpha: float, scale: float, ts: np.ndarray) -> bool:
    try:
        _ecf_check(x, alpha, scale, ts)
    except AssertionError:
        return False
    return True


@pytest.mark.parametrize("alpha", [1.0, 1.5, 2.0])
def test_float32_law(alpha: float) -> None:
    """float32 samples have the law (S) at scale 0.9 (ECF within 5 se at several t), and the same check rejects the
    law at twice the scale and at alpha - 0.2 (so a sampler that got either wrong in float32 fails here)."""
    x = symmetric_stable((100_000,), alpha, scale=0.9, generator=_gen(7), dtype=torch.float32)
    assert x.dtype == torch.float32 and torch.isfinite(x).all()
    xs = x.double().numpy()
    ts = np.array([0.2, 0.5, 1.0, 2.0])
    assert _ecf_ok(xs, alpha, 0.9, ts)
    assert not _ecf_ok(xs, alpha, 1.8, ts)
    assert not _ecf_ok(xs, alpha - 0.2, 0.9, ts)
    xr = rotational_stable((100_000, 3), alpha, scale=0.9, generator=_gen(8), dtype=torch.float32)
    assert xr.dtype == torch.float32
    assert _ecf_ok(xr[:, 1].double().numpy(), alpha, 0.9, ts)
    assert not _ecf_ok(2.0 * xr[:, 1].double().numpy(), alpha, 0.9, ts)


BAD_NUMBERS = [0.0, -1.0, 2.01, float("nan"), float("inf"), "1.5", None, True]


@pytest.mark.parametrize("bad", BAD_NUMBERS)
def test_bad_alpha(bad: object) -> None:
    for f, shape in ((symmetric_stable, (3,)), (rotational_stable, (3, 2))):
        with pytest.raises(ValueError, match="alpha"):
            f(shape, bad, generator=_gen(0))  # type: ignore[operator]
    with pytest.raises(ValueError, match="alpha"):
        char_fn(1.0, bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="alpha"):
        abs_moment(0.5, bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf"), "2", None])
def test_bad_scale(bad: object) -> None:
    with pytest.raises(ValueError, match="scale"):
        symmetric_stable((3,), 1.5, scale=bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="scale"):
        rotational_stable((3, 2), 1.5, scale=bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("shape", [(-1,), (2.5,), "ab", (10**6, 10**6), ()])
def test_bad_shape(shape: object) -> None:
    with pytest.raises(ValueError, match="shape"):
        if shape == ():
            rotational_stable((), 1.5)
        else:
            symmetric_stable(shape, 1.5)  # type: ignore[arg-type]


def test_theory_bad_input() -> None:
    with pytest.raises(ValueError, match="a must"):
        positive_stable((3,), 1.2)
    with pytest.raises(ValueError, match="p must"):
        abs_moment(1.6, 1.5)
    with pytest.raises(ValueError, match="d must"):
        abs_moment(0.5, 1.5, d=0)
    with pytest.raises(ValueError, match="t must be finite"):
        char_fn(np.array([0.1, np.nan]), 1.5)
    with pytest.raises(ValueError, match="s must"):
        positive_stable_laplace([-1.0], 0.5)
