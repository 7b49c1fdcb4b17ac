"""sharpness: why Adam converges faster than SGD on transformers (Pan & Li 2023, arXiv 2306.00204).

Conventions: the directional sharpness of an update u at x is u^T H u / ||u||^2 (H the loss Hessian on a fixed
batch); clipping is global top-fraction coordinate-wise clipping (sims.optim.clip). Claims: SGD's update direction is
far sharper than Adam's (and sign-like methods'), a few coordinates cause it, and coordinate-wise clipping lowers the
sharpness (and, the paper says, speeds convergence). The synthetic quadratic is computed exactly (theory).
"""

from . import claims, experiments, figures  # noqa: F401
