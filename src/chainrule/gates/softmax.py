"""Softmax gates: probabilities and log-probabilities along an axis."""

from __future__ import annotations

import numpy as np

from chainrule.gate import Gate
from chainrule.gates.reduce import normalize_axis
from chainrule.tensor import Tensor


class Softmax(Gate):
    """out = exp(x) / sum(exp(x)) along axis.
    Backward: dx = out * (g - sum(g * out, axis))."""

    def forward(self, x, axis=-1):
        (self.axis,) = normalize_axis("softmax", axis, x.ndim)
        # NOTE: subtracting the max makes every exponent <= 0: no overflow, and the
        # largest term is exactly 1, so the sum is never 0 (exact for logits of 1e8).
        e = np.exp(x - np.max(x, axis=self.axis, keepdims=True))
        out = e / np.sum(e, axis=self.axis, keepdims=True)
        self.save(out)
        return out

    def backward(self, g):
        (out,) = self.saved
        return (out * (g - (g * out).sum(axis=self.axis, keepdims=True)),)


class LogSoftmax(Gate):
    """out = x - logsumexp(x) along axis.
    Backward: dx = g - exp(out) * sum(g, axis)."""

    def forward(self, x, axis=-1):
        (self.axis,) = normalize_axis("log_softmax", axis, x.ndim)
        # NOTE: x - max - log(sum(exp(x - max))) never overflows and keeps the exact
        # difference of large logits, where log(softmax(x)) would underflow to -inf.
        shifted = x - np.max(x, axis=self.axis, keepdims=True)
        out = shifted - np.log(np.sum(np.exp(shifted), axis=self.axis, keepdims=True))
        self.save(out)
        return out

    def backward(self, g):
        (out,) = self.saved
        return (g - np.exp(out) * g.sum(axis=self.axis, keepdims=True),)


def softmax(x, axis: int = -1) -> Tensor:
    """Softmax along `axis` (probabilities that sum to 1), stable for any logits.

    >>> import chainrule as cr
    >>> cr.softmax(cr.tensor([1e8, 1e8 + 1.0, 0.0]))
    Tensor([0.5, 0.5, 0. ], dtype=float32)
    """
    return Softmax.apply(x, axis=axis)


def log_softmax(x, axis: int = -1) -> Tensor:
    """Log of the softmax along `axis`, exact and finite for large logits.

    >>> import chainrule as cr
    >>> cr.log_softmax(cr.tensor([0.0, 0.0]))  # log(1/2) each
    Tensor([-0.6931472, -0.6931472], dtype=float32)
    >>> cr.log_softmax(cr.tensor([1000.0, 0.0]))  # no overflow, no log(0)
    Tensor([    0., -1000.], dtype=float32)
    """
    return LogSoftmax.apply(x, axis=axis)
