"""Numbers as 0-d arrays of an operand's dtype, for the formulas of the hot gates.

A Python number in a NumPy call (``1 - out * out``) is a "weak" scalar, which NumPy
converts to the other operand's dtype on every call (NEP 50): on a small array that costs
about as much as the arithmetic. A 0-d array of the operand's dtype holds the same value,
converted once, so the result is bitwise the same and the call cheaper
(``ONE[out.dtype] - out * out``). The arrays are shared: never write into them.
"""

from __future__ import annotations

import numpy as np


class _ByDtype(dict):
    """``value`` as a 0-d array, one per dtype, made on first use."""

    def __init__(self, value) -> None:
        super().__init__()
        self.value = value

    def __missing__(self, dtype) -> np.ndarray:
        array = self[dtype] = np.array(self.value, dtype)
        array.flags.writeable = False
        return array


ZERO = _ByDtype(0)
ONE = _ByDtype(1)
