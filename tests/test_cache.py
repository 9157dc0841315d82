"""Numba's cache of kamsim's compiled code is renewed when any compiled source changes.

The batched engine inlines the model's equations (``model/rules.py``) into its
compiled loops; Numba alone would renew the cached loops only when their own module
changes, so an edited rule would run in the Mesa face and not in the engine. The
kamsim cache locator stamps every cached function with all compiled sources.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kamsim.engine import kernel
from kamsim.model import cache, market, rules
from kamsim.policies import budget


def test_kamsim_functions_use_the_kamsim_locator() -> None:
    """The engine's loops, the shared bookkeeping and the rules carry the kamsim stamp."""
    for fn in (kernel.end_quarter, market.record_quarter, rules.account_quarter,
               budget.keep_within_budget):  # fmt: skip
        locator = fn._cache._impl.locator
        assert isinstance(locator, cache._KamsimStamp), fn
        assert locator.get_source_stamp() == cache.source_stamp()


def test_stamp_changes_when_a_rule_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Editing model/rules.py (not the kernel's own file) changes every stamp."""
    root = Path(cache.__file__).resolve().parent.parent
    for package in cache.COMPILED_PACKAGES:
        shutil.copytree(
            root / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    monkeypatch.setattr(cache, "_ROOT", tmp_path)
    cache.source_stamp.cache_clear()
    try:
        before = cache.source_stamp()
        rules_py = tmp_path / "model" / "rules.py"
        rules_py.write_text(
            rules_py.read_text().replace("1.0 - p.trust_loss", "1.0 - 2 * p.trust_loss")
        )
        cache.source_stamp.cache_clear()
        assert cache.source_stamp() != before
    finally:
        cache.source_stamp.cache_clear()


def test_other_packages_keep_numbas_own_locators(tmp_path: Path) -> None:
    """A function outside kamsim is not given the kamsim stamp."""
    module = tmp_path / "elsewhere.py"
    module.write_text("def f():\n    return 1\n")
    assert cache._KamsimInTreeLocator.from_function(lambda: 1, str(module)) is None
    assert cache._KamsimUserDirLocator.from_function(lambda: 1, str(module)) is None
