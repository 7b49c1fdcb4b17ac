"""Change an existing analysis without editing code: the asgd claims on a faster-decaying spectrum (a = 3).

CLI equivalent: python -m sgdlab verify --scale smoke --only asgd.variance_larger asgd.crossover --set 'asgd.*.a=3'
"""

from sgdlab import Context
from sgdlab.registry import REGISTRY
from sgdlab.verify import run_claims

ctx = Context(scale="smoke", overrides={"asgd.*.a": 3.0})  # every asgd experiment whose config has a field `a`
ctx.validate_overrides()  # unknown fields or wrong types fail here, before anything runs
print("config used:", ctx.config("asgd.curves"))
for o in run_claims(REGISTRY.select_claims(["asgd.variance_larger", "asgd.crossover"]), ctx):
    print(f"{o.id}: {o.verdict} (expected at the embedded configs: {o.expected}); measured {o.measured}")
    print("   ", o.note[:160])
