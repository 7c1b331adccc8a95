"""The arguments of the convolution and pooling functions: PyTorch's forms normalised,
shapes and dtypes checked with errors that name the function and the shapes."""

from __future__ import annotations

import numpy as np

from chainrule.errors import ShapeError
from chainrule.gates.shape import reshape
from chainrule.gates.windows import pair


def as_batch(x):
    """x as (N, C, H, W), and whether it was one unbatched (C, H, W) sample (PyTorch
    accepts both)."""
    shape = np.shape(x)
    if len(shape) == 3:
        return reshape(x, (1, *shape)), True
    return x, False


def conv_padding(name: str, padding, kernel, stride, dilation) -> tuple:
    """PyTorch's padding (int, pair, 'valid' or 'same') as ((top, bottom), (left, right))."""
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0), (0, 0))
        if padding != "same":
            raise ValueError(
                f"{name}: padding must be an int, a pair, 'valid' or 'same', got {padding!r}"
            )
        if stride != (1, 1):
            raise ValueError(f"{name}: padding='same' needs stride 1, got stride {stride}")
        # As PyTorch: an odd total puts the extra row and column at the bottom and right.
        totals = [d * (k - 1) for k, d in zip(kernel, dilation)]
        return tuple((t // 2, t - t // 2) for t in totals)
    ph, pw = pair(name, "padding", padding, 0)
    return ((ph, ph), (pw, pw))


def check_conv(name: str, x, w, b, groups: int, transposed: bool = False) -> int:
    """Raise on bad shapes or dtypes; return the number of output channels."""
    if x.ndim != 4 or w.ndim != 4:
        raise ShapeError(
            f"{name}: expected input (N, C, H, W) and a 4-d weight, got input of shape "
            f"{x.shape} and weight of shape {w.shape}"
        )
    for what, a in (("input", x), ("weight", w)):
        if a.dtype.kind != "f":
            raise TypeError(f"{name}: {what} must be floating point, got dtype {a.dtype}")
    channels = x.shape[1]
    if groups < 1 or channels % groups:
        raise ShapeError(
            f"{name}: groups={groups} must divide the {channels} input channels "
            f"(input shape {x.shape})"
        )
    if transposed:
        expected, out_channels = w.shape[0], w.shape[1] * groups
        layout = "(in_channels, out_channels / groups, kh, kw)"
    else:
        expected, out_channels = w.shape[1] * groups, w.shape[0]
        layout = "(out_channels, in_channels / groups, kh, kw)"
        if out_channels % groups:
            raise ShapeError(
                f"{name}: groups={groups} must divide the {out_channels} output channels "
                f"(weight shape {w.shape})"
            )
    if channels != expected:
        raise ShapeError(
            f"{name}: input has {channels} channels (shape {x.shape}) but the weight of "
            f"shape {w.shape} with groups={groups} expects {expected}; weight layout {layout}"
        )
    if b is not None and b.shape != (out_channels,):
        raise ShapeError(
            f"{name}: bias has shape {b.shape}, expected ({out_channels},) for weight of "
            f"shape {w.shape} with groups={groups}"
        )
    return out_channels
