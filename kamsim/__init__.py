"""kamsim: agent-based simulation of a supplier's portfolio of key accounts.

Relationships move through the four stages of key account management (tactical,
cooperative, interdependent, strategic) according to investment, trust and exit
costs. Two faces share one set of rules: :class:`KAMModel` (Mesa agents, for teaching
and inspection) and :func:`simulate` (a batched, compiled engine for Monte Carlo).
"""

from kamsim import rule_family
from kamsim._version import __version__
from kamsim.agents import KeyAccount, Supplier
from kamsim.experiments import load_results, load_spec, run_experiment
from kamsim.model import KAMModel
from kamsim.optimize import optimize
from kamsim.params import ModelParams, ParameterError
from kamsim.policies import POLICIES, Observation
from kamsim.results import Results
from kamsim.rules import EndCause, Stage
from kamsim.sensitivity_analysis import sensitivity
from kamsim.simulation import replication_seeds, simulate

__all__ = [
    "POLICIES",
    "EndCause",
    "KAMModel",
    "KeyAccount",
    "ModelParams",
    "Observation",
    "ParameterError",
    "Results",
    "Stage",
    "Supplier",
    "__version__",
    "load_results",
    "load_spec",
    "optimize",
    "replication_seeds",
    "rule_family",
    "run_experiment",
    "sensitivity",
    "simulate",
]
