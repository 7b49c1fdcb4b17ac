# %% [markdown]
# # SignRound: weight rounding by signed gradient descent, on a GPT the suite trains
#
# Cheng et al. (Intel; reference implementation auto-round 0.16.1) quantise each weight group to $b$ bits with
# $\tilde W = s\,(\mathrm{clip}(\lfloor W/s + V \rceil + z, 0, 2^b - 1) - z)$ and tune the rounding offset $V$ (and
# clip factors on the group's min and max) block by block, minimising the block output error
# $\|\tilde f(X_q) - f(X)\|^2$ by **signed** gradient descent with $lr = 1/T$ decaying linearly to 0, so that
# $|V| \lesssim 1/2$ without a clamp. The paper's models come from a hub that cannot be reached here, so the suite
# trains a small GPT on the Python standard library's sources (one per seed) and quantises every Linear of its
# blocks, comparing round-to-nearest (RTN), SignRound and SignRound with Adam at W2/W3/W4.

# %%
from sgdlab.notebook import Session

nb = Session("signround")
r = nb.result("signround.quantize")
print(f"{r.n_params} parameters; full-precision validation loss per seed: {r.fp_val.round(4)}")

# %% [markdown]
# ## Validation loss and block error vs bits
# The quantised model's excess validation loss over its own full-precision model (paired per seed), and the
# blocks' output MSE on quantised inputs.

# %%
_ = nb.show("signround_val_vs_bits")

# %% [markdown]
# ## The rounding offsets
# Signed descent moves every V by the same step each iteration; the schedule's total step caps $|V|$ near 1/2.

# %%
_ = nb.show("signround_v_hist")

# %% [markdown]
# ## Block loss over the tuning steps (relative to RTN at step 0)

# %%
_ = nb.show("signround_block_loss")

# %%
nb.verdicts()
