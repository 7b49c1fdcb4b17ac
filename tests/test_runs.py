"""sims.runs: dtype/device parsing, divergence masks, freezing, masked mean and standard error."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from sims.runs import Divergence, bad_rows, check_max_norm, freeze, masked_mean_se, parse_device, parse_dtype


def test_parse_dtype() -> None:
    assert parse_dtype("float64") is torch.float64 and parse_dtype("float32") is torch.float32
    assert parse_dtype(torch.float64) is torch.float64
    assert parse_dtype("bfloat16", allowed=("bfloat16",)) is torch.bfloat16
    for bad in ("float16", "double", "", "int64"):
        with pytest.raises(ValueError, match="dtype must be one of"):
            parse_dtype(bad)
    with pytest.raises(ValueError, match="dtype"):
        parse_dtype(torch.int64)
    with pytest.raises(ValueError, match="dtype"):
        parse_dtype(torch.float16)


def test_parse_device() -> None:
    assert parse_device("cpu") == torch.device("cpu")
    with pytest.raises(ValueError, match="device"):
        parse_device("gpu0")
    with pytest.raises(ValueError, match="device"):
        parse_device(3.5)  # type: ignore[arg-type]
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            parse_device("cuda")


@pytest.mark.parametrize("bad", [0, 0.0, -1.0, math.nan, True, "1e6", None])
def test_check_max_norm_rejects(bad: object) -> None:
    with pytest.raises(ValueError, match="max_norm"):
        check_max_norm(bad)  # type: ignore[arg-type]


def test_check_max_norm_accepts() -> None:
    assert check_max_norm(math.inf) == math.inf and check_max_norm(3) == 3.0


def test_bad_rows() -> None:
    x = torch.tensor([[1.0, 2.0], [math.nan, 0.0], [3.0, 4.0], [math.inf, 0.0], [-math.inf, 1.0]])
    assert bad_rows(x).tolist() == [False, True, False, True, True]
    # norm threshold: ||(3, 4)|| = 5 > 4.9 but not > 5
    assert bad_rows(x, 4.9).tolist() == [False, True, True, True, True]
    assert bad_rows(x, 5.0).tolist() == [False, True, False, True, True]
    assert bad_rows(torch.ones(2, 3, 4), 3.4).tolist() == [True, True]  # ||ones(12)|| = 3.46: rows flattened


def test_divergence_marks_once_and_freezes() -> None:
    div = Divergence.start(3)
    assert div.fraction == 0.0 and div.alive.all()
    x = torch.tensor([[1.0], [math.nan], [10.0]])
    y = div.check(x, step=4, max_norm=5.0)
    assert div.diverged.tolist() == [False, True, True] and div.diverged_at.tolist() == [-1, 4, 4]
    assert y.tolist() == [[1.0], [0.0], [0.0]]
    assert div.fraction == pytest.approx(2 / 3)
    div.check(torch.tensor([[math.inf], [math.nan], [1.0]]), step=9)
    assert div.diverged_at.tolist() == [9, 4, 4]  # the first divergence step is kept
    assert torch.isnan(div.nan_out(torch.ones(3, 2))).all()
    with pytest.raises(ValueError, match="runs"):
        Divergence.start(0)


def test_divergence_extra_bad() -> None:
    div = Divergence.start(2)
    div.check(torch.ones(2, 1), step=1, extra_bad=torch.tensor([False, True]))
    assert div.diverged.tolist() == [False, True]


def test_freeze_broadcasts_over_trailing_dims() -> None:
    x = torch.arange(12.0).reshape(2, 3, 2)
    y = freeze(x, torch.tensor([True, False]), -1.0)
    assert (y[0] == -1).all() and torch.equal(y[1], x[1])


def test_masked_mean_se() -> None:
    v = np.array([[1.0, 10.0], [3.0, 20.0], [math.nan, math.nan], [5.0, 30.0]])
    st = masked_mean_se(v, diverged=[False, False, True, False])
    np.testing.assert_allclose(st.mean, [3.0, 20.0])
    np.testing.assert_allclose(st.se, [2.0 / math.sqrt(3), 10.0 / math.sqrt(3)])
    assert st.n_alive == 3 and st.diverged_fraction == 0.25
    st_t = masked_mean_se(torch.tensor(v), torch.tensor([False, False, True, False]))
    np.testing.assert_allclose(st_t.mean, st.mean)
    # the runs on another axis
    st_ax = masked_mean_se(v.T, diverged=[False, False, True, False], axis=1)
    np.testing.assert_allclose(st_ax.mean, st.mean)


def test_masked_mean_se_edge_cases() -> None:
    none_alive = masked_mean_se([1.0, 2.0], diverged=[True, True])
    assert math.isnan(float(none_alive.mean)) and none_alive.n_alive == 0 and none_alive.diverged_fraction == 1.0
    one = masked_mean_se([4.0])
    assert float(one.mean) == 4.0 and math.isnan(float(one.se))
    with pytest.raises(ValueError, match="non-finite"):
        masked_mean_se([1.0, math.nan])
    with pytest.raises(ValueError, match="one entry per run"):
        masked_mean_se([1.0, 2.0], diverged=[False])
