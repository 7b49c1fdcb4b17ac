"""dsgd: Distributed SGD -- nonconvexity, nonsmoothness, and convergence to local minima.

Swenson, Murray, Poor, Kar, JMLR 23(328), 2022 (arXiv 2003.02818). N agents on an undirected graph with Laplacian L
run x_n <- x_n - beta_k sum_{l~n}(x_n - x_l) - alpha_k (grad f_n(x_n) + xi_n) with alpha_k = c_a k^-tau_a,
beta_k = c_b k^-tau_b (1/2 < tau_a <= 1, 0 <= tau_b < tau_a - 1/2 [verify], c_b lambda_max(L) < 2).
Conventions: f(x) = mu (x_1^4/4 - x_1^2/2) + x_2^2/2 (saddle 0, minima (+-1, 0); mu = 1 unless stated), split as
f_n = f/N + c_n^T x with sum_n c_n = 0, so F = sum_n f_n = f and the average follows dx/dt = -(1/N) grad F in ODE time
t_k = sum_{j<=k} alpha_j (unstable rate mu/N at the saddle).
Claims: consensus and convergence to critical points of F (also nonsmooth); P(converge to a regular saddle) = 0 when
the noise excites the unstable directions, hence convergence to local minima.

The f_n = f/N split (PAPERS.md, corrected): the unstable rate is mu/N = 1/8 per unit of ODE time, so c_a = 0.2,
tau_a = 0.75 reach only t = 14.2 by K = 1e5 and few runs escape (the earlier "20/20 at c_a = 0.2" used f_n = f +
c_n^T x); the saddle experiments use c_a = 1, and the escape-time law (theory/distributed/escape.py) makes the rate
mu/N a measured quantity.
"""

from . import claims, experiments, figures  # noqa: F401
