"""Dropout and Dropout2d: inverted dropout, active in training mode only."""

from __future__ import annotations

from chainrule.nn import functional as F
from chainrule.nn.module import Module


class Dropout(Module):
    """Zero each element with probability `p` and scale the rest by 1 / (1 - p).

    Inverted dropout, as in PyTorch and CS231n: the scaling happens at training time,
    so in eval mode (``model.eval()``) the layer is the identity. Masks come from
    chainrule's generator (``cr.seed``).

        >>> import chainrule as cr
        >>> drop = cr.nn.Dropout(p=0.5)
        >>> x = cr.ones(1000)
        >>> cr.seed(0); y = drop(x)
        >>> sorted(set(y.data.tolist()))
        [0.0, 2.0]
        >>> drop.eval()(x) is x
        True
    """

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        if not 0 <= p <= 1:
            raise ValueError(f"{type(self).__name__}: p must be in [0, 1], got {p}")
        self.p = p

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        return F.dropout(x, self.p, training=True)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Dropout2d(Dropout):
    """Channel dropout: zero whole feature maps with probability `p` (`F.dropout2d`).

    For convolutional layers, whose neighbouring pixels are correlated: each (sample,
    channel) map is kept (scaled by 1 / (1 - p)) or zeroed as a whole. Identity in eval
    mode. x: (N, C, H, W) (a 3-d input is read as (N, C, L), as PyTorch does).

        >>> import chainrule as cr
        >>> cr.seed(0)
        >>> y = cr.nn.Dropout2d(0.5)(cr.ones(2, 8, 4, 4))
        >>> sorted(set(y.data.max(axis=(2, 3)).ravel().tolist()))
        [0.0, 2.0]
    """

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        return F.dropout2d(x, self.p, training=True)
