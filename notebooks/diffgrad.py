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
# # diffGrad: an optimizer with a friction on the gradient's change (diffgrad)
#
# Dubey et al., IEEE TNNLS 2019. diffGrad multiplies Adam's step by the friction
# $\xi_t = \mathrm{sigmoid}(|g_{t-1} - g_t|) \in [1/2, 1)$. `sims.optim.diffgrad.DiffGrad` is the v2 rule
# (= torch-optimizer 0.3.0's DiffGrad, checked to 1e-12 in float64); `DiffGradV1` reproduces the first release, whose
# "previous gradient" was a reference to `p.grad`. Differences from the reference packages: `docs/optimizers.md`.

# %%
from sgdlab.notebook import Session

nb = Session("diffgrad")
print("scale:", nb.scale)

# %% [markdown]
# ## 1. The synthetic functions F1-F3
# From $x_0 = -1$, 300 steps, lr 0.1, $\beta = (0.95, 0.999)$: Adam stops in F1's local minimum, diffGrad's friction
# lets it through to the global one (the paper's end points, reproduced with autograd derivatives).

# %%
_ = nb.show("diffgrad_synthetic")

# %% [markdown]
# ## 2. The friction in real training
# Per step, quantiles of $\xi$ over all parameters of an MNIST MLP. Gradient changes between mini-batches are small
# compared with 1, so $\xi \approx 1/2$ nearly everywhere: diffGrad behaves as Adam at half the learning rate.

# %%
_ = nb.show("diffgrad_friction")

# %% [markdown]
# ## 3. The v1 aliasing bug
# v1 stored `p.grad` itself; `zero_grad(set_to_none=False)` and the next backward overwrite it in place, so
# $\xi = 1/2$ exactly from step 2. With `set_to_none=True` v1 equals v2.

# %%
_ = nb.show("diffgrad_v1_alias")

# %% [markdown]
# ## 4. MNIST comparison

# %%
_ = nb.show("diffgrad_mnist")

# %%
_ = nb.verdicts()
