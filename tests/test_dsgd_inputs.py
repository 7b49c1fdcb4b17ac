"""dsgd libraries (sims/distributed, theory/distributed) refuse bad input with a ValueError naming the argument:
NaN/inf, wrong types, impossible constants, wrong shapes, non-Laplacians, absurd sizes. Each case must raise (no
silent wrong answer, no hang: every call here returns within seconds)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from sims.distributed import graphs
from sims.distributed.dsgd import record_grid, run_distributed, run_dsgd
from sims.distributed.mixing import LaplacianGossip, MatrixGossip
from sims.distributed.noise import IsotropicNoise, NoNoise, SubspaceNoise
from sims.distributed.objectives import ReLUNets, TiltedQuartic, heterogeneous_tilts, synthetic_regression
from sims.distributed.schedules import PowerSchedule
from theory.distributed import consensus as TC
from theory.distributed import escape as TE
from theory.distributed import flow as TF
from theory.distributed import steps as TS

NAN, INF = float("nan"), float("inf")
RING = graphs.laplacian(graphs.ring(8))
RING_T = graphs.to_torch(RING)
C8 = heterogeneous_tilts(8, 2, 1.0, np.random.default_rng(0))
X0 = torch.zeros(2, 8, 2, dtype=torch.float64)
A, B = PowerSchedule(0.1, 0.75), PowerSchedule(0.1, 0.2, "beta")
OBJ = TiltedQuartic(torch.zeros(8, 2, dtype=torch.float64), 1 / 8)
GEN = torch.Generator().manual_seed(0)
NOT_LAPLACIAN = np.eye(8)  # symmetric, PSD, but rows do not sum to 0
SIGNED = RING.copy()
SIGNED[0, 1] = SIGNED[1, 0] = 1.0  # symmetric, but a positive off-diagonal entry (negative edge weight)
SIGNED[0, 0] = SIGNED[1, 1] = 0.0
W_BAD = np.full((8, 8), 0.2)


def _nan_lap() -> np.ndarray:
    m = RING.copy()
    m[0, 0] = NAN
    return m


CASES = {
    # sims/distributed/schedules.py
    "schedules": [
        (lambda: PowerSchedule(NAN, 0.5), "c_alpha"), (lambda: PowerSchedule(0.0, 0.5), "c_alpha"),
        (lambda: PowerSchedule(-1.0, 0.5), "c_alpha"), (lambda: PowerSchedule(1.0, 3.0), "tau_alpha"),
        (lambda: PowerSchedule(1.0, INF), "tau_alpha"), (lambda: PowerSchedule("1", 0.5), "c_alpha"),  # type: ignore
        (lambda: PowerSchedule(True, 0.5), "c_alpha"), (lambda: A(0), "k"),
    ],
    # sims/distributed/noise.py
    "noise": [
        (lambda: IsotropicNoise(NAN), "sigma"), (lambda: IsotropicNoise(-1.0), "sigma"),
        (lambda: IsotropicNoise(INF), "sigma"), (lambda: IsotropicNoise("0.1"), "sigma"),  # type: ignore
        (lambda: SubspaceNoise(0.1, ((1.0, 1.0),)), "orthonormal"), (lambda: SubspaceNoise(0.1, ((NAN, 1.0),)), "finite"),
        (lambda: SubspaceNoise(0.1, ((1.0, 0.0), (0.0, 1.0), (1.0, 0.0))), "basis"),
        (lambda: SubspaceNoise(0.1, (("a", "b"),)), "basis"),  # type: ignore
    ],
    # sims/distributed/objectives.py
    "objectives": [
        (lambda: TiltedQuartic(torch.zeros(8, 1), 0.1), "tilts"), (lambda: TiltedQuartic(torch.zeros(8, 2), 0.0), "weight"),
        (lambda: TiltedQuartic(torch.zeros(8, 2), NAN), "weight"),
        (lambda: TiltedQuartic(torch.zeros(8, 2), 0.1, kink=-1.0), "kink"),
        (lambda: TiltedQuartic(torch.zeros(8, 2), 0.1, curvature=0.0), "curvature"),
        (lambda: TiltedQuartic(torch.full((8, 2), NAN), 0.1), "tilts"),
        (lambda: TiltedQuartic(torch.zeros(8, 2), 0.1, kink1_at=0.0), "kink1_at"),
        (lambda: heterogeneous_tilts(1, 2, 1.0, np.random.default_rng(0)), "n_agents"),
        (lambda: heterogeneous_tilts(4, 2, NAN, np.random.default_rng(0)), "scale"),
        (lambda: heterogeneous_tilts(4, 2, 1.0, np.random.default_rng(0), directions=[2]), "directions"),
        (lambda: synthetic_regression(0, 4, 2, 3, shift=1.0, generator=GEN), "n_agents"),
        (lambda: synthetic_regression(2, 4, 2, 3, shift=INF, generator=GEN), "shift"),
        (lambda: synthetic_regression(2, 4, 2, 2.5, shift=1.0, generator=GEN), "hidden"),  # type: ignore
        (lambda: ReLUNets(torch.zeros(2, 3, 2), torch.zeros(2, 3), 0), "hidden"),
        (lambda: ReLUNets(torch.full((2, 3, 2), NAN), torch.zeros(2, 3), 2), "finite"),
        (lambda: ReLUNets(torch.zeros(2, 3, 2), torch.zeros(2, 3), 2)(torch.zeros(1, 2, 5)), "shape"),
    ],
    # sims/distributed/graphs.py
    "graphs": [
        (lambda: graphs.ring(2), "n"), (lambda: graphs.ring(2.5), "n"),  # type: ignore
        (lambda: graphs.erdos_renyi(5, NAN, np.random.default_rng(0)), "p"),
        (lambda: graphs.erdos_renyi(5, 0.5, None), "rng"),  # type: ignore
        (lambda: graphs.make_graph("ring", 10**9), "n"), (lambda: graphs.make_graph("hypercube", 8), "kind"),
        (lambda: graphs.laplacian(np.array([[0, NAN], [NAN, 0]])), "finite"),
        (lambda: graphs.laplacian(np.array([[0, -1.0], [-1.0, 0]])), "nonnegative"),
        (lambda: graphs.check_laplacian(NOT_LAPLACIAN), "row sums"), (lambda: graphs.check_laplacian(SIGNED), "off-diagonal"),
        (lambda: graphs.check_laplacian(_nan_lap()), "finite"), (lambda: graphs.laplacian_spectrum(np.zeros((2, 3))), "square"),
        (lambda: graphs.check_consensus_step(NAN, RING), "c_beta"), (lambda: graphs.check_consensus_step(0.6, RING), "unstable"),
        (lambda: graphs.gossip_matrix(RING, NAN), "beta"), (lambda: graphs.to_torch(_nan_lap()), "finite"),
        (lambda: graphs.disconnected((4, 2)), "sizes"),
    ],
    # sims/distributed/mixing.py
    "mixing": [
        (lambda: LaplacianGossip(NOT_LAPLACIAN, B), "row sums"), (lambda: LaplacianGossip(SIGNED, B), "off-diagonal"),
        (lambda: LaplacianGossip(RING, PowerSchedule(0.6, 0.2, "beta")), "unstable"),
        (lambda: LaplacianGossip(graphs.laplacian(graphs.disconnected((4, 4))), B), "connected"),
        (lambda: LaplacianGossip(RING, 0.1), "PowerSchedule"),  # type: ignore
        (lambda: MatrixGossip(W_BAD), "doubly stochastic"), (lambda: MatrixGossip(np.full((2, 2), NAN)), "finite"),
        (lambda: MatrixGossip(np.array([[1.5, -0.5], [-0.5, 1.5]])), "nonnegative"),
        (lambda: MatrixGossip(np.ones((2, 3)) / 3), "square"),
    ],
    # sims/distributed/dsgd.py
    "dsgd": [
        (lambda: run_dsgd(OBJ, torch.as_tensor(NOT_LAPLACIAN), X0, A, B, 5, NoNoise(), generator=GEN), "row sums"),
        (lambda: run_dsgd(OBJ, torch.as_tensor(SIGNED), X0, A, B, 5, NoNoise(), generator=GEN), "off-diagonal"),
        (lambda: run_dsgd(OBJ, RING_T, X0[0], A, B, 5, NoNoise(), generator=GEN), "x0"),
        (lambda: run_dsgd(OBJ, RING_T, X0.to(torch.int64), A, B, 5, NoNoise(), generator=GEN), "x0"),
        (lambda: run_dsgd(OBJ, RING_T, X0 * NAN, A, B, 5, NoNoise(), generator=GEN), "x0"),
        (lambda: run_dsgd(OBJ, RING_T, X0, A, B, -1, NoNoise(), generator=GEN), "steps"),
        (lambda: run_dsgd(OBJ, RING_T, X0, A, B, 5.0, NoNoise(), generator=GEN), "steps"),  # type: ignore
        (lambda: run_dsgd(OBJ, RING_T, X0, A, B, 5, NoNoise(), generator=GEN, max_norm=-1.0), "max_norm"),
        (lambda: run_dsgd(OBJ, RING_T, X0, A, B, 5, NoNoise(), generator=GEN, max_norm=NAN), "max_norm"),
        (lambda: run_dsgd(OBJ, RING_T, X0, A, B, 5, NoNoise(), generator=GEN, check_every=0), "check_every"),
        (lambda: run_dsgd(OBJ, RING_T, X0, A, B, 5, NoNoise(), generator=GEN, record=[0, 6]), "record"),
        (lambda: run_dsgd(OBJ, RING_T, X0, A, B, 5, NoNoise(), generator=GEN, record=[-1]), "record"),
        (lambda: run_dsgd(lambda x: x[..., :1], RING_T, X0, A, B, 5, NoNoise(), generator=GEN), "grad_fn"),
        (lambda: run_dsgd(OBJ, RING_T, X0, A, B, 5, NoNoise(), generator=None), "generator"),  # type: ignore
        (lambda: run_dsgd(OBJ, RING_T, X0, A, B, 5, 0.1, generator=GEN), "noise"),  # type: ignore
        (lambda: run_dsgd(OBJ, RING_T, X0, A, B, 5, NoNoise(), generator=GEN, order="backwards"), "order"),
        (lambda: run_dsgd(OBJ, RING_T, X0, A, B, 5, NoNoise(), generator=GEN, hit=lambda x: x.sum()), "hit"),
        (lambda: run_dsgd(OBJ, RING_T, torch.zeros(1000, 8, 40, dtype=torch.float64), A, B, 1000, NoNoise(),
                          generator=GEN, record=range(1001), record_states=True), "trace"),
        (lambda: run_dsgd(OBJ, RING_T, X0, A, B, 5, NoNoise(), generator=GEN, record=["a"]), "record"),
        (lambda: run_distributed(OBJ, LaplacianGossip(graphs.laplacian(graphs.ring(5)), B), X0, A, 5, NoNoise(),
                                 generator=GEN), "agents"),
        (lambda: record_grid(10, 1), "points"), (lambda: record_grid(-1, 5), "steps"),
    ],
    # theory/distributed/steps.py
    "steps": [
        (lambda: TS.steps_for_ode_time(0.5, 0.75, INF), "t"), (lambda: TS.steps_for_ode_time(0.5, 0.75, NAN), "t"),
        (lambda: TS.steps_for_ode_time(0.5, 0.75, 1e9), "max_steps"),
        (lambda: TS.steps_for_ode_time(0.5, 1.0, 100.0), "max_steps"),
        (lambda: TS.steps_for_ode_time(1.0, 1.5, 3.0), "t must be <"),
        (lambda: TS.steps_for_ode_time(0.5, 0.75, "3"), "t"),  # type: ignore
        (lambda: TS.ode_time(0.5, 0.75, 10**9), "max_steps"), (lambda: TS.ode_time(0.5, 0.75, -1), "steps"),
        (lambda: TS.power_schedule(0.5, 0.75, [NAN]), "k"), (lambda: TS.power_schedule(NAN, 0.75, [1]), "c_alpha"),
        (lambda: TS.step_size_regime(NAN, 0.1), "tau_alpha"), (lambda: TS.step_size_regime(0.75, -0.1), "tau_beta"),
        (lambda: TS.step_size_regime(0.75, 0.1, NAN), "c_beta_lambda_max"),
    ],
    # theory/distributed/consensus.py
    "consensus": [
        (lambda: TC.pinv_tilt_norm(NOT_LAPLACIAN, C8), "row sums"), (lambda: TC.pinv_tilt_norm(SIGNED, C8), "off-diagonal"),
        (lambda: TC.pinv_tilt_norm(_nan_lap(), C8), "finite"), (lambda: TC.pinv_tilt_norm(RING, C8[:3]), "shape"),
        (lambda: TC.pinv_tilt_norm(RING, C8 * NAN), "finite"),
        (lambda: TC.consensus_error_prediction([0.1], [0.0], RING, C8), "beta"),
        (lambda: TC.consensus_error_prediction([NAN], [0.1], RING, C8), "alpha"),
        (lambda: TC.disagreement_moments(RING, C8, np.eye(2), [0.1], [0.1], NAN), "sigma"),
        (lambda: TC.disagreement_moments(RING, C8, np.eye(3), [0.1], [0.1], 0.1), "hess"),
        (lambda: TC.disagreement_moments(RING, C8, np.eye(2), [0.1, 0.2], [0.1], 0.1), "alphas"),
        (lambda: TC.disagreement_moments(RING, C8, np.eye(2), [-0.1], [0.1], 0.1), "alphas"),
        (lambda: TC.disagreement_moments(RING, C8, np.eye(2), [0.1], [0.1], 0.1, y0=np.zeros((3, 2))), "y0"),
        (lambda: TC.disagreement(np.ones(3)), "agents"),
        (lambda: TC.consensus_bias_gradient(RING, C8, np.zeros((8, 3, 3)), 0.1, 0.1), "hessians"),
        (lambda: TC.consensus_bias_gradient(RING, C8, np.zeros((8, 2, 2)), 0.1, 0.0), "beta"),
        (lambda: TC.noise_floor_sq([0.1], -1.0, 8, [1.0]), "sigma"), (lambda: TC.noise_floor_sq([], 0.1, 8, [1.0]), "alphas"),
        (lambda: TC.noise_floor_sq([0.1], 0.1, 0, [1.0]), "n_agents"),
        (lambda: TC.noise_floor_sq([0.1], 0.1, 8, [NAN]), "hess_eigvals"),
    ],
    # theory/distributed/flow.py
    "flow": [
        (lambda: TF.average_flow(lambda y: y, np.zeros(2), np.array([0.0, NAN, 2.0]), 8), "t_eval"),
        (lambda: TF.average_flow(lambda y: y, np.zeros(2), np.array([0.0, INF]), 8), "t_eval"),
        (lambda: TF.average_flow(lambda y: y, np.zeros(2), np.array([1.0, 0.0]), 8), "t_eval"),
        (lambda: TF.average_flow(lambda y: y, np.zeros(2), [0.0, 1.0], 8, rtol=NAN), "rtol"),
        (lambda: TF.average_flow(lambda y: y, np.zeros(2), [0.0, 1.0], 8, rtol=0.0), "rtol"),
        (lambda: TF.average_flow(lambda y: y, np.zeros(2), [0.0, 1.0], 8, atol=-1.0), "atol"),
        (lambda: TF.average_flow(lambda y: y, np.zeros(2), [0.0, 1.0], 0), "n_agents"),
        (lambda: TF.average_flow(lambda y: y, np.array([NAN, 0.0]), [0.0, 1.0], 8), "x0"),
        (lambda: TF.average_flow(lambda y: y[:1], np.zeros(2), [0.0, 1.0], 8), "grad_F"),
        (lambda: TF.quartic_saddle_grad(np.array([NAN, 0.0])), "x"), (lambda: TF.quartic_saddle_grad(np.zeros(1)), "x"),
        (lambda: TF.quartic_saddle_grad(np.zeros(2), curvature=-1.0), "curvature"),
        (lambda: TF.network_grad(np.zeros(2), 0.0, C8), "weight"), (lambda: TF.network_grad(np.zeros(3), 0.1, C8), "dimension"),
        (lambda: TF.tilted_quartic_critical_points(NAN, np.zeros(2)), "weight_total"),
        (lambda: TF.tilted_quartic_critical_points(1.0, np.array([NAN, 0.0])), "tilt"),
        (lambda: TF.penalized_rest_point(NOT_LAPLACIAN, 0.1, C8, 1.0, np.zeros(2)), "row sums"),
        (lambda: TF.penalized_rest_point(RING, 0.1, C8, NAN, np.zeros(2)), "ratio"),
        (lambda: TF.penalized_rest_point(RING, 0.1, C8, 1.0, np.zeros(2), t_max=INF), "t_max"),
        (lambda: TF.penalized_rest_point(RING, 0.1, C8, 1.0, np.zeros(3)), "x0"),
    ],
    # theory/distributed/escape.py
    "escape": [
        (lambda: TE.escape_time_law(1.0, 0.6, 1.0, 8, 0.0, 0.5), "sigma"), (lambda: TE.escape_time_law(1.0, 0.6, 1.0, 8, 0.1, 1.0), "level"),
        (lambda: TE.escape_time_law(1.0, 0.4, 1.0, 8, 0.1, 0.5), "tau_alpha"), (lambda: TE.escape_time_law(1.0, 0.6, NAN, 8, 0.1, 0.5), "curvature"),
        (lambda: TE.escape_time_law(1.0, 0.6, 1.0, 8, 0.1, 0.5, tail=0.5), "tail"),
        (lambda: TE.escape_time_law(1.0, 0.6, 1.0, 8, 1e-12, 0.5, max_steps=1000), "max_steps"),
        (lambda: TE.effective_level(0.5, 1.0, 0.3, 0.25), "stops the flow"),
        (lambda: TE.escape_time_law(1.0, 0.6, 1.0, 8, 0.1, 0.5).quantile(1.0), "q"),
    ],
}

PARAMS = [pytest.param(fn, match, id=f"{mod}-{i}") for mod, cases in CASES.items() for i, (fn, match) in enumerate(cases)]


@pytest.mark.parametrize("fn,match", PARAMS)
def test_bad_input_raises_a_clear_value_error(fn, match):
    with pytest.raises(ValueError, match=match):
        fn()


def test_count_of_bad_inputs_per_module():
    counts = {m: len(c) for m, c in CASES.items()}
    assert sum(counts.values()) >= 140, counts
    assert math.isfinite(sum(counts.values()))
