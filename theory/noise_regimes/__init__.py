"""Theory of the noise_regimes setting: the margin perceptron on depleted-sign data, and the power-law fits."""
