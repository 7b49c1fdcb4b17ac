"""Bad inputs to every public function of the stability modules: a ValueError naming the argument, never a hang, a
silent wrong number or a raw numpy/torch error (issue 10). Also: deterministic Lanczos, bounded bisection."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import scipy.sparse.linalg as spla
import torch
import torch.nn.functional as F
from torch import nn

from sims.nets.hessian import HessianOperator, lanczos_top
from sims.stability import interpolation as NN
from sims.stability.linear_sgd import batch_weights, simulate_linear_sgd
from theory.stability import coherence as SC
from theory.stability import moments as SM
from theory.stability.instances import mixed_rank_hessians, random_instance, random_psd_hessians

H = np.stack([np.diag([1.0, 0.5]), np.array([[0.5, 0.2], [0.2, 0.3]]), np.eye(2)])
G = np.array([[1.0, 0.0], [0.5, 0.5], [0.0, 1.0]])
NAN = math.nan
GEN = torch.Generator().manual_seed(0)


def _mlp() -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1)).double()
    return m, torch.randn(6, 3, dtype=torch.float64), torch.randn(6, 1, dtype=torch.float64)


def _nonsym_op() -> spla.LinearOperator:
    a = np.triu(np.ones((5, 5)))
    return spla.LinearOperator((5, 5), matvec=lambda v: a @ v, dtype=np.float64)


THEORY: list[tuple[str, Callable[[], Any], str]] = [
    ("eta_star_bisect rtol=nan", lambda: SM.eta_star_bisect(H, 1, "bernoulli", rtol=NAN), "rtol"),
    ("eta_star_bisect rtol=0", lambda: SM.eta_star_bisect(H, 1, "bernoulli", rtol=0.0), "rtol"),
    ("eta_star_bisect rtol<0", lambda: SM.eta_star_bisect(H, 1, "bernoulli", rtol=-1e-3), "rtol"),
    ("eta_star_bisect rtol=str", lambda: SM.eta_star_bisect(H, 1, "bernoulli", rtol="1e-3"), "rtol"),
    ("eta_star_bisect rho_tol=nan", lambda: SM.eta_star_bisect(H, 1, "bernoulli", rho_tol=NAN), "rho_tol"),
    ("eta_star_bisect both", lambda: SM.eta_star_bisect(H, 1, "bernoulli", factors=G), "exactly one"),
    ("check_hessians rtol=nan", lambda: SM.check_hessians(H, rtol=NAN), "rtol"),
    ("spectral_radius tol=0", lambda: SM.SecondMomentOperator.from_hessians(H, 0.1, 1, "bernoulli")
     .spectral_radius(tol=0.0), "tol"),
    ("spectral_radius tol=nan power", lambda: SM.SecondMomentOperator.from_hessians(H, 0.1, 1, "bernoulli")
     .spectral_radius(method="power", tol=NAN), "tol"),
    ("spectral_radius maxiter=0", lambda: SM.SecondMomentOperator.from_hessians(H, 0.1, 1, "bernoulli")
     .spectral_radius(maxiter=0), "maxiter"),
    ("spectral_radius method", lambda: SM.SecondMomentOperator.from_hessians(H, 0.1, 1, "bernoulli")
     .spectral_radius(method="qr"), "method"),
    ("hessians nan", lambda: SM.spectral_radius_dense(np.full((2, 2, 2), NAN), 0.1, 1, "bernoulli"), "hessians"),
    ("hessians inf", lambda: SM.eta_star(np.full((2, 2, 2), np.inf), 1), "hessians"),
    ("hessians non-symmetric", lambda: SM.eta_star(np.array([[[1.0, 1.0], [0.0, 1.0]]]), 1), "hessians"),
    ("hessians not PSD", lambda: SM.eta_star(-H, 1), "hessians"),
    ("eta str", lambda: SM.spectral_radius_dense(H, "0.1", 1, "bernoulli"), "eta"),
    ("eta inf", lambda: SM.spectral_radius_dense(H, math.inf, 1, "bernoulli"), "eta"),
    ("eta bool", lambda: SM.spectral_radius_dense(H, True, 1, "bernoulli"), "eta"),
    ("batch float", lambda: SM.noise_coefficients(3, 1.5, "bernoulli"), "B must"),
    ("batch nan", lambda: SM.noise_coefficients(3, NAN, "bernoulli"), "B must"),
    ("batch str", lambda: SM.noise_coefficients(3, "2", "bernoulli"), "B must"),
    ("n nan", lambda: SM.noise_coefficients(NAN, 1, "bernoulli"), "n must"),
    ("n zero", lambda: SM.noise_coefficients(0, 1, "bernoulli"), "n must"),
    ("sampling list", lambda: SM.noise_coefficients(3, 1, ["bernoulli"]), "sampling"),
    ("factors nan", lambda: SM.spectral_radius(factors=np.full((3, 2), NAN), eta=0.1), "factors"),
    ("diagonals negative", lambda: SM.diagonal_growth_factors(-np.ones((3, 2)), 0.1, 1, "bernoulli"), "diagonals"),
    ("trajectory steps", lambda: SM.second_moment_trajectory(H, 0.1, 1, "bernoulli", np.eye(2), -1), "steps"),
    ("trajectory m0 shape", lambda: SM.second_moment_trajectory(H, 0.1, 1, "bernoulli", np.eye(3), 2), "m0"),
    ("batch_distribution huge", lambda: SM.batch_distribution(60, 1, "bernoulli"), "enumeration limit"),
    ("norm_moments d > 8", lambda: SM.norm_moments(np.ones((2, 9, 9)), 0.1, 1, "bernoulli", np.eye(9), [1]), "d <= 8"),
    ("norm_moments m0 nan", lambda: SM.norm_moments(H, 0.1, 1, "bernoulli", np.full((2, 2), NAN), [1]), "m0"),
    ("norm_moments times", lambda: SM.norm_moments(H, 0.1, 1, "bernoulli", np.eye(2), [1.5]), "times"),
    ("norm_moments times huge", lambda: SM.norm_moments(H, 0.1, 1, "bernoulli", np.eye(2), [10**9]), "times"),
    ("coherence_from_gram non-PSD", lambda: SC.coherence_from_gram(np.array([[1.0, 2.0], [2.0, 1.0]])), "semi-def"),
    ("coherence_from_gram nan", lambda: SC.coherence_from_gram(np.array([[1.0, NAN], [NAN, 1.0]])), "gram"),
    ("coherence_from_gram non-symmetric", lambda: SC.coherence_from_gram(np.array([[1.0, 0.5], [0.0, 1.0]])),
     "symmetric"),
    ("coherence_from_gram zero", lambda: SC.coherence_from_gram(np.zeros((2, 2))), "positive diagonal"),
    ("coherence zero", lambda: SC.coherence(np.zeros((2, 2, 2))), "vanish"),
    ("thm1_threshold sigma nan", lambda: SC.thm1_threshold(NAN, 0.1, 10, 2), "sigma"),
    ("thm1_threshold sigma str", lambda: SC.thm1_threshold("2", 0.1, 10, 2), "sigma"),
    ("thm1_threshold n nan", lambda: SC.thm1_threshold(2.0, 0.1, NAN, 2), "n must"),
    ("thm1_fires lambda1 nan", lambda: SC.thm1_fires(NAN, 2.0, 0.1, 10, 2), "lambda1"),
    ("thm1_fires lambda1 negative", lambda: SC.thm1_fires(-1.0, 2.0, 0.1, 10, 2), "lambda1"),
    ("thm2_construction sigma > n", lambda: SC.thm2_construction(10, 11, 2.0), "sigma"),
    ("thm2_construction lam nan", lambda: SC.thm2_construction(10, 2, NAN), "lam"),
    ("thm2_construction n str", lambda: SC.thm2_construction("10", 2, 1.0), "n must"),
    ("thm2_boundary sigma float", lambda: SC.thm2_boundary(10, 2, 2.5, 0.1), "sigma"),
    ("thm2_lyapunov lam inf", lambda: SC.thm2_lyapunov(10, 2, 2, math.inf, 0.1, "bernoulli"), "lam"),
    ("thm2_lyapunov sampling", lambda: SC.thm2_lyapunov(10, 2, 2, 1.0, 0.1, "poisson"), "sampling"),
    ("wu_ma_e eta nan", lambda: SC.wu_ma_e(H, NAN, 1, "bernoulli"), "eta"),
    ("random_psd_hessians rank > d", lambda: random_psd_hessians(np.random.default_rng(0), 3, 2, 3), "rank"),
    ("mixed_rank_hessians d=0", lambda: mixed_rank_hessians(np.random.default_rng(0), 3, 0), "d must"),
    ("random_instance n_max=1", lambda: random_instance(np.random.default_rng(0), 1, 3), "n_max"),
    ("random_instance d_max nan", lambda: random_instance(np.random.default_rng(0), 4, NAN), "d_max"),
]

SIMS: list[tuple[str, Callable[[], Any], str]] = [
    ("simulate eta nan", lambda: simulate_linear_sgd(NAN, 1, "bernoulli", 2, 2, factors=torch.tensor(G),
                                                     generator=GEN), "eta"),
    ("simulate eta str", lambda: simulate_linear_sgd("0.1", 1, "bernoulli", 2, 2, factors=torch.tensor(G),
                                                     generator=GEN), "eta"),
    ("simulate steps huge", lambda: simulate_linear_sgd(0.1, 1, "bernoulli", 10**9, 2, factors=torch.tensor(G),
                                                        generator=GEN), "steps"),
    ("simulate runs float", lambda: simulate_linear_sgd(0.1, 1, "bernoulli", 2, 2.5, factors=torch.tensor(G),
                                                        generator=GEN), "runs"),
    ("simulate factors nan", lambda: simulate_linear_sgd(0.1, 1, "bernoulli", 2, 2,
                                                         factors=torch.full((3, 2), NAN), generator=GEN), "finite"),
    ("simulate hessians non-symmetric", lambda: simulate_linear_sgd(
        0.1, 1, "bernoulli", 2, 2, hessians=torch.tensor([[[1.0, 1.0], [0.0, 1.0]]]), generator=GEN), "symmetric"),
    ("simulate w0 nan", lambda: simulate_linear_sgd(0.1, 1, "bernoulli", 2, 2, factors=torch.tensor(G),
                                                    w0=torch.full((2, 2), NAN, dtype=torch.float64),
                                                    generator=GEN), "w0"),
    ("simulate w0 shape", lambda: simulate_linear_sgd(0.1, 1, "bernoulli", 2, 2, factors=torch.tensor(G),
                                                      w0=torch.ones(3, 2, dtype=torch.float64), generator=GEN), "w0"),
    ("simulate batch > n", lambda: simulate_linear_sgd(0.1, 4, "bernoulli", 2, 2, factors=torch.tensor(G),
                                                       generator=GEN), "batch"),
    ("simulate record_every 0", lambda: simulate_linear_sgd(0.1, 1, "bernoulli", 2, 2, factors=torch.tensor(G),
                                                            generator=GEN, record_every=0), "record_every"),
    ("diverged threshold <= 1", lambda: simulate_linear_sgd(0.1, 1, "bernoulli", 2, 2, factors=torch.tensor(G),
                                                            generator=GEN).diverged(0.5), "threshold"),
    ("diverged threshold nan", lambda: simulate_linear_sgd(0.1, 1, "bernoulli", 2, 2, factors=torch.tensor(G),
                                                           generator=GEN).diverged(NAN), "threshold"),
    ("batch_weights sampling", lambda: batch_weights(2, 3, 1, "poisson", generator=GEN, device="cpu",
                                                     dtype=torch.float64), "sampling"),
    ("batch_weights runs 0", lambda: batch_weights(0, 3, 1, "bernoulli", generator=GEN, device="cpu",
                                                   dtype=torch.float64), "runs"),
    ("lanczos_top non-symmetric", lambda: lanczos_top(_nonsym_op()), "symmetric"),
    ("lanczos_top tol nan", lambda: lanczos_top(_nonsym_op(), tol=NAN, check_symmetry=False), "tol"),
    ("lanczos_top tol negative", lambda: lanczos_top(_nonsym_op(), tol=-1.0, check_symmetry=False), "tol"),
    ("lanczos_top k", lambda: lanczos_top(_nonsym_op(), k=5), "k must"),
    ("lanczos_top which", lambda: lanczos_top(_nonsym_op(), which="SA"), "which"),
    ("HessianOperator x nan", lambda: HessianOperator(_mlp()[0], F.mse_loss, torch.full((6, 3), NAN,
                                                                                        dtype=torch.float64),
                                                     _mlp()[2]), "finite"),
    ("HessianOperator batch_size 0", lambda: HessianOperator(*_mlp()[:1], F.mse_loss, *_mlp()[1:], batch_size=0),
     "batch_size"),
    ("top_eigenvalue tol 0", lambda: HessianOperator(_mlp()[0], F.mse_loss, *_mlp()[1:]).top_eigenvalue(tol=0.0),
     "tol"),
    ("top_eigenvalue tol nan", lambda: HessianOperator(_mlp()[0], F.mse_loss, *_mlp()[1:]).top_eigenvalue(tol=NAN),
     "tol"),
    ("top_eigenvalue maxiter", lambda: HessianOperator(_mlp()[0], F.mse_loss, *_mlp()[1:]).top_eigenvalue(maxiter=1),
     "maxiter"),
    ("sgd_runs max_steps 0", lambda: NN.sgd_runs(*_mlp(), torch.zeros(1, 21, dtype=torch.float64),
                                                 torch.ones(1, dtype=torch.float64), torch.tensor([2]),
                                                 sampling="bernoulli", max_steps=0, generator=GEN), "max_steps"),
    ("sgd_runs eta nan", lambda: NN.sgd_runs(*_mlp(), torch.zeros(1, 21, dtype=torch.float64),
                                             torch.full((1,), NAN, dtype=torch.float64), torch.tensor([2]),
                                             sampling="bernoulli", max_steps=1, generator=GEN), "eta"),
    ("sgd_runs tol nan", lambda: NN.sgd_runs(*_mlp(), torch.zeros(1, 21, dtype=torch.float64),
                                             torch.ones(1, dtype=torch.float64), torch.tensor([2]),
                                             sampling="bernoulli", max_steps=1, generator=GEN, tol=NAN), "tol"),
    ("sgd_runs blowup negative", lambda: NN.sgd_runs(*_mlp(), torch.zeros(1, 21, dtype=torch.float64),
                                                     torch.ones(1, dtype=torch.float64), torch.tensor([2]),
                                                     sampling="bernoulli", max_steps=1, generator=GEN, blowup=-1.0),
     "blowup"),
    ("sgd_runs escape_ratio 1", lambda: NN.sgd_runs(*_mlp(), torch.zeros(1, 21, dtype=torch.float64),
                                                    torch.ones(1, dtype=torch.float64), torch.tensor([2]),
                                                    sampling="bernoulli", max_steps=1, generator=GEN,
                                                    escape_ratio=1.0), "escape_ratio"),
    ("sgd_runs anchor shape", lambda: NN.sgd_runs(*_mlp(), torch.zeros(1, 21, dtype=torch.float64),
                                                  torch.ones(1, dtype=torch.float64), torch.tensor([2]),
                                                  sampling="bernoulli", max_steps=1, generator=GEN,
                                                  anchor=torch.zeros(3, dtype=torch.float64)), "anchor"),
    ("tanh_mlp width 0", lambda: NN.tanh_mlp(3, 0, seed=0, device="cpu", dtype=torch.float64), "width"),
]


@pytest.mark.parametrize("name, call, match", THEORY + SIMS, ids=[c[0] for c in THEORY + SIMS])
def test_bad_input_raises_value_error(name: str, call: Callable[[], Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        call()


def test_lanczos_bitwise_deterministic() -> None:
    m, x, y = _mlp()
    op = HessianOperator(m, F.mse_loss, x, y, batch_size=4)
    a = op.top_eigenpairs(1, seed=5)[0]
    b = HessianOperator(m, F.mse_loss, x, y, batch_size=4).top_eigenpairs(1, seed=5)[0]
    assert a.tobytes() == b.tobytes()
    t1, _, _ = op.top_eigenvalue(seed=2, tol=1e-10)
    t2, _, _ = op.top_eigenvalue(seed=2, tol=1e-10)
    assert t1 == t2
    r1 = SM.spectral_radius(H, 0.3, 1, "bernoulli")
    r2 = SM.spectral_radius(H, 0.3, 1, "bernoulli")
    assert r1 == r2


def test_torch_lanczos_matches_dense() -> None:
    m, x, y = _mlp()
    op = HessianOperator(m, F.mse_loss, x, y, batch_size=4)
    top = float(np.linalg.eigvalsh(op.dense().numpy())[-1])
    val, vec, products = op.top_eigenvalue(tol=1e-12)
    assert val == pytest.approx(top, rel=1e-9)
    assert products <= op.dim
    hv = op.matvec(vec)
    assert float((hv - val * vec).norm()) < 1e-5 * abs(val)


def test_eta_star_bisect_terminates_with_tiny_rtol() -> None:
    e = SM.eta_star_bisect(H, 1, "bernoulli", rtol=1e-300)
    assert e == pytest.approx(SM.eta_star(H, 1, "bernoulli"), rel=1e-9)
