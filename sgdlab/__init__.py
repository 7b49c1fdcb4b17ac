"""sgdlab: experiments, claims with verdicts, figures and reports over the ``theory`` and ``sims`` libraries.

Public API (see docs/EXTENDING.md): :func:`experiment`, :func:`claim`, :func:`figure`, :func:`by_scale`,
:class:`Context`, :class:`Verdict`, :mod:`sgdlab.style`, :mod:`sgdlab.seeding`, :class:`sgdlab.notebook.Session`.
"""

from . import seeding, style
from .context import Context
from .registry import REGISTRY, claim, experiment, figure, load_all
from .scales import SCALES, by_scale
from .specs import Tol
from .store import Result, ResultStore
from .verdict import Verdict

__all__ = [
    "REGISTRY", "SCALES", "Context", "Result", "ResultStore", "Tol", "Verdict", "by_scale", "claim", "experiment",
    "figure", "load_all", "seeding", "style",
]  # fmt: skip
__version__ = "0.1.0"
