"""The ``kamsim`` command: a thin layer over the public functions.

:mod:`~kamsim.cli.main` holds the entry point (``kamsim = "kamsim.cli.main:main"``) and
the core subcommands, :mod:`~kamsim.cli.research` ``validate`` and ``sensitivity``,
:mod:`~kamsim.cli.common` what both share. Nothing is imported here.
"""
