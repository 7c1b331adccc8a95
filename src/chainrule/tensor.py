"""Tensor: an ndarray, its gradient, and the gate that made it.

A Tensor is an edge of the computational graph. It points back to the gate that
produced it (``tensor.gate``); the gate points back to its input tensors. Nothing
points forward, so a finished graph is freed by reference counting alone.

Operators and methods delegate to the gate functions in `chainrule.gates`.
"""

from __future__ import annotations

import numbers
import weakref

import numpy as np

from chainrule.mode import STATE


def as_array(data, dtype=None) -> np.ndarray:
    """Turn `data` into an ndarray following the dtype policy.

    Python floats and lists of floats become the default dtype (float32 unless
    changed); NumPy arrays and NumPy scalars keep their dtype; Python ints become
    int64 and bools bool. An explicit `dtype` wins.
    """
    if isinstance(data, Tensor):
        data = data.data
    if dtype is not None:
        dtype = np.dtype(dtype)
    from_numpy = isinstance(data, (np.ndarray, np.generic))
    try:
        array = np.array(data, dtype=dtype)
    except (TypeError, ValueError) as error:
        raise TypeError(
            f"tensor: cannot make a tensor from {type(data).__name__} ({error})"
        ) from None
    if array.dtype.kind not in "fiub":
        raise TypeError(
            f"tensor: unsupported dtype {array.dtype} (from {type(data).__name__}); "
            "chainrule supports floating, integer and bool data"
        )
    if dtype is None and not from_numpy and array.dtype.kind == "f":
        array = array.astype(STATE.default_dtype, copy=False)
    return array


def _data(x):
    """The ndarray (or Python scalar) behind an operand, for non-differentiable ops."""
    if isinstance(x, (list, tuple)):
        return as_array(x)
    return x.data if isinstance(x, Tensor) else x


class Tensor:
    """An n-dimensional array that records the gates applied to it.

    Create one with `chainrule.tensor` (``Tensor(...)`` takes the same arguments).

        >>> import chainrule as cr
        >>> x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
        >>> y = (x * x).sum()
        >>> y.backward()
        >>> x.grad
        Tensor([2., 4., 6.], dtype=float32)
    """

    __slots__ = ("data", "grad", "requires_grad", "name", "_gate", "__weakref__")

    def __init__(self, data, requires_grad: bool = False, dtype=None, name: str | None = None):
        self.data = as_array(data, dtype)
        self.grad = None
        self.requires_grad = False
        self.name = name
        self._gate = None
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _make(cls, data: np.ndarray, gate=None) -> Tensor:
        """Fast internal constructor: no conversion, no checks (`Gate.apply` inlines it)."""
        t = object.__new__(cls)
        t.data = data
        t.grad = None
        t.requires_grad = gate is not None
        t.name = None
        t._gate = gate
        return t

    # ----- graph -----

    @property
    def gate(self):
        """The gate that produced this tensor, or None for a leaf."""
        return self._gate

    @property
    def is_leaf(self) -> bool:
        """True for tensors made by the user rather than by a recorded gate."""
        return self._gate is None

    def backward(self, grad=None, retain_graph: bool = False, create_graph: bool = False) -> None:
        """Backpropagate from this tensor, accumulating into the ``.grad`` of the leaves.

        `grad` is the upstream gradient (defaults to 1 for a scalar). Leaf gradients
        add up across calls until cleared (``x.grad = None``), as in PyTorch. Without
        `retain_graph` the gates' saved values are freed and a second backward through
        them raises. With `create_graph` the gradients are themselves differentiable.
        """
        engine.backward(self, grad, retain_graph=retain_graph, create_graph=create_graph)

    def detach(self) -> Tensor:
        """A tensor sharing this one's data, cut from the graph (a leaf, no grad)."""
        return Tensor._make(self.data)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set `requires_grad` on a leaf in place and return it."""
        if self._gate is not None:
            raise RuntimeError(
                "requires_grad_: only leaf tensors can change requires_grad; this one was made "
                f"by {type(self._gate).__name__} (use .detach() first)"
            )
        if requires_grad and self.data.dtype.kind != "f":
            raise TypeError(
                f"requires_grad_: only floating-point tensors can require gradients, "
                f"got dtype {self.data.dtype}"
            )
        self.requires_grad = bool(requires_grad)
        return self

    def retain_grad(self) -> Tensor:
        """Keep ``.grad`` on this non-leaf tensor after backward (leaves always keep it)."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad: this tensor does not require grad")
        if self._gate is not None:
            engine.RETAINED[self._gate] = weakref.ref(self)
        return self

    # ----- array-like -----

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def T(self) -> Tensor:  # noqa: N802  (NumPy's name)
        return gates.transpose(self)

    def numpy(self) -> np.ndarray:
        """The underlying ndarray (shared, not copied)."""
        return self.data

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item: only one-element tensors have an item, got shape {self.shape}")
        return self.data.item()

    def tolist(self):
        return self.data.tolist()

    def __array__(self, dtype=None, copy=None):
        if dtype is not None and dtype != self.data.dtype:
            return self.data.astype(dtype)
        return self.data.copy() if copy else self.data

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __bool__(self) -> bool:
        return bool(self.data)

    def __float__(self) -> float:
        return float(self.data)

    def __int__(self) -> int:
        return int(self.data)

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", prefix="Tensor(")
        extras = [f"dtype={self.data.dtype}"]
        if self._gate is not None:
            extras.append(f"gate={type(self._gate).__name__}")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        if self.name:
            extras.append(f"name={self.name!r}")
        return f"Tensor({body}, {', '.join(extras)})"

    def __setitem__(self, index, value):
        raise TypeError(
            "Tensor does not support item assignment: gates never modify their inputs in "
            "place. Build the result instead (cr.where, cr.concatenate, cr.pad), or edit "
            "`tensor.data` outside the graph."
        )

    __hash__ = object.__hash__  # identity, because == is elementwise

    # ----- arithmetic (each a gate; see chainrule.gates) -----

    def __add__(self, other):
        return _add(self, other)

    def __radd__(self, other):
        return _add(other, self)

    def __sub__(self, other):
        return _subtract(self, other)

    def __rsub__(self, other):
        return _subtract(other, self)

    def __mul__(self, other):
        return _multiply(self, other)

    def __rmul__(self, other):
        return _multiply(other, self)

    def __truediv__(self, other):
        return _divide(self, other)

    def __rtruediv__(self, other):
        return _divide(other, self)

    def __pow__(self, other):
        return _power(self, other)

    def __rpow__(self, other):
        return _power(other, self)

    def __matmul__(self, other):
        return _matmul(self, other)

    def __rmatmul__(self, other):
        return _matmul(other, self)

    def __neg__(self):
        return _negative(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return gates.absolute(self)

    def __getitem__(self, index):
        return gates.getitem(self, index)

    # ----- comparisons: boolean tensors outside the graph -----

    def __lt__(self, other):
        return Tensor._make(self.data < _data(other))

    def __le__(self, other):
        return Tensor._make(self.data <= _data(other))

    def __gt__(self, other):
        return Tensor._make(self.data > _data(other))

    def __ge__(self, other):
        return Tensor._make(self.data >= _data(other))

    def __eq__(self, other):
        if not isinstance(other, _COMPARABLE):
            return NotImplemented
        return Tensor._make(np.asarray(self.data == _data(other)))

    def __ne__(self, other):
        if not isinstance(other, _COMPARABLE):
            return NotImplemented
        return Tensor._make(np.asarray(self.data != _data(other)))

    # ----- methods mirroring the gate functions -----

    def exp(self):
        return gates.exp(self)

    def log(self):
        return gates.log(self)

    def sqrt(self):
        return gates.sqrt(self)

    def abs(self):
        return gates.absolute(self)

    def sin(self):
        return gates.sin(self)

    def cos(self):
        return gates.cos(self)

    def tanh(self):
        return gates.tanh(self)

    def sigmoid(self):
        return gates.sigmoid(self)

    def relu(self):
        return gates.relu(self)

    def clip(self, lo=None, hi=None):
        return gates.clip(self, lo, hi)

    def astype(self, dtype):
        return gates.astype(self, dtype)

    def sum(self, axis=None, keepdims=False):
        return gates.sum(self, axis, keepdims)

    def mean(self, axis=None, keepdims=False):
        return gates.mean(self, axis, keepdims)

    def max(self, axis=None, keepdims=False):
        return gates.max(self, axis, keepdims)

    def min(self, axis=None, keepdims=False):
        return gates.min(self, axis, keepdims)

    def var(self, axis=None, keepdims=False, ddof=0):
        return gates.var(self, axis, keepdims, ddof)

    def std(self, axis=None, keepdims=False, ddof=0):
        return gates.std(self, axis, keepdims, ddof)

    def logsumexp(self, axis=None, keepdims=False):
        return gates.logsumexp(self, axis, keepdims)

    def softmax(self, axis=-1):
        return gates.softmax(self, axis)

    def log_softmax(self, axis=-1):
        return gates.log_softmax(self, axis)

    def reshape(self, *shape):
        return gates.reshape(self, shape[0] if len(shape) == 1 else shape)

    def transpose(self, *axes):
        return gates.transpose(self, axes[0] if len(axes) == 1 else (axes or None))

    def swapaxes(self, axis1, axis2):
        return gates.swapaxes(self, axis1, axis2)

    def flatten(self):
        return gates.flatten(self)

    def squeeze(self, axis=None):
        return gates.squeeze(self, axis)

    def expand_dims(self, axis):
        return gates.expand_dims(self, axis)

    def broadcast_to(self, shape):
        return gates.broadcast_to(self, shape)

    # ----- NumPy interoperability (see chainrule.dispatch) -----

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return array_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        return array_function(func, args, kwargs)


# What == and != compare elementwise; anything else falls back to identity (False).
_COMPARABLE = (Tensor, np.ndarray, numbers.Number, np.generic, list, tuple)

# Imported last: the gate modules need `Tensor` defined above.
from chainrule import engine, gates  # noqa: E402
from chainrule.dispatch import array_function, array_ufunc  # noqa: E402
from chainrule.gates import Add, Divide, MatMul, Multiply, Negative, Power, Subtract  # noqa: E402

# The operators' gates, bound once, through their one- and two-input entry (see
# `chainrule.gate._runner`).
_add, _subtract, _multiply, _divide = Add._run, Subtract._run, Multiply._run, Divide._run
_power, _matmul, _negative = Power._run, MatMul._run, Negative._run
