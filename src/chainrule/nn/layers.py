"""Basic layers: Linear, Maxout, Flatten, Identity."""

from __future__ import annotations

import math

import numpy as np

from chainrule import gates
from chainrule.mode import STATE
from chainrule.nn import functional as F
from chainrule.nn import init
from chainrule.nn.module import Module
from chainrule.nn.parameter import Parameter


def _empty(shape: tuple[int, ...], dtype) -> Parameter:
    dtype = STATE.default_dtype if dtype is None else np.dtype(dtype)
    return Parameter(np.empty(shape, dtype))


def _reset_affine(weight: Parameter, bias: Parameter | None) -> None:
    # PyTorch's Linear default: kaiming_uniform_(a=sqrt(5)) is U(-1/sqrt(fan_in), ...),
    # and the bias uses the same bound.
    init.kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        fan_in = weight.shape[1]
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
        init.uniform_(bias, -bound, bound)


class Linear(Module):
    """An affine layer: ``out = x @ weight.T + bias``.

    x: (..., in_features) -> out: (..., out_features). ``weight`` is
    ``(out_features, in_features)``, so ``W2 max(0, W1 x)`` reads as in the lecture.
    Weight and bias start as U(-1/sqrt(in_features), 1/sqrt(in_features)), PyTorch's
    default; `dtype` defaults to `cr.get_default_dtype()` (float32).

        >>> import chainrule as cr
        >>> fc = cr.nn.Linear(784, 256)
        >>> fc.weight.shape, fc.bias.shape
        ((256, 784), (256,))
        >>> fc(cr.randn(8, 784)).shape
        (8, 256)
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, dtype=None):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.weight = _empty((out_features, in_features), dtype)
        if bias:
            self.bias = _empty((out_features,), dtype)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw fresh weights with the default initialisation."""
        _reset_affine(self.weight, self.bias)

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )


class Maxout(Module):
    """Maxout (Goodfellow et al., 2013): the max of `pieces` affine functions per unit.

    ``out_k = max_j (w_kj . x + b_kj)``, the lecture's ``max(w1^T x + b1, w2^T x + b2)``
    for ``pieces=2``. Not in PyTorch. One Linear computes all the pieces:
    ``weight`` is ``(out_features * pieces, in_features)``, rows
    ``k * pieces ... k * pieces + pieces - 1`` being the pieces of unit k; it is
    initialised as a Linear of that size. x: (..., in_features) -> (..., out_features).
    A tie between pieces splits the gradient evenly (the max gate's rule).

        >>> import chainrule as cr
        >>> layer = cr.nn.Maxout(4, 3, pieces=2)
        >>> layer.weight.shape, layer(cr.randn(5, 4)).shape
        ((6, 4), (5, 3))
    """

    def __init__(
        self, in_features: int, out_features: int, pieces: int = 2, bias: bool = True, dtype=None
    ):
        super().__init__()
        if pieces < 1:
            raise ValueError(f"Maxout: pieces must be at least 1, got {pieces}")
        self.in_features = in_features
        self.out_features = out_features
        self.pieces = pieces
        self.weight = _empty((out_features * pieces, in_features), dtype)
        if bias:
            self.bias = _empty((out_features * pieces,), dtype)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw fresh weights with the Linear default initialisation."""
        _reset_affine(self.weight, self.bias)

    def forward(self, x):
        z = F.linear(x, self.weight, self.bias)
        z = gates.reshape(z, z.shape[:-1] + (self.out_features, self.pieces))
        return gates.max(z, axis=-1)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"pieces={self.pieces}, bias={self.bias is not None}"
        )


class Flatten(Module):
    """Flatten dimensions `start_dim` ... `end_dim` into one: (N, C, H, W) -> (N, C*H*W).

    >>> import chainrule as cr
    >>> cr.nn.Flatten()(cr.zeros(2, 3, 4, 5)).shape
    (2, 60)
    >>> cr.nn.Flatten(0, 1)(cr.zeros(2, 3, 4)).shape
    (6, 4)
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, x):
        shape = tuple(x.shape)
        ndim = max(len(shape), 1)
        start, end = self.start_dim, self.end_dim
        if not (-ndim <= start < ndim and -ndim <= end < ndim):
            raise IndexError(
                f"Flatten: start_dim={start}, end_dim={end} out of range for a {len(shape)}-d "
                f"input of shape {shape}"
            )
        start, end = start % ndim, end % ndim
        if start > end:
            raise ValueError(f"Flatten: start_dim {start} comes after end_dim {end}")
        if not shape:
            return gates.reshape(x, (1,))
        middle = math.prod(shape[start : end + 1])
        return gates.reshape(x, shape[:start] + (middle,) + shape[end + 1 :])

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split dimension `dim` into `unflattened_size`: (N, C*H*W) -> (N, C, H, W), the
    inverse of `Flatten` (a CNN fed with flat rows starts with one).

    >>> import chainrule as cr
    >>> cr.nn.Unflatten(1, (1, 8, 8))(cr.zeros(5, 64)).shape
    (5, 1, 8, 8)
    """

    def __init__(self, dim: int, unflattened_size) -> None:
        super().__init__()
        self.dim = dim
        self.unflattened_size = tuple(int(n) for n in unflattened_size)

    def forward(self, x):
        shape = tuple(x.shape)
        if not -len(shape) <= self.dim < len(shape):
            raise IndexError(f"Unflatten: dim={self.dim} out of range for input shape {shape}")
        dim = self.dim % len(shape)
        if math.prod(self.unflattened_size) != shape[dim]:
            raise ValueError(
                f"Unflatten: cannot split dimension {dim} of size {shape[dim]} (input shape "
                f"{shape}) into {self.unflattened_size}"
            )
        return gates.reshape(x, shape[:dim] + self.unflattened_size + shape[dim + 1 :])

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


class Identity(Module):
    """Returns its input unchanged (arguments are accepted and ignored, as in PyTorch).

    A placeholder where a model needs a layer that does nothing (no projection, say).

    >>> import chainrule as cr
    >>> x = cr.ones(2, 3)
    >>> cr.nn.Identity(54, unused="ignored")(x) is x
    True
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__()

    def forward(self, x):
        return x
