"""Padding from the input's own edges: reflect, replicate and circular (PyTorch's modes).

Constant padding is `chainrule.gates.Pad`. These modes copy border elements of x into the
padding, so a padded element has a source inside x; the gradient goes back to it. The
backward pass folds each axis's borders back onto the interior with a few slices per
axis (never a scatter per element), written with operations that also run on Tensors, so
it differentiates again under ``create_graph``.
"""

from __future__ import annotations

import numpy as np

from chainrule.errors import ShapeError
from chainrule.gate import Gate
from chainrule.gates.shape import pad
from chainrule.tensor import Tensor

#: chainrule's (PyTorch's) mode names and NumPy's.
_NUMPY_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def _take(a, axis: int, start, stop, step=1):
    return a[(slice(None),) * axis + (slice(start, stop, step),)]


def _place(piece, axis: int, start: int, size: int):
    """`piece` at [start, start + len) of a zero array of `size` along `axis`."""
    widths = [(0, 0)] * piece.ndim
    widths[axis] = (start, size - start - piece.shape[axis])
    return pad(piece, widths) if isinstance(piece, Tensor) else np.pad(piece, widths)


def _fold(g, axis: int, before: int, after: int, size: int, mode: str):
    """The adjoint of padding one axis: each padded element's gradient to its source."""
    dx = _take(g, axis, before, before + size)
    end = before + size  # where the right border starts in g
    if mode == "reflect":  # padded j < before came from before - j; the right mirrors it
        if before:
            dx = dx + _place(_take(g, axis, before - 1, None, -1), axis, 1, size)
        if after:
            dx = dx + _place(
                _take(g, axis, end + after - 1, end - 1, -1), axis, size - 1 - after, size
            )
    elif mode == "replicate":  # every padded element on a side came from the edge element
        if before:
            dx = dx + _place(_take(g, axis, 0, before).sum(axis=axis, keepdims=True), axis, 0, size)
        if after:
            right = _take(g, axis, end, None).sum(axis=axis, keepdims=True)
            dx = dx + _place(right, axis, size - 1, size)
    else:  # circular: the left border came from the end of x, the right from its start
        if before:
            dx = dx + _place(_take(g, axis, 0, before), axis, size - before, size)
        if after:
            dx = dx + _place(_take(g, axis, end, None), axis, 0, size)
    return dx


class EdgePad(Gate):
    """out = x padded with copies of its own elements: reflected about the edge element
    ('reflect'), the edge element repeated ('replicate'), or wrapped around ('circular').
    pad_width as np.pad: (before, after) per axis.
    Backward: dx = g's interior plus each border folded back onto its source elements."""

    def forward(self, x, pad_width=((0, 0),), mode="reflect"):
        if mode not in _NUMPY_MODES:
            raise ValueError(
                f"pad: mode must be one of {sorted(_NUMPY_MODES)} or 'constant', got {mode!r}"
            )
        widths = tuple((int(b), int(a)) for b, a in pad_width)
        if len(widths) != x.ndim:
            raise ShapeError(f"pad: {len(widths)} pairs of pad widths for a {x.ndim}-d input")
        for axis, ((before, after), size) in enumerate(zip(widths, x.shape)):
            # PyTorch's limits, under which each border comes from x in one piece.
            limit = {"reflect": size - 1, "replicate": None, "circular": size}[mode]
            if (
                min(before, after) < 0
                or (size == 0 and before + after)
                or (limit is not None and max(before, after) > limit)
            ):
                bound = "" if limit is None else f" and at most {limit}"
                raise ValueError(
                    f"pad: {mode} padding of axis {axis} (size {size}) by {(before, after)}; "
                    f"widths must be >= 0{bound} (input shape {x.shape})"
                )
        self.widths, self.mode, self.x_shape = widths, mode, x.shape
        return np.pad(x, widths, mode=_NUMPY_MODES[mode])

    def backward(self, g):
        dx = g
        for axis, ((before, after), size) in enumerate(zip(self.widths, self.x_shape)):
            if before or after:
                dx = _fold(dx, axis, before, after, size, self.mode)
        return (dx,)


def edge_pad(x, pad_width, mode: str = "reflect") -> Tensor:
    """Pad with x's own border elements; `pad_width` as np.pad (int, pair, or a pair per axis).

    Modes (PyTorch's names): 'reflect' mirrors about the edge element (``[1, 2, 3]`` by 2
    gives ``[3, 2, 1, 2, 3, 2, 1]``; widths below the axis size), 'replicate' repeats the
    edge element, 'circular' wraps around (widths up to the axis size).

    >>> import chainrule as cr
    >>> x = cr.tensor([1.0, 2.0, 3.0])
    >>> cr.gates.edge_pad(x, 2)
    Tensor([3., 2., 1., 2., 3., 2., 1.], dtype=float32)
    >>> cr.gates.edge_pad(x, 1, "replicate")
    Tensor([1., 1., 2., 3., 3.], dtype=float32)
    >>> cr.gates.edge_pad(x, (1, 2), "circular")
    Tensor([3., 1., 2., 3., 1., 2.], dtype=float32)
    """
    widths = np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (np.ndim(x), 2))
    return EdgePad.apply(x, pad_width=tuple(map(tuple, widths.tolist())), mode=mode)
