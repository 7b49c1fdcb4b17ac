"""Cross-checks against the reference packages: float64, 200 steps on a small network with a fixed batch stream,
max |theta - theta_ref| < 1e-12, over the configurations PAPERS.md lists. Each test skips when its reference package
is not installed (CI installs them with --no-deps)."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable

import pytest
import torch

from sims.optim.adabelief import AdaBelief
from sims.optim.diffgrad import DiffGrad, DiffGradV1
from sims.optim.sgd_sai import SGDSaI

TOL = 1e-12
STEPS = 200


def _net(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(6, 12), torch.nn.Tanh(), torch.nn.Linear(12, 8), torch.nn.Tanh(),
                               torch.nn.Linear(8, 3)).double()


def _batches(n: int, seed: int = 1) -> list[tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(seed)
    return [(torch.randn(16, 6, generator=g, dtype=torch.float64), torch.randint(0, 3, (16,), generator=g))
            for _ in range(n)]


def run(make: Callable[[list[torch.nn.Parameter]], torch.optim.Optimizer], steps: int = STEPS,
        set_to_none: bool = True, use_closure: bool = False) -> list[torch.Tensor]:
    net = _net()
    with contextlib.redirect_stdout(io.StringIO()):  # adabelief-pytorch prints tables
        opt = make(list(net.parameters()))
    for x, y in _batches(steps):
        def closure(x: torch.Tensor = x, y: torch.Tensor = y) -> torch.Tensor:
            opt.zero_grad(set_to_none=set_to_none)
            loss = torch.nn.functional.cross_entropy(net(x), y)
            loss.backward()
            return loss
        if use_closure:
            opt.step(closure)
        else:
            closure()
            opt.step()
    return [p.detach().clone() for p in net.parameters()]


def maxdiff(a: list[torch.Tensor], b: list[torch.Tensor]) -> float:
    return max(float((x - y).abs().max()) for x, y in zip(a, b))


# ----------------------------------------------------------------------------------------------------------------
ADABELIEF_CONFIGS = [
    dict(rectify=r, weight_decouple=dec, weight_decay=wd, amsgrad=ams, eps=eps, fixed_decay=fx)
    for r in (True, False) for dec, wd, fx in ((True, 0.0, False), (True, 1e-2, False), (True, 1e-2, True),
                                               (False, 1e-2, False))
    for ams in (False, True) for eps in (1e-16, 1e-8)
    if not (r and ams)  # amsgrad with rectify: the reference ignores the maximum (tested below, and vs 4.1.0)
]


# set_to_none=False on every second configuration (each configuration meets both zero_grad modes over the grid of
# the 200-step and the 1-step checks): keeps the file under a minute
@pytest.mark.parametrize("i", range(len(ADABELIEF_CONFIGS)))
@pytest.mark.parametrize("steps", [1, STEPS])
def test_adabelief_vs_adabelief_pytorch(i: int, steps: int) -> None:
    cfg = ADABELIEF_CONFIGS[i]
    set_to_none = (i + steps) % 2 == 0
    ref = pytest.importorskip("adabelief_pytorch")
    kw = dict(lr=1e-3, **cfg)
    a = run(lambda p: ref.AdaBelief(p, print_change_log=False, **kw), steps, set_to_none)
    for foreach in (True, False):
        b = run(lambda p, f=foreach: AdaBelief(p, foreach=f, **kw), steps, set_to_none)
        assert maxdiff(a, b) < TOL


def test_adabelief_default_is_reference_default() -> None:
    ref = pytest.importorskip("adabelief_pytorch")
    a = run(lambda p: ref.AdaBelief(p, print_change_log=False))
    b = run(lambda p: AdaBelief(p))
    assert maxdiff(a, b) < TOL


@pytest.mark.parametrize("cfg", [dict(rectify=r, amsgrad=a, weight_decouple=d, weight_decay=1e-2)
                                 for r in (True, False) for a in (True, False) for d in (True, False)])
def test_adabelief_vs_pytorch_optimizer(cfg: dict) -> None:
    po = pytest.importorskip("pytorch_optimizer")
    kw = dict(cfg)
    ams = kw.pop("amsgrad")
    a = run(lambda p: po.AdaBelief(p, lr=1e-3, ams_bound=ams, **kw))
    b = run(lambda p: AdaBelief(p, lr=1e-3, amsgrad=ams, **kw))
    assert maxdiff(a, b) < TOL


def test_adabelief_reference_trap_amsgrad_ignored_when_rectified() -> None:
    """adabelief-pytorch 0.2.1 computes the running max with rectify=True but divides by s_t: amsgrad has no effect
    (its iterates equal those without amsgrad); ours divides by the maximum and differs."""
    ref = pytest.importorskip("adabelief_pytorch")
    a = run(lambda p: ref.AdaBelief(p, lr=1e-2, amsgrad=True, rectify=True, print_change_log=False))
    a0 = run(lambda p: ref.AdaBelief(p, lr=1e-2, amsgrad=False, rectify=True, print_change_log=False))
    ours = run(lambda p: AdaBelief(p, lr=1e-2, amsgrad=True, rectify=True))
    assert maxdiff(a, a0) == 0.0
    assert maxdiff(a, ours) > 1e-6


def test_adabelief_reference_trap_l2_writes_into_grad() -> None:
    """With L2 decay the reference adds wd * theta into p.grad (a caller that reads or accumulates gradients after
    step() sees a changed gradient); ours leaves p.grad untouched."""
    ref = pytest.importorskip("adabelief_pytorch")
    for make, changed in ((lambda p: ref.AdaBelief(p, weight_decay=0.1, weight_decouple=False,
                                                   print_change_log=False), True),
                          (lambda p: AdaBelief(p, weight_decay=0.1, weight_decouple=False), False)):
        w = torch.nn.Parameter(torch.ones(3, dtype=torch.float64))
        with contextlib.redirect_stdout(io.StringIO()):
            opt = make([w])
        w.grad = torch.zeros(3, dtype=torch.float64)
        opt.step()
        assert bool((w.grad != 0).any()) is changed


def test_adabelief_rectified_first_steps_are_sgd() -> None:
    """rho_t < 5 for t <= 5 (b2 = 0.999): theta moves by exactly -lr m_t / (1 - b1^t)."""
    w = torch.nn.Parameter(torch.tensor([1.0, -2.0], dtype=torch.float64))
    opt = AdaBelief([w], lr=0.1)
    m = torch.zeros(2, dtype=torch.float64)
    for t in range(1, 6):
        g = torch.tensor([0.3 * t, -1.0], dtype=torch.float64)
        w.grad = g.clone()
        before = w.detach().clone()
        opt.step()
        m = 0.9 * m + 0.1 * g
        torch.testing.assert_close(w.detach(), before - 0.1 * m / (1 - 0.9**t), rtol=0, atol=1e-15)
    w.grad = torch.ones(2, dtype=torch.float64)
    before = w.detach().clone()
    opt.step()  # t = 6: adaptive (|step| no longer proportional to m)
    assert float((w.detach() - before).abs().max()) < 0.1 * 1.0


# ----------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("wd", [0.0, 1e-2])
@pytest.mark.parametrize("set_to_none", [True, False])
@pytest.mark.parametrize("steps", [1, STEPS])
@pytest.mark.parametrize("use_closure", [False, True])
def test_diffgrad_vs_torch_optimizer(wd: float, set_to_none: bool, steps: int, use_closure: bool) -> None:
    to = pytest.importorskip("torch_optimizer")
    a = run(lambda p: to.DiffGrad(p, lr=1e-3, weight_decay=wd), steps, set_to_none, use_closure)
    for foreach in (True, False):
        b = run(lambda p, f=foreach: DiffGrad(p, lr=1e-3, weight_decay=wd, foreach=f), steps, set_to_none, use_closure)
        assert maxdiff(a, b) < TOL


def test_diffgrad_pytorch_optimizer_differs_by_hidden_eps() -> None:
    """pytorch-optimizer 4.1.0's DiffGrad adds a hidden 1e-15 inside the sqrt: for gradients ~1e-8 its first step
    is visibly smaller than v2's (ours and torch-optimizer's)."""
    po = pytest.importorskip("pytorch_optimizer")
    to = pytest.importorskip("torch_optimizer")
    out = []
    for make in (lambda p: po.DiffGrad(p, lr=1.0), lambda p: to.DiffGrad(p, lr=1.0), lambda p: DiffGrad(p, lr=1.0)):
        w = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
        opt = make([w])
        w.grad = torch.full((1,), 1e-8, dtype=torch.float64)
        opt.step()
        out.append(float(w.detach()))
    assert out[1] == out[2]
    assert abs(out[0]) < 0.5 * abs(out[2])


def test_diffgrad_v1_alias_trap() -> None:
    """The v1 bug: previous_grad aliases p.grad. With in-place zero_grad the friction is 1/2 from step 2 on, so v1
    equals Adam (eps outside the sqrt, as diffGrad) at lr/2 after step 1; with set_to_none=True v1 equals v2."""
    v2 = run(lambda p: DiffGrad(p, lr=1e-3), set_to_none=False)
    v1_none = run(lambda p: DiffGradV1(p, lr=1e-3), set_to_none=True)
    v1_inplace = run(lambda p: DiffGradV1(p, lr=1e-3), set_to_none=False)
    assert maxdiff(v2, v1_none) < TOL
    assert maxdiff(v2, v1_inplace) > 1e-5


# ----------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("cfg", [dict(), dict(momentum=0.5, weight_decay=0.0), dict(lr=3e-3, weight_decay=0.1),
                                 dict(eps=1e-3)], ids=str)
@pytest.mark.parametrize("set_to_none", [True, False])
@pytest.mark.parametrize("steps", [1, STEPS])
def test_sgd_sai_vs_sgd_sai(cfg: dict, set_to_none: bool, steps: int) -> None:
    ref = pytest.importorskip("sgd_sai")
    kw = {"lr": 1e-3, **cfg}
    with contextlib.redirect_stdout(io.StringIO()):
        a = run(lambda p: ref.SGD_sai(p, **kw), steps, set_to_none)
    for foreach in (True, False):
        b = run(lambda p, f=foreach: SGDSaI(p, foreach=f, **kw), steps, set_to_none)
        assert maxdiff(a, b) < TOL


def test_sgd_sai_reference_traps() -> None:
    """sgd-sai 1.0.3: momentum 0 crashes; a tensor without a gradient at step 1 raises KeyError later; a one-element
    tensor gets gsnr = |g|/eps; the closure runs twice at step 1. Ours: none of these."""
    ref = pytest.importorskip("sgd_sai")
    quiet = contextlib.redirect_stdout(io.StringIO())
    with quiet:
        w = torch.nn.Parameter(torch.ones(4, dtype=torch.float64))
        w.grad = torch.arange(4.0, dtype=torch.float64)
        with pytest.raises((UnboundLocalError, NameError)):
            ref.SGD_sai([w], momentum=0.0).step()
        a, b = (torch.nn.Parameter(torch.ones(4, dtype=torch.float64)) for _ in range(2))
        opt = ref.SGD_sai([a, b])
        a.grad = torch.arange(4.0, dtype=torch.float64)
        opt.step()
        b.grad = torch.arange(4.0, dtype=torch.float64)
        with pytest.raises(KeyError):
            opt.step()
        s = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
        s.grad = torch.full((1,), 1e-3, dtype=torch.float64)
        ref.SGD_sai([s], lr=1e-2, weight_decay=0.0).step()
        assert float(s.detach()) == pytest.approx(-1.0, rel=1e-6)  # lr * (|g| / eps) * g = 1e-2 * 1e5 * 1e-3
        calls = []
        x = torch.nn.Parameter(torch.ones(3, dtype=torch.float64))

        def closure() -> torch.Tensor:
            calls.append(1)
            loss = (x * torch.arange(3.0, dtype=torch.float64)).sum()
            loss.backward()
            return loss
        ref.SGD_sai([x]).step(closure)
        assert len(calls) == 2
    # ours
    w = torch.nn.Parameter(torch.ones(4, dtype=torch.float64))
    w.grad = torch.arange(4.0, dtype=torch.float64)
    SGDSaI([w], momentum=0.0).step()
    a, b = (torch.nn.Parameter(torch.ones(4, dtype=torch.float64)) for _ in range(2))
    opt2 = SGDSaI([a, b])
    a.grad = torch.arange(4.0, dtype=torch.float64)
    opt2.step()
    b.grad = torch.arange(4.0, dtype=torch.float64)
    opt2.step()
    assert opt2.state[b]["gsnr"] == pytest.approx(opt2.state[a]["gsnr"], rel=1e-15)
    s = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    s.grad = torch.full((1,), 1e-3, dtype=torch.float64)
    SGDSaI([s], lr=1e-2, weight_decay=0.0).step()
    assert float(s.detach()) == pytest.approx(-1e-5, rel=1e-12)  # gsnr = 1: one SGD step
    calls.clear()
    x.grad = None
    SGDSaI([x]).step(closure)
    assert len(calls) == 1


def test_sgd_sai_reference_trap_resume_recomputes_gsnr() -> None:
    """After load_state_dict the reference recomputes gsnr from the next gradient (has_warmup is not saved); ours
    resumes with the saved gsnr, so a resumed run equals the uninterrupted one."""
    ref = pytest.importorskip("sgd_sai")
    quiet = contextlib.redirect_stdout(io.StringIO())

    def go(cls, resume: bool) -> float:
        w = torch.nn.Parameter(torch.ones(5, dtype=torch.float64))
        with quiet:
            opt = cls([w], lr=1e-2)
            for t in range(4):
                if resume and t == 2:
                    sd = opt.state_dict()
                    opt = cls([w], lr=1e-2)
                    opt.load_state_dict(sd)
                w.grad = torch.arange(5.0, dtype=torch.float64) * (1 + t) ** 2 + t
                opt.step()
        return float(w.sum())
    assert go(ref.SGD_sai, True) != go(ref.SGD_sai, False)
    assert go(SGDSaI, True) == go(SGDSaI, False)


def test_sgd_sai_pytorch_optimizer_differs() -> None:
    """pytorch-optimizer 4.1.0's SGDSaI starts the momentum at zero (m_1 = (1 - mu) g_1) and uses gsnr = ||g|| for
    1-D tensors: not the sgd-sai rule. With mu = 0 and 2-D tensors only the rules coincide."""
    po = pytest.importorskip("pytorch_optimizer")

    def go(make) -> list[torch.Tensor]:
        torch.manual_seed(0)
        net = torch.nn.Sequential(torch.nn.Linear(5, 7, bias=False), torch.nn.Tanh(),
                                  torch.nn.Linear(7, 2, bias=False)).double()
        opt = make(list(net.parameters()))
        for x, y in _batches(50):
            x = x[:, :5]
            opt.zero_grad()
            torch.nn.functional.cross_entropy(net(x), y % 2).backward()
            opt.step()
        return [p.detach().clone() for p in net.parameters()]
    assert maxdiff(go(lambda p: po.SGDSaI(p, lr=1e-3, momentum=0.0)), go(lambda p: SGDSaI(p, lr=1e-3,
                                                                                          momentum=0.0))) < TOL
    assert maxdiff(go(lambda p: po.SGDSaI(p, lr=1e-3)), go(lambda p: SGDSaI(p, lr=1e-3))) > 1e-6


@pytest.mark.parametrize("wd", [0.0, 1e-2])
def test_adabelief_paper_preset_vs_torch_optimizer(wd: float) -> None:
    """torch-optimizer 0.3.0's AdaBelief has the 0.0.5 defaults (eps 1e-8, L2 decay, no rectification): the paper
    preset."""
    to = pytest.importorskip("torch_optimizer")
    a = run(lambda p: to.AdaBelief(p, lr=1e-3, weight_decay=wd))
    b = run(lambda p: AdaBelief.paper(p, lr=1e-3, weight_decay=wd))
    assert maxdiff(a, b) < TOL
