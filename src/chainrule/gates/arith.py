"""Arithmetic gates: + - * / ** and unary minus, with NumPy broadcasting.

Like the elementwise gates, they set ``self.saved = (...)`` where a user's gate calls
``self.save(...)``: the same tuple without a method call, which is a measurable part of
what a gate costs on small tensors (benchmarks/chain.py).
"""

from __future__ import annotations

import numpy as np

from chainrule.gate import Gate, shape_of, sum_to, value
from chainrule.tensor import Tensor


class Add(Gate):
    """out = x + y.   Shapes: broadcast.   Backward: dx = g, dy = g (the add gate distributes)."""

    passes_gradient = (True, True)
    __slots__ = ("shapes",)  # a slot, not an instance dict: on the hot path of every add

    def forward(self, x, y):
        # The shapes, for `sum_to` in backward; None when they are the same (neither was
        # broadcast, backward has nothing to undo). Inline, as shape_of: the call would
        # cost more than the add itself on small arrays.
        x_shape, y_shape = getattr(x, "shape", ()), getattr(y, "shape", ())
        self.shapes = None if x_shape == y_shape else (x_shape, y_shape)
        return x + y

    def backward(self, g):
        need_x, need_y = self.needs_input_grad
        if self.shapes is None:
            return (g if need_x else None, g if need_y else None)
        x_shape, y_shape = self.shapes
        return (sum_to(g, x_shape) if need_x else None, sum_to(g, y_shape) if need_y else None)


class Subtract(Gate):
    """out = x - y.   Shapes: broadcast.   Backward: dx = g, dy = -g."""

    passes_gradient = (True, False)
    __slots__ = ("shapes",)

    def forward(self, x, y):
        x_shape, y_shape = getattr(x, "shape", ()), getattr(y, "shape", ())  # as Add
        self.shapes = None if x_shape == y_shape else (x_shape, y_shape)
        return x - y

    def backward(self, g):
        need_x, need_y = self.needs_input_grad
        if self.shapes is None:
            return (g if need_x else None, -g if need_y else None)
        x_shape, y_shape = self.shapes
        return (sum_to(g, x_shape) if need_x else None, sum_to(-g, y_shape) if need_y else None)


class Multiply(Gate):
    """out = x * y.   Shapes: broadcast.
    Backward: dx = g * y, dy = g * x  (the mul gate switches)."""

    def forward(self, x, y):
        self.saved = (x, y)
        return x * y

    def backward(self, g):
        x, y = self.saved
        need_x, need_y = self.needs_input_grad
        dx = dy = None
        # sum_to only where the input was broadcast: the shape check inline, because
        # the calls cost more than the multiply itself on small tensors
        if need_x:
            dx = g * y
            if dx.shape != getattr(x, "shape", ()):
                dx = sum_to(dx, shape_of(x))
        if need_y:
            dy = g * x
            if dy.shape != getattr(y, "shape", ()):
                dy = sum_to(dy, shape_of(y))
        return dx, dy


class Divide(Gate):
    """out = x / y.   Shapes: broadcast.   Backward: dx = g / y, dy = -g * out / y."""

    def forward(self, x, y):
        out = x / y
        self.saved = (x, y, out)
        return out

    def backward(self, g):
        x, y, out = self.saved
        need_x, need_y = self.needs_input_grad
        dx = sum_to(g / y, shape_of(x)) if need_x else None
        dy = sum_to(-(g * out) / y, shape_of(y)) if need_y else None
        return dx, dy


class Power(Gate):
    """out = x ** y.   Shapes: broadcast.
    Backward: dx = g * y * x ** (y - 1), dy = g * out * log(x)  (taken as 0 where x == 0)."""

    def forward(self, x, y):
        out = x**y
        self.saved = (x, y, out)
        return out

    def backward(self, g):
        x, y, out = self.saved
        need_x, need_y = self.needs_input_grad
        dx = dy = None
        if need_x:
            # NOTE: where y == 0 the exponent y - 1 is replaced by 0, so that the gradient
            # is y * x**0 = 0 and not 0 * inf at x == 0.
            y_is_zero = value(y) == 0
            exponent = np.where(y_is_zero, 0, y - 1) if np.any(y_is_zero) else y - 1
            dx = sum_to(g * y * x**exponent, shape_of(x))
        if need_y:
            x_is_zero = value(x) == 0
            log_x = np.log(np.where(x_is_zero, 1, x)) if np.any(x_is_zero) else np.log(x)
            if isinstance(x, (int, float)):
                # NOTE: np.log of a Python number is a float64 NumPy scalar, which would
                # promote a float32 g; a Python float stays weakly typed (2.0 ** y).
                log_x = float(log_x)
            dy = sum_to(g * out * log_x, shape_of(y))
        return dx, dy


class Negative(Gate):
    """out = -x.   Backward: dx = -g."""

    def forward(self, x):
        return -x

    def backward(self, g):
        return (-g,)


def add(x, y) -> Tensor:
    """Elementwise ``x + y`` with broadcasting (also ``x + y``).

    >>> import chainrule as cr
    >>> cr.add(cr.tensor([1.0, 2.0]), 1.0)
    Tensor([2., 3.], dtype=float32)
    """
    return Add._run(x, y)


def subtract(x, y) -> Tensor:
    """Elementwise ``x - y`` with broadcasting (also ``x - y``).

    >>> import chainrule as cr
    >>> x = cr.tensor([5.0, 7.0], requires_grad=True)
    >>> y = cr.tensor(2.0, requires_grad=True)
    >>> cr.subtract(x, y).sum().backward()
    >>> x.grad.tolist(), y.grad.item()  # y was broadcast: its gradients add up
    ([1.0, 1.0], -2.0)
    """
    return Subtract._run(x, y)


def multiply(x, y) -> Tensor:
    """Elementwise ``x * y`` with broadcasting (also ``x * y``).

    >>> import chainrule as cr
    >>> x = cr.tensor(3.0, requires_grad=True)
    >>> y = cr.tensor(-4.0, requires_grad=True)
    >>> cr.multiply(x, y).backward()
    >>> x.grad.item(), y.grad.item()  # the mul gate switches its inputs
    (-4.0, 3.0)
    """
    return Multiply._run(x, y)


def divide(x, y) -> Tensor:
    """Elementwise ``x / y`` with broadcasting (also ``x / y``).

    >>> import chainrule as cr
    >>> x = cr.tensor(6.0, requires_grad=True)
    >>> y = cr.tensor(2.0, requires_grad=True)
    >>> cr.divide(x, y).backward()
    >>> x.grad.item(), y.grad.item()  # 1 / y and -x / y**2
    (0.5, -1.5)
    """
    return Divide._run(x, y)


def power(x, y) -> Tensor:
    """Elementwise ``x ** y`` with broadcasting (also ``x ** y``).

    >>> import chainrule as cr
    >>> cr.power(cr.tensor([2.0, 3.0]), 2)
    Tensor([4., 9.], dtype=float32)
    """
    return Power._run(x, y)


def negative(x) -> Tensor:
    """Elementwise ``-x``.

    >>> import chainrule as cr
    >>> x = cr.tensor([1.0, -2.0], requires_grad=True)
    >>> y = cr.negative(x)
    >>> y.sum().backward()
    >>> y.tolist(), x.grad.tolist()
    ([-1.0, 2.0], [-1.0, -1.0])
    """
    return Negative._run(x)
