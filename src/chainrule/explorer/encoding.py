"""Arrays as the explorer's page carries them: exact numbers in a compact text form.

Each number is written in the shortest form that reads back to the same value of its
dtype (``str`` of a NumPy scalar: float32 ``0.1`` stays ``0.1``, not
``0.10000000149011612``), so that what the page shows can be compared exactly with
the engine's arrays, and the page stays small. ``NaN``, ``Infinity`` and
``-Infinity`` are spelled as JavaScript's ``Number()`` reads them. Booleans are 1 and 0.
A tensor of more than `limit` elements carries only its shape and statistics.
"""

from __future__ import annotations

import numpy as np

#: Elements of a tensor whose every number goes into the page; bigger ones are summarised.
MAX_EMBEDDED = 10_000

_SPECIAL = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}


def number_text(x) -> str:
    """The shortest text that reads back (in its dtype) to `x`; JavaScript spelling.

    >>> import numpy as np
    >>> number_text(np.float32(0.1)), number_text(np.float64(-0.0)), number_text(np.inf)
    ('0.1', '-0.0', 'Infinity')
    >>> number_text(np.True_), number_text(np.int64(7))
    ('1', '7')
    """
    if isinstance(x, (bool, np.bool_)):
        return "1" if x else "0"
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    text = str(x) if isinstance(x, np.floating) else repr(float(x))
    return _SPECIAL.get(text, text)


def encode(array, limit: int = MAX_EMBEDDED) -> dict:
    """An array as the page's JSON holds it: shape, dtype, statistics and, when it has at
    most `limit` elements, its numbers in C order, comma-separated.

    >>> import numpy as np
    >>> encode(np.array([[1.5, -2.0]], dtype=np.float32))
    {'shape': [1, 2], 'dtype': 'float32', 'min': -2.0, 'max': 1.5, 'mean': -0.25, \
'data': '1.5,-2.0'}
    >>> encode(np.zeros(5), limit=4)["data"] is None
    True
    """
    a = np.asarray(array)
    if a.dtype.kind not in "biuf":
        raise TypeError(f"explore: cannot show an array of dtype {a.dtype}; expected numbers")
    numeric = a.astype(np.float64) if a.dtype.kind == "b" else a
    finite = numeric[np.isfinite(numeric)] if numeric.dtype.kind == "f" else numeric
    stats = {"min": None, "max": None, "mean": None}
    if finite.size:
        stats = {
            "min": float(finite.min()),
            "max": float(finite.max()),
            "mean": float(finite.mean(dtype=np.float64)),
        }
    data = None
    if a.size <= limit:
        # float16/32 scalars print their own shortest form; Python's floats and ints do.
        narrow = a.dtype.kind == "f" and a.dtype != np.float64
        items = a.ravel() if narrow else a.ravel().tolist()
        data = ",".join(map(number_text, items))
    return {"shape": list(a.shape), "dtype": str(a.dtype), **stats, "data": data}
