"""The batched federated engine equals the per-client loop in float64; divergence handling; the float trap."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import torch

from sims.federated.engine import per_client_loop, run_federated
from sims.federated.float_trap import float_fedfix
from sims.federated.problems import client_losses, make_problem
from theory.federated.client_times import client_times
from theory.federated.logistic import logistic_losses
from theory.federated.quadratic import least_squares_moments, quadratic_losses
from theory.federated.schedule import build_schedule
from theory.federated.schemes import parse_scheme
from theory.federated.weights import aggregation_weights, fedfix_periods


@pytest.mark.parametrize("kind", ["lsq", "logistic"])
@pytest.mark.parametrize("name", ["FedAvg", "Async", "Async-identical", "FedFix-0.2", "FedBuff-3"])
def test_batched_equals_loop(kind: str, name: str) -> None:
    M = 7
    prob, _ = make_problem(kind, M, 20, 3, np.random.default_rng(0))
    tau = client_times(M, 80)
    sch = parse_scheme(name)
    s = build_schedule(sch, tau, 6)
    w = np.array([float(x) for x in aggregation_weights(sch, tau)])
    th0 = torch.randn(3, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    rec = np.unique(np.r_[-1, np.linspace(0, s.n_steps - 1, 5).astype(int)])
    kw = dict(lr=0.05, local_steps=3, batch=4, theta0=th0, record_steps=rec)
    a = run_federated(prob, s.offsets, s.clients, w, generator=torch.Generator().manual_seed(7), **kw)  # type: ignore[arg-type]
    b = per_client_loop(prob, s.offsets, s.clients, w, generator=torch.Generator().manual_seed(7), **kw)  # type: ignore[arg-type]
    assert not a.diverged.any()
    assert torch.equal(a.theta[0], th0)
    assert torch.allclose(a.theta, b, rtol=1e-12, atol=1e-13)
    assert (a.theta[-1] - th0).abs().max() > 1e-3  # something happened


def test_losses_match_theory() -> None:
    prob, _ = make_problem("lsq", 5, 30, 4, np.random.default_rng(2))
    A, b, c = least_squares_moments(prob.X.numpy(), prob.y.numpy())
    th = np.random.default_rng(3).standard_normal((2, 4))
    assert np.allclose(client_losses(prob, torch.tensor(th)).numpy(), quadratic_losses(A, b, c, th), rtol=1e-12)
    prob, _ = make_problem("logistic", 5, 30, 4, np.random.default_rng(2), l2=0.1)
    assert np.allclose(client_losses(prob, torch.tensor(th)).numpy(),
                       logistic_losses(prob.X.numpy(), prob.y.numpy(), 0.1, th), rtol=1e-12)


def test_divergence_marked() -> None:
    prob, _ = make_problem("lsq", 4, 20, 3, np.random.default_rng(0))
    s = build_schedule(parse_scheme("Async-identical"), client_times(4, 50), 30)
    th0 = torch.zeros(2, 3, dtype=torch.float64)
    r = run_federated(prob, s.offsets, s.clients, np.full(4, 5.0), lr=0.5, local_steps=5, batch=4, theta0=th0,
                      record_steps=[s.n_steps - 1], generator=torch.Generator().manual_seed(0))
    assert r.diverged.all() and torch.isnan(r.theta[-1]).all() and (r.diverged_at >= 0).all()


def test_engine_rejects_bad_input() -> None:
    prob, _ = make_problem("lsq", 4, 20, 3, np.random.default_rng(0))
    s = build_schedule(parse_scheme("FedAvg"), client_times(4, 50), 5)
    th0 = torch.zeros(2, 3, dtype=torch.float64)
    kw = dict(lr=0.1, local_steps=2, batch=4, theta0=th0, record_steps=[0], generator=torch.Generator())
    with pytest.raises(ValueError):
        run_federated(prob, s.offsets, s.clients, np.ones(3), **kw)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        run_federated(prob, s.offsets, s.clients + 10, np.ones(4), **kw)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        run_federated(prob, s.offsets, s.clients, np.ones(4), **{**kw, "lr": float("nan")})  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        run_federated(prob, s.offsets, s.clients, np.ones(4), **{**kw, "record_steps": [s.n_steps]})  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        make_problem("svm", 4, 20, 3, np.random.default_rng(0))


def test_float_trap_over_weights_one_client() -> None:
    """M = 20, F-80, FedFix-0.2 over T = 5000 (the paper's setting): the float ceiling doubles client 19's period
    (exact: 1 round) and its E[omega]/p comes out ~1.8; exact arithmetic gives 1 for every client."""
    f = float_fedfix(20, 80.0, 0.2, 5000.0)
    exact = fedfix_periods(client_times(20, 80), Fraction(1, 5))
    assert f.periods[19] == 2 and exact[19] == 1
    assert [int(k) for k in f.periods[:19]] == list(exact[:19])
    assert 1.7 < f.ratio[19] < 1.9 and np.argmax(f.ratio) == 19
    # where the float schedule agrees with exact arithmetic the ratio is 1 up to one partial period
    assert np.abs(f.ratio[:19] - 1).max() < 0.1
    with pytest.raises(ValueError):
        float_fedfix(20, 100.0, 0.2, 10.0)


@pytest.mark.parametrize("name", ["Async-identical", "FedFix-0.2"])
def test_mean_follows_full_gradient_dynamics(name: str) -> None:
    """Least squares is linear in theta and each batch is independent of the iterate it meets, so the mean over runs
    follows the full-gradient (noise-free) dynamics exactly: checked within 4.5 se per coordinate over R runs."""
    M, d, R = 4, 3, 4000
    prob, _ = make_problem("lsq", M, 20, d, np.random.default_rng(5))
    A, b, _ = least_squares_moments(prob.X.numpy(), prob.y.numpy())
    tau = client_times(M, 60)
    sch = parse_scheme(name)
    s = build_schedule(sch, tau, 4)
    w = np.array([float(x) for x in aggregation_weights(sch, tau)])
    lr, K = 0.1, 3
    th0 = np.array([1.0, -1.0, 0.5])
    r = run_federated(prob, s.offsets, s.clients, w, lr=lr, local_steps=K, batch=2,
                      theta0=torch.tensor(th0).repeat(R, 1), record_steps=[s.n_steps - 1],
                      generator=torch.Generator().manual_seed(3))
    th, sent = th0.copy(), np.tile(th0, (M, 1))
    for n in range(s.n_steps):
        idx = s.clients[s.offsets[n] : s.offsets[n + 1]]
        loc = sent[idx].copy()
        for _ in range(K):
            loc -= lr * (np.einsum("pij,pj->pi", A[idx], loc) - b[idx])
        th = th + w[idx] @ (loc - sent[idx])
        sent[idx] = th
    x = r.theta[-1].numpy()
    z = (x.mean(0) - th) / (x.std(0, ddof=1) / np.sqrt(R))
    assert np.abs(z).max() < 4.5, z
    assert np.abs(th - th0).max() > 0.1
