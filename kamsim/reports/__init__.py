"""Reports of experiments: findings, figures, documents and number formats.

:mod:`~kamsim.reports.experiment` writes one experiment's report from its parts:
:mod:`~kamsim.reports.findings` (the Findings in words),
:mod:`~kamsim.reports.figures` and :mod:`~kamsim.reports.plots` (matplotlib),
:mod:`~kamsim.reports.document` (Markdown and HTML) and
:mod:`~kamsim.reports.formatting` (numbers). Nothing is imported here.
"""
