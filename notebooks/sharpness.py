# %% [markdown]
# # Why Adam beats SGD on transformers: directional sharpness and coordinate-wise clipping
#
# Pan & Li (2023, arXiv 2306.00204) explain Adam's advantage on transformers by the *directional sharpness*
# $u^\top H u / \|u\|^2$ of the update $u$: SGD's update points along a few coordinates of huge curvature, so the
# step that decreases the loss is tiny; adaptive and sign-like updates, and SGD with its largest coordinates
# clipped, point along flatter directions. The suite checks the mechanism exactly on the paper's synthetic quadratic
# and by *pseudo-updates* on a small transformer trained from scratch on the Python standard library's sources (the
# paper's pretrained models cannot be downloaded here): every candidate optimizer advances its own state from the
# same gradients, so all update directions are compared at the same point on the same batch.

# %%
from sgdlab.notebook import Session

nb = Session("sharpness")

# %% [markdown]
# ## The synthetic quadratic (exact)
# 10^4 coordinates, 1% with curvature 1000 and small values, the rest of curvature about 1. Clipping the top
# coordinates of the gradient, or taking its sign, flattens the direction and increases the best one-step decrease.

# %%
_ = nb.show("sharpness_quadratic")
q = nb.result("sharpness.quadratic")
print("mean sharpness per direction:", dict(zip(q.methods, q.sharpness.mean(0).round(1))))

# %% [markdown]
# ## Pseudo-updates along an Adam trajectory of a small transformer

# %%
_ = nb.show("sharpness_trajectory")

# %%
_ = nb.show("sharpness_update_histograms")

# %% [markdown]
# ## Does clipping speed convergence?
# Each method at its best learning rate from a grid fixed in advance; mean over seeds.

# %%
_ = nb.show("sharpness_convergence")

# %% [markdown]
# ## Verdicts

# %%
outcomes = nb.verdicts()
