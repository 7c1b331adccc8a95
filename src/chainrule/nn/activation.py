"""Activation functions as modules, each calling its `chainrule.nn.functional` function.

>>> import chainrule as cr
>>> x = cr.tensor([-2.0, 0.0, 3.0])
>>> cr.nn.ReLU()(x)
Tensor([0., 0., 3.], dtype=float32)
>>> cr.nn.LeakyReLU(0.1)(x)
Tensor([-0.2,  0. ,  3. ], dtype=float32)
"""

from __future__ import annotations

from chainrule.nn import functional as F
from chainrule.nn.module import Module


class ReLU(Module):
    """max(0, x), elementwise (ReLU'(0) = 0)."""

    def forward(self, x):
        return F.relu(x)


class LeakyReLU(Module):
    """x if x > 0 else negative_slope * x."""

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x):
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class ELU(Module):
    """x if x > 0 else alpha * (exp(x) - 1)."""

    def __init__(self, alpha: float = 1.0) -> None:
        super().__init__()
        self.alpha = alpha

    def forward(self, x):
        return F.elu(x, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class Sigmoid(Module):
    """1 / (1 + exp(-x))."""

    def forward(self, x):
        return F.sigmoid(x)


class Tanh(Module):
    """tanh(x)."""

    def forward(self, x):
        return F.tanh(x)


class Softplus(Module):
    """log(1 + exp(beta * x)) / beta, computed stably.

    `threshold` is accepted for PyTorch compatibility: PyTorch switches to the identity
    above it, which the stable formula already matches to rounding.
    """

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta = beta
        self.threshold = threshold

    def forward(self, x):
        if self.beta == 1:
            return F.softplus(x)
        return F.softplus(x * self.beta) / self.beta

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class Softmax(Module):
    """exp(x) / sum(exp(x)) along `dim` (PyTorch's name for the axis)."""

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return F.softmax(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """x - logsumexp(x) along `dim`, computed stably."""

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return F.log_softmax(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"
