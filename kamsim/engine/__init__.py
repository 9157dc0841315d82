"""The batched face: R markets stepped at once in compiled loops.

:mod:`~kamsim.engine.batch` holds the state and the quarter loop (:func:`run_batch`,
:func:`warm_up`), :mod:`~kamsim.engine.kernel` the compiled quarter,
:mod:`~kamsim.engine.simulate` :func:`kamsim.simulate` on either face and
:mod:`~kamsim.engine.results` the tidy :class:`~kamsim.engine.results.Results`.
"""

from kamsim.engine.batch import ensure_compiled, run_batch, warm_up

__all__ = ["ensure_compiled", "run_batch", "warm_up"]
