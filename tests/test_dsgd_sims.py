"""dsgd sims: graphs, the batched D-SGD engine (vs a per-agent loop, vs exact moments), noise models, objectives."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import torch

from sims.distributed import graphs
from sims.distributed.dsgd import component_means, per_agent_loop_dsgd, run_distributed, run_dsgd
from sims.distributed.mixing import MatrixGossip
from sims.distributed.noise import IsotropicNoise, NoNoise, SubspaceNoise
from sims.distributed.objectives import ReLUNets, TiltedQuartic, heterogeneous_tilts, synthetic_regression
from sims.distributed.schedules import PowerSchedule
from theory.distributed.consensus import disagreement_moments
from theory.distributed.flow import quartic_saddle_grad

F64 = torch.float64


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# -- graphs ------------------------------------------------------------------------------------------------------
def test_ring_and_grid_spectra_match_closed_forms():
    n = 10
    lam = graphs.laplacian_spectrum(graphs.laplacian(graphs.ring(n)))
    np.testing.assert_allclose(lam, np.sort(2 - 2 * np.cos(2 * np.pi * np.arange(n) / n)), atol=1e-12)
    # grid = Cartesian product of paths: eigenvalues are sums of path eigenvalues 2 - 2 cos(pi k / m)
    p3, p4 = 2 - 2 * np.cos(np.pi * np.arange(3) / 3), 2 - 2 * np.cos(np.pi * np.arange(4) / 4)
    lam_g = graphs.laplacian_spectrum(graphs.laplacian(graphs.grid(3, 4)))
    np.testing.assert_allclose(lam_g, np.sort((p3[:, None] + p4[None, :]).ravel()), atol=1e-12)
    assert graphs.algebraic_connectivity(graphs.laplacian(graphs.complete(7))) == pytest.approx(7.0)


def test_laplacian_agrees_with_networkx_and_erdos_renyi_is_seeded():
    g = graphs.erdos_renyi(12, 0.3, np.random.default_rng(4))
    assert nx.is_connected(g)
    ref = nx.laplacian_matrix(g, nodelist=sorted(g.nodes)).toarray()
    np.testing.assert_array_equal(graphs.laplacian(g), ref)
    g2 = graphs.erdos_renyi(12, 0.3, np.random.default_rng(4))
    assert sorted(g.edges) == sorted(g2.edges)


def test_disconnected_graph_components_and_refusal():
    lap = graphs.laplacian(graphs.disconnected((4, 5)))
    assert graphs.components(lap) == [[0, 1, 2, 3], [4, 5, 6, 7, 8]]
    assert graphs.algebraic_connectivity(lap) == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError, match="must be connected"):
        graphs.require_connected(lap)


def test_bad_graph_input():
    a = np.array([[0, 1, 0], [0, 0, 1], [1, 1, 0]], dtype=float)
    with pytest.raises(ValueError, match="symmetric"):
        graphs.laplacian(a)
    with pytest.raises(ValueError, match="undirected"):
        graphs.laplacian(nx.DiGraph([(0, 1)]))
    lap = graphs.laplacian(graphs.ring(8))  # lambda_max = 4
    with pytest.raises(ValueError, match=r"c_beta \* lambda_max\(L\) = 0.51 \* 4 = 2.04"):
        graphs.check_consensus_step(0.51, lap)
    assert graphs.check_consensus_step(0.49, lap) == pytest.approx(4.0)
    with pytest.raises(ValueError, match="kind"):
        graphs.make_graph("hypercube", 8)


def test_metropolis_weights_doubly_stochastic():
    w = graphs.metropolis_weights(graphs.erdos_renyi(10, 0.4, np.random.default_rng(1)))
    np.testing.assert_allclose(w.sum(0), 1.0, atol=1e-14)
    np.testing.assert_allclose(w, w.T)
    assert np.all(w >= 0)


# -- engine ------------------------------------------------------------------------------------------------------
def test_batched_engine_equals_per_agent_loop_without_noise():
    n, d = 6, 2
    lap_np = graphs.laplacian(graphs.ring(n))
    c = torch.tensor(heterogeneous_tilts(n, d, 0.5, np.random.default_rng(0)), dtype=F64)
    obj = TiltedQuartic(c, 1.0 / n, kink=0.3)
    x0 = torch.tensor(np.random.default_rng(1).standard_normal((3, n, d)) * 1.5)
    a, b = PowerSchedule(0.4, 0.75), PowerSchedule(0.3, 0.2, "beta")
    tr = run_dsgd(obj, graphs.to_torch(lap_np), x0, a, b, 200, NoNoise(), generator=gen(0), progress=False)
    nbrs = [sorted(graphs.ring(n).neighbors(i)) for i in range(n)]
    for r in range(3):
        # independent gradient: the numpy model of theory/ (float64)
        ref = per_agent_loop_dsgd(
            lambda i, xi: (1.0 / n) * torch.as_tensor(quartic_saddle_grad(xi.numpy(), kink=0.3)) + c[i],
            nbrs, x0[r], a, b, 200, 0.0, generator=gen(0))
        torch.testing.assert_close(tr.final[r], ref, rtol=0, atol=1e-12)


def test_engine_matches_exact_disagreement_moments():
    """Quadratic common part: E||Y_k||^2 from the exact mode recursion vs R = 400 runs, |m - p| <= 4 se."""
    n, d, R, K = 8, 2, 400, 300
    lap_np = graphs.laplacian(graphs.ring(n))
    c_np = heterogeneous_tilts(n, d, 0.2, np.random.default_rng(2))
    h = np.diag([0.5, 1.0])
    c = torch.tensor(c_np)
    hess = torch.tensor(h)
    a, b, sigma = PowerSchedule(0.3, 0.75), PowerSchedule(0.3, 0.2, "beta"), 0.5
    x0 = torch.zeros(R, n, d, dtype=F64)
    rec = [0, 10, 100, 300]
    tr = run_dsgd(lambda x: x @ hess + c, graphs.to_torch(lap_np), x0, a, b, K, IsotropicNoise(sigma),
                  generator=gen(3), record=rec, progress=False)
    ks = np.arange(1, K + 1)
    e2, _ = disagreement_moments(lap_np, c_np, h, 0.3 * ks**-0.75, 0.3 * ks**-0.2, sigma)
    for i, k in enumerate(rec[1:], start=1):
        y2 = tr.disagreement[i].numpy() ** 2
        se = y2.std(ddof=1) / np.sqrt(R)
        assert abs(y2.mean() - e2[k]) <= 4 * se, (k, y2.mean(), e2[k], se)


def test_subspace_noise_cannot_leave_invariant_stable_manifold():
    """Tilts and noise along x_2 only: x_1 = 0 is invariant for every agent (exactly), isotropic noise breaks it."""
    n, R = 8, 5
    lap = graphs.to_torch(graphs.laplacian(graphs.ring(n)))
    c = torch.tensor(heterogeneous_tilts(n, 2, 1.0, np.random.default_rng(0), directions=[1]))
    obj = TiltedQuartic(c, 1.0 / n)
    x0 = torch.zeros(R, n, 2, dtype=F64)
    x0[..., 1] = 1.0
    a, b = PowerSchedule(1.0, 0.75), PowerSchedule(0.3, 0.2, "beta")
    sub = run_dsgd(obj, lap, x0, a, b, 2000, SubspaceNoise(0.5, ((0.0, 1.0),)), generator=gen(1), progress=False)
    assert torch.all(sub.final[..., 0] == 0.0)
    iso = run_dsgd(obj, lap, x0, a, b, 2000, IsotropicNoise(0.5), generator=gen(1), progress=False)
    assert torch.all(iso.final[..., 0].abs().amax(dim=1) > 0)


def test_noise_models_moments_and_validation():
    like = torch.zeros(1, dtype=F64)
    z = IsotropicNoise(2.0).sample(torch.Size([20000, 1, 3]), generator=gen(0), like=like)
    assert z is not None
    cov = torch.cov(z.reshape(-1, 3).T).numpy()
    se = 4.0 * np.sqrt(2 / 20000)  # se of a sample variance of N(0, 4): sigma^2 sqrt(2/n)
    assert np.all(np.abs(np.diag(cov) - 4.0) <= 4 * se)
    b = ((1 / np.sqrt(2), 1 / np.sqrt(2), 0.0),)
    zs = SubspaceNoise(1.0, b).sample(torch.Size([100, 2, 3]), generator=gen(0), like=like)
    assert zs is not None
    torch.testing.assert_close(zs[..., 0], zs[..., 1])
    assert torch.all(zs[..., 2] == 0)
    with pytest.raises(ValueError, match="orthonormal"):
        SubspaceNoise(1.0, ((1.0, 1.0),))
    with pytest.raises(ValueError, match="sigma"):
        IsotropicNoise(-1.0)
    with pytest.raises(ValueError, match="c_alpha"):
        PowerSchedule(0.0, 0.5)


def test_engine_refuses_bad_input():
    n = 8
    x0 = torch.zeros(2, n, 2, dtype=F64)
    obj = TiltedQuartic(torch.zeros(n, 2, dtype=F64), 1.0)
    a = PowerSchedule(0.1, 0.75)
    ring = graphs.to_torch(graphs.laplacian(graphs.ring(n)))
    with pytest.raises(ValueError, match="consensus step unstable"):
        run_dsgd(obj, ring, x0, a, PowerSchedule(0.6, 0.2, "beta"), 10, NoNoise(), generator=gen(0))
    disc = graphs.to_torch(graphs.laplacian(graphs.disconnected((4, 4))))
    with pytest.raises(ValueError, match="must be connected"):
        run_dsgd(obj, disc, x0, a, PowerSchedule(0.3, 0.2, "beta"), 10, NoNoise(), generator=gen(0))
    nonsym = ring.clone()
    nonsym[0, 1] = -2.0
    nonsym[0, 0] = 3.0
    with pytest.raises(ValueError, match="symmetric"):
        run_dsgd(obj, nonsym, x0, a, PowerSchedule(0.1, 0.2, "beta"), 10, NoNoise(), generator=gen(0))
    with pytest.raises(ValueError, match="x0"):
        run_dsgd(obj, ring, x0[0], a, PowerSchedule(0.1, 0.2, "beta"), 10, NoNoise(), generator=gen(0))


def test_disconnected_components_average_separately():
    lap = graphs.to_torch(graphs.laplacian(graphs.disconnected((4, 4))))
    x0 = torch.arange(8, dtype=F64).reshape(1, 8, 1).repeat(1, 1, 2)
    obj = lambda x: torch.zeros_like(x)
    tr = run_dsgd(obj, lap, x0, PowerSchedule(0.1, 0.75), PowerSchedule(0.3, 0.0, "beta"), 500, NoNoise(),
                  generator=gen(0), allow_disconnected=True, progress=False)
    cm = component_means(tr.final, lap)
    torch.testing.assert_close(cm[0][1], torch.full((1, 2), 1.5, dtype=F64))
    torch.testing.assert_close(cm[1][1], torch.full((1, 2), 5.5, dtype=F64))
    torch.testing.assert_close(tr.final[0, :4], torch.full((4, 2), 1.5, dtype=F64))


def test_divergence_is_detected_and_excluded():
    n = 4
    lap = graphs.to_torch(graphs.laplacian(graphs.ring(n)))
    obj = TiltedQuartic(torch.zeros(n, 2, dtype=F64), 1.0)
    x0 = torch.zeros(4, n, 2, dtype=F64)
    x0[:2] = 50.0  # steps 0.5 * 50^3: these two runs blow up, the others (at the saddle) stay finite
    tr = run_dsgd(obj, lap, x0, PowerSchedule(0.5, 0.6), PowerSchedule(0.2, 0.0, "beta"), 300, NoNoise(),
                  generator=gen(0), progress=False)
    assert tr.diverged.tolist() == [True, True, False, False]
    assert tr.diverged_fraction == 0.5
    assert torch.isnan(tr.mean[-1, :2]).all() and torch.isfinite(tr.mean[-1, 2:]).all()
    assert (tr.diverged_at[:2] > 0).all()


def test_relu_nets_gradient_matches_autograd_loop():
    n, m, p, h = 3, 20, 2, 4
    z, y = synthetic_regression(n, m, p, 5, shift=1.0, generator=gen(0))
    nets = ReLUNets(z, y, hidden=h)
    theta = torch.randn(2, n, nets.dim, generator=gen(1), dtype=F64)
    g = nets(theta)
    for r in range(2):
        for i in range(n):
            t = theta[r, i].clone().requires_grad_(True)
            w, b, v, b0 = t[: h * p].reshape(h, p), t[h * p : h * p + h], t[h * p + h : h * p + 2 * h], t[-1]
            loss = 0.5 * ((torch.relu(z[i] @ w.T + b) @ v + b0 - y[i]) ** 2).mean()
            (gr,) = torch.autograd.grad(loss, t)
            torch.testing.assert_close(g[r, i], gr, rtol=0, atol=1e-12)
    fg = nets.network_grad(theta[:, 0])
    torch.testing.assert_close(fg, nets(theta[:, :1].expand(-1, n, -1).contiguous()).sum(1))


# -- the general engine: pluggable mixing, orders, first passage -------------------------------------------------
def test_matrix_gossip_with_constant_beta_equals_laplacian_gossip():
    """W = I - beta L (doubly stochastic for beta max_deg <= 1) with tau_beta = 0 gives the same iterates."""
    n = 6
    lap = graphs.laplacian(graphs.ring(n))
    c = torch.tensor(heterogeneous_tilts(n, 2, 0.5, np.random.default_rng(0)))
    obj = TiltedQuartic(c, 1.0 / n)
    x0 = torch.tensor(np.random.default_rng(1).standard_normal((2, n, 2)))
    a = PowerSchedule(0.3, 0.75)
    ref = run_dsgd(obj, graphs.to_torch(lap), x0, a, PowerSchedule(0.25, 0.0, "beta"), 100, IsotropicNoise(0.1),
                   generator=gen(0), progress=False)
    w = MatrixGossip(graphs.gossip_matrix(lap, 0.25))
    tr = run_distributed(obj, w, x0, a, 100, IsotropicNoise(0.1), generator=gen(0), progress=False)
    torch.testing.assert_close(tr.final, ref.final, rtol=0, atol=1e-13)


def test_adapt_then_combine_order():
    """X_k = W (X_{k-1} - alpha_k G): one step by hand."""
    n = 4
    w_np = graphs.metropolis_weights(graphs.ring(n))
    x0 = torch.tensor(np.random.default_rng(2).standard_normal((1, n, 3)))
    grad = lambda x: 2.0 * x  # noqa: E731
    tr = run_distributed(grad, MatrixGossip(w_np), x0, PowerSchedule(0.1, 0.5), 1, NoNoise(), generator=gen(0),
                         order="adapt_then_combine", progress=False)
    expected = torch.einsum("nm,rmd->rnd", torch.tensor(w_np), x0 - 0.1 * 2.0 * x0)
    torch.testing.assert_close(tr.final, expected, rtol=0, atol=1e-15)


def test_first_passage_and_early_stop():
    """hit_at is the first step at which the condition holds; the loop stops once every run has hit."""
    n = 4
    lap = graphs.to_torch(graphs.laplacian(graphs.ring(n)))
    obj = lambda x: -torch.ones_like(x)  # noqa: E731  constant drift +alpha_k per step
    x0 = torch.zeros(3, n, 1, dtype=F64)
    x0[1] = 0.5
    x0[2] = 2.0
    tr = run_dsgd(obj, lap, x0, PowerSchedule(0.125, 0.0), PowerSchedule(0.1, 0.0, "beta"), 1000, NoNoise(),
                  generator=gen(0), record=[0], hit=lambda x: x.mean(dim=(1, 2)) >= 1.0, stop_when_all_hit=True)
    # x(k) = x0 + k / 8 (exact in binary): 1.0 is reached at k = 8, 4 and 0
    assert tr.hit_at.tolist() == [8, 4, 0]
    assert tr.steps_run == tr.hit_at.max().item()


def test_bad_laplacian_is_refused_by_the_engine():
    """issue 10: a symmetric non-Laplacian (identity; a signed matrix) is refused, not run."""
    x0 = torch.zeros(1, 4, 2, dtype=F64)
    obj = TiltedQuartic(torch.zeros(4, 2, dtype=F64), 0.25)
    for bad in (torch.eye(4, dtype=F64), -graphs.to_torch(graphs.laplacian(graphs.ring(4)))):
        with pytest.raises(ValueError, match="lap must"):
            run_dsgd(obj, bad, x0, PowerSchedule(0.1, 0.75), PowerSchedule(0.1, 0.2, "beta"), 5, NoNoise(),
                     generator=gen(0))
    with pytest.raises(ValueError, match="mixing"):
        run_distributed(obj, torch.eye(4), x0, PowerSchedule(0.1, 0.75), 5, NoNoise(), generator=gen(0))  # type: ignore


def test_noise_floor_matches_the_engine_on_a_quadratic():
    """E||grad F(xbar_K)||^2 of D-SGD on f_n = x^T H x / (2N) + c_n^T x from the minimum vs theory (consensus bias is
    zero for identical Hessians): the exact linear recursion noise_floor_sq, 400 runs, |m - p| <= 4 se."""
    from theory.distributed.consensus import noise_floor_sq

    n, r, k = 8, 400, 2000
    h = np.diag([2.0, 0.5])
    c = torch.tensor(heterogeneous_tilts(n, 2, 0.5, np.random.default_rng(3)))
    ht = torch.tensor(h) / n
    tr = run_dsgd(lambda x: x @ ht + c, graphs.to_torch(graphs.laplacian(graphs.ring(n))),
                  torch.zeros(r, n, 2, dtype=F64), PowerSchedule(0.5, 0.6), PowerSchedule(0.3, 0.05, "beta"), k,
                  IsotropicNoise(0.2), generator=gen(4), record=[k], progress=False)
    g2 = ((tr.mean[-1].numpy() @ h) ** 2).sum(axis=1)
    pred = noise_floor_sq(0.5 * np.arange(1, k + 1) ** -0.6, 0.2, n, np.diag(h))
    assert abs(g2.mean() - pred) <= 4 * g2.std(ddof=1) / np.sqrt(r), (g2.mean(), pred)


def test_power_schedule_values():
    """alpha_k = c k^-tau from k = 1: alpha_1 = c, alpha_16 = c / 8 for tau = 3/4 (exact in binary)."""
    a = PowerSchedule(0.5, 0.75)
    assert a(1) == 0.5 and a(16) == 0.0625
    from theory.distributed.steps import power_schedule

    ks = np.arange(1, 50)
    np.testing.assert_allclose([a(int(k)) for k in ks], power_schedule(0.5, 0.75, ks), rtol=1e-15)
