"""Plan your own portfolio: where next year's KAM budget should go (``kamsim plan``).

* :func:`plan` — simulate the team's portfolio (:class:`kamsim.Portfolio`) under
  candidate rules, choose the best on one set of replications and report it on
  another, and per account what it is likely to become (:mod:`kamsim.plan.run`);
* :func:`write_plan_report` — the report (HTML, Markdown) and ``plan.csv``
  (:mod:`kamsim.plan.report`).
"""

from kamsim.plan.report import write_plan_report
from kamsim.plan.run import PlanResult, plan

__all__ = ["PlanResult", "plan", "write_plan_report"]
