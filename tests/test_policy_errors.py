"""A policy that raises or returns garbage stops a run in one line."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import kamsim
from kamsim.policies import PolicyError


def _raises(obs, budget):
    if obs.quarter == 3:
        raise ZeroDivisionError("boom")
    return np.zeros(obs.active.shape)


def test_raising_policy_names_policy_and_quarter():
    """Simulate raises PolicyError naming the policy, the quarter and the exception."""
    with pytest.raises(PolicyError, match=r"raised in quarter 3: ZeroDivisionError: boom"):
        kamsim.simulate(policy=_raises, replications=4, quarters=6, keep_accounts=False)


def test_garbage_policy_names_the_quarter():
    """A policy returning None is refused with the quarter in the message."""
    with pytest.raises(PolicyError, match=r"returned None.*quarter 1"):
        kamsim.simulate(policy=lambda o, b: None, replications=2, quarters=3)


def test_guard_changes_no_number():
    """A user's policy gives the same numbers as the built-in it wraps."""

    def mine(obs, budget):
        return kamsim.POLICIES["uniform"](obs, budget)

    a = kamsim.simulate(policy=mine, replications=20, seed=2, keep_accounts=False)
    b = kamsim.simulate(policy="uniform", replications=20, seed=2, keep_accounts=False)
    assert np.array_equal(a.runs["npv_terminal"], b.runs["npv_terminal"])


def test_cli_os_system_is_one_line():
    """`kamsim simulate --policy os:system` prints one Error line, exit 2; --debug more."""
    cmd = [sys.executable, "-m", "kamsim", "simulate", "--policy", "os:system",
           "--replications", "4"]  # fmt: skip
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert p.returncode == 2
    # the only other line kamsim may print is the one-time notice that it compiles
    lines = [x for x in p.stderr.splitlines() if x.strip() and not x.startswith("kamsim:")]
    assert len(lines) == 1 and "Traceback" not in p.stderr, p.stderr
    assert "policy 'os:system' raised in quarter 1: TypeError" in lines[0]
    d = subprocess.run([*cmd, "--debug"], capture_output=True, text=True, timeout=300)
    assert d.returncode == 2 and "Traceback" in d.stderr
