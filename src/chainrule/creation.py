"""Creating tensors: from data, filled, ranges, random (seeded with `seed`)."""

from __future__ import annotations

import numpy as np

from chainrule.mode import STATE
from chainrule.tensor import Tensor

_rng: np.random.Generator | None = None  # made on first use: numpy.random costs ~10 ms to import


def tensor(data, requires_grad: bool = False, dtype=None, name: str | None = None) -> Tensor:
    """A new tensor holding a copy of `data`.

    Python floats and lists become float32 (see `set_default_dtype`), NumPy arrays keep
    their dtype, ints become int64 and bools bool. Only floating tensors can require grad.
    `name` labels the tensor in graph drawings.

        >>> import chainrule as cr
        >>> cr.tensor([1.0, 2.0]).dtype
        dtype('float32')
        >>> cr.tensor([1, 2]).dtype
        dtype('int64')
    """
    return Tensor(data, requires_grad=requires_grad, dtype=dtype, name=name)


def _shape(shape) -> tuple[int, ...]:
    if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
        return tuple(shape[0])
    return tuple(shape)


def _float(dtype) -> np.dtype:
    return STATE.default_dtype if dtype is None else np.dtype(dtype)


def zeros(*shape, dtype=None, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros: ``zeros(2, 3)`` or ``zeros((2, 3))``, of the default float dtype.

    >>> import chainrule as cr
    >>> cr.zeros(2, 3)
    Tensor([[0., 0., 0.],
            [0., 0., 0.]], dtype=float32)
    """
    return Tensor(np.zeros(_shape(shape), _float(dtype)), requires_grad=requires_grad)


def ones(*shape, dtype=None, requires_grad: bool = False) -> Tensor:
    """A tensor of ones: ``ones(2, 3)`` or ``ones((2, 3))``, of the default float dtype.

    >>> import chainrule as cr
    >>> cr.ones((2,))
    Tensor([1., 1.], dtype=float32)
    >>> cr.ones(2, 3, dtype="float64", requires_grad=True).requires_grad
    True
    """
    return Tensor(np.ones(_shape(shape), _float(dtype)), requires_grad=requires_grad)


def full(shape, fill_value, dtype=None, requires_grad: bool = False) -> Tensor:
    """A tensor of `shape` (an int or a tuple) filled with `fill_value`.

    The dtype is the default float dtype unless `dtype` is given.

    >>> import chainrule as cr
    >>> cr.full((2, 2), 7.0)
    Tensor([[7., 7.],
            [7., 7.]], dtype=float32)
    >>> cr.full(3, 2, dtype="int64")
    Tensor([2, 2, 2], dtype=int64)
    """
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    return Tensor(np.full(shape, fill_value, _float(dtype)), requires_grad=requires_grad)


def eye(n: int, m: int | None = None, dtype=None, requires_grad: bool = False) -> Tensor:
    """The n x m identity matrix (square when m is None): ones on the diagonal.

    >>> import chainrule as cr
    >>> cr.eye(2)
    Tensor([[1., 0.],
            [0., 1.]], dtype=float32)
    >>> cr.eye(2, 3).shape
    (2, 3)
    """
    return Tensor(np.eye(n, m, dtype=_float(dtype)), requires_grad=requires_grad)


def arange(start, stop=None, step=1, dtype=None, requires_grad: bool = False) -> Tensor:
    """Evenly spaced values in [start, stop): integers when all arguments are ints.

    >>> import chainrule as cr
    >>> cr.arange(3)
    Tensor([0, 1, 2], dtype=int64)
    >>> cr.arange(0, 1, 0.5)
    Tensor([0. , 0.5], dtype=float32)
    """
    values = np.arange(start, stop, step) if stop is not None else np.arange(start, step=step)
    if dtype is None and values.dtype.kind == "f":
        dtype = STATE.default_dtype
    return Tensor(values, requires_grad=requires_grad, dtype=dtype)


def zeros_like(x, dtype=None, requires_grad: bool = False) -> Tensor:
    """Zeros with the shape (and dtype, unless given) of `x`, a Tensor or an array.

    >>> import chainrule as cr, numpy as np
    >>> cr.zeros_like(np.arange(3))
    Tensor([0, 0, 0], dtype=int64)
    >>> cr.zeros_like(cr.ones(2, 2), dtype="float64").dtype
    dtype('float64')
    """
    data = np.asarray(x.data if isinstance(x, Tensor) else x)
    return Tensor(np.zeros_like(data, dtype=dtype), requires_grad=requires_grad)


def ones_like(x, dtype=None, requires_grad: bool = False) -> Tensor:
    """Ones with the shape (and dtype, unless given) of `x`, a Tensor or an array.

    >>> import chainrule as cr
    >>> cr.ones_like(cr.zeros(2, 2))
    Tensor([[1., 1.],
            [1., 1.]], dtype=float32)
    """
    data = np.asarray(x.data if isinstance(x, Tensor) else x)
    return Tensor(np.ones_like(data, dtype=dtype), requires_grad=requires_grad)


def seed(n: int) -> None:
    """Seed chainrule's random generator (`rand`, `randn`, and later initialisers).

    >>> import chainrule as cr
    >>> cr.seed(0); a = cr.randn(3)
    >>> cr.seed(0); b = cr.randn(3)
    >>> bool((a == b).data.all())
    True
    """
    global _rng
    _rng = np.random.default_rng(n)


def generator() -> np.random.Generator:
    """The generator behind `rand` and `randn` (reseeded by `seed`)."""
    global _rng
    if _rng is None:
        _rng = np.random.default_rng()
    return _rng


def rand(*shape, dtype=None, requires_grad: bool = False) -> Tensor:
    """Uniform samples in [0, 1) of the given shape, from chainrule's generator (see `seed`).

    >>> import chainrule as cr
    >>> cr.seed(0)
    >>> x = cr.rand(2, 3)
    >>> x.shape, x.dtype, bool(x.data.min() >= 0 and x.data.max() < 1)
    ((2, 3), dtype('float32'), True)
    """
    data = generator().random(_shape(shape)).astype(_float(dtype), copy=False)
    return Tensor(data, requires_grad=requires_grad)


def randn(*shape, dtype=None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples (mean 0, std 1) of the given shape (see `seed`).

    >>> import chainrule as cr
    >>> cr.seed(0)
    >>> x = cr.randn(1000, dtype="float64")
    >>> x.shape, abs(float(x.data.mean())) < 0.1, round(float(x.data.std()), 1)
    ((1000,), True, 1.0)
    """
    data = generator().standard_normal(_shape(shape)).astype(_float(dtype), copy=False)
    return Tensor(data, requires_grad=requires_grad)
