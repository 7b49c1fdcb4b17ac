"""sims/stability/interpolation: SGD runs on the shared trainer against a plain loop, stopping rules (fitted, blow-up,
first-passage escape from an anchor), and eta* of the linearisation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from sims.nets.hessian import param_vector, unflatten
from sims.stability import interpolation as NN
from sims.stability.linear_sgd import batch_weights
from theory.stability import moments as SM


def problem() -> tuple[torch.nn.Module, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    x, y = NN.teacher_data(8, 3, teacher_width=4, data_generator=g, teacher_seed=1, device="cpu",
                           dtype=torch.float64)
    return NN.tanh_mlp(3, 6, seed=2, device="cpu", dtype=torch.float64), x, y


def test_sgd_runs_equal_a_plain_loop() -> None:
    model, x, y = problem()
    th0 = param_vector(model)
    eta = torch.tensor([0.1, 0.3], dtype=torch.float64)
    b = torch.tensor([2, 5])
    res = NN.sgd_runs(model, x, y, th0.expand(2, -1).clone(), eta, b, sampling="bernoulli", max_steps=7,
                      generator=torch.Generator().manual_seed(4), check_every=100)
    gen = torch.Generator().manual_seed(4)
    th = th0.expand(2, -1).clone()
    for _ in range(7):
        c = batch_weights(2, 8, b, "bernoulli", generator=gen, device="cpu", dtype=torch.float64)
        for r in range(2):
            t = th[r].clone().requires_grad_(True)
            out = torch.func.functional_call(model, unflatten(model, t), (x,))
            loss = 0.5 * torch.sum(c[r][:, None] * (out - y) ** 2) / b[r]
            (gr,) = torch.autograd.grad(loss, t)
            th[r] = th[r] - eta[r] * gr
    assert torch.allclose(res.theta, th, rtol=0, atol=1e-12)
    assert not bool(res.converged.any()) and not bool(res.diverged.any())
    assert res.steps.tolist() == [7, 7]


def test_escape_and_blowup_and_fitted() -> None:
    model, x, y = problem()
    th0 = param_vector(model)
    gd = NN.sgd_runs(model, x, y, th0[None], torch.tensor([1.0], dtype=torch.float64), torch.tensor([8]),
                     sampling="bernoulli", max_steps=5000, generator=torch.Generator().manual_seed(0),
                     check_every=50, tol=1e-10)
    assert bool(gd.converged[0]) and float(gd.final_loss[0]) < 1e-10
    star = gd.theta[0]
    geo = NN.solution_geometry(model, x, y, star, physical_batch=8, lanczos_seed=0)
    lam = float(np.linalg.eigvalsh(geo.factors.T @ geo.factors / 8)[-1])
    assert geo.lambda1 == pytest.approx(lam, rel=1e-4)   # Gauss-Newton = Hessian at interpolation
    start = star + 1e-5 * torch.randn(star.shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    etas = torch.tensor([0.5 / lam, 2.2 / lam], dtype=torch.float64)   # full batch: stable vs 2/lambda_1 exceeded
    res = NN.sgd_runs(model, x, y, start.expand(2, -1).clone(), etas, torch.tensor([8, 8]), sampling="bernoulli",
                      max_steps=300, generator=torch.Generator().manual_seed(0), anchor=star, escape_ratio=1000.0,
                      blowup=1e300, check_every=1000)
    assert res.diverged.tolist() == [False, True]
    assert int(res.steps[1]) < 300 and int(res.steps[0]) == 300   # stopped at the first passage, not by blow-up
    assert float(res.max_dist_ratio[1]) >= 1000.0 and float(res.max_dist_ratio[0]) < 10.0
    assert math.isnan(float(res.final_loss[1]))


def test_linearised_eta_star_matches_dense() -> None:
    g = np.random.default_rng(0).normal(size=(6, 3))
    h = np.einsum("ni,nj->nij", g, g)
    assert NN.linearised_eta_star(g, 2, "bernoulli") == pytest.approx(SM.eta_star(h, 2, "bernoulli"), rel=1e-12)
