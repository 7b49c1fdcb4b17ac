"""Heavy-tailed SGD on quadratics: exact stationary laws of the Levy-driven SDE and of its Euler chain, the coupling
bound on W1 between neighbouring datasets, and the Ornstein-Uhlenbeck moment formula with its optimal alpha.

Setting (Raj, Zhu, Gurbuzbalaban, Simsekli 2023; PAPERS.md, heavy_tail): F(theta) = (1/2n) sum_i (<a_i, theta> - y_i)^2,
grad F = A theta - b with A = X^T X / n, b = X^T y / n, theta_hat = A^{-1} b.

    SDE:    d theta = -grad F(theta) dt + sigma dL_t,
            L rotationally invariant alpha-stable, E e^{i<u,L_1>} = e^{-||u||^alpha}
    Euler:  theta_{k+1} = theta_k - eta grad F(theta_k) + sigma eta^(1/alpha) xi_k,    xi_k iid copies of L_1.

For A = lambda I both stationary laws are exactly rotationally invariant alpha-stable around theta_hat (a linear
combination of independent stable vectors is stable), with the scales given below.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from scipy import optimize

from theory.heavy_tails.checks import check_alpha, check_int, check_positive, finite_array, real
from theory.heavy_tails.stable import abs_moment


def sde_stationary_scale(alpha: float, lam: float, sigma: float = 1.0) -> float:
    """Scale of theta_inf - theta_hat for the SDE with A = lam I:  sigma (alpha lam)^(-1/alpha).

    From Y = int_0^inf e^{-lam s} dL_s:  -log E e^{i<u,Y>} = ||u||^alpha int_0^inf e^{-alpha lam s} ds."""
    a = check_alpha(alpha)
    lam = check_positive(lam, "lam")
    sigma = check_positive(sigma, "sigma", allow_zero=True)
    return sigma * (a * lam) ** (-1.0 / a)


def euler_stationary_scale(alpha: float, lam: float, sigma: float, eta: float) -> float:
    """Scale of the Euler chain's stationary law with A = lam I, 0 < eta lam < 2:

        sigma eta^(1/alpha) / (1 - |1 - eta lam|^alpha)^(1/alpha)

    (theta_inf - theta_hat = sigma eta^(1/alpha) sum_j (1 - eta lam)^j xi_j). Tends to sigma (alpha lam)^(-1/alpha)
    as eta -> 0; alpha = 1.5, lam = 2, eta = 0.05 gives 0.489 against 0.481."""
    a = check_alpha(alpha)
    lam = check_positive(lam, "lam")
    sigma = check_positive(sigma, "sigma", allow_zero=True)
    eta = check_positive(eta, "eta")
    if not eta * lam < 2.0:
        raise ValueError(f"eta * lam must lie in (0, 2) for a stationary chain, got {eta * lam!r}")
    return sigma * eta ** (1.0 / a) / (1.0 - abs(1.0 - eta * lam) ** a) ** (1.0 / a)


def ou_abs_moment(p: float, alpha: float, lam: float, sigma: float = 1.0, d: int = 1) -> float:
    """E ||theta_inf - theta_hat||^p for the SDE with A = lam I (OU proxy), p < alpha:

        sigma^p (alpha lam)^(-p/alpha) 2^p Gamma((d+p)/2) Gamma(1 - p/alpha) / (Gamma(d/2) Gamma(1 - p/2))."""
    return abs_moment(p, alpha, sde_stationary_scale(alpha, lam, sigma), d)


def euler_abs_moment(p: float, alpha: float, lam: float, sigma: float, eta: float, d: int = 1) -> float:
    """E ||theta_inf - theta_hat||^p for the Euler chain with A = lam I: abs_moment at the Euler scale."""
    return abs_moment(p, alpha, euler_stationary_scale(alpha, lam, sigma, eta), d)


def ou_optimal_alpha(lam: float, p: float = 1.0, sigma: float = 1.0, alpha_max: float = 2.0) -> tuple[float, bool]:
    """Minimiser alpha* over (p, alpha_max] of the OU moment E|theta_inf - theta_hat|^p (d = 1).

    Returns (alpha*, interior): interior is False when the minimum sits at the boundary alpha_max (no interior optimum,
    i.e. lighter tails are always better). PAPERS.md: p = 1, lam = 100 -> 1.37, 1e3 -> 1.21, 1e4 -> 1.14; none for
    small lam. Uses a fine log-grid to bracket, then scipy's bounded Brent search."""
    lam = check_positive(lam, "lam")
    p = check_positive(p, "p")
    sigma = check_positive(sigma, "sigma")
    alpha_max = real(alpha_max, "alpha_max")
    if not p < alpha_max <= 2.0:
        raise ValueError(f"alpha_max must lie in (p, 2] = ({p:g}, 2], got {alpha_max!r}")

    def f(a: float) -> float:
        return math.log(ou_abs_moment(p, a, lam, sigma))

    lo = p + 1e-6 * (alpha_max - p)
    grid = lo + (alpha_max - lo) * np.linspace(0.0, 1.0, 801) ** 2  # denser near the pole at alpha = p
    vals = np.array([f(float(a)) for a in grid])
    i = int(np.argmin(vals))
    if i == len(grid) - 1:
        return float(alpha_max), False
    res = optimize.minimize_scalar(
        f, bounds=(float(grid[max(i - 1, 0)]), float(grid[i + 1])), method="bounded", options={"xatol": 1e-10}
    )
    return float(res.x), True


def least_squares_quadratic(
    X: npt.NDArray[np.float64], y: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """A = X^T X / n and b = X^T y / n, so that grad F(theta) = A theta - b for F = (1/2n) ||X theta - y||^2."""
    X = finite_array(X, "X")
    y = finite_array(y, "y")
    if X.ndim != 2 or y.shape != (X.shape[0],) or X.shape[0] < 1:
        raise ValueError(f"X must be (n, d) and y (n,), got {X.shape} and {y.shape}")
    n = X.shape[0]
    return X.T @ X / n, X.T @ y / n


def coupling_w1_bound(
    a_n: npt.ArrayLike,
    y_n: float,
    a_n_prime: npt.ArrayLike,
    y_n_prime: float,
    n: int,
    lam_min: float,
    mean_norm_theta: float,
) -> float:
    """Synchronous-coupling bound on W1 between the stationary laws for two datasets that differ in point n:

        W1 <= [(||a_n||^2 + ||a'_n||^2) E||theta'_inf|| + |y_n| ||a_n|| + |y'_n| ||a'_n||] / (n lambda_min(A)).

    With shared noise, Delta = theta - theta' obeys Delta_{k+1} = (I - eta A) Delta_k - eta g_k with
    g_k = (A - A') theta'_k - (b - b'), A - A' = (a_n a_n^T - a'_n a'_n^T)/n, b - b' = (y_n a_n - y'_n a'_n)/n, so for
    eta lambda_max(A) <= 1: E||Delta_inf|| <= E||g|| / lambda_min(A) (Euler chain and SDE alike).
    mean_norm_theta is E||theta'_inf|| of the chain on the second dataset, lam_min the smallest eigenvalue of A."""
    a = finite_array(a_n, "a_n", ndim=1)
    ap = finite_array(a_n_prime, "a_n_prime", ndim=1)
    if a.shape != ap.shape:
        raise ValueError(f"a_n and a_n_prime must have the same shape, got {a.shape} and {ap.shape}")
    y_n, y_n_prime = real(y_n, "y_n"), real(y_n_prime, "y_n_prime")
    n = check_int(n, "n", low=1)
    lam_min = check_positive(lam_min, "lam_min")
    m = check_positive(mean_norm_theta, "mean_norm_theta", allow_zero=True)
    na, nap = float(np.linalg.norm(a)), float(np.linalg.norm(ap))
    return ((na**2 + nap**2) * m + abs(y_n) * na + abs(y_n_prime) * nap) / (n * lam_min)
