"""theory.psgd_targets: closed-form targets and the structured problems are what they claim to be."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sims.optim import psgd_fit as F
from sims.optim.psgd_curvature import fit_curvature
from theory import psgd_targets as T


def test_abs_inverse_and_inverse_sqrt():
    rng = np.random.default_rng(0)
    H = T.spectrum_matrix(np.array([3.0, -2.0, 0.5, -0.1]), rng)
    Pi = T.abs_inverse(H)
    # |H|^-1 H^2 |H|^-1 = I  and  |H|^-1 is SPD
    assert np.allclose(Pi @ H @ H @ Pi, np.eye(4), atol=1e-12)
    assert np.linalg.eigvalsh(Pi).min() > 0
    S = T.gaussian_covariance(5, 50.0, rng)
    R = T.inverse_sqrt(S)
    assert np.allclose(R @ S @ R, np.eye(5), atol=1e-11)
    with pytest.raises(ValueError, match="positive definite"):
        T.inverse_sqrt(-S)
    with pytest.raises(ValueError, match="non-singular"):
        T.abs_inverse(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="symmetric"):
        T.abs_inverse(np.triu(np.ones((3, 3))))
    with pytest.raises(ValueError, match="finite"):
        T.abs_inverse(np.full((2, 2), np.nan))


def test_abs_inverse_minimises_the_criterion():
    """tr(P H^2) + tr(P^-1) is smallest at P = |H|^-1 among random SPD perturbations."""
    rng = np.random.default_rng(1)
    H = T.spectrum_matrix(T.log_spectrum(6, 100.0, negative=2), rng)
    Ps = T.abs_inverse(H)

    def c(P):
        return np.trace(P @ H @ H) + np.trace(np.linalg.inv(P))
    for _ in range(20):
        E = rng.standard_normal((6, 6)) * 0.05
        M = T.sym_power(Ps, 0.5) @ (np.eye(6) + E + E.T) @ T.sym_power(Ps, 0.5)
        if np.linalg.eigvalsh(M).min() > 0:
            assert c(M) > c(Ps)


def test_relative_error():
    rng = np.random.default_rng(2)
    Ps = T.gaussian_covariance(4, 10.0, rng)
    assert T.relative_error(Ps, Ps) < 1e-12
    assert abs(T.relative_error(2 * Ps, Ps) - 1.0) < 1e-12


def test_structured_problems_are_representable():
    rng = np.random.default_rng(3)
    # Kron: |H1 (x) H2|^-1 = |H1|^-1 (x) |H2|^-1
    H1 = T.spectrum_matrix(T.log_spectrum(3, 10, 1), rng)
    H2 = T.spectrum_matrix(T.log_spectrum(2, 10), rng)
    assert np.allclose(T.abs_inverse(np.kron(H1, H2)), np.kron(T.abs_inverse(H1), T.abs_inverse(H2)), atol=1e-12)
    # UVd: P* = D + W W^T equals Q^T Q for Q = (I + U U^T) diag(d) with U (2 I + U^T U) U^T = d^-1 W W^T d^-1
    n, r = 8, 2
    H = T.lowrank_problem(n, r, rng)
    P = np.linalg.inv(H)
    # recover D and W W^T: the construction uses a diagonal D; check rank structure of P - diag(P) off-diagonal
    lam = np.linalg.eigvalsh(P - np.diag(np.diag(P)))
    assert np.sum(np.abs(lam) > 1e-9 * np.abs(lam).max()) >= r
    # X-structure: (Q0^T Q0)^-1 with Q0 = diag + antidiag is again X-structured
    Hx = T.xmat_problem(7, rng)
    mask = np.eye(7, dtype=bool) | np.fliplr(np.eye(7, dtype=bool))
    assert np.abs(Hx[~mask]).max() < 1e-12


def test_uvd_can_represent_diag_plus_lowrank():
    """Solve U (2I + U^T U) U^T = M = d^-1 W W^T d^-1 through the eigen-decomposition of M and check Q^T Q = P*."""
    rng = np.random.default_rng(4)
    n, r = 6, 2
    D = np.exp(rng.uniform(0, 1, n))
    W = rng.standard_normal((n, r))
    Pstar = np.diag(D) + W @ W.T
    d = np.sqrt(D)
    M = (W / d[:, None]) @ (W / d[:, None]).T
    mu, E = np.linalg.eigh(M)
    mu, E = mu[-r:], E[:, -r:]
    s2 = -1 + np.sqrt(1 + mu)  # s^2 (2 + s^2) = mu for U = E diag(s)
    U = E * np.sqrt(s2)
    Q = F.uvd_matrix(torch.tensor(U), torch.tensor(U), torch.tensor(d).reshape(-1, 1)).numpy()
    assert np.allclose(Q.T @ Q, Pstar, atol=1e-12)


def test_fit_curvature_errors_and_exactness_on_xmat():
    H = torch.tensor(T.xmat_problem(6, np.random.default_rng(5)))
    g = torch.Generator().manual_seed(0)
    Ps = fit_curvature(H, "xmat", 3000, [0, 3000], generator=g)
    assert T.relative_error(Ps[-1].numpy(), T.abs_inverse(H.numpy())) < 1e-6
    assert T.relative_error(Ps[0].numpy(), T.abs_inverse(H.numpy())) > 0.1
    with pytest.raises(ValueError, match="kind"):
        fit_curvature(H, "diag", 10, [0], generator=g)
    with pytest.raises(ValueError, match="kron_shape"):
        fit_curvature(H, "kron", 10, [0], kron_shape=(4, 2), generator=g)
    with pytest.raises(ValueError, match="record"):
        fit_curvature(H, "dense", 10, [11], generator=g)
    with pytest.raises(ValueError, match="positive definite"):
        fit_curvature(-H, "dense", 10, [1], mode="whitening", generator=g)
