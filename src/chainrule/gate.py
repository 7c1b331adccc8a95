"""Gate: the forward/backward contract every operation follows.

A gate is one node of the computational graph. `forward` takes NumPy arrays, computes
the output and saves what `backward` will need; `backward` takes the upstream gradient
`g` and returns one downstream gradient per input (upstream x local gradient)::

    class Multiply(Gate):
        def forward(self, x, y):
            self.save(x, y)
            return x * y

        def backward(self, g):
            x, y = self.saved
            return g * y, g * x

    z = Multiply.apply(a, b)      # a, b: tensors, arrays or numbers

Higher order. Backward is written with NumPy operators and functions, so that the same
code runs on plain arrays (first order: the fast path, no dispatch at all) and on
Tensors (``create_graph=True``): then ``self.saved`` hands back the Tensors the saved
arrays came from (inputs and output), ``g`` is a Tensor, and NumPy's dispatch
protocols (``__array_ufunc__``, ``__array_function__``, see `chainrule.dispatch`)
route ``np.exp(t)``, ``np.where(...)``, ``g @ w.T`` to gates, which records the
backward pass as a graph of its own. A gate that saves an intermediate float array
(neither an input nor its output) cannot be differentiated that way: under
``create_graph`` it raises `HigherOrderError`, naming itself. Integer and boolean
arrays (indices, masks) are constants and always fine. A gate can also opt out by
setting ``differentiable = False``.
"""

from __future__ import annotations

import functools
import itertools
import types

import numpy as np

from chainrule.anomaly import check_finite, user_frames
from chainrule.errors import HigherOrderError, ShapeError
from chainrule.mode import STATE
from chainrule.tensor import Tensor, as_array

_next_seq = itertools.count().__next__
_new = object.__new__
_ndarray = np.ndarray
_RAW_CONSTANTS = (int, float, bool, np.ndarray, np.generic, type(None))
# The constants the one- and two-input path of `Gate.apply` takes as they are (by type).
_PLAIN = frozenset((np.ndarray, float, int))
_SHAPE_WORDS = ("shape", "broadcast", "dimension", "size", "axis")

#: The tracer of a `chainrule.Graph` while it captures a function, else None: every
#: `Gate.apply` is then handed to it (see `chainrule.graph.capture`).
TRACE = None


def sum_to(g, shape: tuple[int, ...]):
    """Undo broadcasting: sum `g` down to `shape` (works on arrays and Tensors).

    The one place in chainrule where broadcasting is reversed: a gate whose input of
    shape `shape` was broadcast in forward returns ``sum_to(dx, shape)``.

    >>> import numpy as np
    >>> from chainrule import sum_to
    >>> sum_to(np.ones((2, 3)), (1, 3)).tolist(), sum_to(np.ones((2, 3)), (3,)).tolist()
    ([[2.0, 2.0, 2.0]], [2.0, 2.0, 2.0])
    """
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and g.shape[lead + i] != 1
    )
    g = g.sum(axis=axes, keepdims=True)
    return g.reshape(shape) if lead else g


def _describe(inputs) -> str:
    parts = []
    for x in inputs:
        if isinstance(x, (Tensor, np.ndarray)):
            parts.append(f"{tuple(x.shape)} {x.dtype}")
        else:
            parts.append(type(x).__name__)
    return ", ".join(parts)


class Gate:
    """Base class of every operation. Subclass it and write `forward` and `backward`.

    `forward` gets arrays and keeps what backward needs with ``self.save(...)``;
    `backward` gets the upstream gradient and returns one gradient per input (None for
    an input that needs none); ``MyGate.apply(...)`` runs it on tensors and records it.

    >>> import chainrule as cr
    >>> class Multiply(cr.Gate):
    ...     def forward(self, x, y):
    ...         self.save(x, y)
    ...         return x * y
    ...     def backward(self, dz):
    ...         x, y = self.saved
    ...         return dz * y, dz * x  # the mul gate switches its inputs
    >>> x = cr.tensor(3.0, requires_grad=True)
    >>> y = cr.tensor(-4.0, requires_grad=True)
    >>> Multiply.apply(x, y).backward()
    >>> x.grad.item(), y.grad.item()
    (-4.0, 3.0)
    """

    #: False for a gate whose backward cannot itself be differentiated.
    differentiable = True
    #: Whether the engine checks what backward returns (set for each subclass: True for
    #: a user's gate, one defined outside `chainrule.gates`).
    checked = True
    #: Per input: True where backward returns the upstream gradient ``g`` itself whenever
    #: that input has the output's shape and dtype (the add gate distributes). A captured
    #: `chainrule.Graph` then hands ``g`` on to it without calling backward; the test
    #: suite checks each claim (tests/graph/test_graph_replay.py).
    passes_gradient: tuple[bool, ...] = ()
    # What `apply` sets, in slots (cheaper to write and read than an instance dict, on
    # every op): `saved`, what forward kept for backward (() until `save`; None once a
    # backward freed it); `needs_input_grad`; and on a recorded gate `inputs`, the edges,
    # one per input: the gate that made a computed input (as PyTorch's
    # ``next_functions``), the tensor itself for a leaf, the value of a constant (() once
    # a backward freed the gate); `seq`, the creation order; `out_dtype`, `out_id`: the
    # dtype and ``id`` of the output; `params`, the keyword arguments of forward (None
    # without any, and once freed); and on a user's gate (`checked`) only, `in_shapes`:
    # the shapes of its inputs, which the engine checks its gradients against. (The
    # output's shape is not kept: ``out.shape`` makes a tuple on every op, a measurable
    # part of an op's cost on small tensors.) Subclasses still get a ``__dict__`` for
    # their own attributes.
    __slots__ = (
        "saved", "needs_input_grad", "inputs", "seq", "out_dtype", "out_id", "params",
        "in_shapes",
        "__dict__", "__weakref__",
    )  # fmt: skip
    # Defaults set per instance only when needed (keeps `apply` cheap).
    _created_at = None  # the stack where the gate was applied, under detect_anomaly

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        # The shapes of the gradients a gate returns are checked on every backward,
        # except for the built-in gates, whose shapes the test suite verifies for each
        # gate (the check, and keeping the shapes to check, are a measurable part of the
        # per-gate cost on small tensors).
        cls.checked = not cls.__module__.startswith("chainrule.gates.")
        cls._run = staticmethod(_runner(cls))

    def forward(self, *arrays, **params) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__}.forward is not implemented")

    def backward(self, g):
        raise NotImplementedError(f"{type(self).__name__}.backward is not implemented")

    def save(self, *values) -> None:
        """Keep what backward needs (arrays or plain values); read it back as ``self.saved``.

        The same as ``self.saved = values``, which the built-in gates of the hottest
        paths write directly to save a call.
        """
        self.saved = values

    @classmethod
    def apply(cls, *inputs, **params) -> Tensor:
        """Run the gate on tensors (or arrays, or numbers) and record it if needed."""
        if params or not 0 < len(inputs) < 3:
            return cls._run(None, None, inputs, params)
        return cls._run(*inputs)

    # ----- used by the engine -----

    def saved_tensors(self) -> tuple:
        """``self.saved`` with each array replaced by the Tensor it came from.

        Used under ``create_graph``: the arrays of inputs and of this gate's output map
        back to Tensors of the graph (a leaf input to itself; a computed input, or the
        output, to a Tensor of the gate that made it); raw constants and integer/bool
        arrays stay as they are.
        """
        name = type(self).__name__
        if not self.differentiable:
            raise HigherOrderError(f"{name} does not support higher-order gradients")
        resolved = []
        for value in self.saved:
            if isinstance(value, (np.ndarray, np.generic)):
                value = self._source_of(value)
            resolved.append(value)
        return tuple(resolved)

    def _source_of(self, array):
        # Identities are sound here: a saved array is alive, and an input's array was
        # alive from the moment its gate made it until this gate saved it.
        key = id(array)
        for x in self.inputs:
            if x is array:
                return array
            if isinstance(x, Tensor):
                if x.data is array:
                    return x
            elif isinstance(x, Gate) and x.out_id == key:
                return Tensor._make(array, x)
        if key == self.out_id:
            return Tensor._make(array, self)
        if array.dtype.kind in "biu":
            return array
        raise HigherOrderError(
            f"{type(self).__name__} saved an intermediate array of shape {array.shape}, "
            "so its backward cannot be differentiated (create_graph=True); save inputs "
            "or the output instead, or set differentiable = False"
        )

    def __repr__(self) -> str:
        return f"<{type(self).__name__} gate>"


def _own_copy(function):
    """`function` with a code object of its own (the same globals, closure, defaults,
    name and docstring; tracebacks show gate.py)."""
    copy = types.FunctionType(
        function.__code__.replace(), function.__globals__, function.__name__,
        function.__defaults__, function.__closure__,
    )  # fmt: skip
    copy.__kwdefaults__ = function.__kwdefaults__
    functools.update_wrapper(copy, function)  # name, docstring, annotations, module
    del copy.__wrapped__  # a copy, not a wrapper: its signature is its own
    return copy


_ONE_INPUT = object()  # the `y` of a gate run on one input
_FLOAT32 = np.dtype(np.float32)


def _runner(cls):
    """``cls._run``: `Gate.apply` for `cls`, with its inputs as positional arguments.

    ``run(x)`` and ``run(x, y)`` apply the gate to one or two inputs (what almost every
    op of a model is: the operators and the built-in functions call it so);
    ``run(None, None, inputs, params)`` to any inputs and keyword arguments (what
    `Gate.apply` passes on). Two things make it cheaper per op than one ``apply(cls,
    *inputs, **params)`` for every call (6% of the per-op chain's instructions,
    ``python benchmarks/instructions.py``; see docs/design.md):

    - a fixed signature. CPython runs a call of a function with plain positional
      parameters inside the caller's loop; a call with ``*inputs`` and ``**params``
      takes the general path, which builds the tuple and a dict every time.
    - a code object of `cls`'s own (`_own_copy`). CPython specialises each attribute
      read and write of a code object for the type it sees there. One function shared
      by every gate class sees another class at almost every op (a multiply, then an
      add, then a tanh), so each write to the new gate would take the general path.
    """
    checked = cls.checked
    # Without an __init__ or __new__ of its own, calling the class makes the gate as
    # object.__new__ would, with less work (no argument tuple to check).
    plain = cls.__init__ is object.__init__ and cls.__new__ is object.__new__
    new = cls if plain else functools.partial(_new, cls)

    def run(x, y=_ONE_INPUT, inputs=None, params=None):
        if TRACE is not None:
            if inputs is None:
                inputs = (x,) if y is _ONE_INPUT else (x, y)
            return TRACE(cls, inputs, params or {})
        # One tensor, or a tensor and a tensor or a plain constant, into a built-in gate:
        # unpacked here without the general loop of `_unpack`, and forward is called
        # with its arguments spelled out (a call with *arrays is not run inline either).
        if inputs is not None or checked or not isinstance(x, Tensor):
            arity = 0
        elif y is _ONE_INPUT:
            arity = 1
            needs = (True,) if x.requires_grad else (False,)  # constants: nothing to build
            edges = (x if x._gate is None else x._gate,)
        elif isinstance(y, Tensor):
            arity = 2
            needs = (x.requires_grad, y.requires_grad)
            edges = (x if x._gate is None else x._gate, y if y._gate is None else y._gate)
            y = y.data
        elif type(y) in _PLAIN:
            arity = 2
            needs = (True, False) if x.requires_grad else (False, False)
            edges = (x if x._gate is None else x._gate, y)
        else:
            arity = 0
        gate = new()
        gate.saved = ()
        if arity == 0:
            if inputs is None:
                inputs = (x,) if y is _ONE_INPUT else (x, y)
            arrays, needs, edges = _unpack(cls, inputs)
            if checked:
                gate.in_shapes = tuple(getattr(a, "shape", ()) for a in arrays)
        gate.needs_input_grad = needs
        try:
            if arity == 1:
                out = gate.forward(x.data)
            elif arity == 2:
                out = gate.forward(x.data, y)
            else:
                out = gate.forward(*arrays, **params) if params else gate.forward(*arrays)
        except (ValueError, TypeError) as error:
            _reraise(cls, error, inputs if arity == 0 else (x,) if arity == 1 else (x, y))
        if type(out) is not _ndarray:
            # NumPy returns scalars, not 0-d arrays, from ops on 0-d arrays: keep the
            # saved value identical to the output, so that create_graph can find it.
            scalar, out = out, np.asarray(out)
            gate.saved = tuple(out if value is scalar else value for value in gate.saved)
        if STATE.anomaly:
            gate._created_at = user_frames()
            check_finite(gate, out, "forward")

        # Tensor._make, inlined because this is the hottest line of the library.
        result = _new(Tensor)
        result.data = out
        result.grad = None
        result.name = None
        dtype = out.dtype
        # (float32 by identity first: a dtype's kind is a slow attribute to read)
        if True in needs and STATE.grad_enabled and (dtype is _FLOAT32 or dtype.kind == "f"):
            gate.inputs = edges
            gate.seq = _next_seq()  # creation order: the engine's topological order
            # What consumers need of the output once the tensor may be gone: its dtype
            # (to check gradients) and its identity (to find it in `saved`).
            gate.out_dtype = dtype
            gate.out_id = id(out)
            gate.params = params or None  # not an empty dict kept per op
            result.requires_grad = True
            result._gate = gate
        else:  # nothing to record: the gate is dropped with its saved values
            result.requires_grad = False
            result._gate = None
        return result

    return _own_copy(run)


Gate._run = staticmethod(_runner(Gate))


def _convert(cls, x):
    if isinstance(x, (list, tuple)):
        return as_array(x)
    raise TypeError(f"{cls.__name__}: expected tensors, arrays or numbers, got {type(x).__name__}")


def _reraise(cls, error: Exception, inputs):
    """Raise `error`, which ``cls.forward`` raised, again: a type or shape complaint with
    the gate's name and the inputs' shapes and dtypes, any other as it is."""
    if isinstance(error, TypeError):
        raise TypeError(f"{cls.__name__}: {error} (inputs: {_describe(inputs)})") from error
    if isinstance(error, ShapeError) or not any(w in str(error) for w in _SHAPE_WORDS):
        raise error
    raise ShapeError(f"{cls.__name__}: {error} (inputs: {_describe(inputs)})") from error


def _unpack(cls, inputs) -> tuple[list, tuple, tuple]:
    """`Gate.apply`'s inputs in general: the arrays for forward, which of them need a
    gradient, and the edges of the graph, one per input."""
    arrays = []
    needs = []
    edges = []
    has_tensor = False
    for x in inputs:
        if isinstance(x, Tensor):
            arrays.append(x.data)
            needs.append(x.requires_grad)
            # The edge to a computed input is the gate that made it, not the tensor:
            # a tensor the caller dropped frees its array unless a gate saved it.
            producer = x._gate
            edges.append(x if producer is None else producer)
            has_tensor = True
        else:
            if not isinstance(x, _RAW_CONSTANTS):
                x = _convert(cls, x)
            arrays.append(x)
            needs.append(False)
            edges.append(x)
    if not has_tensor:
        # A gate called on plain Python data follows the tensor dtype policy.
        arrays = [as_array(x) if isinstance(x, (int, float)) else x for x in arrays]
    # A tuple of bools: the cyclic GC stops tracking it, which keeps long graphs cheap.
    return arrays, tuple(needs), tuple(edges)


def shape_of(x) -> tuple[int, ...]:
    """The shape of an operand: an array, a Tensor, or a Python number (``()``)."""
    return getattr(x, "shape", ())


def value(x):
    """The plain data behind an operand, for masks and other non-differentiable parts."""
    return x.data if isinstance(x, Tensor) else x
