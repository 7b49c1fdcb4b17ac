"""Cross-check of sims.quant.fake_quant against auto-round 0.16.1's own quantisation functions (int_asym, int_sym).

auto-round's package ``__init__`` imports transformers and accelerate (not installed: CI installs auto-round with
``--no-deps``), so the test loads only the two modules that hold the quantisers, ``auto_round/data_type/utils.py``
and ``auto_round/data_type/int.py``, from the installed package: the parent packages are registered as bare
namespaces (their ``__init__`` is not executed) and the few names those two modules import from the heavy modules
(and never call on the code path tested) are bound to placeholders that raise if called. The functions compared are
auto-round's own, unmodified. Skips when auto-round is not installed.

The tuning loop is checked against auto-round's own SignSGD optimizer (loaded the same way), torch's LinearLR
schedule (1 -> 0 over the iterations, as auto-round builds it) and its quantisers on a one-Linear block in float64:
the recorded losses and the restored V agree to 1e-12.
"""

from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from sims.quant.fake_quant import QuantSpec, fake_quant, rtn
from sims.quant.signround import QuantLinear, tune_block

BITS = tuple(range(1, 9))
GROUPS = (32, 64, 128, -1)


def _unused(name: str) -> Any:
    def f(*a: Any, **k: Any) -> Any:
        raise NotImplementedError(f"placeholder for auto_round's {name}: not on the tested code path")

    return f


@pytest.fixture(scope="module")
def ar() -> Any:
    spec = importlib.util.find_spec("auto_round")
    if spec is None or spec.origin is None:
        pytest.skip("auto-round is not installed (pip install --no-deps auto-round==0.16.1)")
    root = Path(spec.origin).parent
    saved = {k: v for k, v in sys.modules.items() if k == "auto_round" or k.startswith("auto_round.")}
    for k in saved:
        del sys.modules[k]

    def pkg(name: str, path: Path | None) -> types.ModuleType:
        m = types.ModuleType(name)
        m.__path__ = [str(path)] if path is not None else []
        sys.modules[name] = m
        return m

    def load(name: str, file: Path) -> types.ModuleType:
        s = importlib.util.spec_from_file_location(name, file)
        assert s is not None and s.loader is not None
        m = importlib.util.module_from_spec(s)
        sys.modules[name] = m
        s.loader.exec_module(m)
        return m

    try:
        top = pkg("auto_round", root)
        top.envs = load("auto_round.envs", root / "envs.py")  # type: ignore[attr-defined]
        pkg("auto_round.data_type", root / "data_type")
        load("auto_round.data_type.register", root / "data_type" / "register.py")
        utils = pkg("auto_round.utils", None)
        for n in ("check_to_quantized", "get_reciprocal"):
            setattr(utils, n, _unused(n))
        utils.logger = types.SimpleNamespace(warning_once=_unused("logger"))  # type: ignore[attr-defined]
        pkg("auto_round.compressors", None)
        cu = pkg("auto_round.compressors.utils", None)
        cu.is_nv_fp = _unused("is_nv_fp")  # type: ignore[attr-defined]
        load("auto_round.data_type.utils", root / "data_type" / "utils.py")
        mod = load("auto_round.data_type.int", root / "data_type" / "int.py")
        yield mod
    finally:
        for k in [k for k in sys.modules if k == "auto_round" or k.startswith("auto_round.")]:
            del sys.modules[k]
        sys.modules.update(saved)


def _case(bits: int, g: int, seed: int, sym: bool) -> tuple[torch.Tensor, ...]:
    gen = torch.Generator().manual_seed(1000 * bits + 7 * (g + 2) + seed + (500 if sym else 0))
    w = torch.randn(48, 256, generator=gen, dtype=torch.float64) * 0.05
    w[0, :7] = 0.3  # an outlier group; a group with one sign only
    w[1, :] = w[1, :].abs()
    ng = w.numel() // (256 if g == -1 else g)
    v = (torch.rand(w.shape, generator=gen, dtype=torch.float64) - 0.5) * 0.9
    lo = 0.5 + 0.5 * torch.rand(ng, generator=gen, dtype=torch.float64)
    hi = 0.5 + 0.5 * torch.rand(ng, generator=gen, dtype=torch.float64)
    return w, v, lo, hi


@pytest.mark.parametrize("sym", [False, True])
@pytest.mark.parametrize("g", GROUPS)
@pytest.mark.parametrize("bits", BITS)
def test_fake_quant_equals_auto_round(ar: Any, bits: int, g: int, sym: bool) -> None:
    """Values and the gradients in V, alpha, beta agree with auto-round in float64 to 1e-12, for every bit width and
    group size (auto-round's scale dtype set to float64, its default being float16 storage)."""
    fn = ar.quant_tensor_sym if sym else ar.quant_tensor_asym
    spec = QuantSpec(bits, g, sym)
    for seed in range(2):
        w, v, lo, hi = _case(bits, g, seed, sym)
        gsz = 256 if g == -1 else g
        ours_p = [t.clone().requires_grad_(True) for t in (v, lo, hi)]
        ref_p = [t.clone().requires_grad_(True) for t in (v.reshape(-1, gsz), lo, hi)]
        ours = fake_quant(w, spec, *ours_p)
        ref = fn(w, bits=bits, group_size=g, v=ref_p[0], min_scale=ref_p[1], max_scale=ref_p[2],
                 scale_dtype=torch.float64)[0]  # fmt: skip
        assert ref.shape == ours.shape
        torch.testing.assert_close(ours, ref, rtol=0, atol=1e-12)
        probe = torch.randn(w.shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
        (ours * probe).sum().backward()
        (ref * probe).sum().backward()
        for a, b in zip(ours_p, ref_p):
            assert a.grad is not None and b.grad is not None
            torch.testing.assert_close(a.grad.reshape(b.grad.shape), b.grad, rtol=0, atol=1e-12)
        # round-to-nearest: auto-round with v = 0 and no clip factors
        ref0 = fn(w, bits=bits, group_size=g, v=0, scale_dtype=torch.float64)[0]
        torch.testing.assert_close(rtn(w, spec), ref0, rtol=0, atol=1e-12)


def _sign_sgd_class(ar: Any) -> Any:
    """auto-round's SignSGD (its module imports only torch), from the installed package that ``ar`` came from."""
    f = Path(ar.__file__).parent.parent / "algorithms" / "quantization" / "sign_round" / "sign_sgd.py"
    s = importlib.util.spec_from_file_location("_auto_round_sign_sgd", f)
    assert s is not None and s.loader is not None
    m = importlib.util.module_from_spec(s)
    s.loader.exec_module(m)
    return m.SignSGD


@pytest.mark.parametrize(("bits", "g", "sym"), [(2, 32, False), (3, 64, True), (4, -1, False)])
def test_tuning_iterates_equal_auto_round(ar: Any, bits: int, g: int, sym: bool) -> None:
    SignSGD = _sign_sgd_class(ar)
    T, n = 12, 6
    gen = torch.Generator().manual_seed(bits)
    lin = nn.Linear(128, 16, dtype=torch.float64)
    with torch.no_grad():
        lin.weight.copy_(torch.randn(16, 128, generator=gen, dtype=torch.float64) * 0.1)
        lin.bias.copy_(torch.randn(16, generator=gen, dtype=torch.float64) * 0.1)
    x = torch.randn(n, 5, 128, generator=gen, dtype=torch.float64)
    y = lin(x).detach() + 0.01 * torch.randn(n, 5, 16, generator=gen, dtype=torch.float64)
    spec = QuantSpec(bits, g, sym)
    # the reference loop: auto-round's SignSGD and quantiser, torch's LinearLR, best-iterate bookkeeping
    q = QuantLinear(lin, spec)
    params = [q.v, q.min_scale, q.max_scale]
    opt = SignSGD(params, lr=1.0 / T, weight_decay=0)
    sched = torch.optim.lr_scheduler.LinearLR(opt, start_factor=1.0, end_factor=0.0, total_iters=T)
    fn = ar.quant_tensor_sym if sym else ar.quant_tensor_asym
    gsz = 128 if g == -1 else g
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(5))
    best, best_p, ref_losses = float("inf"), None, []
    for _ in range(T):
        with torch.no_grad():
            q.min_scale.clamp_(0, 1)
            q.max_scale.clamp_(0, 1)
        wq = fn(lin.weight.detach(), bits=bits, group_size=g, v=q.v.reshape(-1, gsz), min_scale=q.min_scale,
                max_scale=q.max_scale, scale_dtype=torch.float64)[0]  # fmt: skip
        loss = F.mse_loss(F.linear(x[perm], wq, lin.bias), y[perm])
        lv = float(loss.detach())
        ref_losses.append(lv)
        if lv < best:
            best, best_p = lv, [p.detach().clone() for p in params]
        loss.backward()
        opt.step()
        sched.step()
        opt.zero_grad()
    assert best_p is not None
    # ours
    block = nn.Sequential(nn.Linear(128, 16, dtype=torch.float64))
    block[0].load_state_dict(lin.state_dict())
    rec = tune_block(block, x, y, spec, iters=T, batch_size=n, generator=torch.Generator().manual_seed(5))
    torch.testing.assert_close(torch.tensor(rec.losses), torch.tensor(ref_losses, dtype=torch.float64), rtol=0, atol=1e-12)
    torch.testing.assert_close(torch.from_numpy(rec.v["0"]), best_p[0], rtol=0, atol=1e-12)
    assert rec.best_loss == pytest.approx(best, abs=1e-12)
    with torch.no_grad():
        q.v.copy_(best_p[0])
        q.min_scale.copy_(best_p[1])
        q.max_scale.copy_(best_p[2])
        torch.testing.assert_close(block[0].weight, q.qweight(), rtol=0, atol=1e-12)
    assert 0 < max(abs(a - b) for a, b in zip(ref_losses, ref_losses[1:]))  # the loop did move
