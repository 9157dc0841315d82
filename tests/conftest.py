"""Shared fixtures: a tiny experiment spec (as a dict) and its TOML file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SMOKE_SPEC = ROOT / "experiments" / "smoke.toml"


@pytest.fixture
def tiny_spec() -> dict[str, Any]:
    """A 4-cell spec with two work units per cell (CHUNK = 250 replications)."""
    return {
        "name": "tiny",
        "description": "two policies x two budgets",
        "replications": 260,
        "quarters": 6,
        "seed": 11,
        "factors": {
            "n_accounts": [4],
            "policy": ["none", "uniform"],
            "budget": [50.0, 80.0],
        },
        "params": {"hazard": 0.03},
    }


@pytest.fixture
def smoke_spec_path() -> Path:
    """Path of the shipped smoke-test spec."""
    return SMOKE_SPEC
