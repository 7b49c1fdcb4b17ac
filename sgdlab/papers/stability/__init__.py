"""stability: linear (mean-square) stability of SGD at an interpolating minimum and the Hessian coherence measure.

Dexter, Ocejo, Keerthi, Gupta, Acharya, Khanna, "A precise characterization of SGD stability using loss surface
geometry" (ICLR 2024, arXiv 2401.12332), with Mulayoff & Michaeli (exact threshold eta*) and Wu, Ma & E (2018).

Conventions: linearised SGD w_{t+1} = (I - eta H_hat_t) w_t, H_hat_t = (1/B) sum_i c_{t,i} H_i with Bernoulli (keep
prob. B/n), with-replacement or without-replacement batches; stable means sup_t E||w_t||^2 < inf, i.e. rho(Q) <= 1
(theory.stability.moments). Coherence sigma = lambda_1(S) / max_i lambda_1(H_i), S_ij = sqrt(tr(H_i H_j))
(theory.stability.coherence). Simulators: sims.stability (linearised SGD, nets near a minimum), sims.nets.hessian.

The paper claims: (Thm 1) lambda_1(H) >= (sigma/eta)(n/B - 1)^(-1/2) forces mean-square divergence; (Thm 2) this is
near-optimal, shown on a construction whose (B, sigma) divergence map follows the predicted boundary.
"""

from . import claims, experiments, figures  # noqa: F401
