"""The Mesa face: one market with real ``Supplier`` and ``KeyAccount`` agents.

:mod:`~kamsim.agents.agents` holds the agents, :mod:`~kamsim.agents.model` the
:class:`KAMModel` that steps them; both call the rules of :mod:`kamsim.model.rules`.
"""

from kamsim.agents.agents import KeyAccount, Supplier
from kamsim.agents.model import KAMModel

__all__ = ["KAMModel", "KeyAccount", "Supplier"]
