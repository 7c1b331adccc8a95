"""Elementwise gates of one input: exp, log, the activations, clip and casts.

They set ``self.saved = (...)`` where a user's gate calls ``self.save(...)``: the same
tuple without a method call (see `chainrule.gates.arith`).
"""

from __future__ import annotations

import numpy as np

from chainrule.gate import Gate, shape_of, sum_to, value
from chainrule.gates.scalars import ONE, ZERO
from chainrule.tensor import Tensor


def stable_sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-x)) without overflow, on plain arrays."""
    # NOTE: exp(-|x|) is at most 1, so neither branch overflows; for x < 0 the
    # form z / (1 + z) keeps full relative precision where 1 / (1 + exp(-x)) would not.
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + z), z / (1 + z)).astype(x.dtype, copy=False)


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


# ----- activations -----


class Tanh(Gate):
    """out = tanh(x).   Backward: dx = g * (1 - out**2)."""

    def forward(self, x):
        out = np.tanh(x)
        self.saved = (out,)
        return out

    def backward(self, g):
        (out,) = self.saved
        return (g * (ONE[out.dtype] - out * out),)


class Sigmoid(Gate):
    """out = 1 / (1 + exp(-x)).   Backward: dx = g * out * (1 - out)  (the compound gate)."""

    def forward(self, x):
        out = stable_sigmoid(x)
        self.saved = (out,)
        return out

    def backward(self, g):
        (out,) = self.saved
        return (g * (out * (ONE[out.dtype] - out)),)


class ReLU(Gate):
    """out = max(0, x).   Backward: dx = g * (x > 0)  (ReLU'(0) = 0; the max gate routes)."""

    def forward(self, x):
        zero = ZERO[x.dtype]
        out = np.maximum(x, zero)
        # Saves where the output is positive, one byte an element, not the output: when
        # nothing else keeps the output (a pooling layer reads it and saves indices), the
        # mask is all of it that stays alive until backward. A constant under create_graph.
        self.saved = (out > zero,)
        return out

    def backward(self, g):
        (positive,) = self.saved
        return (g * positive,)


class LeakyReLU(Gate):
    """out = x if x > 0 else a * x.   Backward: dx = g if x > 0 else a * g."""

    def forward(self, x, negative_slope=0.01):
        self.saved = (x,)
        self.negative_slope = negative_slope
        return np.where(x > 0, x, x * negative_slope)

    def backward(self, g):
        (x,) = self.saved
        return (np.where(value(x) > 0, g, g * self.negative_slope),)


class ELU(Gate):
    """out = x if x > 0 else alpha * (exp(x) - 1).
    Backward: dx = g if x > 0 else g * (out + alpha)."""

    def forward(self, x, alpha=1.0):
        # expm1 of min(x, 0): accurate near 0 and never overflows for large x.
        out = np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))
        self.saved = (x, out)
        self.alpha = alpha
        return out

    def backward(self, g):
        x, out = self.saved
        return (np.where(value(x) > 0, g, g * (out + self.alpha)),)


class Softplus(Gate):
    """out = log(1 + exp(x)).   Backward: dx = g * sigmoid(x)."""

    def forward(self, x):
        self.saved = (x,)
        # NOTE: max(x, 0) + log1p(exp(-|x|)) equals log(1 + exp(x)) and never overflows.
        return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))

    def backward(self, g):
        (x,) = self.saved
        s = Sigmoid.apply(x) if isinstance(x, Tensor) else stable_sigmoid(x)
        return (g * s,)


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
    return Exp.apply(x)


def log(x) -> Tensor:
    """Elementwise natural logarithm; its gradient is 1 / x.

    >>> import chainrule as cr
    >>> x = cr.tensor([1.0, 4.0], requires_grad=True)
    >>> cr.log(x).sum().backward()
    >>> x.grad.tolist()
    [1.0, 0.25]
    """
    return Log.apply(x)


def sqrt(x) -> Tensor:
    """Elementwise square root; its gradient is 1 / (2 sqrt(x)).

    >>> import chainrule as cr
    >>> x = cr.tensor([4.0, 9.0], requires_grad=True)
    >>> y = cr.sqrt(x)
    >>> y.sum().backward()
    >>> y.tolist(), x.grad.tolist()
    ([2.0, 3.0], [0.25, 0.1666666716337204])
    """
    return Sqrt.apply(x)


def absolute(x) -> Tensor:
    """Elementwise |x|; its gradient is sign(x), 0 at 0.

    >>> import chainrule as cr
    >>> x = cr.tensor([-2.0, 0.0, 3.0], requires_grad=True)
    >>> cr.abs(x).sum().backward()
    >>> x.grad.tolist()
    [-1.0, 0.0, 1.0]
    """
    return Abs.apply(x)


abs = absolute  # noqa: A001  (NumPy offers both names)


def sin(x) -> Tensor:
    """Elementwise sine; its gradient is cos(x).

    >>> import chainrule as cr
    >>> x = cr.tensor([0.0], requires_grad=True)
    >>> cr.sin(x).sum().backward()
    >>> x.grad.tolist()
    [1.0]
    """
    return Sin.apply(x)


def cos(x) -> Tensor:
    """Elementwise cosine; its gradient is -sin(x).

    >>> import chainrule as cr
    >>> x = cr.tensor([0.0], requires_grad=True)
    >>> y = cr.cos(x)
    >>> y.sum().backward()
    >>> y.tolist(), x.grad.tolist()
    ([1.0], [-0.0])
    """
    return Cos.apply(x)


def tanh(x) -> Tensor:
    """Elementwise hyperbolic tangent; its gradient is 1 - tanh(x)**2.

    >>> import chainrule as cr
    >>> x = cr.tensor([0.0, 100.0], requires_grad=True)
    >>> cr.tanh(x).sum().backward()
    >>> x.grad.tolist()
    [1.0, 0.0]
    """
    return Tanh.apply(x)


def sigmoid(x) -> Tensor:
    """Elementwise logistic sigmoid, one compound gate (stable for any x).

    >>> import chainrule as cr
    >>> cr.sigmoid(cr.tensor([0.0, -1000.0]))
    Tensor([0.5, 0. ], dtype=float32)
    """
    return Sigmoid.apply(x)


def relu(x) -> Tensor:
    """Elementwise max(0, x): the gradient flows where x > 0 (ReLU'(0) = 0).

    >>> import chainrule as cr
    >>> x = cr.tensor([-1.0, 0.0, 2.0], requires_grad=True)
    >>> y = cr.relu(x)
    >>> y.sum().backward()
    >>> y.tolist(), x.grad.tolist()
    ([0.0, 0.0, 2.0], [0.0, 0.0, 1.0])
    """
    return ReLU.apply(x)


def leaky_relu(x, negative_slope: float = 0.01) -> Tensor:
    """Elementwise x if x > 0 else negative_slope * x (PyTorch's default slope).

    >>> import chainrule as cr
    >>> x = cr.tensor([-2.0, 3.0], requires_grad=True)
    >>> y = cr.leaky_relu(x, negative_slope=0.5)
    >>> y.sum().backward()
    >>> y.tolist(), x.grad.tolist()
    ([-1.0, 3.0], [0.5, 1.0])
    """
    return LeakyReLU.apply(x, negative_slope=negative_slope)


def elu(x, alpha: float = 1.0) -> Tensor:
    """Elementwise x if x > 0 else alpha * (exp(x) - 1).

    >>> import chainrule as cr
    >>> x = cr.tensor([0.0, 2.0], requires_grad=True)
    >>> cr.elu(x).sum().backward()
    >>> x.grad.tolist()
    [1.0, 1.0]
    """
    return ELU.apply(x, alpha=alpha)


def softplus(x) -> Tensor:
    """Elementwise log(1 + exp(x)), computed without overflow; its gradient is
    sigmoid(x).

    >>> import chainrule as cr
    >>> x = cr.tensor([0.0, 1000.0], requires_grad=True)
    >>> y = cr.softplus(x)
    >>> y.sum().backward()
    >>> [round(v, 4) for v in y.tolist()], x.grad.tolist()
    ([0.6931, 1000.0], [0.5, 1.0])
    """
    return Softplus.apply(x)


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
