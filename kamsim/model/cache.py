"""Numba's on-disk cache of kamsim's compiled code, renewed when any of it changes.

Numba caches a compiled function beside its module and renews it when *that module's*
source changes; it does not notice a change in another module whose functions it
calls or inlines. kamsim's compiled loops (``engine/kernel.py``, ``model/market.py``)
inline the model's equations from ``model/rules.py``, so after an edit of one rule
the batched engine would otherwise keep running the old rule from its cache while the
Mesa face, which calls the rule directly, ran the new one. This module registers a
cache locator for kamsim's own modules whose source stamp is a hash of *all* of
kamsim's compiled sources (every module of ``model/``, ``engine/`` and ``policies/``):
change any of them and every cached kamsim function is compiled afresh on its next
use (about 15 s), in both faces alike. Other packages' caches are not affected, and
``NUMBA_CACHE_DIR`` is honoured.

Every module that compiles with ``cache=True`` imports this one first.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from numba import njit
from numba.core import caching

__all__ = ["COMPILED_PACKAGES", "rule", "source_stamp"]

#: The folders of kamsim whose modules hold (or are inlined into) compiled code.
COMPILED_PACKAGES = ("model", "engine", "policies")

_ROOT = Path(__file__).resolve().parent.parent


@functools.cache
def source_stamp() -> str:
    """SHA-256 of the sources of every module in :data:`COMPILED_PACKAGES`."""
    digest = hashlib.sha256()
    for package in COMPILED_PACKAGES:
        for path in sorted((_ROOT / package).glob("*.py")):
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _ours(py_file: str) -> bool:
    try:
        Path(py_file).resolve().relative_to(_ROOT)
    except (ValueError, OSError):
        return False
    return True


class _KamsimStamp:
    """A locator mixin: the source stamp covers all of kamsim's compiled sources."""

    def get_source_stamp(self) -> Any:
        return source_stamp()


class _KamsimUserDirLocator(_KamsimStamp, caching.UserProvidedCacheLocator):
    """kamsim's functions when ``NUMBA_CACHE_DIR`` is set."""

    @classmethod
    def from_function(cls, py_func: Any, py_file: str) -> Any:
        return super().from_function(py_func, py_file) if _ours(py_file) else None


class _KamsimInTreeLocator(_KamsimStamp, caching.InTreeCacheLocator):
    """kamsim's functions, cached in ``__pycache__`` beside their modules."""

    @classmethod
    def from_function(cls, py_func: Any, py_file: str) -> Any:
        return super().from_function(py_func, py_file) if _ours(py_file) else None


def _register() -> None:
    locators = caching.CacheImpl._locator_classes
    for cls in (_KamsimInTreeLocator, _KamsimUserDirLocator):  # user dir first
        if cls not in locators:
            locators.insert(0, cls)


_register()


def rule(fn: Callable[..., Any]) -> Any:
    """Compile a model equation with the project's Numba options.

    Cached (with this module's stamp), IEEE arithmetic (``error_model="numpy"``, no
    fast-math) and inlined into its callers (``inline="always"``), so the loops of
    both faces compile the same operations.
    """
    return njit(cache=True, error_model="numpy", inline="always")(fn)
