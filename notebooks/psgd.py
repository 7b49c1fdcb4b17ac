# %% [markdown]
# # PSGD: Lie-group preconditioners that fit the curvature (Pooladzandi & Li 2024)
#
# PSGD steps with $\theta \leftarrow \theta - \mu P m$, $P = Q^TQ$, and fits $Q$ on a Lie group by minimising
# $E[h^TPh + v^TP^{-1}v]$: with Hessian-vector products $h = Hv$ (Newton type) the minimiser is $|H|^{-1}$, with
# gradients $h = g$ (whitening type) it is $(E gg^T)^{-1/2}$. The suite checks the fit against those closed forms
# for each group (dense, triangular, Kron, UVd, XMat), then the paper's toys. `sims.optim.psgd` reproduces
# psgd-torch 0.6.1 and kron-torch 0.3.3 to 1e-12 in float64 (tests/test_psgd_crosscheck.py).

# %%
from sgdlab.notebook import Session

nb = Session("psgd")

# %% [markdown]
# ## The fit of $P$ against $|H|^{-1}$, per group and normaliser

# %%
nb.show("psgd_fit_error")
nb.show("psgd_eig_PH")

# %% [markdown]
# ## Whitening type: $P \to S^{-1/2}$ for Gaussian gradients with covariance $S$

# %%
nb.show("psgd_whitening")

# %% [markdown]
# ## Rosenbrock and delayed XOR

# %%
nb.show("psgd_rosenbrock")
nb.show("psgd_delayed_xor")

# %%
nb.verdicts()
