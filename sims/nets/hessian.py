"""A Hessian toolkit for torch models (reusable by every setting).

* Hessian-vector products H v = (v^T H)^T by reverse-over-reverse (torch.func.vjp of torch.func.grad, i.e. double
  backward; H is symmetric), summed over physical batches so memory stays bounded: for a mean loss
  L = (1/n) sum_i l_i, H v = sum_chunks (|chunk| / n) H_chunk v.
* Top eigenpairs by Lanczos: scipy.sparse.linalg.eigsh on a LinearOperator wrapping the HVP, with a seeded start
  vector v0 ~ N(0, I) from numpy's default_rng(seed) (float64 on the scipy side), so identical calls give
  bitwise-identical numbers; the operator's symmetry is checked first (<u, A v> = <A u, v> for two seeded vectors).
* The top eigenvalue alone by a Lanczos iteration written in torch (:meth:`HessianOperator.top_eigenvalue`): the
  gradient graph is built once and reused by every product, the Krylov basis stays on the model's device (no numpy
  round trip per product), full reorthogonalisation, and it stops when the top Ritz value changes by less than
  ``tol`` relative between two iterations (the stopping rule of PyHessian's power iteration, so equal tolerances
  compare like with like; Lanczos needs fewer products than power iteration for the same change).
* Per-sample gradients grad_theta l_i and output Jacobians J_i = grad_theta f(theta, x_i) with torch.func.vmap over
  physical batches; the NTK Gram matrix K_ij = J_i . J_j is accumulated block by block.
* The dense Hessian (torch.func.hessian) for models small enough to form it (cross-checks, benchmarks).

Everything works on the device and dtype of the model's parameters; nothing is moved to a hard-coded device.
Parameters are handled as one flat vector theta (the order of ``model.named_parameters()``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse.linalg as spla
import torch
from torch import nn
from torch.func import functional_call, grad, vjp, vmap

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def _check_tol(tol: float, name: str = "tol", *, allow_zero: bool = False) -> float:
    if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not math.isfinite(tol) or tol >= 1 \
            or (tol < 0 if allow_zero else tol <= 0):
        raise ValueError(f"{name} must be a number in {'[0' if allow_zero else '(0'}, 1), got {tol!r}")
    return float(tol)


def _check_batch_size(batch_size: int | None, n: int) -> int:
    if batch_size is None:
        return n
    if isinstance(batch_size, bool) or int(batch_size) != batch_size or batch_size < 1:
        raise ValueError(f"batch_size must be an integer >= 1 (physical batch), got {batch_size!r}")
    return int(batch_size)


def param_vector(model: nn.Module) -> torch.Tensor:
    """theta: the model's parameters flattened into one detached vector (order of named_parameters())."""
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()])


def unflatten(model: nn.Module, theta: torch.Tensor) -> dict[str, torch.Tensor]:
    """Inverse of :func:`param_vector`: a name -> tensor dict for torch.func.functional_call."""
    out: dict[str, torch.Tensor] = {}
    i = 0
    for name, p in model.named_parameters():
        k = p.numel()
        out[name] = theta[i:i + k].reshape(p.shape)
        i += k
    if i != theta.numel():
        raise ValueError(f"theta must have {i} entries (the model's parameter count), got {theta.numel()}")
    return out


def _chunks(n: int, size: int) -> list[tuple[int, int]]:
    return [(a, min(a + size, n)) for a in range(0, n, size)]


class HessianOperator:
    """theta -> Hessian of the mean loss L(theta) = loss_fn(model(x; theta), y) at a fixed theta, matrix-free.

    ``loss_fn`` must be a mean over the samples (e.g. torch.nn.functional.mse_loss with reduction='mean'), so that
    the full Hessian is the size-weighted sum of the physical-batch Hessians. By default every product recomputes
    the forward and backward pass of each physical batch (memory: one batch's graph). ``cache_graph=True`` keeps the
    gradient graph of every batch (memory: all of them) so each product is a single double-backward pass.
    """

    def __init__(self, model: nn.Module, loss_fn: LossFn, x: torch.Tensor, y: torch.Tensor, *,
                 theta: torch.Tensor | None = None, batch_size: int | None = None,
                 cache_graph: bool = False) -> None:
        if x.shape[0] != y.shape[0] or x.shape[0] < 1:
            raise ValueError(f"x and y must have the same number (>= 1) of samples, got {x.shape[0]}, {y.shape[0]}")
        if not (bool(torch.all(torch.isfinite(x))) and bool(torch.all(torch.isfinite(y)))):
            raise ValueError("x and y must be finite (found NaN or inf)")
        self.model, self.loss_fn, self.x, self.y = model, loss_fn, x, y
        self.theta = param_vector(model) if theta is None else theta.detach()
        self.n = int(x.shape[0])
        self.batch_size = _check_batch_size(batch_size, self.n)
        self.dim = int(self.theta.numel())
        self.num_hvp = 0
        self._pullbacks: list[tuple[Callable[..., Any], float]] | None = None
        if cache_graph:
            self._pullbacks = [(self._pullback(a, b), (b - a) / self.n) for a, b in _chunks(self.n, self.batch_size)]

    def _pullback(self, a: int, b: int) -> Callable[..., Any]:
        """v -> (v^T H_chunk) for samples a..b-1 (reverse-over-reverse: torch.func.vjp of torch.func.grad)."""
        return vjp(partial(grad(self.loss), x=self.x[a:b], y=self.y[a:b]), self.theta)[1]

    def loss(self, theta: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Mean loss on (x, y) at the flat parameters theta."""
        return self.loss_fn(functional_call(self.model, unflatten(self.model, theta), (x,)), y)

    def matvec(self, v: torch.Tensor) -> torch.Tensor:
        """H v (module docstring), physical batches of ``batch_size`` samples."""
        if v.shape != self.theta.shape:
            raise ValueError(f"v must have shape {tuple(self.theta.shape)}, got {tuple(v.shape)}")
        v = v.to(dtype=self.theta.dtype, device=self.theta.device)
        out = torch.zeros_like(self.theta)
        if self._pullbacks is not None:
            for pullback, w in self._pullbacks:
                out = out + pullback(v)[0] * w
        else:
            for a, b in _chunks(self.n, self.batch_size):
                (hv,) = self._pullback(a, b)(v)  # v^T H = (H v)^T: H is symmetric
                out = out + hv * ((b - a) / self.n)
        self.num_hvp += 1
        return out

    def linear_operator(self) -> spla.LinearOperator:
        """scipy LinearOperator (float64 on the numpy side) wrapping :meth:`matvec`."""

        def mv(v: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
            t = torch.as_tensor(np.asarray(v, dtype=np.float64).reshape(-1), device=self.theta.device)
            return self.matvec(t.to(self.theta.dtype)).detach().cpu().to(torch.float64).numpy()

        return spla.LinearOperator((self.dim, self.dim), matvec=mv, rmatvec=mv, dtype=np.float64)

    def top_eigenpairs(self, k: int = 1, *, seed: int = 0, tol: float = 1e-8, which: str = "LA",
                       maxiter: int | None = None, ncv: int | None = None,
                       ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Top-k eigenpairs of H by Lanczos (see :func:`lanczos_top`)."""
        return lanczos_top(self.linear_operator(), k, seed=seed, tol=tol, which=which, maxiter=maxiter, ncv=ncv)

    def top_eigenvalue(self, *, tol: float = 1e-6, maxiter: int = 100, seed: int = 0
                       ) -> tuple[float, torch.Tensor, int]:
        """Largest eigenvalue of H by Lanczos in torch (module docstring): returns (lambda_1, unit Ritz vector,
        number of Hessian-vector products). Stops when the estimated error of the top Ritz value theta_k,
        min(r_k, r_k^2 / gap_k) with r_k = beta_k |s_k[last]| its residual norm and gap_k the distance to the second
        Ritz value, or the change |theta_k - theta_{k-1}| (PyHessian's rule), is <= tol |theta_k|, or the Krylov
        space is exhausted (beta_k = 0, then exact); at most ``maxiter`` products. The gradient graph of every physical
        batch is kept for the duration of the call (memory: all physical batches' graphs). v0 ~ N(0, I) from a torch
        generator seeded with ``seed``."""
        _check_tol(tol)
        if isinstance(maxiter, bool) or not isinstance(maxiter, int) or not 2 <= maxiter <= 100_000:
            raise ValueError(f"maxiter must be an integer in [2, 100000], got {maxiter!r}")
        # the gradient graph of every physical batch, built once: g_c = grad L_c(theta) with create_graph, so a
        # product is one backward pass through it (plain autograd: cheaper per product than vjp-of-grad)
        leaf = self.theta.detach().clone().requires_grad_(True)
        graphs = []
        for a, b in _chunks(self.n, self.batch_size):
            (g,) = torch.autograd.grad(self.loss(leaf, self.x[a:b], self.y[a:b]), leaf, create_graph=True)
            graphs.append((g, (b - a) / self.n))

        def hvp(v: torch.Tensor) -> torch.Tensor:
            out = torch.zeros_like(self.theta)
            for g, wgt in graphs:
                (hv,) = torch.autograd.grad(g, leaf, grad_outputs=v, retain_graph=True)
                out = out + hv * wgt
            self.num_hvp += 1
            return out

        with torch.no_grad():
            gen = torch.Generator(device=self.theta.device)
            gen.manual_seed(int(seed))
            q = torch.randn(self.dim, generator=gen, device=self.theta.device, dtype=self.theta.dtype)
            q = q / q.norm()
            basis = [q]
            alphas: list[float] = []
            betas: list[float] = []
            theta_old, products = math.inf, 0
            vec = q
            for k in range(min(maxiter, self.dim)):
                with torch.enable_grad():
                    w = hvp(basis[k])
                products += 1
                alpha = float(torch.dot(w, basis[k]))
                alphas.append(alpha)
                qs = torch.stack(basis)
                w = w - qs.T @ (qs @ w)                       # full reorthogonalisation (twice is enough)
                w = w - qs.T @ (qs @ w)
                beta = float(w.norm())
                t = torch.diag(torch.tensor(alphas, dtype=torch.float64))
                if betas:
                    off = torch.tensor(betas, dtype=torch.float64)
                    t = t + torch.diag(off, 1) + torch.diag(off, -1)
                ev, evec = torch.linalg.eigh(t)
                theta = float(ev[-1])
                vec = (qs.T @ evec[:, -1].to(qs.dtype).to(qs.device))
                # error estimate of the top Ritz value: residual r = beta_k |s_k[last]|, error <= r (Bauer-Fike)
                # and ~ r^2 / gap (Parlett; gap to the second Ritz value), computed without another product
                resid = beta * abs(float(evec[-1, -1]))
                err = resid if len(ev) < 2 else min(resid, resid**2 / max(float(ev[-1] - ev[-2]), 1e-300))
                if err <= tol * abs(theta) or abs(theta - theta_old) <= tol * abs(theta) \
                        or beta <= 1e-14 * max(abs(theta), 1e-300):
                    break
                theta_old = theta
                betas.append(beta)
                basis.append(w / beta)
        return theta, vec / vec.norm(), products

    def dense(self) -> torch.Tensor:
        """The full P x P Hessian (torch.func.hessian per physical batch); only for small models."""
        out = torch.zeros(self.dim, self.dim, dtype=self.theta.dtype, device=self.theta.device)
        for a, b in _chunks(self.n, self.batch_size):
            xa, ya = self.x[a:b], self.y[a:b]
            hess = torch.func.hessian(partial(self.loss, x=xa, y=ya))(self.theta)
            out = out + hess * ((b - a) / self.n)
        return 0.5 * (out + out.T)


def lanczos_top(op: spla.LinearOperator, k: int = 1, *, seed: int = 0, tol: float = 1e-8, which: str = "LA",
                maxiter: int | None = None, ncv: int | None = None, check_symmetry: bool = True,
                ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Top-k eigenpairs of a symmetric LinearOperator by scipy eigsh (implicitly restarted Lanczos), v0 ~ N(0, I)
    from np.random.default_rng(seed). ``which='LA'``: largest algebraic (lambda_1 >= lambda_2 >= ...);
    ``'LM'``: largest magnitude. ``ncv`` (Lanczos basis size) defaults to min(dim, 2k + 6), smaller than scipy's
    default 2k + 1 >= 20, which saves products when the top of the spectrum is separated.
    ``check_symmetry`` (two extra products): refuse an operator with <u, A v> != <A u, v> (relative 1e-8) for two
    seeded random u, v, since Lanczos on a non-symmetric operator returns a meaningless number.
    Returns (eigenvalues descending (k,), eigenvectors (dim, k))."""
    dim = op.shape[0]
    if op.shape[0] != op.shape[1]:
        raise ValueError(f"op must be square, got shape {op.shape}")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k < dim:
        raise ValueError(f"k must be an integer in [1, dim - 1 = {dim - 1}], got {k!r}")
    if which not in ("LA", "LM"):
        raise ValueError(f"which must be 'LA' or 'LM', got {which!r}")
    _check_tol(tol, allow_zero=True)  # eigsh: tol = 0 means machine precision
    if maxiter is not None and (isinstance(maxiter, bool) or not isinstance(maxiter, int) or maxiter < 1):
        raise ValueError(f"maxiter must be None or an integer >= 1, got {maxiter!r}")
    rng = np.random.default_rng(seed)
    v0 = rng.standard_normal(dim)
    if check_symmetry:
        u, v = rng.standard_normal(dim), rng.standard_normal(dim)
        av, au = op.matvec(v), op.matvec(u)
        lhs, rhs = float(u @ av), float(v @ au)
        scale = float(np.linalg.norm(u) * np.linalg.norm(av) + np.linalg.norm(v) * np.linalg.norm(au))
        if not (np.isfinite(lhs) and np.isfinite(rhs)):
            raise ValueError("op returned a non-finite product")
        if abs(lhs - rhs) > 1e-8 * max(scale, 1e-300):
            raise ValueError(f"op must be symmetric: <u, A v> = {lhs:.6g} but <A u, v> = {rhs:.6g}")
    basis = min(dim, 2 * int(k) + 6) if ncv is None else int(ncv)
    vals, vecs = spla.eigsh(op, k=int(k), which=which, v0=v0, tol=tol, maxiter=maxiter, ncv=basis)
    order = np.argsort(vals)[::-1]
    return np.asarray(vals[order], dtype=np.float64), np.asarray(vecs[:, order], dtype=np.float64)


def per_sample_grads(model: nn.Module, loss_fn: LossFn, x: torch.Tensor, y: torch.Tensor, *,
                     theta: torch.Tensor | None = None, batch_size: int | None = None) -> torch.Tensor:
    """(n, P) matrix of grad_theta l_i, l_i = loss_fn(model(x_i), y_i) on a batch of one, via torch.func.vmap over
    physical batches of ``batch_size`` samples."""
    th = param_vector(model) if theta is None else theta.detach()
    n = int(x.shape[0])
    bs = _check_batch_size(batch_size, n)

    def single(t: torch.Tensor, xi: torch.Tensor, yi: torch.Tensor) -> torch.Tensor:
        out = functional_call(model, unflatten(model, t), (xi.unsqueeze(0),))
        return loss_fn(out, yi.unsqueeze(0))

    g = vmap(grad(single), in_dims=(None, 0, 0))
    return torch.cat([g(th, x[a:b], y[a:b]) for a, b in _chunks(n, bs)], dim=0)


def output_jacobian(model: nn.Module, x: torch.Tensor, *, theta: torch.Tensor | None = None,
                    batch_size: int | None = None) -> torch.Tensor:
    """(n, P) matrix with rows J_i = grad_theta f(theta, x_i) for a scalar-output model (output shape (1,) or ())."""
    th = param_vector(model) if theta is None else theta.detach()
    n = int(x.shape[0])
    bs = _check_batch_size(batch_size, n)

    def f(t: torch.Tensor, xi: torch.Tensor) -> torch.Tensor:
        out = functional_call(model, unflatten(model, t), (xi.unsqueeze(0),))
        if out.numel() != 1:
            raise ValueError(f"model must have a scalar output per sample for the NTK, got shape {tuple(out.shape)}")
        return out.reshape(())

    j = vmap(grad(f), in_dims=(None, 0))
    return torch.cat([j(th, x[a:b]) for a, b in _chunks(n, bs)], dim=0)


def ntk_gram(model: nn.Module, x: torch.Tensor, *, theta: torch.Tensor | None = None,
             batch_size: int | None = None) -> torch.Tensor:
    """Empirical NTK Gram matrix K_ij = J_i . J_j (n, n) of a scalar-output model, accumulated block by block so that
    at most two (batch_size, P) Jacobian blocks are alive at a time (each block is recomputed per block pair)."""
    n = int(x.shape[0])
    bs = _check_batch_size(batch_size, n)
    chunks = _chunks(n, bs)
    th = param_vector(model) if theta is None else theta.detach()
    k = torch.empty(n, n, dtype=th.dtype, device=th.device)
    if len(chunks) == 1:
        j = output_jacobian(model, x, theta=th)
        return j @ j.T
    for ia, (a, b) in enumerate(chunks):
        ja = output_jacobian(model, x[a:b], theta=th)
        k[a:b, a:b] = ja @ ja.T
        for c, e in chunks[ia + 1:]:
            jb = output_jacobian(model, x[c:e], theta=th)
            blk = ja @ jb.T
            k[a:b, c:e] = blk
            k[c:e, a:b] = blk.T
    return k
