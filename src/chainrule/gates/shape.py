"""Shape gates: reshape, transpose, broadcast, concatenate, pad, and compositions of them."""

from __future__ import annotations

import numpy as np

from chainrule.errors import ShapeError
from chainrule.gate import Gate, sum_to
from chainrule.gates.reduce import normalize_axis
from chainrule.tensor import Tensor


class Reshape(Gate):
    """out = x with a new shape (same elements, C order).   Backward: dx = g reshaped back."""

    def forward(self, x, shape):
        self.x_shape = x.shape
        try:
            return x.reshape(shape)
        except ValueError:
            raise ShapeError(
                f"reshape: cannot reshape shape {x.shape} ({x.size} elements) into {tuple(shape)}"
            ) from None

    def backward(self, g):
        return (g.reshape(self.x_shape),)


class Transpose(Gate):
    """out = x with its axes permuted (reversed when axes is None).
    Backward: dx = g permuted by the inverse permutation."""

    def forward(self, x, axes=None):
        if axes is not None and sorted(int(a) % max(x.ndim, 1) for a in axes) != list(
            range(x.ndim)
        ):
            raise ShapeError(
                f"transpose: axes {tuple(axes)} are not a permutation of the "
                f"{x.ndim} axes of shape {x.shape}"
            )
        self.inverse = None if axes is None else tuple(np.argsort([a % x.ndim for a in axes]))
        return np.transpose(x, axes)

    def backward(self, g):
        return (g.transpose(self.inverse),)


class BroadcastTo(Gate):
    """out = x broadcast to `shape`.   Backward: dx = g summed back to x's shape."""

    def forward(self, x, shape):
        self.x_shape = x.shape
        try:
            return np.broadcast_to(x, shape)
        except ValueError:
            raise ShapeError(
                f"broadcast_to: cannot broadcast shape {x.shape} to {tuple(shape)}"
            ) from None

    def backward(self, g):
        return (sum_to(g, self.x_shape),)


class Concatenate(Gate):
    """out = the inputs joined along axis.   Backward: each input gets its slice of g."""

    def forward(self, *xs, axis=0):
        if not xs:
            raise ValueError("concatenate: needs at least one tensor")
        ndim = xs[0].ndim
        if ndim == 0:
            raise ShapeError("concatenate: 0-d tensors cannot be concatenated (use stack)")
        (self.axis,) = normalize_axis("concatenate", axis, ndim)
        for i, x in enumerate(xs):
            if x.ndim != ndim or any(
                a != b for d, (a, b) in enumerate(zip(x.shape, xs[0].shape)) if d != self.axis
            ):
                raise ShapeError(
                    f"concatenate: input {i} has shape {x.shape}, which does not "
                    f"match input 0's shape {xs[0].shape} outside axis {self.axis}"
                )
        self.bounds = np.cumsum([0] + [x.shape[self.axis] for x in xs]).tolist()
        return np.concatenate(xs, axis=self.axis)

    def backward(self, g):
        head = (slice(None),) * self.axis
        return tuple(
            g[head + (slice(start, stop),)] if need else None
            for start, stop, need in zip(self.bounds, self.bounds[1:], self.needs_input_grad)
        )


class Pad(Gate):
    """out = x surrounded by a constant, pad_width as np.pad ((before, after) per axis).
    Backward: dx = the interior slice of g."""

    def forward(self, x, pad_width, value=0.0):
        widths = np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (x.ndim, 2))
        if (widths < 0).any():
            raise ValueError(f"pad: pad widths must be >= 0, got {pad_width}")
        self.interior = tuple(slice(b, b + n) for (b, _), n in zip(widths.tolist(), x.shape))
        return np.pad(x, widths, mode="constant", constant_values=value)

    def backward(self, g):
        return (g[self.interior],)


def reshape(x, shape) -> Tensor:
    """A tensor with the same elements in a new shape; one dimension may be -1.

    >>> import chainrule as cr
    >>> cr.arange(6).reshape(2, -1).shape
    (2, 3)
    """
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    return Reshape.apply(x, shape=shape)


def transpose(x, axes=None) -> Tensor:
    """Permute the axes (reverse them when `axes` is None); ``x.T`` for 2-D.

    >>> import chainrule as cr
    >>> cr.transpose(cr.arange(6).reshape(2, 3))
    Tensor([[0, 3],
            [1, 4],
            [2, 5]], dtype=int64)
    >>> cr.transpose(cr.zeros(2, 3, 4), (1, 0, 2)).shape
    (3, 2, 4)
    """
    return Transpose.apply(x, axes=None if axes is None else tuple(axes))


def swapaxes(x, axis1: int, axis2: int) -> Tensor:
    """Exchange two axes (a `transpose` that moves only `axis1` and `axis2`).

    >>> import chainrule as cr
    >>> cr.swapaxes(cr.zeros(2, 3, 4), 0, 2).shape
    (4, 3, 2)
    """
    axes = list(range(np.ndim(x)))
    axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
    return transpose(x, axes)


def broadcast_to(x, shape) -> Tensor:
    """Broadcast to `shape` as NumPy does; the gradient is summed back.

    >>> import chainrule as cr
    >>> x = cr.tensor([1.0, 2.0], requires_grad=True)
    >>> cr.broadcast_to(x, (3, 2)).sum().backward()
    >>> x.grad  # each element was used 3 times
    Tensor([3., 3.], dtype=float32)
    """
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    return BroadcastTo.apply(x, shape=shape)


def expand_dims(x, axis) -> Tensor:
    """Insert length-1 axes at the positions in `axis` (int or tuple).

    >>> import chainrule as cr
    >>> cr.expand_dims(cr.zeros(3), 0).shape
    (1, 3)
    >>> cr.expand_dims(cr.zeros(3), (0, 2)).shape
    (1, 3, 1)
    """
    return reshape(x, np.expand_dims(np.empty(np.shape(x), dtype=bool), axis).shape)


def squeeze(x, axis=None) -> Tensor:
    """Remove length-1 axes (all of them, or those in `axis`).

    >>> import chainrule as cr
    >>> cr.squeeze(cr.zeros(1, 3, 1)).shape
    (3,)
    >>> cr.squeeze(cr.zeros(1, 3, 1), axis=0).shape
    (3, 1)
    """
    shape = np.shape(x)
    axes = normalize_axis("squeeze", axis, len(shape)) if axis is not None else None
    if axes is not None and any(shape[a] != 1 for a in axes):
        raise ShapeError(f"squeeze: axis {axis} of shape {shape} does not have length 1")
    return reshape(
        x, tuple(n for i, n in enumerate(shape) if not (n == 1 and (axes is None or i in axes)))
    )


def flatten(x) -> Tensor:
    """The elements as a 1-D tensor, in C (row-major) order.

    >>> import chainrule as cr
    >>> cr.flatten(cr.tensor([[1.0, 2.0], [3.0, 4.0]]))
    Tensor([1., 2., 3., 4.], dtype=float32)
    """
    return reshape(x, (-1,))


def concatenate(tensors, axis: int = 0) -> Tensor:
    """Join a sequence of tensors along an existing axis.

    >>> import chainrule as cr
    >>> cr.concatenate([cr.ones(2), cr.zeros(1)])
    Tensor([1., 1., 0.], dtype=float32)
    """
    return Concatenate.apply(*tensors, axis=axis)


def stack(tensors, axis: int = 0) -> Tensor:
    """Join tensors of one shape along a new axis.

    >>> import chainrule as cr
    >>> cr.stack([cr.ones(2), cr.zeros(2)])
    Tensor([[1., 1.],
            [0., 0.]], dtype=float32)
    >>> cr.stack([cr.ones(2), cr.zeros(2)], axis=1).shape
    (2, 2)
    """
    tensors = list(tensors)
    if not tensors:
        raise ValueError("stack: needs at least one tensor")
    ndim = np.ndim(tensors[0]) + 1
    (axis,) = normalize_axis("stack", axis, ndim)
    return concatenate([expand_dims(t, axis) for t in tensors], axis=axis)


def pad(x, pad_width, value: float = 0.0) -> Tensor:
    """Pad with a constant; `pad_width` as np.pad: an int, (before, after), or one pair per axis.

    >>> import chainrule as cr
    >>> cr.pad(cr.ones(2), 1)
    Tensor([0., 1., 1., 0.], dtype=float32)
    """
    return Pad.apply(x, pad_width=pad_width, value=value)
