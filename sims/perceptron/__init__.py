"""The margin perceptron of noise_regimes: depleted-sign data and the exact event-driven SGD simulator."""
