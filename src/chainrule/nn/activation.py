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
    """max(0, x), elementwise (ReLU'(0) = 0); any shape.

    >>> import chainrule as cr
    >>> cr.nn.ReLU()(cr.tensor([-1.0, 0.0, 2.0]))
    Tensor([0., 0., 2.], dtype=float32)
    """

    def forward(self, x):
        return F.relu(x)


class LeakyReLU(Module):
    """x if x > 0 else negative_slope * x, elementwise.

    >>> import chainrule as cr
    >>> cr.nn.LeakyReLU(0.1)(cr.tensor([-1.0, 0.0, 2.0]))
    Tensor([-0.1,  0. ,  2. ], dtype=float32)
    """

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x):
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class ELU(Module):
    """x if x > 0 else alpha * (exp(x) - 1), elementwise.

    >>> import chainrule as cr
    >>> cr.nn.ELU()(cr.tensor([-1.0, 0.0, 2.0]))  # exp(-1) - 1 = -0.632...
    Tensor([-0.63212055,  0.        ,  2.        ], dtype=float32)
    """

    def __init__(self, alpha: float = 1.0) -> None:
        super().__init__()
        self.alpha = alpha

    def forward(self, x):
        return F.elu(x, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class Sigmoid(Module):
    """1 / (1 + exp(-x)), elementwise, without overflow for large |x|.

    >>> import chainrule as cr
    >>> cr.nn.Sigmoid()(cr.tensor([0.0, 100.0]))
    Tensor([0.5, 1. ], dtype=float32)
    """

    def forward(self, x):
        return F.sigmoid(x)


class Tanh(Module):
    """tanh(x), elementwise.

    >>> import chainrule as cr
    >>> cr.nn.Tanh()(cr.tensor([0.0, 100.0]))
    Tensor([0., 1.], dtype=float32)
    """

    def forward(self, x):
        return F.tanh(x)


class Softplus(Module):
    """log(1 + exp(beta * x)) / beta, computed stably.

    `threshold` is accepted for PyTorch compatibility: PyTorch switches to the identity
    above it, which the stable formula already matches to rounding.

    >>> import chainrule as cr
    >>> cr.nn.Softplus()(cr.tensor([0.0, 100.0]))  # log 2, then the identity
    Tensor([  0.6931472, 100.       ], dtype=float32)
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
    """exp(x) / sum(exp(x)) along `dim` (PyTorch's name for the axis), stable for any logits.

    >>> import chainrule as cr
    >>> cr.nn.Softmax(dim=1)(cr.tensor([[0.0, 0.0], [1e8, 0.0]]))
    Tensor([[0.5, 0.5],
            [1. , 0. ]], dtype=float32)
    """

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return F.softmax(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """x - logsumexp(x) along `dim`, computed stably.

    >>> import chainrule as cr
    >>> cr.nn.LogSoftmax(dim=-1)(cr.zeros(4))  # log(1/4) each
    Tensor([-1.3862944, -1.3862944, -1.3862944, -1.3862944], dtype=float32)
    """

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return F.log_softmax(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"
