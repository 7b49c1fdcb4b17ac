"""Linear regression with a diagonal covariance: exact SGD/ASGD risk recursions, averaging, bounds, parameters."""
