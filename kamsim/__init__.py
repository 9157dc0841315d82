"""kamsim: agent-based simulation of a supplier's portfolio of key accounts.

Relationships move through the four stages of key account management (tactical,
cooperative, interdependent, strategic) according to investment, trust and exit
costs. Two faces share one set of rules: :class:`KAMModel` (Mesa agents, for teaching
and inspection) and :func:`simulate` (a batched NumPy engine for Monte Carlo).
"""

from kamsim.agents import KeyAccount, Supplier
from kamsim.model import KAMModel
from kamsim.params import ModelParams, ParameterError
from kamsim.policies import POLICIES, Observation
from kamsim.rules import EndCause, Stage

__version__ = "0.1.0"

__all__ = [
    "POLICIES",
    "EndCause",
    "KAMModel",
    "KeyAccount",
    "ModelParams",
    "Observation",
    "ParameterError",
    "Stage",
    "Supplier",
    "__version__",
]
