"""fedfix: asynchronous federated optimisation with heterogeneous clients, FedFix and the aggregation weights.

Fraboni, Vidal, Kameni, Lorenzi, "A general theory for federated optimization with asynchronous and heterogeneous
client updates", JMLR 24 (2023), arXiv 2206.10189; reference simulator Accenture/Labs-Federated-Learning (branch
asynchronous_FL).

Conventions: client times tau_i = 1 - i (X/100)/(M-1) ("F-X"), p_i = 1/M; server update
theta <- theta + eta_g sum_i omega_i(n) (theta_i - theta^{rho_i(n)}) with K local SGD steps from the stale model,
eta_g = 1; schedules, weights and surrogate optima are computed exactly (``theory.federated``; integer time units,
never a float ceiling); training runs in ``sims.federated``. Claims: training converges to the optimum of
sum_i q_i L_i with q_i proportional to E[omega_i]; only E[omega_i] = p_i optimises the federated objective.
"""

from . import claims, experiments, figures  # noqa: F401
