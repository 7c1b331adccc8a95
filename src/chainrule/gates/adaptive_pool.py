"""Adaptive average pooling: any output size, composed of existing gates (no gate of its own).

A window's mean is the mean over its rows of the means over its columns, so pooling to
(Ho, Wo) is two matrix products with fixed averaging matrices, ``A_h @ x @ A_w^T``
(`matmul`, differentiable to any order); global pooling is `mean`, and sizes that divide
the input are `avg_pool2d`.
"""

from __future__ import annotations

import numpy as np

from chainrule.errors import ShapeError
from chainrule.gates.linalg import matmul
from chainrule.gates.pool import avg_pool2d
from chainrule.gates.reduce import mean
from chainrule.gates.windows import pair


def _averaging_matrix(size: int, n_out: int, dtype) -> np.ndarray:
    """(n_out, size): row i averages PyTorch's adaptive window [floor(i * size / n_out),
    ceil((i + 1) * size / n_out))."""
    i = np.arange(n_out)
    start = i * size // n_out
    end = -(-(i + 1) * size // n_out)
    cols = np.arange(size)
    inside = (cols >= start[:, None]) & (cols < end[:, None])
    return (inside / (end - start)[:, None]).astype(dtype)


def adaptive_avg_pool2d(x, output_size):
    """Average pooling to a given output size, windows chosen as PyTorch's.

    Output row i averages input rows ``floor(i * H / Ho)`` to ``ceil((i + 1) * H / Ho)``
    (exclusive), likewise for columns; windows may differ in size and overlap. A window's
    mean is the mean over its rows of the means over its columns, so the pooling is two
    matrix products with fixed averaging matrices, ``A_h @ x @ A_w^T``: a plain function
    of existing gates (`matmul`), differentiable to any order. Global pooling (1, 1) is
    `mean` over the spatial axes; sizes that divide the input are `avg_pool2d`.

    Parameters
    ----------
    x : Tensor, (N, C, H, W) or (C, H, W)
    output_size : int or (int or None, int or None)
        None keeps that dimension's size.

    Examples
    --------
    >>> import chainrule as cr
    >>> x = cr.arange(10.0).reshape(1, 1, 2, 5)
    >>> cr.gates.adaptive_avg_pool2d(x, 1)
    Tensor([[[[4.5]]]], dtype=float32)
    >>> cr.gates.adaptive_avg_pool2d(x, (1, 3))  # column windows [0, 2), [1, 4), [3, 5)
    Tensor([[[[3. , 4.5, 6. ]]]], dtype=float32)
    """
    name = "adaptive_avg_pool2d"
    shape = np.shape(x)
    if len(shape) not in (3, 4):
        raise ShapeError(f"{name}: expected input (N, C, H, W) or (C, H, W), got shape {shape}")
    sizes = (
        (output_size, output_size) if not isinstance(output_size, (tuple, list)) else output_size
    )
    if len(sizes) != 2:
        raise ValueError(f"{name}: output_size must be an int or a pair, got {output_size!r}")
    in_hw = shape[-2:]
    out_hw = pair(name, "output_size", [n if s is None else s for s, n in zip(sizes, in_hw)], 1)
    if out_hw == (1, 1):
        return mean(x, axis=(-2, -1), keepdims=True)
    if in_hw[0] % out_hw[0] == 0 and in_hw[1] % out_hw[1] == 0:
        return avg_pool2d(x, (in_hw[0] // out_hw[0], in_hw[1] // out_hw[1]))
    dtype = getattr(x, "dtype", np.float64)
    rows = _averaging_matrix(in_hw[0], out_hw[0], dtype)
    cols = _averaging_matrix(in_hw[1], out_hw[1], dtype)
    return matmul(matmul(rows, x), cols.T)
