"""heavy_tail: algorithmic stability of heavy-tailed SGD (Raj, Zhu, Gurbuzbalaban, Simsekli, ICML 2023, arXiv
2301.11885), with Gurbuzbalaban, Simsekli & Zhu (ICML 2021) for heavy tails from multiplicative noise and the
tail-index estimators used by Simsekli et al. (2019).

Conventions: rotationally invariant noise with E exp(i<u, L_1>) = exp(-||u||^alpha) (so alpha = 2 is N(0, 2I)); the
Euler chain theta <- theta - eta grad F + sigma eta^(1/alpha) xi. Scales of stationary laws are measured through the
empirical characteristic function (bounded, so its standard error exists for every alpha); moments E|.|^p only with
p < alpha/2. Exact results in theory.heavy_tails, simulators in sims.noise.stable and sims.heavy_tails.

Claims: W1 between the stationary laws for neighbouring datasets is O(1/n) for every alpha, and the dependence on the
tail index is non-monotone; online SGD's multiplicative noise alone gives power tails whose index solves
E||M e_1||^a = 1.
"""

from . import claims, experiments, figures  # noqa: F401
