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
# # Robust collaborative learning with momentum and nearest-neighbour averaging (monna)
#
# Farhadkhani, Guerraoui, Gupta, Hoang, Pinot, Stephan, *Robust collaborative learning with linear gradient
# overhead* (ICML 2023). $n$ workers, $f$ of them Byzantine. Honest worker $i$: $m_i \leftarrow \beta m_i +
# (1-\beta) g_i$, half step $x_i = \theta_i - \gamma m_i$, then $\theta_i \leftarrow$ the mean of the $n - f$
# received half steps nearest to $x_i$ (NNA; the authors' code: the $n - 2f$ nearest among $n - f$ received).
#
# **How.** All runs and honest workers are one tensor (`sims.distributed.byzantine`); NNA is a `cdist` + `topk`
# and one batched matrix product (`sims.distributed.nna`); attacks build the Byzantine vectors on the honest half
# steps, with FOE/ALIE factors chosen by line search against the rule in use (`sims.distributed.attacks`).
# Aggregation and attacks equal byzfl 0.0.11 to 1e-12 in float64; the same step with one process per worker
# (`sims.distributed.process_backend`, gloo) equals the batched simulation to 1e-12.
#
# The scale comes from `SGDLAB_SCALE` (smoke in CI, default for the committed figures).

# %%
import sgdlab.papers.monna  # noqa: F401  (registers the paper)
from sgdlab.notebook import Session

nb = Session("monna")

# %% [markdown]
# ## Honest test accuracy under attack: MoNNA (both NNA variants) vs the baselines

# %%
nb.show("monna_accuracy")

# %% [markdown]
# ## Momentum under attack

# %%
nb.show("monna_momentum")

# %% [markdown]
# ## Gradient overhead vs $f/n$ (rounds to a fixed training loss)

# %%
nb.show("monna_overhead")

# %% [markdown]
# ## The robustness coefficient of NNA vs $f/n$
#
# Worst found $\kappa = \mathrm{mean}_H \|y_i - \bar x_H\|^2 / V_H$ (and its parts: the spread ratio $\alpha$ and
# the bias ratio $\lambda$ of the paper's $(\alpha, \lambda)$-reduction) against $8f/(n-f)$.

# %%
nb.show("monna_coefficient")

# %%
nb.verdicts()
