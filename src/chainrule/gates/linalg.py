"""Linear algebra gates: matrix multiplication."""

from __future__ import annotations

import numpy as np

from chainrule.errors import ShapeError
from chainrule.gate import Gate, sum_to
from chainrule.tensor import Tensor


class MatMul(Gate):
    """out = x @ y as np.matmul: 1-D, 2-D, batched (..., n, k) @ (..., k, m), batch dims broadcast.
    Backward: dx = g @ y^T, dy = x^T @ g (summed over broadcast batch dims)."""

    def forward(self, x, y):
        x_shape, y_shape = np.shape(x), np.shape(y)
        if not x_shape or not y_shape:
            raise ShapeError(
                f"matmul: operands must be at least 1-D, got shapes {x_shape} and {y_shape}"
            )
        k_x = x_shape[-1]
        k_y = y_shape[0] if len(y_shape) == 1 else y_shape[-2]
        if k_x != k_y:
            where_y = "dim 0" if len(y_shape) == 1 else "second-to-last dim"
            raise ShapeError(
                f"matmul: shapes {x_shape} and {y_shape} do not align: {k_x} (last dim of x) "
                f"!= {k_y} ({where_y} of y)"
            )
        need_x, need_y = self.needs_input_grad
        self.save(x if need_y else None, y if need_x else None)
        self.shapes = (x_shape, y_shape)
        return np.matmul(x, y)

    def backward(self, g):
        x, y = self.saved
        need_x, need_y = self.needs_input_grad
        x_shape, y_shape = self.shapes
        if len(x_shape) == 1 and len(y_shape) == 1:  # a dot product: g is a scalar
            return (g * y if need_x else None), (g * x if need_y else None)
        # View 1-D operands as matrices (a row for x, a column for y), as matmul does.
        x_mat = x_shape if len(x_shape) > 1 else (1,) + x_shape
        y_mat = y_shape if len(y_shape) > 1 else y_shape + (1,)
        g_shape = g.shape
        if len(x_shape) == 1:
            g_shape = g_shape[:-1] + (1,) + g_shape[-1:]
        if len(y_shape) == 1:
            g_shape = g_shape + (1,)
        g = g.reshape(g_shape)
        dx = dy = None
        if need_x:
            dx = sum_to(g @ y.reshape(y_mat).swapaxes(-1, -2), x_mat).reshape(x_shape)
        if need_y:
            dy = sum_to(x.reshape(x_mat).swapaxes(-1, -2) @ g, y_mat).reshape(y_shape)
        return dx, dy


def matmul(x, y) -> Tensor:
    """Matrix product with np.matmul's rules (also ``x @ y``).

    >>> import chainrule as cr
    >>> W = cr.tensor([[1.0, 2.0], [3.0, 4.0]])
    >>> x = cr.tensor([1.0, 1.0])
    >>> W @ x
    Tensor([3., 7.], dtype=float32)
    """
    return MatMul._run(x, y)
