"""Sums in exactly NumPy's order, compiled (Numba).

NumPy reduces a contiguous axis by pairwise summation, so a plain loop can differ from
``np.sum`` in the last bits. The batched engine's record (:mod:`kamsim.engine.kernel`)
and the compiled budget check (:mod:`kamsim.policies.budget`) sum with these functions,
so their numbers have the same bits as NumPy's ``np.sum`` of the same values
(:func:`kamsim.model.market.record_quarter`, :func:`kamsim.policies.enforce_budget`).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from kamsim.model import cache as _cache  # noqa: F401  (kamsim-wide cache stamp)

__all__ = ["pairwise_sum"]


@njit(cache=True, error_model="numpy", inline="always")
def _block_sum(a: np.ndarray, k: int, lo: int, n: int) -> float:  # pragma: no cover
    """NumPy's sum of a block of n <= 128 elements, ``a[k, lo:lo + n]`` of a 2-d array.

    Below 8 elements a plain loop from 0.0; otherwise eight running sums combined as
    ``((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))`` plus the remainder.
    """
    if n < 8:
        res = 0.0
        for j in range(lo, lo + n):
            res += a[k, j]
        return res
    r0, r1, r2, r3 = a[k, lo], a[k, lo + 1], a[k, lo + 2], a[k, lo + 3]
    r4, r5, r6, r7 = a[k, lo + 4], a[k, lo + 5], a[k, lo + 6], a[k, lo + 7]
    j = lo + 8
    stop = lo + n - (n % 8)
    while j < stop:
        r0 += a[k, j]
        r1 += a[k, j + 1]
        r2 += a[k, j + 2]
        r3 += a[k, j + 3]
        r4 += a[k, j + 4]
        r5 += a[k, j + 5]
        r6 += a[k, j + 6]
        r7 += a[k, j + 7]
        j += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while j < lo + n:
        res += a[k, j]
        j += 1
    return res


@njit(cache=True, error_model="numpy")
def pairwise_sum(a: np.ndarray) -> float:  # pragma: no cover - compiled
    """Sum of a 1-d float array in exactly the order of NumPy's ``np.sum``.

    NumPy reduces a contiguous axis by pairwise summation: up to 128 elements one
    block (:func:`_block_sum`), above that the two halves (split at a multiple of 8)
    summed recursively. Reproducing it keeps the record and the budget check
    bit-identical to the quarter's record (:func:`kamsim.model.market.record_quarter`) and
    :func:`kamsim.policies.enforce_budget`.
    """
    n = a.shape[0]
    if n <= 128:
        return _block_sum(np.ascontiguousarray(a).reshape((1, n)), 0, 0, n)
    n2 = n // 2
    n2 -= n2 % 8
    return pairwise_sum(a[:n2]) + pairwise_sum(a[n2:])


@njit(cache=True, error_model="numpy", inline="always")
def _row_sum(a: np.ndarray, k: int, n: int) -> float:  # pragma: no cover - compiled
    """``pairwise_sum(a[k, :n])`` of a 2-d array, inlined for n <= 128 (no view)."""
    return _block_sum(a, k, 0, n) if n <= 128 else pairwise_sum(a[k, :n])
