"""The tensors a trace hands to the traced function, and the comparisons it records.

`Traced` is a Tensor whose value escaping to Python is noticed while a trace runs (see
`chainrule.graph.capture`): its ``.data`` reports to the tracer when it is read outside a
gate, its conversions to Python values raise `TraceError`, and its comparisons become
`ConstantOp` gates so that masks are recomputed on replay. Shapes, dtypes and printing
are free. After the trace, traced tensors turn back into plain Tensors.
"""

from __future__ import annotations

import numpy as np

from chainrule import gate as gate_module
from chainrule.dispatch import _CONSTANT_UFUNCS, array_ufunc
from chainrule.errors import TraceError
from chainrule.gate import Gate
from chainrule.tensor import Tensor

_DATA = Tensor.__dict__["data"]  # the slot itself: reading through it is not noticed


def _raw(t: Tensor) -> np.ndarray:
    return _DATA.__get__(t, Tensor)


class ConstantOp(Gate):
    """out = op(*xs) for a NumPy function that is constant almost everywhere (a comparison,
    ``sign``, ``floor``...), recorded while tracing so that a mask is recomputed on replay.
    Backward: no gradient (as in eager mode, where the result is a constant)."""

    def forward(self, *xs, op):
        return op(*xs)

    def backward(self, g):
        return (None,) * len(self.needs_input_grad)


def _escape(what: str) -> TraceError:
    return TraceError(
        f"Graph: {what} turns a traced tensor's value into a Python value, which the "
        "captured graph would replay as a constant for every input (Python control flow "
        "on values is frozen at trace time). Use gates instead (cr.where, cr.maximum, "
        "cr.clip), or compute this outside the function given to cr.Graph."
    )


class Traced(Tensor):
    """A tensor made while tracing: its value escaping to Python is noticed."""

    __slots__ = ()
    __hash__ = Tensor.__hash__  # identity (defining __eq__ would otherwise unset it)

    @property
    def data(self):
        tracer = gate_module.TRACE
        if tracer is not None:  # None inside a gate: the gate reads it, not the user
            tracer.read(self)
        return _raw(self)

    @data.setter
    def data(self, value):
        tracer = gate_module.TRACE
        if tracer is not None:
            tracer.read(self)
        _DATA.__set__(self, value)

    # ----- reading the shape is fine: shapes are part of the traced signature -----

    @property
    def shape(self):
        return _raw(self).shape

    @property
    def ndim(self):
        return _raw(self).ndim

    @property
    def size(self):
        return _raw(self).size

    @property
    def dtype(self):
        return _raw(self).dtype

    def __len__(self) -> int:
        if _raw(self).ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(_raw(self))

    def __repr__(self) -> str:
        gate_module.TRACE, tracer = None, gate_module.TRACE  # printing is not an escape
        try:
            return super().__repr__()
        finally:
            gate_module.TRACE = tracer

    # ----- Python values: frozen by a replay, so refused -----

    def item(self):
        raise _escape("x.item()")

    def tolist(self):
        raise _escape("x.tolist()")

    def __float__(self):
        raise _escape("float(x)")

    def __int__(self):
        raise _escape("int(x)")

    def __bool__(self):
        raise _escape("bool(x) (an `if`, `while`, `and`, `or` or `not` on a tensor)")

    # ----- comparisons: recorded, so that masks follow the inputs -----

    def __lt__(self, other):
        return ConstantOp.apply(self, other, op=np.less)

    def __le__(self, other):
        return ConstantOp.apply(self, other, op=np.less_equal)

    def __gt__(self, other):
        return ConstantOp.apply(self, other, op=np.greater)

    def __ge__(self, other):
        return ConstantOp.apply(self, other, op=np.greater_equal)

    def __eq__(self, other):
        if not isinstance(other, _COMPARABLE):
            return NotImplemented
        return ConstantOp.apply(self, other, op=np.equal)

    def __ne__(self, other):
        if not isinstance(other, _COMPARABLE):
            return NotImplemented
        return ConstantOp.apply(self, other, op=np.not_equal)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method == "__call__" and not kwargs and ufunc in _CONSTANT_UFUNCS:
            return ConstantOp.apply(*inputs, op=ufunc)
        return array_ufunc(ufunc, method, inputs, kwargs)


_COMPARABLE = (Tensor, np.ndarray, int, float, np.generic, list, tuple)
