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
# # Heavy-tailed SGD: alpha-stable noise, its SDE, Wasserstein stability and tail indices (heavy_tail)
#
# Raj, Zhu, Gurbuzbalaban, Simsekli, *Algorithmic stability of heavy-tailed SGD with general loss functions*
# (ICML 2023), with Gurbuzbalaban, Simsekli & Zhu (ICML 2021) on heavy tails from multiplicative noise, and the
# tail-index estimators used by Simsekli et al. (2019).
#
# **Setting.** $F(\theta) = \frac1n\sum_i f(\theta, x_i)$; proxy SDE $d\theta = -\nabla F\,dt + \sigma\,dL^\alpha_t$ with
# $L^\alpha$ rotationally invariant, $E e^{i\langle u, L_1\rangle} = e^{-\|u\|^\alpha}$ (so $\alpha = 2$ is $N(0, 2I)$);
# Euler chain $\theta_{k+1} = \theta_k - \eta\nabla F(\theta_k) + \sigma\eta^{1/\alpha}\xi_k$.
#
# **How.** On quadratics everything is exact: the stationary laws of the SDE and of the Euler chain are
# $\alpha$-stable with known scales (`theory.heavy_tails.levy_ou`), their absolute moments have closed forms
# (`theory.heavy_tails.stable`), and the GSZ tail index is the root of a moment equation solved by quadrature
# (`theory.heavy_tails.gsz`). Simulations (`sims.noise.stable`, `sims.heavy_tails`; R runs in one tensor) are checked against
# them. Scales are measured through the empirical characteristic function, which is bounded, so its standard error
# exists for every $\alpha$; variance-based statistics would be meaningless for $\alpha < 2$.
#
# The scale comes from `SGDLAB_SCALE` (smoke in CI, default for the committed figures).

# %%
import numpy as np

from sgdlab.notebook import Session
from sgdlab.papers.heavy_tail import experiments as E
from theory.heavy_tails import gsz as TI
from theory.heavy_tails import levy_ou as HT
from theory.heavy_tails import stable as ST

nb = Session("heavy_tail")
print("scale:", nb.scale)

# %% [markdown]
# ## 1. Sampling alpha-stable noise
# Chambers-Mallows-Stuck: $V \sim U(-\pi/2, \pi/2)$, $W \sim \mathrm{Exp}(1)$,
# $X = \frac{\sin\alpha V}{\cos^{1/\alpha} V}\left(\frac{\cos((1-\alpha)V)}{W}\right)^{(1-\alpha)/\alpha}$
# ($\tan V$ at $\alpha = 1$, $2\sin V\sqrt{W} \sim N(0,2)$ at $\alpha = 2$). In $\mathbb R^d$:
# $X = \sqrt{A}\,G$, $G \sim N(0, 2I)$, $A$ the positive $\alpha/2$-stable law with $E e^{-sA} = e^{-s^{\alpha/2}}$.
# scipy's `levy_stable(alpha, 0)` is the same law ($\beta = 0$: the S0 and S1 parameterisations agree).

# %%
r = nb.result("heavy_tail.sampler")
for i, a in enumerate(r["alphas"]):
    dev = np.max(np.abs(r["ecf_scalar"][i] - ST.char_fn(r["ts"], a)))
    print(f"alpha={a:4g}: max |ECF - exp(-|t|^alpha)| = {dev:.2e} (1/sqrt(N) = {1 / np.sqrt(r['n']):.1e}),"
          f" KS p vs scipy = {r['ks_p'][i]:.3f}")
nb.show("heavy_tail_sampler")

# %% [markdown]
# Tail-index estimators: Mohammadi et al.'s block-sum estimator (assumes iid strictly stable samples) and Hill's
# (assumes a regularly varying tail). The trap: pooling Gaussian coordinates of unequal scales fakes heavy tails.

# %%
e = nb.result("heavy_tail.estimators")
for a, m, h in zip(e["alphas"], e["mohammadi"], e["hill"]):
    print(f"alpha={a}: Mohammadi {m:.3f}, Hill {h:.3f}")
print(f"Gaussian: clean {e['gauss_clean']:.3f}, pooled unequal scales {e['gauss_pooled']:.3f} (true alpha = 2)")

# %% [markdown]
# ## 2. Euler chain vs SDE on a quadratic
# With $A = \lambda I$: SDE scale $\sigma(\alpha\lambda)^{-1/\alpha}$; Euler scale
# $\sigma\eta^{1/\alpha}/(1-(1-\eta\lambda)^\alpha)^{1/\alpha}$. The increment scales as $\eta^{1/\alpha}$, not
# $\sqrt\eta$.

# %%
print("alpha=1.5, lam=2, eta=0.05: Euler", round(HT.euler_stationary_scale(1.5, 2, 1, 0.05), 4),
      "SDE", round(HT.sde_stationary_scale(1.5, 2), 4))
nb.show("heavy_tail_euler_sde")

# %% [markdown]
# ## 3. The squared loss never settles when alpha < 2
# Along a stationary chain the running mean of $(\theta-\hat\theta)^2$ grows like $T^{2/\alpha-1}$ (its median; the
# mean is infinite), while $|\theta-\hat\theta|^p$ with $p < \alpha$ converges to
# $c^p 2^p\Gamma(\frac{1+p}2)\Gamma(1-\frac p\alpha)/(\sqrt\pi\,\Gamma(1-\frac p2))$.

# %%
nb.show("heavy_tail_sq_loss")

# %% [markdown]
# ## 4. Heavier tails can help or hurt (OU proxy)
# $E|\theta_\infty - \hat\theta| = \sigma(\alpha\lambda)^{-1/\alpha}\,2\Gamma(1-1/\alpha)/\pi$: for large curvature
# an interior optimum $\alpha^*$ appears.

# %%
for lam in (1.0, 100.0, 1e3, 1e4):
    a, interior = HT.ou_optimal_alpha(lam)
    print(f"lam={lam:g}: alpha* = {a:.3f}" + ("" if interior else " (boundary: no interior optimum)"))
nb.show("heavy_tail_non_monotone")

# %% [markdown]
# ## 5. Wasserstein stability: W1 = O(1/n)
# Two least-squares datasets differing in one point, chains driven by the same noise (synchronous coupling).
# $E\|\theta-\theta'\|$ bounds $W_1$ from above and decays like $1/n$, below
# $[(\|a_n\|^2+\|a'_n\|^2)E\|\theta'\| + |y_n|\|a_n\| + |y'_n|\|a'_n\|]/(n\lambda_{\min}(A))$.

# %%
w = nb.result("heavy_tail.w1")
slopes = [np.polyfit(np.log(w["ns"]), np.log(D), 1)[0] for D in w["D"]]
print(f"log-log slope over {len(slopes)} data replicates: {np.mean(slopes):.3f} +- {np.std(slopes, ddof=1) / np.sqrt(len(slopes)):.3f}")
print(f"max E||theta - theta'|| / bound = {np.max(w['D'] / w['bound']):.3f}")
slopes_mb = [np.polyfit(np.log(w["ns"]), np.log(D), 1)[0] for D in w["D_mb"]]
print(f"minibatch (B = {w['batch']}) slope: {np.mean(slopes_mb):.3f} +- {np.std(slopes_mb, ddof=1) / np.sqrt(len(slopes_mb)):.3f}")

# Non-quadratic check: pseudo-Huber regression plus a ridge term, where the coupling does not cancel the noise
wr = E.w1_robust_sweep(nb.ctx)
for a, D in zip(wr["alphas"], wr["D"]):
    sl = [np.polyfit(np.log(wr["ns"]), np.log(Dj), 1)[0] for Dj in D]
    nw = wr["ns"][-1] * D[:, -1]
    print(f"pseudo-Huber alpha={a:g}: slope {np.mean(sl):.3f} +- {np.std(sl, ddof=1) / np.sqrt(len(sl)):.3f}, "
          f"n W1 at n={wr['ns'][-1]}: {nw.mean():.3f} +- {nw.std(ddof=1) / np.sqrt(nw.size):.3f}")
nb.show("heavy_tail_w1")

# %% [markdown]
# ## 6. Heavy tails from multiplicative noise (Gurbuzbalaban, Simsekli, Zhu)
# Online SGD on Gaussian linear regression: $x_{k+1} = (I - \frac\eta b\sum_i a_ia_i^\top)x_k + q_k$. The tail index
# solves $E\|(I - \frac\eta b\sum_i a_ia_i^\top)e_1\|^\alpha = 1$; it falls with $\eta$ and rises with $b$.
# Resolution: Hill's estimator from the top k of R runs has se about alpha / sqrt(k); telling the root from +-10%
# alternatives at 4 se needs k >= 6400 (full scale), so at the default scale that part of the claim is inconclusive.

# %%
for eta in (0.12, 0.15, 0.16, 0.17):
    print(f"b=1, d=10, eta={eta}: alpha = {TI.gsz_tail_index(eta):.3f}")
g = E.gsz_sweep(nb.ctx)  # one point per (b, eta)
for b, eta, h, se, root in zip(g["b"], g["eta"], g["hill"], g["hill_se"], g["root"]):
    print(f"b={b}, eta={eta}: Hill {h:.2f} +- {se:.2f} (4 se = {400 * se / root:.0f}% of the root), root {root:.2f}")
nb.show("heavy_tail_gsz")

# %% [markdown]
# ## 7. Non-convex: a small network with injected alpha-stable noise
# Full-batch GD on a tanh MLP on scikit-learn's `load_digits`, noise $\sigma\eta^{1/\alpha}\xi$ over an
# $(\alpha, \sigma)$ grid (Dupuis & Simsekli's protocol, CPU-sized; the full configuration targets a GPU).

# %%
nb.show("heavy_tail_nn_gap")

# %% [markdown]
# ## Verdicts

# %%
nb.verdicts()
