"""Bad inputs to every public function of theory.linreg and sims.linreg: each must raise a ValueError that names the
argument (never a silent wrong number, a raw numpy/torch error, or a hang). The tables double as the count reported
in the notes (bad inputs tried per module)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

from sims.linreg import simulate_linreg
from theory.linreg import averaging as Av
from theory.linreg import bounds as Bd
from theory.linreg import parameters as Pa
from theory.linreg import problem as Pr
from theory.linreg import recursions as Rc
from theory.linreg import second_moments as SM
from theory.linreg import two_by_two as T2

LAM = Pr.power_law_spectrum(6, 2.0)
P = Pa.paper_params(LAM)
INIT = Pr.band_init(6, 1, 2)
OP = SM.sgd_second_moment_operator(0.1, LAM)
NAN, INF = math.nan, math.inf

Case = tuple[str, Callable[[], Any], str]

PROBLEM: list[Case] = [
    ("d=0", lambda: Pr.power_law_spectrum(0), "d"),
    ("d=2.5", lambda: Pr.power_law_spectrum(2.5), "d"),
    ("d='10'", lambda: Pr.power_law_spectrum("10"), "d"),  # type: ignore[arg-type]
    ("d=True", lambda: Pr.power_law_spectrum(True), "d"),
    ("d=1e9 (absurd)", lambda: Pr.power_law_spectrum(10**9), "d"),
    ("a=0", lambda: Pr.power_law_spectrum(5, 0.0), "a"),
    ("a=nan", lambda: Pr.power_law_spectrum(5, NAN), "a"),
    ("a=inf", lambda: Pr.power_law_spectrum(5, INF), "a"),
    ("a='2'", lambda: Pr.power_law_spectrum(5, "2"), "a"),  # type: ignore[arg-type]
    ("band lo=0", lambda: Pr.band_init(5, 0, 2), "lo"),
    ("band hi>d", lambda: Pr.band_init(5, 1, 6), "band"),
    ("band lo>hi", lambda: Pr.band_init(5, 3, 2), "band"),
    ("band lo=1.5", lambda: Pr.band_init(5, 1.5, 2), "lo"),  # type: ignore[arg-type]
    ("norm2=-1", lambda: Pr.band_init(5, 1, 2, -1.0), "norm2"),
    ("norm2=nan", lambda: Pr.band_init(5, 1, 2, NAN), "norm2"),
    ("sq negative", lambda: Pr.InitialError.from_second_moments([1.0, -1.0]), "sq"),
    ("sq nan", lambda: Pr.InitialError.from_second_moments([1.0, NAN]), "sq"),
    ("sq 2-D", lambda: Pr.InitialError.from_second_moments([[1.0]]), "sq"),
    ("sq empty", lambda: Pr.InitialError.from_second_moments([]), "sq"),
    ("sq strings", lambda: Pr.InitialError.from_second_moments(["a"]), "sq"),
    ("w0/w_star shapes", lambda: Pr.InitialError.from_iterates(np.ones(3), np.ones(4)), "w0"),
    ("w_star inf", lambda: Pr.InitialError.from_iterates(np.ones(3), [0, INF, 0]), "w_star"),
    ("err 2-D", lambda: Pr.InitialError.from_error(np.ones((2, 2))), "err"),
    ("zero d=0", lambda: Pr.InitialError.zero(0), "d"),
]

PARAMETERS: list[Case] = [
    ("alpha=0", lambda: Pa.AsgdParams(0.0, 0.1, 0.1, 0.1), "alpha"),
    ("alpha=1.5", lambda: Pa.AsgdParams(1.5, 0.1, 0.1, 0.1), "alpha"),
    ("alpha=nan", lambda: Pa.AsgdParams(NAN, 0.1, 0.1, 0.1), "alpha"),
    ("alpha='0.5'", lambda: Pa.AsgdParams("0.5", 0.1, 0.1, 0.1), "alpha"),  # type: ignore[arg-type]
    ("beta=-0.1", lambda: Pa.AsgdParams(0.5, -0.1, 0.1, 0.1), "beta"),
    ("beta=1.1", lambda: Pa.AsgdParams(0.5, 1.1, 0.1, 0.1), "beta"),
    ("gamma=-1", lambda: Pa.AsgdParams(0.5, 0.1, -1.0, 0.1), "gamma"),
    ("gamma=inf", lambda: Pa.AsgdParams(0.5, 0.1, INF, 0.1), "gamma"),
    ("delta=0", lambda: Pa.AsgdParams(0.5, 0.1, 0.1, 0.0), "delta"),
    ("delta=True", lambda: Pa.AsgdParams(0.5, 0.1, 0.1, True), "delta"),
    ("lr=0", lambda: Pa.accsgd_to_asgd(0.0, 200.0, 5.0), "lr"),
    ("kappa=-1", lambda: Pa.accsgd_to_asgd(0.1, -1.0, 5.0), "kappa"),
    ("xi=nan", lambda: Pa.accsgd_to_asgd(0.1, 200.0, NAN), "xi"),
    ("c=0", lambda: Pa.accsgd_to_asgd(0.1, 200.0, 5.0, 0.0), "c"),
    ("kappa < c^2 xi", lambda: Pa.accsgd_to_asgd(0.1, 1.0, 5.0), "kappa"),
    ("sgd eta=-0.1", lambda: Pa.sgd_as_asgd(-0.1), "eta"),
    ("sgd eta='0.1'", lambda: Pa.sgd_as_asgd("0.1"), "eta"),  # type: ignore[arg-type]
    ("scaled(0)", lambda: P.scaled(0.0), "factor"),
    ("scaled(nan)", lambda: P.scaled(NAN), "factor"),
    ("paper_params unsorted", lambda: Pa.paper_params([0.1, 1.0]), "lam"),
]

TWO_BY_TWO: list[Case] = [
    ("params='x'", lambda: T2.transition_matrix("x", LAM), "params"),  # type: ignore[arg-type]
    ("lam nan", lambda: T2.transition_matrix(P, [0.1, NAN]), "lam"),
    ("lam negative", lambda: T2.spectral_radius_A(P, [-0.1]), "lam"),
    ("lam strings", lambda: T2.det_A(P, ["x"]), "lam"),
    ("s_eff(None)", lambda: T2.s_eff(None), "params"),  # type: ignore[arg-type]
    ("crossover_lambda(1.0)", lambda: T2.crossover_lambda(1.0), "params"),  # type: ignore[arg-type]
    ("a=0", lambda: T2.variance_ratio_prediction(P, 0.0), "a"),
    ("a=nan", lambda: T2.variance_ratio_prediction(P, NAN), "a"),
    ("momentum time at alpha(1-beta)=1", lambda: T2.momentum_time(Pa.AsgdParams(1.0, 0.0, 0.1, 0.1)), "params"),
]

SECOND_MOMENTS: list[Case] = [
    ("lam unsorted", lambda: SM.second_moment_operator(P, [0.1, 1.0]), "lam"),
    ("lam negative", lambda: SM.second_moment_operator(P, [1.0, -1.0]), "lam"),
    ("lam nan", lambda: SM.sgd_second_moment_operator(0.1, [1.0, NAN]), "lam"),
    ("lam with a zero eigenvalue", lambda: SM.sgd_second_moment_operator(0.1, [1.0, 0.0]), "lam"),
    ("kurtosis=0.5", lambda: SM.second_moment_operator(P, LAM, 0.5), "kurtosis"),
    ("kurtosis=nan", lambda: SM.second_moment_operator(P, LAM, NAN), "kurtosis"),
    ("kurtosis='3'", lambda: SM.second_moment_operator(P, LAM, "3"), "kurtosis"),  # type: ignore[arg-type]
    ("eta=0", lambda: SM.sgd_second_moment_operator(0.0, LAM), "eta"),
    ("eta=inf", lambda: SM.sgd_second_moment_operator(INF, LAM), "eta"),
    ("rtol=nan (was: silent wrong radius)", lambda: SM.full_map_spectral_radius(OP, rtol=NAN), "rtol"),
    ("rtol=0 (was: hang)", lambda: SM.full_map_spectral_radius(OP, rtol=0.0), "rtol"),
    ("rtol=-1", lambda: SM.full_map_spectral_radius(OP, rtol=-1.0), "rtol"),
    ("rtol=1e-20", lambda: SM.full_map_spectral_radius(OP, rtol=1e-20), "rtol"),
    ("op='x'", lambda: SM.full_map_spectral_radius("x"), "op"),  # type: ignore[arg-type]
    ("max_stable_scale rtol=0", lambda: SM.max_stable_scale(P, LAM, rtol=0.0), "rtol"),
    ("max_stable_scale params", lambda: SM.max_stable_scale(0.1, LAM), "params"),  # type: ignore[arg-type]
    ("sgd_max_stable_step iterations=0", lambda: SM.sgd_max_stable_step(LAM, iterations=0), "iterations"),
    ("sgd_max_stable_step upper=-1", lambda: SM.sgd_max_stable_step(LAM, upper=-1.0), "upper"),
    ("asgd_stability lam nan", lambda: SM.asgd_stability(P, [NAN]), "lam"),
    ("sgd_stability eta nan", lambda: SM.sgd_stability(NAN, LAM), "eta"),
]

RECURSIONS: list[Case] = [
    ("init = w0 as a bare array (the confusion)", lambda: Rc.asgd_risk(P, LAM, np.ones(6), 0.0, 5), "init"),
    ("init = squared error as a bare array", lambda: Rc.sgd_risk(0.1, LAM, np.ones(6) ** 2, 0.0, 5), "init"),
    ("init of another dimension", lambda: Rc.asgd_risk(P, LAM, Pr.band_init(5, 1, 2), 0.0, 5), "init"),
    ("params=float", lambda: Rc.asgd_risk(0.1, LAM, INIT, 0.0, 5), "params"),  # type: ignore[arg-type]
    ("sigma2=nan", lambda: Rc.asgd_risk(P, LAM, INIT, NAN, 5), "sigma2"),
    ("sigma2=-1", lambda: Rc.asgd_risk(P, LAM, INIT, -1.0, 5), "sigma2"),
    ("sigma2='0.1'", lambda: Rc.asgd_risk(P, LAM, INIT, "0.1", 5), "sigma2"),  # type: ignore[arg-type]
    ("n_steps=-1", lambda: Rc.asgd_risk(P, LAM, INIT, 0.0, -1), "n_steps"),
    ("n_steps=2.5", lambda: Rc.asgd_risk(P, LAM, INIT, 0.0, 2.5), "n_steps"),  # type: ignore[arg-type]
    ("n_steps='10'", lambda: Rc.asgd_risk(P, LAM, INIT, 0.0, "10"), "n_steps"),  # type: ignore[arg-type]
    ("n_steps=inf", lambda: Rc.asgd_risk(P, LAM, INIT, 0.0, INF), "n_steps"),  # type: ignore[arg-type]
    ("n_steps=nan", lambda: Rc.asgd_risk(P, LAM, INIT, 0.0, NAN), "n_steps"),  # type: ignore[arg-type]
    ("n_steps=True", lambda: Rc.asgd_risk(P, LAM, INIT, 0.0, True), "n_steps"),
    ("n_steps=1e12 (absurd memory)", lambda: Rc.sgd_risk(0.1, LAM, INIT, 0.0, 10**12), "max_steps"),
    ("avg_starts=(n,)", lambda: Rc.asgd_risk(P, LAM, INIT, 0.0, 5, avg_starts=(5,)), "avg_starts"),
    ("avg_starts=(-1,)", lambda: Rc.asgd_risk(P, LAM, INIT, 0.0, 5, avg_starts=(-1,)), "avg_starts"),
    ("avg_starts=(1.5,)", lambda: Rc.asgd_risk(P, LAM, INIT, 0.0, 5, avg_starts=(1.5,)), "avg_starts"),
    ("avg_starts='0'", lambda: Rc.asgd_risk(P, LAM, INIT, 0.0, 5, avg_starts="0"), "avg_starts"),
    ("tail_fraction=1", lambda: Rc.asgd_risk(P, LAM, INIT, 0.0, 5, tail_fraction=1.0), "tail_fraction"),
    ("tail_fraction=nan", lambda: Rc.sgd_risk(0.1, LAM, INIT, 0.0, 5, tail_fraction=NAN), "tail_fraction"),
    ("on_unstable='ignore'", lambda: Rc.asgd_risk(P, LAM, INIT, 0.0, 5, on_unstable="ignore"), "on_unstable"),
    ("kurtosis=0.9", lambda: Rc.sgd_risk(0.1, LAM, INIT, 0.0, 5, kurtosis=0.9), "kurtosis"),
    ("eta=-0.1", lambda: Rc.sgd_risk(-0.1, LAM, INIT, 0.0, 5), "eta"),
    ("eta='0.1'", lambda: Rc.sgd_risk("0.1", LAM, INIT, 0.0, 5), "eta"),  # type: ignore[arg-type]
    ("unstable eta", lambda: Rc.sgd_risk(5.0, LAM, INIT, 0.0, 5), "eta"),
    ("tail: curves_fn='adam'", lambda: Rc.tail_averaged_risk("adam", P, LAM, INIT, 0.0, [4]), "curves_fn"),
    ("tail: n_values=[]", lambda: Rc.tail_averaged_risk("asgd", P, LAM, INIT, 0.0, []), "n_values"),
    ("tail: n_values=[1]", lambda: Rc.tail_averaged_risk("asgd", P, LAM, INIT, 0.0, [1]), "n_values"),
    ("tail: n_values=['5']", lambda: Rc.tail_averaged_risk("sgd", 0.1, LAM, INIT, 0.0, ["5"]), "n_values"),
    ("tail: eta for asgd", lambda: Rc.tail_averaged_risk("asgd", 0.1, LAM, INIT, 0.0, [4]), "params_or_eta"),
    ("tail window fraction=1", lambda: Av.TailWindow(1.0, OP.A, np.zeros((2, 1, 6)), [0]), "fraction"),
]

BOUNDS: list[Case] = [
    ("psi=0.5 (impossible)", lambda: Bd.zou_bound(LAM, 0.01, 10, INIT, 0.1, psi=0.5), "psi"),
    ("psi=nan", lambda: Bd.zou_bound(LAM, 0.01, 10, INIT, 0.1, psi=NAN), "psi"),
    ("eta >= 1/(psi tr H)", lambda: Bd.zou_bound(LAM, 1.0, 10, INIT, 0.1), "eta"),
    ("eta=0", lambda: Bd.zou_bound(LAM, 0.0, 10, INIT, 0.1), "eta"),
    ("n=0", lambda: Bd.zou_bound(LAM, 0.01, 0, INIT, 0.1), "n"),
    ("n=2.5", lambda: Bd.zou_bound(LAM, 0.01, 2.5, INIT, 0.1), "n"),  # type: ignore[arg-type]
    ("init bare array", lambda: Bd.zou_bound(LAM, 0.01, 10, np.ones(6), 0.1), "init"),  # type: ignore[arg-type]
    ("sigma2=-1", lambda: Bd.zou_bound(LAM, 0.01, 10, INIT, -1.0), "sigma2"),
    ("k_star eta=-1 (was: silently d)", lambda: Bd.k_star(LAM, -1.0, 10), "eta"),
    ("k_star eta=nan", lambda: Bd.k_star(LAM, NAN, 10), "eta"),
    ("k_star n=0", lambda: Bd.k_star(LAM, 0.1, 0), "n"),
    ("k_star n=1.5", lambda: Bd.k_star(LAM, 0.1, 1.5), "n"),  # type: ignore[arg-type]
    ("effective_dimension eta=-1", lambda: Bd.effective_dimension(LAM, -1.0, 10), "eta"),
]

G = torch.Generator


def _sim(**kw: Any) -> Any:
    args: dict[str, Any] = dict(lam=np.array([1.0, 0.5]), w0=np.ones(2), w_star=np.zeros(2), sigma2=0.1, n_steps=5,
                                n_runs=4, delta=0.1, generator=G().manual_seed(0), noise_generator=G().manual_seed(1),
                                progress=False)
    args.update(kw)
    return simulate_linreg(**args)


SIMS: list[Case] = [
    ("lam negative", lambda: _sim(lam=np.array([1.0, -1.0])), "lam"),
    ("lam nan", lambda: _sim(lam=np.array([1.0, NAN])), "lam"),
    ("lam 2-D", lambda: _sim(lam=np.ones((2, 2))), "lam"),
    ("lam strings", lambda: _sim(lam=["a", "b"]), "lam"),
    ("w0 wrong length", lambda: _sim(w0=np.ones(3)), "w0"),
    ("w_star nan", lambda: _sim(w_star=np.array([NAN, 0.0])), "w_star"),
    ("sigma2=-1", lambda: _sim(sigma2=-1.0), "sigma2"),
    ("sigma2=nan", lambda: _sim(sigma2=NAN), "sigma2"),
    ("sigma2='0.1'", lambda: _sim(sigma2="0.1"), "sigma2"),
    ("n_steps=0", lambda: _sim(n_steps=0), "n_steps"),
    ("n_steps=2.5", lambda: _sim(n_steps=2.5), "n_steps"),
    ("n_runs=0", lambda: _sim(n_runs=0), "n_runs"),
    ("n_runs=1.5", lambda: _sim(n_runs=1.5), "n_runs"),
    ("alpha=0", lambda: _sim(alpha=0.0), "alpha"),
    ("alpha=nan", lambda: _sim(alpha=NAN), "alpha"),
    ("beta=-0.1", lambda: _sim(beta=-0.1), "beta"),
    ("gamma=nan (was: every run reported diverged)", lambda: _sim(gamma=NAN), "gamma"),
    ("gamma=inf (was: every run reported diverged)", lambda: _sim(gamma=INF), "gamma"),
    ("delta=nan (was: every run reported diverged)", lambda: _sim(delta=NAN), "delta"),
    ("delta=-0.1", lambda: _sim(delta=-0.1), "delta"),
    ("features='laplace'", lambda: _sim(features="laplace"), "features"),
    ("record_steps beyond n", lambda: _sim(record_steps=[6]), "record_steps"),
    ("record_steps negative", lambda: _sim(record_steps=[-1]), "record_steps"),
    ("record_steps 1.5", lambda: _sim(record_steps=[1.5]), "record_steps"),
    ("avg_start=n", lambda: _sim(avg_start=5), "avg_start"),
    ("avg_start=-1", lambda: _sim(avg_start=-1), "avg_start"),
    ("dtype='float16'", lambda: _sim(dtype="float16"), "dtype"),
    ("device='tpu'", lambda: _sim(device="tpu"), "device"),
    ("generator=None", lambda: _sim(generator=None), "generator"),
    ("noise_generator='g'", lambda: _sim(noise_generator="g"), "noise_generator"),
    ("chunk=0 (was: silently 1)", lambda: _sim(chunk=0), "chunk"),
    ("chunk=2.5", lambda: _sim(chunk=2.5), "chunk"),
    ("blowup=-1 (was: every run diverged)", lambda: _sim(blowup=-1.0), "blowup"),
    ("blowup=nan (was: divergence never detected)", lambda: _sim(blowup=NAN), "blowup"),
    ("records of 1e7 runs x every step (absurd memory)", lambda: _sim(n_runs=10**7, n_steps=1000), "max_bytes"),
    ("progress='yes'", lambda: _sim(progress="yes"), "progress"),
]

TABLES = {"theory.linreg.problem": PROBLEM, "theory.linreg.parameters": PARAMETERS,
          "theory.linreg.two_by_two": TWO_BY_TWO, "theory.linreg.second_moments": SECOND_MOMENTS,
          "theory.linreg.recursions+averaging": RECURSIONS, "theory.linreg.bounds": BOUNDS, "sims.linreg": SIMS}
ALL = [(mod, *c) for mod, cases in TABLES.items() for c in cases]


@pytest.mark.parametrize("module, what, call, match", ALL, ids=[f"{m}: {w}" for m, w, _, _ in ALL])
def test_bad_input_raises_clear_value_error(module: str, what: str, call: Callable[[], Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        call()


def test_cuda_refused_clearly_without_cuda() -> None:
    if torch.cuda.is_available():
        pytest.skip("CUDA present")
    with pytest.raises(ValueError, match="CUDA"):
        _sim(device="cuda")


def test_initial_error_constructors_agree() -> None:
    w0, ws = np.array([0.5, -1.0, 2.0]), np.array([1.0, 1.0, 1.0])
    a = Pr.InitialError.from_iterates(w0, ws).sq
    b = Pr.InitialError.from_error(w0 - ws).sq
    c = Pr.InitialError.from_second_moments((w0 - ws) ** 2).sq
    assert np.array_equal(a, b) and np.array_equal(b, c)
    assert not a.flags.writeable  # frozen: a caller cannot change the start behind a result's back
