"""Indexing gates: x[index] and its adjoint, adding g into a zero tensor at the index."""

from __future__ import annotations

import numpy as np

from chainrule.errors import ShapeError
from chainrule.gate import Gate
from chainrule.tensor import Tensor

_BASIC = (int, np.integer, slice, type(None), type(Ellipsis))


def normalize_index(index):
    """The index with tensors and lists replaced by arrays (NumPy's indexing rules)."""
    items = index if isinstance(index, tuple) else (index,)
    result = []
    for item in items:
        if isinstance(item, Tensor):
            item = item.data
        elif isinstance(item, list):
            item = np.asarray(item)
        if isinstance(item, np.ndarray) and item.dtype.kind not in "biu":
            raise IndexError(f"getitem: index arrays must be integer or boolean, got {item.dtype}")
        result.append(item)
    return tuple(result)


def is_basic(index: tuple) -> bool:
    """True for ints, slices, None and Ellipsis only: each element is picked at most once."""
    return all(isinstance(item, _BASIC) for item in index)


def index_add(g, index: tuple, shape: tuple[int, ...]):
    """zeros(shape) with g added at `index` (repeats accumulate); arrays or Tensors."""
    if isinstance(g, Tensor):
        return IndexAdd.apply(g, index=index, shape=shape)
    out = np.zeros(shape, dtype=g.dtype)
    if is_basic(index):
        out[index] = g
    else:
        np.add.at(out, index, g)
    return out


class GetItem(Gate):
    """out = x[index]: ints, slices, None, Ellipsis, integer arrays, boolean masks.
    Backward: dx = zeros like x with g added at index (a repeated index accumulates)."""

    def forward(self, x, index):
        self.x_shape = x.shape
        self.index = index
        try:
            return x[index]
        except IndexError as error:
            raise IndexError(f"getitem: {error} (tensor of shape {x.shape})") from None

    def backward(self, g):
        return (index_add(g, self.index, self.x_shape),)


class IndexAdd(Gate):
    """out = zeros(shape) with x added at index (repeats accumulate).
    Backward: dx = g[index]."""

    def forward(self, x, index, shape):
        self.index = index
        out = np.zeros(shape, dtype=x.dtype)
        try:
            np.add.at(out, index, x)
        except (IndexError, ValueError) as error:
            raise ShapeError(f"index_add: {error} (values {x.shape}, target {shape})") from None
        return out

    def backward(self, g):
        return (g[self.index],)


def getitem(x, index) -> Tensor:
    """``x[index]`` with NumPy's rules; gradients of repeated indices add up.

    >>> import chainrule as cr
    >>> x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> x[[0, 0, 2]].sum().backward()
    >>> x.grad
    Tensor([2., 0., 1.], dtype=float32)
    """
    return GetItem.apply(x, index=normalize_index(index))
