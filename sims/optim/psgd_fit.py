"""Lie-group fitting of PSGD preconditioners ``P = Q^T Q`` (Li 2018, arXiv 1512.04202; Pooladzandi & Li 2024,
arXiv 2402.04553).

Every function here takes one probe pair ``(v, h)`` and moves ``Q`` one step down the criterion

    c(Q) = h^T P h + v^T P^{-1} v,        P = Q^T Q,

whose minimiser over all ``Q`` is ``P = |H|^{-1}`` when ``h = H v`` with ``v ~ N(0, I)`` (Newton type) and
``P = (E[g g^T])^{-1/2}`` when ``h = g`` is a gradient and ``v ~ N(0, I)`` is independent of it (whitening type).
With ``a = Q h`` and ``b = Q^{-T} v`` the relative gradient of ``c`` on the group is ``a a^T - b b^T``; each group keeps
the part of it that lies in its Lie algebra and updates ``Q <- Q - mu * grad * Q`` (left multiplication keeps ``Q``
in the group). The step ``mu = step / normaliser`` is normalised either by the gradient itself (``'1st'``: a bound on
the norm of ``grad``) or by second-order information (``'2nd'``: a bound on the norm of ``a a^T + b b^T``, which
bounds the curvature of ``c`` along the step; default of the reference since March 2024).

Groups (states are updated in place; all vectors are 1-D, of length ``n``):

* XMat: ``Q = diag(a) + adiag(b)`` (diagonal plus anti-diagonal), :func:`xmat_update_`, :func:`xmat_precondition`.
* UVd / LRA: ``Q = (I + U V^T) diag(d)``, :func:`uvd_update_`, :func:`uvd_precondition`; ``U`` or ``V`` (not both)
  moves at each step, chosen by the caller (the reference flips a fair coin).
* dense: a general ``Q`` with its inverse kept by the Woodbury identity (:func:`dense_update_`), or an upper-triangular
  ``Q`` (:func:`triangular_update_`); :func:`dense_precondition`.
* Kron: ``Q = Q_1 (x) Q_2 (x) ...`` with one factor per tensor dimension, each factor upper triangular (2-D tensor) or
  diagonal (1-D tensor): :func:`kron_update_`, :func:`kron_precondition`.

Random choices (probes, coins) are made by the caller and passed in, so that a caller can reproduce any reference's
order of draws. Real tensors only.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

NORMALIZERS = ("1st", "2nd")


def _check_normalizer(step_normalizer: str) -> None:
    if step_normalizer not in NORMALIZERS:
        raise ValueError(f"step_normalizer must be one of {NORMALIZERS}, got {step_normalizer!r}")


def norm_lower_bound(A: torch.Tensor) -> torch.Tensor:
    """A cheap lower bound of the spectral norm ``||A||_2`` (Li's estimate, empirically ``||A||_2 <= sqrt(2) * bound``).

    Take the row or column ``x`` of largest Euclidean norm; one power step gives ``||x^T A A^T|| / ||x^T A||`` (column)
    or ``||A^T A x|| / ||A x||`` (row), each a lower bound by the Rayleigh quotient. ``A`` is first scaled by
    ``max |A_ij|`` against under/overflow; returns 0 for ``A = 0``.
    """
    max_abs = A.abs().max()
    if not max_abs > 0:
        return max_abs
    A = A / max_abs
    sq = A * A
    col, i = torch.max(sq.sum(dim=0), 0)
    row, j = torch.max(sq.sum(dim=1), 0)
    if col > row:
        x = A[:, i] @ A
        return max_abs * torch.linalg.vector_norm((x / torch.linalg.vector_norm(x)) @ A.T)
    x = A @ A[j]
    return max_abs * torch.linalg.vector_norm(A.T @ (x / torch.linalg.vector_norm(x)))


# ---------------------------------------------------------------------------------------------------------------
# XMat: Q = diag(a) + adiag(b)
# ---------------------------------------------------------------------------------------------------------------
def xmat_update_(a: torch.Tensor, b: torch.Tensor, v: torch.Tensor, h: torch.Tensor, step: float,
                 step_normalizer: str, tiny: float) -> None:
    """One fitting step of ``Q = diag(a) + adiag(b)``.

    ``Qh = a h + b flip(h)``; ``Q^{-T} v = (flip(a) v - flip(b) flip(v)) / (a flip(a) - b flip(b))`` (2x2 blocks);
    gradient ``grad_a = (Qh)^2 - (Q^{-T}v)^2``, ``grad_b = Qh flip(Qh) - Q^{-T}v flip(Q^{-T}v)`` (middle entry 0 when
    ``n`` is odd: it belongs to the diagonal); ``a <- a - mu (grad_a a + grad_b flip(b))``,
    ``b <- b - mu (grad_a b + grad_b flip(a))``. ``mu = step / max((Qh)^2 + (Q^{-T}v)^2)`` ('2nd') or
    ``step / max(|grad_a|, |grad_b|)`` ('1st').
    """
    _check_normalizer(step_normalizer)
    af, bf = torch.flip(a, [0]), torch.flip(b, [0])
    qh = a * h + b * torch.flip(h, [0])
    qv = (af * v - bf * torch.flip(v, [0])) / (a * af - b * bf)
    s1, s2 = qh * qh, qv * qv
    grad_a = s1 - s2
    grad_b = qh * torch.flip(qh, [0]) - qv * torch.flip(qv, [0])
    n = grad_b.shape[0]
    if n % 2 == 1:
        grad_b[n // 2] = 0
    if step_normalizer == "2nd":
        mu = step / (torch.max(s1 + s2) + tiny)
    else:
        mu = step / (torch.maximum(grad_a.abs().max(), grad_b.abs().max()) + tiny)
    a.sub_(mu * (grad_a * a + grad_b * bf))
    b.sub_(mu * (grad_a * b + grad_b * af))


def xmat_precondition(a: torch.Tensor, b: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """``P g = Q^T Q g = (a^2 + flip(b^2)) g + (a b + flip(a b)) flip(g)``."""
    ab = a * b
    return (a * a + torch.flip(b * b, [0])) * g + (ab + torch.flip(ab, [0])) * torch.flip(g, [0])


def xmat_matrix(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """The dense ``Q = diag(a) + adiag(b)`` (the middle entry of an odd ``n`` counts once, from ``a``)."""
    n = a.shape[0]
    Q = torch.diag(a) + torch.flip(torch.diag(b), [1])
    if n % 2 == 1:
        Q[n // 2, n // 2] = a[n // 2]
    return Q


# ---------------------------------------------------------------------------------------------------------------
# UVd / LRA: Q = (I + U V^T) diag(d)
# ---------------------------------------------------------------------------------------------------------------
def _ipuvt(U: torch.Tensor, V: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``(I + U V^T) x``."""
    return x + U @ (V.T @ x)


def uvd_balance_(U: torch.Tensor, V: torch.Tensor) -> None:
    """``U <- U / rho``, ``V <- V rho`` with ``rho = sqrt(||U|| / ||V||)``: same ``U V^T``, balanced magnitudes."""
    rho = torch.sqrt(torch.linalg.vector_norm(U) / torch.linalg.vector_norm(V))
    U.div_(rho)
    V.mul_(rho)


def uvd_update_(U: torch.Tensor, V: torch.Tensor, d: torch.Tensor, v: torch.Tensor, h: torch.Tensor, step: float,
                step_normalizer: str, tiny: float, update_u: bool) -> None:
    """One fitting step of ``Q = (I + U V^T) diag(d)``; ``U, V`` are ``(n, r)``, ``d, v, h`` are ``(n, 1)``.

    ``Ph = d (I + V U^T)(I + U V^T)(d h)``; ``Q^{-T} v = (I + V U^T)^{-1} (v / d)`` and
    ``P^{-1} v = (I + U V^T)^{-1} Q^{-T} v / d`` by the Woodbury identity with the ``r x r`` matrix ``I + V^T U``.
    Diagonal: ``grad_d = Ph h - v P^{-1}v``, ``d <- d - mu d grad_d`` with ``mu = step min(1 / sqrt((Ph^2 + v^2)
    (h^2 + (P^{-1}v)^2)))`` ('2nd') or ``step / max|grad_d|`` ('1st'). Then, with ``a = Qh`` and ``b = Q^{-T}v``
    (the new ``d`` is not used), either ``U <- U - mu (a a^T - b b^T) V (I + V^T U)`` or
    ``V <- V - mu (I + V U^T)(a a^T - b b^T) U``, ``mu`` normalised by a bound of the norm of the step direction.
    """
    _check_normalizer(step_normalizer)
    qh = _ipuvt(U, V, d * h)
    ph = d * _ipuvt(V, U, qh)
    r = U.shape[1]
    ipvtu = torch.eye(r, dtype=U.dtype, device=U.device) + V.T @ U
    qv = v / d
    qv = qv - V @ torch.linalg.solve(ipvtu.T, U.T @ qv)
    pv = (qv - U @ torch.linalg.solve(ipvtu, V.T @ qv)) / d
    grad_d = ph * h - v * pv
    if step_normalizer == "2nd":
        mu = step * torch.min(torch.rsqrt(ph * ph + v * v + tiny) * torch.rsqrt(h * h + pv * pv + tiny))
    else:
        mu = step / (grad_d.abs().max() + tiny)
    d.sub_(mu * d * grad_d)
    a, b = qh, qv
    if update_u:
        atv, btv = a.T @ V, b.T @ V
        atvvt, btvvt = atv @ V.T, btv @ V.T
        if step_normalizer == "2nd":
            mu = step / (torch.linalg.vector_norm(a) * torch.linalg.vector_norm(atvvt)
                         + torch.linalg.vector_norm(b) * torch.linalg.vector_norm(btvvt) + tiny)
        else:  # Frobenius norm of a (a^T V V^T) - b (b^T V V^T)
            fro2 = (a.T @ a) * (atvvt @ atvvt.T) + (b.T @ b) * (btvvt @ btvvt.T) - 2 * (a.T @ b) * (atvvt @ btvvt.T)
            mu = step / (torch.sqrt(fro2.abs()) + tiny)
        U.sub_(mu * (a @ (atv @ ipvtu) - b @ (btv @ ipvtu)))
    else:
        atu, btu = a.T @ U, b.T @ U
        uuta, uutb = U @ atu.T, U @ btu.T
        if step_normalizer == "2nd":
            mu = step / (torch.linalg.vector_norm(a) * torch.linalg.vector_norm(uuta)
                         + torch.linalg.vector_norm(b) * torch.linalg.vector_norm(uutb) + tiny)
        else:
            fro2 = (uuta.T @ uuta) * (a.T @ a) + (uutb.T @ uutb) * (b.T @ b) - 2 * (uuta.T @ uutb) * (a.T @ b)
            mu = step / (torch.sqrt(fro2.abs()) + tiny)
        V.sub_(mu * ((a + V @ atu.T) @ atu - (b + V @ btu.T) @ btu))


def uvd_precondition(U: torch.Tensor, V: torch.Tensor, d: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """``P g = d (I + V U^T)(I + U V^T)(d g)`` for a column ``g`` of shape ``(n, 1)``."""
    return d * _ipuvt(V, U, _ipuvt(U, V, d * g))


def uvd_matrix(U: torch.Tensor, V: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
    """The dense ``Q = (I + U V^T) diag(d)``."""
    n = U.shape[0]
    return (torch.eye(n, dtype=U.dtype, device=U.device) + U @ V.T) * d.reshape(1, -1)


# ---------------------------------------------------------------------------------------------------------------
# dense Q
# ---------------------------------------------------------------------------------------------------------------
def dense_update_(Q: torch.Tensor, invQ: torch.Tensor, v: torch.Tensor, h: torch.Tensor, step: float,
                  step_normalizer: str, tiny: float) -> None:
    """One fitting step of a general ``Q`` on GL(n) keeping ``invQ = Q^{-1}`` (``v, h`` columns ``(n, 1)``).

    ``a = Q h``, ``b = invQ^T v``; ``Q <- Q - mu (a a^T - b b^T) Q = Q + U W`` with ``U = mu [a, b]`` and
    ``W = [-a^T Q; v^T]`` (``b^T Q = v^T``), a rank-2 change whose inverse is updated by Woodbury:
    ``invQ <- invQ - invQ U (I + W invQ U)^{-1} W invQ``. ``mu = step / (||a||^2 + ||b||^2)`` ('2nd') or
    ``step / ||a a^T - b b^T||_F`` ('1st').
    """
    _check_normalizer(step_normalizer)
    a = Q @ h
    b = invQ.T @ v
    if step_normalizer == "2nd":
        mu = step / (torch.sum(a * a + b * b) + tiny)
    else:
        aa, bb, ab = torch.sum(a * a), torch.sum(b * b), torch.sum(a * b)
        mu = step * torch.rsqrt(torch.abs(aa * aa + bb * bb - 2 * ab * ab) + tiny)
    U = torch.cat([a, b], 1) * mu
    W = torch.cat([-a.T @ Q, v.T], 0)
    Q.add_(U @ W)
    iu = invQ @ U
    eye = torch.eye(2, dtype=Q.dtype, device=Q.device)
    invQ.sub_(iu @ torch.linalg.solve(eye + W @ iu, W @ invQ))


def triangular_update_(Q: torch.Tensor, v: torch.Tensor, h: torch.Tensor, step: float, step_normalizer: str,
                       tiny: float) -> None:
    """One fitting step of an upper-triangular ``Q`` (``v, h`` columns ``(n, 1)``).

    ``a = Q h``, ``b = Q^{-T} v`` (triangular solve); ``grad = triu(a a^T - b b^T)``; ``Q <- Q - mu grad Q`` with
    ``mu = step / (||a||^2 + ||b||^2)`` ('2nd') or ``step / norm_lower_bound(grad)`` ('1st').
    """
    _check_normalizer(step_normalizer)
    a = Q @ h
    b = torch.linalg.solve_triangular(Q.T, v, upper=False)
    grad = torch.triu(a @ a.T - b @ b.T)
    if step_normalizer == "2nd":
        mu = step / (torch.sum(a * a + b * b) + tiny)
    else:
        mu = step / (norm_lower_bound(grad) + tiny)
    Q.sub_(mu * grad @ Q)


def dense_precondition(Q: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """``P g = Q^T (Q g)``."""
    return Q.T @ (Q @ g)


# ---------------------------------------------------------------------------------------------------------------
# Kron: Q = Q_1 (x) Q_2 (x) ... on a tensor of any order
# ---------------------------------------------------------------------------------------------------------------
def mode_product(X: torch.Tensor, M: torch.Tensor, dim: int) -> torch.Tensor:
    """``X x_dim M``: apply ``M`` (matrix: ``sum_j M[i, j] X[.., j, ..]``; 1-D: elementwise scale) along ``dim``."""
    if M.dim() < 2:
        shape = [1] * X.dim()
        shape[dim] = -1
        return X * M.reshape(shape)
    return torch.movedim(torch.tensordot(M, X, dims=([1], [dim])), 0, dim)


def _mode_gram(X: torch.Tensor, dim: int, diag: bool) -> torch.Tensor:
    """``X_(dim) X_(dim)^T`` (contract every other dimension), or only its diagonal."""
    if diag:
        other = [k for k in range(X.dim()) if k != dim]
        return (X * X).sum(dim=other) if other else X * X
    Xm = torch.movedim(X, dim, 0).reshape(X.shape[dim], -1)
    return Xm @ Xm.T


def kron_balance_(Q: Sequence[torch.Tensor]) -> None:
    """Rescale the factors to equal ``max |Q_i|`` (their geometric mean): same Kronecker product, balanced ranges."""
    norms = [q.abs().max() for q in Q]
    gmean = torch.prod(torch.stack(norms)) ** (1.0 / len(Q))
    for q, nq in zip(Q, norms):
        q.mul_(gmean / nq)


def kron_update_(Q: Sequence[torch.Tensor], V: torch.Tensor, G: torch.Tensor, step: float, step_normalizer: str,
                 tiny: float) -> None:
    """One fitting step of ``Q = Q_1 (x) ... (x) Q_k`` for a tensor probe pair ``(V, G)`` of order ``k``.

    ``A = G x_1 Q_1 ... x_k Q_k`` (``= Q g``), ``B = V x_1 Q_1^{-T} ... x_k Q_k^{-T}`` (``= Q^{-T} v``); per factor
    ``T1 = A_(i) A_(i)^T``, ``T2 = B_(i) B_(i)^T`` (diagonals only for a diagonal factor), all from the same ``A, B``;
    triangular: ``Q_i <- Q_i - mu triu(T1 - T2) Q_i``, diagonal: ``Q_i <- Q_i - mu (T1 - T2) Q_i``, with
    ``mu = step / ||T1 + T2||`` ('2nd') or ``step / ||T1 - T2||`` ('1st'), the norm being ``max |.|`` for a diagonal and
    :func:`norm_lower_bound` for a triangular factor.
    """
    _check_normalizer(step_normalizer)
    if G.dim() != len(Q) or V.shape != G.shape:
        raise ValueError(f"G and V must have one dimension per factor: {len(Q)} factors, G {tuple(G.shape)}, "
                         f"V {tuple(V.shape)}")
    A, B = G, V
    for i, q in enumerate(Q):
        A = mode_product(A, q, i)
        if q.dim() < 2:
            B = mode_product(B, 1.0 / q, i)
        else:
            Bm = torch.movedim(B, i, 0)
            sh = Bm.shape
            Bm = torch.linalg.solve_triangular(q.T, Bm.reshape(sh[0], -1), upper=False)
            B = torch.movedim(Bm.reshape(sh), 0, i)
    for i, q in enumerate(Q):
        diag = q.dim() < 2
        t1, t2 = _mode_gram(A, i, diag), _mode_gram(B, i, diag)
        tn = t1 + t2 if step_normalizer == "2nd" else t1 - t2
        if diag:
            q.sub_(step / (tn.abs().max() + tiny) * (t1 - t2) * q)
        else:
            q.sub_(step / (norm_lower_bound(tn) + tiny) * torch.triu(t1 - t2) @ q)


def kron_precondition(Q: Sequence[torch.Tensor], G: torch.Tensor) -> torch.Tensor:
    """``P G = G x_1 (Q_1^T Q_1) ... x_k (Q_k^T Q_k)``."""
    out = G
    for i, q in enumerate(Q):
        out = mode_product(mode_product(out, q, i), q.T if q.dim() == 2 else q, i)
    return out


def kron_matrix(Q: Sequence[torch.Tensor]) -> torch.Tensor:
    """The dense ``Q_1 (x) ... (x) Q_k`` acting on the row-major flattening of a tensor."""
    out = torch.ones(1, 1, dtype=Q[0].dtype, device=Q[0].device)
    for q in Q:
        out = torch.kron(out, q if q.dim() == 2 else torch.diag(q))
    return out
