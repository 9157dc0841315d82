"""Entry points the Mesa face calls from Python once per account or supplier and quarter.

Numba hands a NumPy record argument (the parameters ``p`` of
:func:`kamsim.model.state.compiled_params`) to compiled code through the buffer
protocol, which rebuilds the record's format string of some 70 fields at every call:
about 8 µs, thirty times an array argument, and the Mesa face makes such a call for
every account in every quarter. These wrappers take the one-element array that holds
the record instead (``params``, :func:`kamsim.model.state.params_array`) and hand
``params[0]`` to the rule of the same name. They contain no equation: each is the
rule it names (:mod:`kamsim.model.rules`, :mod:`kamsim.model.growth`,
:mod:`kamsim.model.judgement`). The market's functions (:mod:`kamsim.model.market`),
called once a quarter, take the record itself.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from kamsim.model import cache as _cache  # noqa: F401  (kamsim-wide cache stamp)
from kamsim.model import growth, judgement, rules

__all__ = [
    "account_quarter",
    "expected_growth",
    "is_disrupted",
    "potential_class",
    "renew_relationships",
    "supplier_efficiency",
]


@njit(cache=True, error_model="numpy")
def account_quarter(  # pragma: no cover - compiled
    ri: np.ndarray,
    rf: np.ndarray,
    af: np.ndarray,
    r: int,
    j0: int,
    j1: int,
    willing: np.ndarray,
    alloc: np.ndarray,
    efficiency: np.ndarray,
    disrupted: np.ndarray,
    downturn: float,
    key: np.uint64,
    i: int,
    params: np.ndarray,
    out_f: np.ndarray,
    out_i: np.ndarray,
    acc_out: np.ndarray,
) -> None:
    """:func:`kamsim.model.rules.account_quarter` with ``p = params[0]``."""
    rules.account_quarter(
        ri, rf, af, r, j0, j1, willing, alloc, efficiency, disrupted, downturn, key, i,
        params[0], out_f, out_i, acc_out,
    )  # fmt: skip


@njit(cache=True, error_model="numpy")
def renew_relationships(  # pragma: no cover - compiled
    ri: np.ndarray,
    rf: np.ndarray,
    r: int,
    j: int,
    wallet: float,
    key: np.uint64,
    q: int,
    params: np.ndarray,
    started: np.ndarray,
) -> None:
    """:func:`kamsim.model.rules.renew_relationships` with ``p = params[0]``."""
    rules.renew_relationships(ri, rf, r, j, wallet, key, q, params[0], started)


@njit(cache=True, error_model="numpy")
def is_disrupted(
    drawn: bool, k: int, q: int, params: np.ndarray
) -> bool:  # pragma: no cover - compiled
    """:func:`kamsim.model.rules.is_disrupted` with ``p = params[0]``."""
    return rules.is_disrupted(drawn, k, q, params[0])


@njit(cache=True, error_model="numpy")
def supplier_efficiency(
    ri: np.ndarray, r: int, k: int, params: np.ndarray
) -> float:  # pragma: no cover - compiled
    """:func:`kamsim.model.rules.supplier_efficiency` with ``p = params[0]``."""
    return rules.supplier_efficiency(ri, r, k, params[0])


@njit(cache=True, error_model="numpy")
def potential_class(
    potential: float, params: np.ndarray
) -> int:  # pragma: no cover - compiled
    """:func:`kamsim.model.judgement.potential_class` with ``p = params[0]``."""
    return judgement.potential_class(potential, params[0])


@njit(cache=True, error_model="numpy")
def expected_growth(
    wallet: float, potential: float, params: np.ndarray
) -> float:  # pragma: no cover - compiled
    """:func:`kamsim.model.growth.expected_growth` with ``p = params[0]``."""
    return growth.expected_growth(wallet, potential, params[0])
