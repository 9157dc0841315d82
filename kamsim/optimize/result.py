"""The outcome of a policy search: the chosen rule, the trials, the held-out runs.

:class:`OptimizeResult` is what :func:`kamsim.optimize` returns and what the report
(:mod:`kamsim.optimize.report`) reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from kamsim.optimize.spec import OptimizeSpec
from kamsim.policies.family import ScoreRule

__all__ = ["CHOSEN", "FORMAT", "STUDY_FILE", "OptimizeResult"]

#: Format tag of a search folder's manifest.
FORMAT = "kamsim-optimize/1"
#: File of Optuna's storage inside the search folder.
STUDY_FILE = "study.db"
#: Name of the chosen rule in results (the held-out and robustness runs).
CHOSEN = "optimized rule"


@dataclass
class OptimizeResult:
    """What a search produced (all numbers in ``heldout`` and ``robustness`` held out).

    Attributes:
        spec: the validated spec.
        rule: the chosen rule.
        rules: with two objectives, the Pareto rules held out (the chosen one first).
        trials: one row per trial: number, parameters, training outputs.
        heldout: runs of the held-out evaluation (policy column: rule or built-in).
        robustness: runs of the robustness check (``design`` = ``rival`` or ``params``).
        folder: the search folder (None when run in memory).
        meta: the manifest.
    """

    spec: OptimizeSpec
    rule: ScoreRule
    rules: list[ScoreRule]
    trials: pd.DataFrame
    heldout: pd.DataFrame
    robustness: pd.DataFrame
    folder: Path | None
    meta: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------- trials
