"""NumPy's dispatch protocols on Tensor: ``np.exp(t)``, ``np.where(c, t, 0)``, ``a @ t``...

This is how one backward formula serves both orders of differentiation. First-order
backward passes run on plain arrays and never come here. Under ``create_graph=True``
the saved values and ``g`` are Tensors, NumPy hands the call to `Tensor.__array_ufunc__`
or `Tensor.__array_function__`, and the tables below turn it into a gate. Users get the
same: ``np.tanh(t)`` is ``cr.tanh(t)``.

A NumPy function missing from the tables raises NumPy's TypeError naming it, rather
than silently dropping the tensor to an array and the gradient with it.
"""

from __future__ import annotations

import numpy as np

from chainrule import gates
from chainrule.tensor import Tensor


def _values(args):
    return [a.data if isinstance(a, Tensor) else a for a in args]


# ----- ufuncs -----

_DIFFERENTIABLE_UFUNCS = {
    np.add: gates.add,
    np.subtract: gates.subtract,
    np.multiply: gates.multiply,
    np.true_divide: gates.divide,
    np.power: gates.power,
    np.negative: gates.negative,
    np.positive: lambda x: x,
    np.exp: gates.exp,
    np.log: gates.log,
    np.sqrt: gates.sqrt,
    np.square: lambda x: gates.multiply(x, x),
    np.absolute: gates.absolute,
    np.sin: gates.sin,
    np.cos: gates.cos,
    np.tanh: gates.tanh,
    np.maximum: gates.maximum,
    np.minimum: gates.minimum,
    np.matmul: gates.matmul,
}

# Piecewise-constant results: computed on the values, outside the graph.
_CONSTANT_UFUNCS = {
    np.greater, np.greater_equal, np.less, np.less_equal, np.equal, np.not_equal,
    np.logical_and, np.logical_or, np.logical_not, np.logical_xor, np.sign,
    np.isfinite, np.isnan, np.isinf, np.floor, np.ceil, np.rint,
}  # fmt: skip


def array_ufunc(ufunc, method, inputs, kwargs):
    if method != "__call__" or kwargs.get("out") is not None:
        return NotImplemented
    if ufunc in _CONSTANT_UFUNCS:
        return Tensor._make(np.asarray(ufunc(*_values(inputs), **kwargs)))
    fn = _DIFFERENTIABLE_UFUNCS.get(ufunc)
    if fn is None or kwargs:
        return NotImplemented
    return fn(*inputs)


# ----- array functions -----


def _reduction(fn):
    def call(a, axis=None, dtype=None, out=None, keepdims=False, **options):
        if dtype is not None or out is not None:
            return NotImplemented
        return fn(a, axis=axis, keepdims=keepdims, **options)

    return call


def _like(fill):
    def call(a, dtype=None, shape=None, **_):
        data = np.full(a.shape if shape is None else shape, fill, dtype=dtype or a.dtype)
        return Tensor._make(data)

    return call


_FUNCTIONS = {
    np.sum: _reduction(gates.sum),
    np.mean: _reduction(gates.mean),
    np.max: _reduction(gates.max),
    np.min: _reduction(gates.min),
    np.var: _reduction(gates.var),
    np.std: _reduction(gates.std),
    np.reshape: lambda a, shape=None, newshape=None: gates.reshape(
        a, newshape if shape is None else shape
    ),
    np.transpose: lambda a, axes=None: gates.transpose(a, axes),
    np.swapaxes: gates.swapaxes,
    np.expand_dims: gates.expand_dims,
    np.squeeze: lambda a, axis=None: gates.squeeze(a, axis),
    np.broadcast_to: lambda array, shape, subok=False: gates.broadcast_to(array, shape),
    np.concatenate: lambda arrays, axis=0: gates.concatenate(arrays, axis),
    np.stack: lambda arrays, axis=0: gates.stack(arrays, axis),
    np.where: gates.where,
    np.clip: lambda a, a_min=None, a_max=None: gates.clip(a, a_min, a_max),
    np.zeros_like: _like(0),
    np.ones_like: _like(1),
    np.shape: lambda a: a.shape,
    np.ndim: lambda a: a.ndim,
    np.size: lambda a: a.size,
}
if hasattr(np, "amax"):  # aliases of max/min that NumPy 2 may drop
    _FUNCTIONS[np.amax] = _FUNCTIONS[np.max]
    _FUNCTIONS[np.amin] = _FUNCTIONS[np.min]


def array_function(func, args, kwargs):
    fn = _FUNCTIONS.get(func)
    if fn is None:
        return NotImplemented
    try:
        return fn(*args, **kwargs)
    except TypeError as error:
        if "argument" not in str(error):
            raise
        raise TypeError(
            f"np.{func.__name__} on a chainrule Tensor supports only the arguments of "
            f"its chainrule counterpart ({error})"
        ) from None
