"""Selecting gates: elementwise maximum and minimum (the max gate routes) and where."""

from __future__ import annotations

import numpy as np

from chainrule.gate import Gate, shape_of, sum_to, value
from chainrule.tensor import Tensor


def _route(g, x, y, x_wins: np.ndarray, needs) -> tuple:
    """Send g to whichever input won; a tie splits it evenly (as PyTorch and JAX do)."""
    tie = value(x) == value(y)
    dtype = np.result_type(g.dtype, np.float32)
    share_x = (x_wins + 0.5 * tie).astype(dtype)
    need_x, need_y = needs
    dx = sum_to(g * share_x, shape_of(x)) if need_x else None
    dy = sum_to(g * (1 - share_x), shape_of(y)) if need_y else None
    return dx, dy


class Maximum(Gate):
    """out = max(x, y) elementwise.   Shapes: broadcast.
    Backward: g goes to the larger input, half to each on a tie."""

    def forward(self, x, y):
        self.save(x, y)
        return np.maximum(x, y)

    def backward(self, g):
        x, y = self.saved
        return _route(g, x, y, value(x) > value(y), self.needs_input_grad)


class Minimum(Gate):
    """out = min(x, y) elementwise.   Shapes: broadcast.
    Backward: g goes to the smaller input, half to each on a tie."""

    def forward(self, x, y):
        self.save(x, y)
        return np.minimum(x, y)

    def backward(self, g):
        x, y = self.saved
        return _route(g, x, y, value(x) < value(y), self.needs_input_grad)


class Where(Gate):
    """out = x where cond else y.   Shapes: cond, x, y broadcast.
    Backward: dx = g where cond, dy = g where not cond."""

    def forward(self, cond, x, y):
        cond = np.asarray(cond)
        if cond.dtype != np.bool_:
            raise TypeError(f"where: cond must be boolean, got dtype {cond.dtype}")
        self.cond = cond
        self.shapes = (shape_of(x), shape_of(y))
        return np.where(cond, x, y)

    def backward(self, g):
        _, need_x, need_y = self.needs_input_grad
        x_shape, y_shape = self.shapes
        dx = sum_to(np.where(self.cond, g, 0), x_shape) if need_x else None
        dy = sum_to(np.where(self.cond, 0, g), y_shape) if need_y else None
        return None, dx, dy


def maximum(x, y) -> Tensor:
    """Elementwise maximum; on a tie each input gets half the gradient.

    >>> import chainrule as cr
    >>> x = cr.tensor([1.0, 5.0], requires_grad=True)
    >>> cr.maximum(x, 2.0).sum().backward()
    >>> x.grad
    Tensor([0., 1.], dtype=float32)
    """
    return Maximum._run(x, y)


def minimum(x, y) -> Tensor:
    """Elementwise minimum; on a tie each input gets half the gradient.

    >>> import chainrule as cr
    >>> x = cr.tensor([1.0, 2.0, 5.0], requires_grad=True)
    >>> cr.minimum(x, 2.0).sum().backward()
    >>> x.grad  # 2.0 ties with the constant and gets half
    Tensor([1. , 0.5, 0. ], dtype=float32)
    """
    return Minimum._run(x, y)


def where(cond, x, y) -> Tensor:
    """Pick from x where the boolean `cond` holds, else from y (broadcasting all three).

    >>> import chainrule as cr
    >>> x = cr.tensor([-1.0, 2.0])
    >>> cr.where(x > 0, x, 0.0)
    Tensor([0., 2.], dtype=float32)
    """
    if isinstance(cond, Tensor) and cond.requires_grad:
        raise TypeError("where: cond must be a boolean tensor, not one that requires grad")
    return Where.apply(cond, x, y)
