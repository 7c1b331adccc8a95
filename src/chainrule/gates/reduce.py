"""Reduction gates: sum, mean, max, min, var, std, logsumexp over `axis` (int, tuple, None).

Backward spreads the (reshaped) upstream gradient back over the reduced axes.
"""

from __future__ import annotations

import numpy as np

from chainrule.errors import ShapeError
from chainrule.gate import Gate, value
from chainrule.tensor import Tensor


def normalize_axis(op: str, axis, ndim: int) -> tuple[int, ...]:
    """`axis` as a sorted tuple of non-negative ints, with a clear error when out of range."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    result = []
    for a in axes:
        if not -ndim <= a < ndim:
            raise ShapeError(f"{op}: axis {a} is out of range for a tensor with {ndim} dims")
        result.append(int(a) % ndim)
    if len(set(result)) != len(result):
        raise ShapeError(f"{op}: repeated axis in {axis}")
    return tuple(sorted(result))


class Reduction(Gate):
    """Shared bookkeeping of the reductions: axes and the shapes to spread g back over."""

    op = "reduction"

    def setup(self, x, axis, keepdims) -> tuple[int, ...]:
        axes = normalize_axis(self.op, axis, x.ndim)
        self.x_shape = x.shape
        self.kept_shape = tuple(1 if i in axes else n for i, n in enumerate(x.shape))
        self.count = int(np.prod([x.shape[i] for i in axes], dtype=np.int64))
        self.axes = axes
        return axes

    def kept(self, g):
        """g reshaped so that it broadcasts against x (the reduced axes kept as 1)."""
        return g.reshape(self.kept_shape)

    def spread(self, g):
        """g copied over the reduced axes: the gradient of a sum."""
        return np.broadcast_to(self.kept(g), self.x_shape)


class Sum(Reduction):
    """out = sum of x over axis.   Backward: dx = g broadcast over the summed axes."""

    op = "sum"

    def forward(self, x, axis=None, keepdims=False):
        return np.sum(x, axis=self.setup(x, axis, keepdims), keepdims=keepdims)

    def backward(self, g):
        return (self.spread(g),)


class Mean(Reduction):
    """out = mean of x over axis (N elements each).   Backward: dx = g / N, broadcast."""

    op = "mean"

    def forward(self, x, axis=None, keepdims=False):
        axes = self.setup(x, axis, keepdims)
        if self.count == 0:
            raise ShapeError(f"mean: reducing an empty axis of shape {x.shape}")
        return np.mean(x, axis=axes, keepdims=keepdims)

    def backward(self, g):
        return (self.spread(g / self.count),)


class Max(Reduction):
    """out = max of x over axis.
    Backward: g goes to the maximal element, split evenly between ties (as JAX)."""

    op = "max"

    def forward(self, x, axis=None, keepdims=False):
        out = np.max(x, axis=self.setup(x, axis, keepdims), keepdims=keepdims)
        self.save(x, out)
        return out

    def backward(self, g):
        x, out = self.saved
        hit = value(x) == value(out).reshape(self.kept_shape)
        share = (hit / hit.sum(axis=self.axes, keepdims=True)).astype(g.dtype)
        return (self.kept(g) * share,)


class Min(Max):
    """out = min of x over axis.
    Backward: g goes to the minimal element, split evenly between ties (as JAX)."""

    op = "min"

    def forward(self, x, axis=None, keepdims=False):
        out = np.min(x, axis=self.setup(x, axis, keepdims), keepdims=keepdims)
        self.save(x, out)
        return out


class Var(Reduction):
    """out = sum((x - mean(x))**2) / (N - ddof) over axis.
    Backward: dx = g * 2 * (x - mean(x)) / (N - ddof)."""

    op = "var"

    def forward(self, x, axis=None, keepdims=False, ddof=0):
        axes = self.setup(x, axis, keepdims)
        self.dof = self.count - ddof
        if self.dof <= 0:
            raise ValueError(
                f"var: ddof={ddof} leaves no degrees of freedom over {self.count} elements"
            )
        self.save(x)
        # NOTE: two passes (subtract the mean, then square) avoid the cancellation of
        # E[x^2] - E[x]^2.
        return np.var(x, axis=axes, keepdims=keepdims, ddof=ddof)

    def backward(self, g):
        (x,) = self.saved
        centered = x - x.mean(axis=self.axes, keepdims=True)
        return (self.kept(g) * centered * (2 / self.dof),)


class Std(Var):
    """out = sqrt(var(x)) over axis.
    Backward: dx = g * (x - mean(x)) / ((N - ddof) * out), taken as 0 where out == 0."""

    op = "std"

    def forward(self, x, axis=None, keepdims=False, ddof=0):
        out = np.sqrt(super().forward(x, axis, keepdims, ddof))
        self.save(x, out)
        return out

    def backward(self, g):
        x, out = self.saved
        # NOTE: a constant slice has std 0 and no derivative; its gradient is taken as 0
        # (the centred values are 0 there) instead of the 0/0 = NaN of the plain formula.
        out_k = out.reshape(self.kept_shape)
        safe = np.where(value(out_k) == 0, 1, out_k)
        centered = x - x.mean(axis=self.axes, keepdims=True)
        return (self.kept(g) * centered / (safe * self.dof),)


class LogSumExp(Reduction):
    """out = log(sum(exp(x))) over axis.   Backward: dx = g * softmax(x)  (= g * exp(x - out))."""

    op = "logsumexp"

    def forward(self, x, axis=None, keepdims=False):
        axes = self.setup(x, axis, keepdims)
        # NOTE: shift by the max so that exp never overflows; where a slice is all -inf
        # (or inf) the shift is 0 so that it yields -inf (inf) instead of NaN.
        m = np.max(x, axis=axes, keepdims=True)
        m = np.where(np.isfinite(m), m, 0)
        out = np.log(np.sum(np.exp(x - m), axis=axes, keepdims=True)) + m
        out = out if keepdims else out.reshape([n for i, n in enumerate(x.shape) if i not in axes])
        out = out.astype(x.dtype, copy=False)
        self.shift = m  # a constant to backward: softmax(x - m) does not depend on m
        self.save(x)
        return out

    def backward(self, g):
        (x,) = self.saved
        # NOTE: the weights come from the shifted logits, not from exp(x - out): out carries
        # its own rounding (logsumexp([1e8, 1e8]) = 1e8 + log 2 rounds to 1e8 in float32),
        # and exp(x - out) would turn that into weights of 1 instead of 1/2.
        e = np.exp(x - self.shift)
        return (self.kept(g) * (e / e.sum(axis=self.axes, keepdims=True)),)


def sum(x, axis=None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Sum over `axis` (int, tuple or None for all).

    >>> import chainrule as cr
    >>> cr.sum(cr.tensor([[1.0, 2.0], [3.0, 4.0]]), axis=0)
    Tensor([4., 6.], dtype=float32)
    """
    return Sum.apply(x, axis=axis, keepdims=keepdims)


def mean(x, axis=None, keepdims: bool = False) -> Tensor:
    """Mean over `axis` (int, tuple or None for all).

    >>> import chainrule as cr
    >>> x = cr.tensor([[1.0, 2.0], [3.0, 4.0]])
    >>> cr.mean(x)
    Tensor(2.5, dtype=float32)
    >>> cr.mean(x, axis=1)
    Tensor([1.5, 3.5], dtype=float32)
    """
    return Mean.apply(x, axis=axis, keepdims=keepdims)


def max(x, axis=None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Maximum over `axis`; tied maxima share the gradient evenly.

    >>> import chainrule as cr
    >>> x = cr.tensor([1.0, 3.0, 3.0], requires_grad=True)
    >>> cr.max(x).backward()
    >>> x.grad  # the max gate routes the gradient to the maxima
    Tensor([0. , 0.5, 0.5], dtype=float32)
    """
    return Max.apply(x, axis=axis, keepdims=keepdims)


def min(x, axis=None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Minimum over `axis`; tied minima share the gradient evenly.

    >>> import chainrule as cr
    >>> x = cr.tensor([[2.0, 1.0], [0.0, 5.0]], requires_grad=True)
    >>> cr.min(x, axis=1).sum().backward()
    >>> x.grad
    Tensor([[0., 1.],
            [1., 0.]], dtype=float32)
    """
    return Min.apply(x, axis=axis, keepdims=keepdims)


def var(x, axis=None, keepdims: bool = False, ddof: int = 0) -> Tensor:
    """Variance over `axis` with `ddof` delta degrees of freedom (NumPy's default 0).

    >>> import chainrule as cr
    >>> x = cr.tensor([1.0, 2.0, 3.0, 4.0])
    >>> cr.var(x)
    Tensor(1.25, dtype=float32)
    >>> cr.var(x, ddof=1)  # the unbiased estimate: divides by n - 1
    Tensor(1.6666666, dtype=float32)
    """
    return Var.apply(x, axis=axis, keepdims=keepdims, ddof=ddof)


def std(x, axis=None, keepdims: bool = False, ddof: int = 0) -> Tensor:
    """Standard deviation over `axis`; its gradient where it is 0 is taken as 0.

    >>> import chainrule as cr
    >>> cr.std(cr.tensor([[1.0, 3.0], [2.0, 2.0]]), axis=1)
    Tensor([1., 0.], dtype=float32)
    >>> x = cr.tensor([2.0, 2.0], requires_grad=True)
    >>> cr.std(x).backward()
    >>> x.grad  # not NaN
    Tensor([0., 0.], dtype=float32)
    """
    return Std.apply(x, axis=axis, keepdims=keepdims, ddof=ddof)


def logsumexp(x, axis=None, keepdims: bool = False) -> Tensor:
    """log(sum(exp(x))) over `axis`, exact and finite for large logits.

    >>> import chainrule as cr
    >>> cr.logsumexp(cr.tensor([1e8, 1e8]))
    Tensor(1.e+08, dtype=float32)
    """
    return LogSumExp.apply(x, axis=axis, keepdims=keepdims)
