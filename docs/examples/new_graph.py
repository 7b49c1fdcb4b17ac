"""Rerun the dsgd consensus claim on another communication graph (a complete graph instead of the ring).

The complete graph on 8 agents has lambda_max(L) = 8, so the consensus step c_b = 0.3 of the ring would be unstable
(c_b lambda_max(L) >= 2): the engine refuses it with a ValueError saying so. Lower c_b with a second override.
CLI equivalent: python -m sgdlab verify --scale smoke --only dsgd.consensus_rate \
    --set dsgd.consensus.graph=complete --set dsgd.consensus.c_b=0.2
"""

from sgdlab import Context
from sgdlab.registry import REGISTRY
from sgdlab.verify import run_claims

ctx = Context(scale="smoke", overrides=["dsgd.consensus.graph=complete", "dsgd.consensus.c_b=0.2"])
ctx.validate_overrides()
(o,) = run_claims(REGISTRY.select_claims(["dsgd.consensus_rate"]), ctx)
print(f"{o.id} on graph {ctx.config('dsgd.consensus').graph!r}: {o.verdict}; {o.note[:200]}")
