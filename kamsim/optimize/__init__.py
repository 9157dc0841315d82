"""Policy search: find the investment rule that earns most at a stated risk.

* :mod:`kamsim.optimize.spec` reads and validates an optimisation spec (TOML);
* :mod:`kamsim.optimize.search` runs the search (Optuna over the rule family of
  :mod:`kamsim.policies.family`, on common random numbers), the held-out evaluation and
  the robustness check, resumably;
* :mod:`kamsim.optimize.report` writes the report (Findings first, every number
  held out).
"""

from kamsim.optimize.search import OptimizeResult, optimize
from kamsim.optimize.spec import OptimizeSpec, load_optimize_spec

__all__ = ["OptimizeResult", "OptimizeSpec", "load_optimize_spec", "optimize"]
