"""signround: optimize weight rounding via signed gradient descent (Cheng et al., Intel; reference auto-round 0.16.1).

Conventions: weight-only fake quantisation of every nn.Linear inside the transformer blocks (embeddings and the tied
head stay in full precision, as auto-round leaves lm_head), asymmetric, group size g along the input dimension (-1:
per output channel), b bits; V is the rounding offset added before rounding; block loss = MSE of the quantised block
on quantised inputs vs the full-precision block on full-precision inputs; validation loss in nats per byte.
Claims: tuning V and the clip factors by signed gradient descent beats round-to-nearest at W2-W4 (more so at fewer
bits) with |V| <= 1/2 unclamped; the signed step is compared with Adam at equal steps.
"""

from . import claims, experiments, figures  # noqa: F401
