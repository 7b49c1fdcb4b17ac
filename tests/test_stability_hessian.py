"""sims/nets/hessian: HVP and Lanczos against the dense Hessian, physical batching, per-sample gradients and the NTK against
direct autograd, the Gauss-Newton identity at interpolation, and the top eigenvalue against PyHessian when installed."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from sims.nets.hessian import HessianOperator, lanczos_top, ntk_gram, output_jacobian, param_vector, per_sample_grads
from theory.stability.coherence import coherence, coherence_from_gram


def mlp(seed: int, d_in: int = 5, width: int = 12, dtype: torch.dtype = torch.float64) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(d_in, width), nn.Tanh(), nn.Linear(width, 1)).to(dtype)


def data(seed: int, n: int = 30, d_in: int = 5) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d_in, generator=g, dtype=torch.float64), torch.randn(n, 1, generator=g, dtype=torch.float64)


def test_hvp_and_lanczos_match_dense() -> None:
    m = mlp(0)
    x, y = data(1)
    op = HessianOperator(m, F.mse_loss, x, y, batch_size=7)
    hd = op.dense()
    # independent dense Hessian with torch.autograd.functional on the whole batch
    th = param_vector(m)
    ref = torch.autograd.functional.hessian(lambda t: op.loss(t, x, y), th)
    torch.testing.assert_close(hd, ref, atol=1e-12, rtol=1e-10)
    v = torch.randn(op.dim, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    torch.testing.assert_close(op.matvec(v), ref @ v, atol=1e-12, rtol=1e-10)
    op_full = HessianOperator(m, F.mse_loss, x, y)
    torch.testing.assert_close(op_full.matvec(v), op.matvec(v), atol=1e-12, rtol=1e-10)
    op_cached = HessianOperator(m, F.mse_loss, x, y, batch_size=7, cache_graph=True)
    for _ in range(2):  # the cached pullbacks are reusable
        torch.testing.assert_close(op_cached.matvec(v), ref @ v, atol=1e-12, rtol=1e-10)
    vals, vecs = op.top_eigenpairs(3, seed=0, tol=1e-12)
    ev = torch.linalg.eigvalsh(ref).flip(0)[:3].numpy()
    np.testing.assert_allclose(vals, ev, rtol=1e-9)
    res = ref.numpy() @ vecs - vecs * vals
    assert np.max(np.abs(res)) < 1e-7 * vals[0]
    # seeded start vector: identical result on a rerun
    vals2, _ = op.top_eigenpairs(3, seed=0, tol=1e-12)
    np.testing.assert_array_equal(vals, vals2)


def test_per_sample_grads_and_ntk() -> None:
    m = mlp(3)
    x, y = data(4, n=17)
    g = per_sample_grads(m, F.mse_loss, x, y, batch_size=5)
    for i in [0, 8, 16]:
        m.zero_grad()
        F.mse_loss(m(x[i:i + 1]), y[i:i + 1]).backward()
        ref = torch.cat([p.grad.reshape(-1) for p in m.parameters() if p.grad is not None])
        torch.testing.assert_close(g[i], ref, atol=1e-13, rtol=1e-12)
    j = output_jacobian(m, x, batch_size=4)
    torch.testing.assert_close(ntk_gram(m, x, batch_size=4), j @ j.T, atol=1e-12, rtol=1e-12)
    torch.testing.assert_close(ntk_gram(m, x), j @ j.T, atol=1e-12, rtol=1e-12)


def test_gauss_newton_at_interpolation() -> None:
    # labels equal to the model's outputs: an exact interpolating minimum of l_i = (f_i - y_i)^2, H_i = 2 J_i J_i^T,
    # so lambda_1(H) = 2 lambda_1(K) / n and the Hessian coherence equals the NTK coherence.
    m = mlp(5, width=6)
    x, _ = data(6, n=9)
    with torch.no_grad():
        y = m(x).clone()
    op = HessianOperator(m, F.mse_loss, x, y, batch_size=4)
    k = ntk_gram(m, x, batch_size=4)
    lam_h = op.top_eigenpairs(1, seed=1, tol=1e-12)[0][0]
    assert lam_h == pytest.approx(2 * torch.linalg.eigvalsh(k)[-1].item() / x.shape[0], rel=1e-9)
    j = output_jacobian(m, x).numpy()
    hs = 2 * np.einsum("ni,nj->nij", j, j)
    assert coherence_from_gram(k.numpy()) == pytest.approx(coherence(hs), rel=1e-9)


def test_bad_input() -> None:
    m = mlp(0)
    x, y = data(1)
    with pytest.raises(ValueError, match="batch_size"):
        HessianOperator(m, F.mse_loss, x, y, batch_size=0)
    op = HessianOperator(m, F.mse_loss, x, y)
    with pytest.raises(ValueError, match="k must"):
        lanczos_top(op.linear_operator(), 0)
    with pytest.raises(ValueError, match="v must"):
        op.matvec(torch.zeros(3, dtype=torch.float64))


def test_top_eigenvalue_matches_pyhessian() -> None:
    pyhessian = pytest.importorskip("pyhessian")
    m = mlp(7, width=20, dtype=torch.float32)
    x, y = data(8, n=64)
    x, y = x.float(), y.float()
    torch.manual_seed(0)  # PyHessian draws its start vector from the global generator
    ph = pyhessian.hessian(m, F.mse_loss, data=(x, y), cuda=False)
    top_ph = ph.eigenvalues(maxIter=2000, tol=1e-7, top_n=1)[0][0]
    m64 = mlp(7, width=20)
    op = HessianOperator(m64, F.mse_loss, x.double(), y.double())
    top = op.top_eigenpairs(1, seed=0, tol=1e-10)[0][0]
    assert top_ph == pytest.approx(top, rel=2e-4)  # float32 HVPs and power iteration stopped at rel. change 1e-7


def test_hvp_matches_pyhessian_float64() -> None:
    pyhessian = pytest.importorskip("pyhessian")
    from pyhessian.utils import hessian_vector_product

    m = mlp(9, width=10)
    x, y = data(10, n=25)
    ph = pyhessian.hessian(m, F.mse_loss, data=(x, y), cuda=False)  # double-backward graph on the module
    op = HessianOperator(m, F.mse_loss, x, y, batch_size=6)
    v = torch.randn(op.dim, dtype=torch.float64, generator=torch.Generator().manual_seed(11))
    vs = [t.view_as(p) for t, p in zip(torch.split(v, [p.numel() for p in m.parameters()]), m.parameters())]
    ref = torch.cat([h.reshape(-1) for h in hessian_vector_product(ph.gradsH, ph.params, vs)])
    torch.testing.assert_close(op.matvec(v), ref, atol=1e-12, rtol=1e-12)
    for p in m.parameters():  # PyHessian leaves create_graph gradients on the module
        p.grad = None
