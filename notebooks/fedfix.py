# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Asynchronous federated learning: FedFix and the weights that decide what is optimised
#
# Fraboni, Vidal, Kameni, Lorenzi, *A general theory for federated optimization with asynchronous and heterogeneous
# client updates*, JMLR 24 (2023), arXiv 2206.10189.
#
# $M$ clients need $\tau_i = 1 - i\,(X/100)/(M-1)$ time units per local work ("F-$X$"). The server updates
# $$\theta^{n+1} = \theta^n + \eta_g \sum_i \omega_i(n)\,\big(\theta_i^{n} - \theta^{\rho_i(n)}\big),$$
# where $\theta_i^n$ is $K$ local SGD steps from the stale model $\theta^{\rho_i(n)}$ and
# $\omega_i(n) = d_i\,\mathbb 1[i \in S_n]$. The theory: the server optimises $\sum_i q_i L_i$ with
# $q_i \propto E[\omega_i]$, so only schemes with $E[\omega_i] = p_i$ optimise the federated objective.
# Schedules, weights and optima are exact (`theory/federated/`: integer time units, `fractions.Fraction`);
# training runs in the batched simulated-time engine (`sims/federated/`). Set `SGDLAB_SCALE=smoke` for CI.

# %%
from fractions import Fraction

import sgdlab.papers.fedfix  # noqa: F401  (registers the paper; newer spines load it in Session)
from sgdlab.notebook import Session
from theory.federated.client_times import client_times
from theory.federated.schemes import parse_scheme
from theory.federated.weights import aggregation_weights, expected_weights, fedfix_periods, surrogate_weights

nb = Session("fedfix")
print("scale:", nb.scale)

# %% [markdown]
# ## 1. Exact weights from the schedule
# FedFix-$\Delta t$ aggregates every $\Delta t$; client $i$ comes back every $k_i = \lceil \tau_i/\Delta t\rceil$
# rounds, so $d_i = k_i p_i$ gives $E[\omega_i] = p_i$ exactly. FedBuff-$c$ with identical weights $1/c$ does
# not: its $q$ follows the participation counts of the (eventually periodic) schedule.

# %%
tau = client_times(20, 80)
for name in ["FedAvg", "Async", "Async-identical", "FedFix-0.2", "FedBuff-5"]:
    s = parse_scheme(name)
    q = surrogate_weights(s, tau)
    print(f"{name:16s} E[omega]=p exactly: {expected_weights(s, tau) == tuple(Fraction(1, 20) for _ in tau)!s:5s} "
          f"max|q-p| = {float(max(abs(x - Fraction(1, 20)) for x in q)):.4f}  d_19 = {aggregation_weights(s, tau)[19]}")
print("FedFix-0.2 periods k_i:", fedfix_periods(tau, Fraction(1, 5)))
_ = nb.show("fedfix_weights")

# %% [markdown]
# The right panel is the trap in the reference simulator: in float64, $\tau_{19} = 1 - 0.8 = 0.2$ comes out as
# `0.20000000000000007`, `ceil(tau/0.2) = 2` instead of 1, and over $T = 5000$ that client gets about $1.8\times$
# its share. The suite never takes a float ceiling.

# %%
r = nb.result("fedfix.weights")
print("float periods:", r["float_periods"].tolist())
print("exact periods:", r["exact_periods"].tolist())
print(f"worst float E[omega]/p: {r['float_ratio'].max():.4f} (client {int(r['float_ratio'].argmax())})")

# %% [markdown]
# ## 2. Where training goes: the surrogate optimum
# Started at the federated optimum $\theta_p^*$, biased schemes drift to the optimum of $\sum_i q_i L_i$
# (dotted: the predicted plateau of the federated excess loss); unbiased schemes stay, up to an offset of order
# $\eta$ from staleness.

# %%
_ = nb.show("fedfix_surrogate")
_ = nb.show("fedfix_loss_time_logistic")

# %% [markdown]
# ## 3. Speed and stability against the local learning rate
# Loss vs simulated wall time at two learning rates, then the fraction of unstable runs and the time to reach 5%
# of the initial excess loss over the lr grid.

# %%
_ = nb.show("fedfix_loss_time")
_ = nb.show("fedfix_stability")

# %% [markdown]
# ## 4. Staleness of the aggregated updates

# %%
_ = nb.show("fedfix_staleness")

# %% [markdown]
# ## Verdicts

# %%
_ = nb.verdicts()
