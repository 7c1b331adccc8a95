"""Elementwise gates of one input: exp, log, powers, trigonometry, clip and casts
(the activations are in `chainrule.gates.activations`).

They set ``self.saved = (...)`` where a user's gate calls ``self.save(...)``: the same
tuple without a method call (see `chainrule.gates.arith`).
"""

from __future__ import annotations

import numpy as np

from chainrule.gate import Gate, shape_of, sum_to, value
from chainrule.tensor import Tensor

# ----- exponentials and powers -----


class Exp(Gate):
    """out = exp(x).   Backward: dx = g * out."""

    def forward(self, x):
        out = np.exp(x)
        self.saved = (out,)
        return out

    def backward(self, g):
        (out,) = self.saved
        return (g * out,)


class Log(Gate):
    """out = log(x).   Backward: dx = g / x."""

    def forward(self, x):
        self.saved = (x,)
        return np.log(x)

    def backward(self, g):
        (x,) = self.saved
        return (g / x,)


class Sqrt(Gate):
    """out = sqrt(x).   Backward: dx = g / (2 * out)."""

    def forward(self, x):
        out = np.sqrt(x)
        self.saved = (out,)
        return out

    def backward(self, g):
        (out,) = self.saved
        return (g / (2 * out),)


class Abs(Gate):
    """out = |x|.   Backward: dx = g * sign(x)  (0 at x == 0)."""

    def forward(self, x):
        self.saved = (x,)
        return np.abs(x)

    def backward(self, g):
        (x,) = self.saved
        return (g * np.sign(value(x)),)


# ----- trigonometric -----


class Sin(Gate):
    """out = sin(x).   Backward: dx = g * cos(x)."""

    def forward(self, x):
        self.saved = (x,)
        return np.sin(x)

    def backward(self, g):
        (x,) = self.saved
        return (g * np.cos(x),)


class Cos(Gate):
    """out = cos(x).   Backward: dx = -g * sin(x)."""

    def forward(self, x):
        self.saved = (x,)
        return np.cos(x)

    def backward(self, g):
        (x,) = self.saved
        return (-(g * np.sin(x)),)


# ----- clipping and casting -----


class Clip(Gate):
    """out = min(max(x, lo), hi).   Shapes: lo, hi broadcast against x (None: no bound).
    Backward: dhi = g where max(x, lo) > hi, dlo = g where x < lo elsewhere, dx = g
    where lo <= x <= hi."""

    def forward(self, x, lo, hi):
        if lo is None and hi is None:
            raise ValueError("clip: give at least one of lo and hi")
        self.saved = (x, lo, hi)
        out = np.clip(x, lo, hi)
        return out.astype(x.dtype, copy=False) if isinstance(x, np.ndarray) else out

    def backward(self, g):
        x, lo, hi = self.saved
        need_x, need_lo, need_hi = self.needs_input_grad
        xv = value(x)
        none = np.zeros(np.shape(xv), bool)
        # NOTE: where lo > hi the output is hi whatever x is (as np.clip and PyTorch's
        # clamp), so "above" is judged on max(x, lo) and wins over "below".
        lifted = np.maximum(xv, value(lo)) if lo is not None else xv
        above = lifted > value(hi) if hi is not None else none
        below = (xv < value(lo)) & ~above if lo is not None else none
        dx = sum_to(g * ~(below | above), shape_of(x)) if need_x else None
        dlo = sum_to(g * below, shape_of(lo)) if need_lo else None
        dhi = sum_to(g * above, shape_of(hi)) if need_hi else None
        return dx, dlo, dhi


class Cast(Gate):
    """out = x converted to another float dtype.   Backward: dx = g converted back."""

    def forward(self, x, dtype):
        self.dtype = x.dtype
        return x.astype(dtype)

    def backward(self, g):
        return (g.astype(self.dtype),)


def exp(x) -> Tensor:
    """Elementwise e**x.

    >>> import chainrule as cr
    >>> cr.exp(cr.tensor([0.0, 1.0]))
    Tensor([1.      , 2.718282], dtype=float32)
    """
    return Exp._run(x)


def log(x) -> Tensor:
    """Elementwise natural logarithm; its gradient is 1 / x.

    >>> import chainrule as cr
    >>> x = cr.tensor([1.0, 4.0], requires_grad=True)
    >>> cr.log(x).sum().backward()
    >>> x.grad.tolist()
    [1.0, 0.25]
    """
    return Log._run(x)


def sqrt(x) -> Tensor:
    """Elementwise square root; its gradient is 1 / (2 sqrt(x)).

    >>> import chainrule as cr
    >>> x = cr.tensor([4.0, 9.0], requires_grad=True)
    >>> y = cr.sqrt(x)
    >>> y.sum().backward()
    >>> y.tolist(), x.grad.tolist()
    ([2.0, 3.0], [0.25, 0.1666666716337204])
    """
    return Sqrt._run(x)


def absolute(x) -> Tensor:
    """Elementwise |x|; its gradient is sign(x), 0 at 0.

    >>> import chainrule as cr
    >>> x = cr.tensor([-2.0, 0.0, 3.0], requires_grad=True)
    >>> cr.abs(x).sum().backward()
    >>> x.grad.tolist()
    [-1.0, 0.0, 1.0]
    """
    return Abs._run(x)


abs = absolute  # noqa: A001  (NumPy offers both names)


def sin(x) -> Tensor:
    """Elementwise sine; its gradient is cos(x).

    >>> import chainrule as cr
    >>> x = cr.tensor([0.0], requires_grad=True)
    >>> cr.sin(x).sum().backward()
    >>> x.grad.tolist()
    [1.0]
    """
    return Sin._run(x)


def cos(x) -> Tensor:
    """Elementwise cosine; its gradient is -sin(x).

    >>> import chainrule as cr
    >>> x = cr.tensor([0.0], requires_grad=True)
    >>> y = cr.cos(x)
    >>> y.sum().backward()
    >>> y.tolist(), x.grad.tolist()
    ([1.0], [-0.0])
    """
    return Cos._run(x)


def clip(x, lo=None, hi=None) -> Tensor:
    """Limit x to [lo, hi]; `lo` and `hi` may be numbers, arrays or tensors (or None).

    The gradient reaches x where lo <= x <= hi (boundaries included, as PyTorch's clamp)
    and reaches lo (hi) where x is below (above) it.

        >>> import chainrule as cr
        >>> cr.clip(cr.tensor([-2.0, 0.5, 3.0]), 0.0, 1.0)
        Tensor([0. , 0.5, 1. ], dtype=float32)
    """
    return Clip.apply(x, lo, hi)


def astype(x, dtype) -> Tensor:
    """Convert to another dtype; float to float conversions pass gradients back (cast to
    the input's dtype).

    >>> import chainrule as cr
    >>> x = cr.tensor([1.5], requires_grad=True)
    >>> y = cr.astype(x, "float64")
    >>> (y * 2).sum().backward()
    >>> y.dtype, x.grad.dtype, x.grad.tolist()
    (dtype('float64'), dtype('float32'), [2.0])
    """
    return Cast.apply(x, dtype=np.dtype(dtype))
