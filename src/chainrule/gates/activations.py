"""Activation gates: tanh, sigmoid, ReLU and its relatives, softplus.

Like the other elementwise gates (`chainrule.gates.elementwise`), they set
``self.saved = (...)`` directly, and write their numbers as 0-d arrays of the operand's
dtype (`chainrule.gates.scalars`): these are on the hot path of every network.
"""

from __future__ import annotations

import numpy as np

from chainrule.gate import Gate, value
from chainrule.gates.scalars import ONE, ZERO
from chainrule.tensor import Tensor


def stable_sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-x)) without overflow, on plain arrays."""
    # NOTE: exp(-|x|) is at most 1, so neither branch overflows; for x < 0 the
    # form z / (1 + z) keeps full relative precision where 1 / (1 + exp(-x)) would not.
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + z), z / (1 + z)).astype(x.dtype, copy=False)


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
        s = Sigmoid._run(x) if isinstance(x, Tensor) else stable_sigmoid(x)
        return (g * s,)


def tanh(x) -> Tensor:
    """Elementwise hyperbolic tangent; its gradient is 1 - tanh(x)**2.

    >>> import chainrule as cr
    >>> x = cr.tensor([0.0, 100.0], requires_grad=True)
    >>> cr.tanh(x).sum().backward()
    >>> x.grad.tolist()
    [1.0, 0.0]
    """
    return Tanh._run(x)


def sigmoid(x) -> Tensor:
    """Elementwise logistic sigmoid, one compound gate (stable for any x).

    >>> import chainrule as cr
    >>> cr.sigmoid(cr.tensor([0.0, -1000.0]))
    Tensor([0.5, 0. ], dtype=float32)
    """
    return Sigmoid._run(x)


def relu(x) -> Tensor:
    """Elementwise max(0, x): the gradient flows where x > 0 (ReLU'(0) = 0).

    >>> import chainrule as cr
    >>> x = cr.tensor([-1.0, 0.0, 2.0], requires_grad=True)
    >>> y = cr.relu(x)
    >>> y.sum().backward()
    >>> y.tolist(), x.grad.tolist()
    ([0.0, 0.0, 2.0], [0.0, 0.0, 1.0])
    """
    return ReLU._run(x)


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
    return Softplus._run(x)
