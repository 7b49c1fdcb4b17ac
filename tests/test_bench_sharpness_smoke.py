"""The sharpness benchmark runs end to end at a tiny size and its pieces compute what they claim (no timing asserted)."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_sharpness as B  # noqa: E402

from sims.optim.clip import clip_threshold  # noqa: E402


def test_tensor_sizes_sum_and_count() -> None:
    s = B.tensor_sizes(10_000_000, 200)
    assert len(s) == 200 and sum(s) == 10_000_000 and min(s) >= 1
    with pytest.raises(ValueError):
        B.tensor_sizes(100, 200)


def test_authors_style_clip_clips_the_top_fraction() -> None:
    g = torch.Generator().manual_seed(0)
    grads = [torch.randn(300, generator=g), torch.randn(7, 11, generator=g)]
    n = 300 + 77
    for c in (0.1, 0.5):
        out = B.authors_style_clip(grads, c)
        tau = float(clip_threshold(grads, c, method="sort"))  # type: ignore[arg-type]
        changed = sum(int((a != b).sum()) for a, b in zip(grads, out))
        assert changed == math.floor(c * n)  # continuous values: no ties
        assert max(float(o.abs().max()) for o in out) == pytest.approx(tau)


@pytest.mark.parametrize("c", [0.001, 0.1, 0.5, 0.9])
def test_bracket_threshold_is_exact(c: float) -> None:
    g = torch.Generator().manual_seed(0)
    cont = [torch.randn(5000, generator=g), torch.randn(30, 40, generator=g)]
    ties = [torch.randint(-5, 6, (4000,), generator=g).float(), torch.randint(-3, 4, (900,), generator=g).float()]
    for grads in (cont, ties):
        for seed in range(5):
            got = B.bracket_threshold(grads, c, torch.Generator().manual_seed(seed), sample=256)
            assert got is not None
            assert float(got) == float(clip_threshold(grads, c, method="sort"))  # type: ignore[arg-type]
            assert float(B.kthvalue_maxcheck_threshold(grads, c)) == float(got)  # type: ignore[arg-type]
    assert B.bracket_threshold(cont, 1e-6, torch.Generator()) is None
    bad = [cont[0].clone(), cont[1]]
    for v in (float("nan"), float("inf")):
        bad[0][3] = v
        with pytest.raises(ValueError, match="finite"):
            B.bracket_threshold(bad, c, torch.Generator())
        with pytest.raises(ValueError, match="finite"):
            B.kthvalue_maxcheck_threshold(bad, c)


def test_quantile_refuses_above_2_24() -> None:
    with pytest.raises(RuntimeError):
        torch.quantile(torch.zeros(B.QUANTILE_LIMIT + 1), 0.9)


def test_smoke_run_prints_every_part() -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    r = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_sharpness.py"), "--smoke"], env=env,
                       capture_output=True, text=True, timeout=120, cwd=ROOT)  # fmt: skip
    assert r.returncode == 0, r.stderr
    for tag in ("[1] clipping", "kth-max agree with sorted[int(c n)]: True", "[2] directional sharpness",
                "HVP (gradient + double backward)", "[3] training throughput", "tokens/s"):
        assert tag in r.stdout, r.stdout
    assert "agree with sorted[int(c n)]: False" not in r.stdout
