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
# # Linear stability of SGD and the Hessian coherence measure (stability)
#
# Dexter, Ocejo, Keerthi, Gupta, Acharya, Khanna, *A precise characterization of SGD stability using loss surface
# geometry* (ICLR 2024), with Mulayoff & Michaeli (exact threshold) and Wu, Ma & E (2018).
#
# **Setting.** At a minimum $w^*$ where every sample loss has zero gradient and PSD Hessian $H_i$, linearised SGD is
# $w_{t+1} = (I - \eta \hat H_t) w_t$ with $\hat H_t = \frac1B\sum_{i\in S_t} H_i$ and three batch samplings: with
# replacement, without replacement, Bernoulli (keep each $i$ with probability $B/n$, divide by the fixed $B$).
# The second moment $M_t = E[w_t w_t^\top]$ obeys $M_{t+1} = T(M_t)$,
# $T(M) = M - \eta(HM + MH) + \eta^2(\alpha HMH + \beta\frac1n\sum_i H_i M H_i)$ with $(\alpha,\beta)$ set by the
# sampling; mean-square stability $\iff \rho(Q) \le 1$, and the stable step sizes are exactly $(0, \eta^*]$,
# $\eta^* = 2/\lambda_{\max}(C^+D)$.
#
# **How.** Everything exact is computed exactly (`theory.stability.moments`, `theory.stability.coherence`); the
# simulators (`sims.stability.linear_sgd`, all runs in one tensor; `sims.stability.interpolation`, small nets on the
# shared batched trainer) and the Hessian toolkit (`sims.nets.hessian`: HVP-Lanczos, per-sample gradients, NTK) provide
# the measurements. The scale comes from `SGDLAB_SCALE`.

# %%
import numpy as np

from sgdlab.notebook import Session
from theory.stability import coherence as SC
from theory.stability import moments as SM

nb = Session("stability")
print("scale:", nb.scale)

# %% [markdown]
# ## 1. The coherence measure
# $S_{ij} = \sqrt{\mathrm{tr}(H_iH_j)}$, $\sigma = \lambda_1(S)/\max_i\lambda_1(H_i)$. Always $\sigma \ge 1$ and
# $n\lambda_1(H) \le \sigma\max_i\lambda_1(H_i)$ (any rank). $\sigma \le n$ holds for rank-one $H_i$ but not in
# general: $n$ copies of $I_4$ give $\sigma = 2n$.

# %%
r = nb.result("stability.coherence")
print(f"{len(r['n'])} random instances: min sigma = {r['sigma'].min():.3f}, "
      f"max n lambda_1(H) / lambda_1(S) = {(r['lhs'] / r['rhs']).max():.4f}")
for m, s in zip(r["identity_ns"], r["identity_sigma"]):
    print(f"n = {int(m):3d} copies of I_4: sigma = {s:.1f} (n = {int(m)})")

# %% [markdown]
# ## 2. Theorem 1 and the exact threshold
# Bernoulli sampling diverges in mean square when $\lambda_1(H) \ge (\sigma/\eta)(n/B-1)^{-1/2}$. On random
# instances the condition fires on about half and is never wrong; it is far from necessary.

# %%
t = nb.result("stability.thm1")
fired = t["fired"] > 0
print(f"fired on {fired.sum()}/{fired.size}; min rho(Q) when fired = {t['rho'][fired].min():.4f}; "
      f"unstable but not fired: {int(np.sum(~fired & (t['rho'] > 1)))}")
_ = nb.show("stability_eta_star")

# %% [markdown]
# Wu, Ma & E's sharpness and non-uniformity conditions ($\lambda_1(H) \le 2/\eta$, $s \le \sqrt{B}/\eta$,
# $s^2 = \lambda_1(\frac1n\sum_i H_i^2 - H^2)$), read as necessary conditions for mean-square stability: sharpness
# is necessary in any dimension, non-uniformity only in $d = 1$.

# %%
w = nb.result("stability.wu_ma_e")
st = w["rho"] < 1
for dim in np.unique(w["d"]):
    k = st & (w["d"] == dim)
    print(f"d = {int(dim)}: {k.sum()} stable instances, sharpness violated {int(np.sum(k & (w['sharp_ratio'] > 1)))}, "
          f"non-uniformity violated {int(np.sum(k & (w['nonuni_ratio'] > 1 + 1e-12)))}, "
          f"max eta s / sqrt(B) = {w['nonuni_ratio'][k].max():.3f}")

# %% [markdown]
# ## 3. The $(B, \sigma)$ map on the Theorem 2 construction
# $n = 100$, $\lambda_1(H) = 2$, $\sigma$ copies of $c\,e_0e_0^\top$ and single $c\,e_k e_k^\top$, $c = n\lambda/\sigma$.
# Grey: fraction of 10 runs with $\|w_T\|^2 \ge 1000\|w_0\|^2$ after $T = 1000$ steps (the paper's protocol).
# Orange: the exact mean-square boundary $\rho(Q) = 1$ (for Bernoulli it is Theorem 2's closed form
# $\lambda > \min\{2/(\eta(1 + (n-B)/(B\sigma))), 2\sigma B/(\eta n)\}$). Blue dashed: the exact almost-sure boundary
# $2T\max_k E\log|1 - \eta\hat h_k| = \log 1000$. Green dotted: Theorem 1.
#
# **Finding.** The runs follow the almost-sure boundary, not the mean-square one: where $\sigma > 1$ the batch count
# hitting $e_0$ is random, $E\log|X| < \frac12\log E X^2$, and many points with $\rho(Q)$ well above 1 show no
# diverging run. The mean-square growth itself, measured from simulated steps, matches $\rho(Q)$ for every sampling.

# %%
_ = nb.show("stability_divergence_map")
_ = nb.show("stability_boundary_samplings")

# %% [markdown]
# The public code that reproduces the paper's map samples batches **without replacement** and counts a run as diverged
# at the **first** step with $\|w_t\|^2 \ge 1000\|w_0\|^2$. The suite stores both criteria for every sampling; the
# figure draws the map with that reference protocol and marks where the majority decision changes with the criterion
# or with the sampling (few points, all next to the almost-sure boundary).

# %%
_ = nb.show("stability_reference_protocol")

# %% [markdown]
# Mean-square growth over several steps on instances whose $H_i$ mix ranks and share no eigenbasis: started at the
# top eigenmatrix $M_0$ of $T$, $E\|w_t\|^2 = \rho(Q)^t$ exactly. The Monte-Carlo mean is compared within exact standard
# errors (the fourth moment by enumerating the batch law): $\|w_t\|^2$ becomes heavy-tailed with $t$, so its sample
# standard error understates the real one.

# %%
_ = nb.show("stability_ms_growth")

# %%
cfg = nb.config("stability.divergence_map")
m = nb.result("stability.divergence_map", sampling="bernoulli")
quiet = m["frac_diverged"] == 0
i, j = np.unravel_index(np.argmax(np.where(quiet, m["rho"], 0)), m["rho"].shape)
b, s = int(m["batches"][i]), int(m["sigmas"][j])
print(f"Bernoulli, eta = {cfg.eta:g}, B = {b}, sigma = {s}: rho(Q) = {m['rho'][i, j]:.3f} (mean square diverges), "
      f"a.s. exponent = {m['lyapunov'][i, j]:+.4f} (typical runs converge), runs diverged: {m['frac_diverged'][i, j]:.0%}")
rho_mf = SM.spectral_radius(factors=SC.thm2_construction(cfg.n, s, cfg.lam), eta=cfg.eta, batch=b,
                            sampling="bernoulli")
print(f"closed-form Bernoulli boundary at this point: lambda_c = {SC.thm2_boundary(cfg.n, b, s, cfg.eta):.3f} "
      f"< lambda_1(H) = {cfg.lam}; matrix-free rho(Q) = {rho_mf:.3f}")

# %% [markdown]
# ## 4. Networks trained to interpolation
# Tanh MLPs trained by Bernoulli-batched SGD to (half-)MSE below $10^{-9}$ at several $(\eta, B)$. At each solution:
# $\lambda_1(H)$ by HVP-Lanczos, $\sigma$ from the NTK Gram matrix, $\lambda_1(K)/n$ as a cross-check (they differ by
# at most the residual term's norm). Theorem 1's necessary condition holds at every solution SGD reached, but that
# is survivorship (a run that reached a minimum is stable there). The real test restarts SGD next to one minimum at
# $\eta = r\,\eta^*(B)$ and records which runs leave it ($\|\theta_t - \theta^*\|^2 \ge 1000\,\|\theta_0 - \theta^*\|^2$): none
# below $\eta^*$, and the onset matches the linearised dynamics.

# %%
n_ = nb.result("stability.nn")
for e, b, ok, lam, thr, rho in zip(n_["etas"], n_["batches"], n_["converged"], n_["lambda1"], n_["thm1_threshold"],
                                   n_["rho_linearised"]):
    status = "interpolated" if ok else "diverged/not converged"
    print(f"eta = {e:.2f}, B = {int(b)}: {status}; lambda_1 = {lam:.3f}, threshold = {thr:.3f}, rho(Q) = {rho:.4f}")
p = nb.result("stability.nn_probe")
for i, b in enumerate(p["batches"]):
    print(f"B = {int(b)}: eta* = {p['eta_star'][i]:.4f}; left the minimum (net / linearised) by eta/eta*: "
          + ", ".join(f"{r:g}: {a:.2f}/{c:.2f}" for r, a, c in zip(p["ratios"], p["escaped_net"][i],
                                                                  p["escaped_linear"][i])))
_ = nb.show("stability_nn")

# %% [markdown]
# ## 5. Verdicts

# %%
_ = nb.verdicts()
