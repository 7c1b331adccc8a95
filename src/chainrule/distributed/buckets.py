"""Buckets: the parameters' gradients packed into a few flat arrays, one message each.

One ``Allreduce`` per parameter would pay MPI's latency (microseconds on one machine,
tens across a network) once per tensor; one message for the whole model could not
start before the last gradient is known. Buckets sit in between, as in PyTorch's DDP
and Horovod's tensor fusion: parameters of one dtype, taken in reverse order of
registration (roughly the order in which backward finishes their gradients), fill a
bucket up to `cap_bytes`; a parameter larger than that gets a bucket of its own.

A bucket's flat array holds, after the gradients, one *presence* slot per parameter
(1 where this rank has a gradient for it) and one *weight* slot (how much this rank's
gradients count: its batch size). After the sum over ranks, a parameter whose
presence is 0 got no gradient anywhere and gets none; the others are divided by the
summed weight. Everything needed travels in the same message.
"""

from __future__ import annotations

import numpy as np


class Bucket:
    """The parameters of one message, their offsets in `flat`, and `flat` itself."""

    def __init__(self, params: list) -> None:
        self.params = params
        self.dtype = params[0].data.dtype
        self.offsets = np.cumsum([0] + [p.data.size for p in params]).tolist()
        size = self.offsets[-1]
        self.presence = slice(size, size + len(params))
        self.weight = size + len(params)
        self.flat = np.zeros(size + len(params) + 1, self.dtype)

    def slot(self, i: int) -> np.ndarray:
        """Parameter `i`'s part of `flat`, shaped like the parameter."""
        return self.flat[self.offsets[i] : self.offsets[i + 1]].reshape(self.params[i].shape)

    @property
    def nbytes(self) -> int:
        return self.flat.nbytes


def plan_buckets(params: list, cap_bytes: int) -> list[Bucket]:
    """Group `params` into buckets of one dtype and at most `cap_bytes` of gradients each.

    >>> import chainrule as cr
    >>> from chainrule.distributed.buckets import plan_buckets
    >>> model = cr.nn.Sequential(cr.nn.Linear(100, 50), cr.nn.Linear(50, 10))
    >>> [[p.shape for p in b.params] for b in plan_buckets(list(model.parameters()), 4096)]
    [[(10,), (10, 50), (50,)], [(50, 100)]]
    """
    by_dtype: dict[np.dtype, list] = {}
    for p in reversed(params):
        by_dtype.setdefault(p.data.dtype, []).append(p)
    buckets = []
    for group in by_dtype.values():
        current, size = [], 0
        for p in group:
            if current and size + p.data.nbytes > cap_bytes:
                buckets.append(Bucket(current))
                current, size = [], 0
            current.append(p)
            size += p.data.nbytes
        buckets.append(Bucket(current))
    return buckets


def through_flat(tensors: list, collective) -> None:
    """Pack the tensors' values into one flat array per dtype, run ``collective(flat)``
    (in place: a broadcast, a mean), and copy the result back into the tensors.

        >>> import numpy as np
        >>> import chainrule as cr
        >>> from chainrule.distributed.buckets import through_flat
        >>> a, b = cr.tensor([1.0, 2.0]), cr.tensor([[3.0]])
        >>> through_flat([a, b], lambda flat: np.multiply(flat, 10, out=flat))
        >>> a, b
        (Tensor([10., 20.], dtype=float32), Tensor([[30.]], dtype=float32))
    """
    by_dtype: dict[np.dtype, list] = {}
    for t in tensors:
        by_dtype.setdefault(t.data.dtype, []).append(t)
    for group in by_dtype.values():
        flat = np.concatenate([t.data.ravel() for t in group])
        collective(flat)
        start = 0
        for t in group:
            t.data[...] = flat[start : start + t.data.size].reshape(t.data.shape)
            start += t.data.size
