"""Global sensitivity analysis (SALib): spec, run and analysis, report.

:mod:`~kamsim.sensitivity.spec` reads a study's TOML, :mod:`~kamsim.sensitivity.run`
runs it through the experiment runner and analyses it (:func:`kamsim.sensitivity`),
:mod:`~kamsim.sensitivity.report` writes its report. Nothing is imported here.
"""
