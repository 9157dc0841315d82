"""Analysis of results: statistics with confidence intervals, metrics, tournaments.

:mod:`~kamsim.analysis.statistics` (summaries, paired comparisons and effects),
:mod:`~kamsim.analysis.metrics` (downside risk, concentration, dependency, whale
curve) and :mod:`~kamsim.analysis.tournament` (policy matchups). Nothing is imported
here.
"""
