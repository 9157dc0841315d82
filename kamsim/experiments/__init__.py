"""Experiments: declarative specs, a resumable runner (local processes or Dask), a store.

* :func:`load_spec` reads and validates a TOML spec (:mod:`kamsim.experiments.spec`);
* :func:`run_experiment` runs it (:mod:`kamsim.experiments.runner`);
* :func:`load_results` reads a results folder back (:mod:`kamsim.experiments.store`).
"""

from kamsim.experiments.runner import ExperimentError, run_experiment
from kamsim.experiments.spec import ExperimentSpec, SpecError, load_spec
from kamsim.experiments.store import StoreError, load_results

__all__ = [
    "ExperimentError",
    "ExperimentSpec",
    "SpecError",
    "StoreError",
    "load_results",
    "load_spec",
    "run_experiment",
]
