"""Borrowed views: arrays that compiled loops hand to the inlined rules without refcounts.

The rules of :mod:`kamsim.model.rules` are inlined into the compiled loops that call
them (Numba ``inline="always"``), and Numba counts a reference for every array a
function receives: inlined into a loop over accounts, one account's rules take and
release a reference to each state array at every account, two atomic operations each
that also keep the processor from overlapping the account's loads and stores with
the next one's (twice the time of the arithmetic). A loop that owns its arrays for its
whole call hands the rules a *borrowed* view instead (:func:`borrowed`): the same data,
shape and strides, without the reference count, so the compiler drops the counting.

The parameters are one record read by every rule; the compiler cannot tell that the
loops' stores to the state arrays leave it unchanged, so it reads each parameter
again after every store. A loop hands the rules a copy on its own stack instead
(:func:`on_stack`): the same bytes, which no store to an array can reach, so each
parameter is read once per loop.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import numpy as np
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

__all__ = ["borrowed", "on_stack"]


@intrinsic
def _borrowed(typingctx: Any, arr: Any) -> Any:  # pragma: no cover - compiled
    """Typing and code of :func:`borrowed`: the array's fields, no meminfo or parent."""
    if not isinstance(arr, types.Array):
        return None

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        src = context.make_array(arr)(context, builder, value=args[0])
        view = context.make_array(arr)(context, builder)
        for name in ("nitems", "itemsize", "data", "shape", "strides"):
            setattr(view, name, getattr(src, name))
        view.meminfo = cgutils.get_null_value(view.meminfo.type)
        view.parent = cgutils.get_null_value(view.parent.type)
        return view._getvalue()

    return arr(arr), codegen


#: ``borrowed(arr)``: ``arr`` as a view without a reference count (compiled code
#: only). Valid while the caller holds ``arr``: use it inside the compiled function
#: that received ``arr`` (or for scratch its caller allocated), never return or keep it.
borrowed = cast(Callable[[np.ndarray], np.ndarray], _borrowed)


@intrinsic
def _on_stack(typingctx: Any, rec: Any) -> Any:  # pragma: no cover - compiled
    """Typing and code of :func:`on_stack`: the record's bytes copied to the stack."""
    if not isinstance(rec, types.Record):
        return None

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        data = context.data_model_manager[rec].get_data_type()
        copy = cgutils.alloca_once(builder, data)
        copy.align = 64
        size = context.get_constant(types.intp, rec.size)
        cgutils.raw_memcpy(builder, copy, args[0], size, 1)
        return copy

    return rec(rec), codegen


#: ``on_stack(p)``: a copy of the record ``p`` (the compiled parameters) in the calling
#: compiled function's stack frame, the same values bit for bit (compiled code only).
#: Valid until that function returns: hand it to the rules it calls, never return it.
on_stack = cast(Callable[[Any], Any], _on_stack)
