"""kamsim: agent-based simulation of a supplier's portfolio of key accounts.

Relationships move through the four stages of key account management (tactical,
cooperative, interdependent, strategic) according to investment, trust and exit
costs. Two faces share one set of rules: :class:`KAMModel` (Mesa agents, for teaching
and inspection) and :func:`simulate` (a batched, compiled engine for Monte Carlo).
"""

from kamsim._version import __version__
from kamsim.agents import KAMModel, KeyAccount, Supplier
from kamsim.engine.results import Results
from kamsim.engine.simulate import replication_seeds, simulate
from kamsim.experiments import load_results, load_spec, run_experiment
from kamsim.model.params import ModelParams, ParameterError
from kamsim.model.state import EndCause, Stage
from kamsim.optimize import optimize
from kamsim.policies import POLICIES, Observation
from kamsim.policies import family as rule_family
from kamsim.portfolio import Portfolio, PortfolioError
from kamsim.sensitivity.run import sensitivity

__all__ = [
    "POLICIES",
    "EndCause",
    "KAMModel",
    "KeyAccount",
    "ModelParams",
    "Observation",
    "ParameterError",
    "Portfolio",
    "PortfolioError",
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
