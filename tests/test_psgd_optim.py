"""Unit tests of sims.optim.psgd / psgd_kron_whiten: errors, state_dict round trip, fitted P on a quadratic."""

from __future__ import annotations

import math

import pytest
import torch

from sims.optim import psgd as P
from sims.optim import psgd_fit as F
from sims.optim.psgd_kron_whiten import KronWhitening, merged_shape


def _quad(n=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    A = torch.randn(n, n, generator=g, dtype=torch.float64)
    H = A @ A.T / n + 0.1 * torch.eye(n, dtype=torch.float64)
    x = torch.randn(n, generator=g, dtype=torch.float64).requires_grad_(True)
    return H, x, (lambda: 0.5 * x @ H @ x)


def _gen(s=3):
    return torch.Generator().manual_seed(s)


@pytest.mark.parametrize("kw, match", [
    (dict(lr=-1.0), "lr"), (dict(lr=float("nan")), "lr"), (dict(momentum=1.0), "momentum"),
    (dict(step_normalizer="3rd"), "step_normalizer"), (dict(preconditioner_type="fisher"), "preconditioner_type"),
    (dict(hvp="approx"), "hvp"), (dict(preconditioner_update_probability=1.5), "preconditioner_update_probability"),
    (dict(lr_preconditioner=0.0), "lr_preconditioner"), (dict(preconditioner_init_scale=-1.0), "init_scale"),
    (dict(grad_clip_max_norm=0.0), "grad_clip_max_norm"),
])
@pytest.mark.parametrize("cls", [P.XMat, P.LRA, P.Newton, P.Kron])
def test_bad_hyperparameters_raise(cls, kw, match):
    _, x, _ = _quad()
    with pytest.raises(ValueError, match=match):
        cls([x], **kw)


def test_other_errors():
    _, x, f = _quad()
    with pytest.raises(ValueError, match="rank_of_approximation"):
        P.LRA([x], rank_of_approximation=6)
    with pytest.raises(ValueError, match="rank_of_approximation"):
        P.LRA([x], rank_of_approximation=-1)
    with pytest.raises(ValueError, match="closure"):
        P.XMat([x]).step()
    with pytest.raises(ValueError, match="requires_grad"):
        P.XMat([torch.zeros(3)])
    with pytest.raises(ValueError, match="real floating"):
        P.XMat([torch.zeros(3, dtype=torch.complex128, requires_grad=True)])
    with pytest.raises(ValueError, match="one parameter group"):
        P.Newton([{"params": [x]}, {"params": [torch.zeros(2, requires_grad=True)]}])
    with pytest.raises(ValueError, match="scalar loss"):
        P.XMat([x]).step(lambda: x * 1.0)
    with pytest.raises(ValueError, match="memory_save_mode"):
        KronWhitening([x], memory_save_mode="some")
    with pytest.raises(ValueError, match="preconditioner_update_probability"):
        KronWhitening([x], preconditioner_update_probability=0.0)


@pytest.mark.parametrize("cls, kw", [(P.XMat, {}), (P.LRA, dict(rank_of_approximation=2)), (P.Newton, {}),
                                     (P.Newton, dict(keep_inverse=False)), (P.Kron, {}),
                                     (P.Kron, dict(preconditioner_type="whitening", momentum=0.9))])
def test_state_dict_round_trip(cls, kw):
    """Run 5 steps, save, run 5 more; a fresh optimizer loaded from the save repeats the last 5 steps exactly."""
    _, x, f = _quad()
    opt = cls([x], generator=_gen(), **kw)
    for _ in range(5):
        opt.step(f)
    sd = opt.state_dict()
    x_saved = x.detach().clone()
    for _ in range(5):
        opt.step(f)
    x_end = x.detach().clone()
    with torch.no_grad():
        x.copy_(x_saved)
    opt2 = cls([x], generator=_gen(99), **kw)
    opt2.load_state_dict(sd)
    for _ in range(5):
        opt2.step(f)
    assert torch.equal(x.detach(), x_end)
    with pytest.raises(ValueError, match="state_dict"):
        opt2.load_state_dict({"state": {}, "param_groups": sd["param_groups"]})


def test_kron_whitening_state_dict_round_trip():
    _, x, f = _quad()
    w = torch.randn(3, 4, dtype=torch.float64, generator=_gen(1)).requires_grad_(True)

    def loss():
        return f() + (w ** 4).sum()

    def run(opt, n):
        for _ in range(n):
            opt.zero_grad()
            loss().backward()
            opt.step()
    opt = KronWhitening([x, w], lr=1e-2, generator=_gen())
    run(opt, 4)
    sd = opt.state_dict()
    saved = [x.detach().clone(), w.detach().clone()]
    run(opt, 4)
    end = [x.detach().clone(), w.detach().clone()]
    with torch.no_grad():
        x.copy_(saved[0])
        w.copy_(saved[1])
    opt2 = KronWhitening([x, w], lr=1e-2, generator=_gen(7))
    opt2.load_state_dict(sd)
    run(opt2, 4)
    assert torch.equal(x.detach(), end[0]) and torch.equal(w.detach(), end[1])


def test_newton_fit_approaches_inverse_hessian():
    """Dense Newton-type fit on a fixed quadratic (lr = 0): P H -> I (all eigenvalues of P H near 1)."""
    H, x, f = _quad(n=5)
    opt = P.Newton([x], lr=0.0, generator=_gen())
    for _ in range(3000):
        opt.step(f)
    ev = torch.linalg.eigvals(opt.preconditioner_matrix() @ H).real
    assert float((ev - 1).abs().max()) < 0.05


def test_kron_matrix_and_precondition_agree():
    g = _gen(5)
    Q = [torch.triu(torch.randn(3, 3, generator=g, dtype=torch.float64)) + 3 * torch.eye(3, dtype=torch.float64),
         torch.rand(4, generator=g, dtype=torch.float64) + 0.5]
    G = torch.randn(3, 4, generator=g, dtype=torch.float64)
    Qm = F.kron_matrix(Q)
    assert torch.allclose(F.kron_precondition(Q, G).reshape(-1), Qm.T @ Qm @ G.reshape(-1), atol=1e-13)


def test_norm_lower_bound_is_a_lower_bound():
    g = _gen(6)
    for _ in range(20):
        A = torch.randn(7, 5, generator=g, dtype=torch.float64)
        s = torch.linalg.matrix_norm(A, ord=2)
        lb = F.norm_lower_bound(A)
        assert lb <= s * (1 + 1e-12) and lb >= s / math.sqrt(2) * (1 - 1e-12)
    assert float(F.norm_lower_bound(torch.zeros(3, 3))) == 0.0


def test_merged_shape():
    assert merged_shape((2, 3, 5)) == (6, 5)
    assert merged_shape((7, 2, 2)) == (14, 2)  # the signed difference prefers the more skewed shape
    assert merged_shape((4, 5)) == (4, 5)
