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
# # SGD-SaI: SGD with momentum and learning rates scaled at initialisation (sgd_sai)
#
# Xu et al., 2024 (arXiv 2412.11768). Each parameter tensor's learning rate is scaled once, at its first gradient, by
# the gradient signal-to-noise ratio $\|g\|_2 / (\mathrm{std}(g) + \epsilon)$; the optimizer keeps one state tensor
# (momentum) instead of AdamW's two. `sims.optim.sgd_sai.SGDSaI` has sgd-sai 1.0.3's defaults and equals it to 1e-12
# in float64; `SGDSaI.paper` divides the g-SNRs by their maximum as the paper's pseudocode. Where sgd-sai crashes or
# misbehaves (momentum 0, late gradients, one-element tensors, resume, closure), see `docs/optimizers.md`.

# %%
from sgdlab.notebook import Session

nb = Session("sgd_sai")
print("scale:", nb.scale)

# %% [markdown]
# ## 1. Memory
# Measured state bytes per parameter after a real run, extrapolated to GPT-2 1.5B and Llama-2 7B.

# %%
_ = nb.show("sgd_sai_memory")

# %% [markdown]
# ## 2. The g-SNR over training
# The g-SNR of every tensor barely moves. The reason is arithmetic: $\|g\|^2/\mathrm{var}(g) = (n-1) +
# n\,\bar g^2/\mathrm{var}(g)$, so the g-SNR is $\sqrt{n-1}$ unless a tensor's mean gradient is comparable to its
# spread (small convolution kernels and biases).

# %%
_ = nb.show("sgd_sai_gsnr")

# %% [markdown]
# ## 3. MNIST comparison with SGD-momentum, Adam and AdamW

# %%
_ = nb.show("sgd_sai_mnist")

# %%
_ = nb.verdicts()
