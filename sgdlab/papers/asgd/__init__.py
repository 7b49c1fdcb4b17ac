"""asgd: accelerated vs plain SGD risk in overparameterized linear regression.

Li, Deng, Wu, Zhou, Gu (ICLR 2024, arXiv 2311.14222), with Zou, Wu, Braverman, Gu, Kakade (COLT 2021,
arXiv 2103.12692) as the SGD baseline. Everything that can be computed exactly is (``theory.linreg``: second-moment
recursions for Gaussian or general-kurtosis data with a diagonal covariance); Monte Carlo (``sims.linreg``) checks
the recursions.

Conventions: excess risk ``1/2 ||w - w*||_H^2``; ``w_t`` has seen ``t`` samples; the averaged iterate at ``N`` is
``mean(w_0, ..., w_{N-1})`` (Zou et al.'s); ASGD starts at ``w_0 = v_0``; SGD uses ASGD's short step ``delta``
("same delta"). The reference ASGD parameters are the AccSGD mapping of ``(lr = 1/(3 tr H), kappa = 200, xi = 5,
c = 0.7)``.

Claims in two lines: ASGD's bias decays faster than SGD's in the small-eigenvalue subspace and slower in the
large-eigenvalue one, while its variance is larger; averaged SGD stays below Zou et al.'s bound.
"""

from . import claims, experiments, figures  # noqa: F401
