"""Fitting a PSGD preconditioner on a problem with known curvature (or gradient covariance), for checking the fit.

Newton type: ``v ~ N(0, I)``, ``h = H v`` (a quadratic ``f = theta^T H theta / 2`` has the same ``h`` at every
``theta``, so the parameters need not move). Whitening type: ``h = g = S^{1/2} z``, ``z ~ N(0, I)`` (a Gaussian
gradient with covariance ``S``) and ``v ~ N(0, I)`` independent. Each step calls the group's update from
:mod:`sims.optim.psgd_fit`; the dense ``P = Q^T Q`` is recorded at the requested steps.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from sims.optim import psgd_fit as F

KINDS = ("dense", "triangular", "xmat", "uvd", "kron")


def fit_curvature(M: torch.Tensor, kind: str, n_steps: int, record: Sequence[int], *, mode: str = "newton",
                  lr_preconditioner: float = 0.1, step_normalizer: str = "2nd", rank: int = 2,
                  kron_shape: tuple[int, int] | None = None, generator: torch.Generator) -> torch.Tensor:
    """Fit ``Q`` of the group ``kind`` for ``n_steps`` steps; return ``P = Q^T Q`` at the steps in ``record``
    (``(len(record), n, n)``; step 0 is the initial ``P``).

    ``M`` is ``H`` (``mode="newton"``; symmetric, may be indefinite) or the covariance ``S`` (``mode="whitening"``).
    ``Q`` starts at ``scale * I`` with the reference's on-the-fly scale from the first pair:
    ``(v^T v / h^T h)^{1/4}``. ``kron_shape = (n1, n2)`` with ``n1 n2 = n`` for ``kind="kron"`` (both factors
    triangular). UVd starts with ``U, V ~ N(0, 1) / sqrt(n (rank + 10))`` and flips a fair coin for U or V per step.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if mode not in ("newton", "whitening"):
        raise ValueError(f"mode must be 'newton' or 'whitening', got {mode!r}")
    if M.dim() != 2 or M.shape[0] != M.shape[1] or not torch.isfinite(M).all():
        raise ValueError(f"M must be a finite square matrix, got shape {tuple(M.shape)}")
    if not isinstance(n_steps, int) or n_steps < 1:
        raise ValueError(f"n_steps must be an integer >= 1, got {n_steps!r}")
    rec = sorted(set(int(r) for r in record))
    if not rec or rec[0] < 0 or rec[-1] > n_steps:
        raise ValueError(f"record must hold steps in [0, n_steps={n_steps}], got {list(record)}")
    n = M.shape[0]
    dtype, dev = M.dtype, M.device
    if kind == "kron":
        if kron_shape is None or kron_shape[0] * kron_shape[1] != n:
            raise ValueError(f"kron_shape must be (n1, n2) with n1 * n2 = n = {n}, got {kron_shape}")
    if kind == "uvd" and not 0 <= rank < n:
        raise ValueError(f"rank must be in [0, n={n}), got {rank}")
    if mode == "whitening":
        lam, U = torch.linalg.eigh(0.5 * (M + M.T))
        if lam.min() <= 0:
            raise ValueError("the covariance S must be positive definite")
        root = (U * lam.sqrt()) @ U.T
    tiny = torch.finfo(dtype).tiny

    def randn(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=generator, dtype=dtype, device=generator.device).to(dev)

    def rand() -> float:
        return float(torch.rand((), generator=generator, device=generator.device))

    state: dict[str, torch.Tensor] = {}
    Qk: list[torch.Tensor] = []
    if kind == "uvd":
        c = (n * (rank + 10)) ** 0.5
        state["U"], state["V"] = randn(n, rank) / c, randn(n, rank) / c

    def p_matrix() -> torch.Tensor:
        if kind in ("dense", "triangular"):
            Q = state["Q"]
        elif kind == "xmat":
            Q = F.xmat_matrix(state["a"], state["b"])
        elif kind == "uvd":
            Q = F.uvd_matrix(state["U"], state["V"], state["d"])
        else:
            Q = F.kron_matrix(Qk)
        return Q.T @ Q

    out = []
    for t in range(n_steps + 1):
        v = randn(n, 1)
        h = M @ v if mode == "newton" else root @ randn(n, 1)
        if t == 0:
            s = (torch.sum(v * v) / torch.sum(h * h)) ** 0.25
            if kind in ("dense", "triangular"):
                state["Q"] = s * torch.eye(n, dtype=dtype, device=dev)
                state["invQ"] = torch.eye(n, dtype=dtype, device=dev) / s
            elif kind == "xmat":
                state["a"], state["b"] = s * torch.ones(n, dtype=dtype, device=dev), torch.zeros(n, dtype=dtype,
                                                                                                 device=dev)
            elif kind == "uvd":
                state["d"] = s * torch.ones(n, 1, dtype=dtype, device=dev)
            else:
                assert kron_shape is not None
                Qk = [s ** 0.5 * torch.eye(k, dtype=dtype, device=dev) for k in kron_shape]
            if 0 in rec:
                out.append(p_matrix())
            continue
        if kind == "dense":
            F.dense_update_(state["Q"], state["invQ"], v, h, lr_preconditioner, step_normalizer, tiny)
        elif kind == "triangular":
            F.triangular_update_(state["Q"], v, h, lr_preconditioner, step_normalizer, tiny)
        elif kind == "xmat":
            F.xmat_update_(state["a"], state["b"], v.reshape(-1), h.reshape(-1), lr_preconditioner, step_normalizer,
                           tiny)
        elif kind == "uvd":
            if rand() < 0.01:
                F.uvd_balance_(state["U"], state["V"])
            F.uvd_update_(state["U"], state["V"], state["d"], v, h, lr_preconditioner, step_normalizer, tiny,
                          rand() < 0.5)
        else:
            assert kron_shape is not None
            if rand() < 0.01:
                F.kron_balance_(Qk)
            F.kron_update_(Qk, v.reshape(kron_shape), h.reshape(kron_shape), lr_preconditioner, step_normalizer,
                           tiny)
        if t in rec:
            out.append(p_matrix())
    return torch.stack(out)
