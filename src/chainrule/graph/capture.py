"""Capturing a graph by tracing a function once (`Graph.from_tensor` walks back instead:
see `chainrule.graph.walk`).

Tracing runs the function eagerly, on tensors that stand for its inputs, with a tracer
installed in `chainrule.gate.TRACE`. `Gate.apply` hands every call to it; the tracer
runs the call as usual and writes it down as a `Node`: the gate class, which slot each
argument is (an input, an earlier node's output, a parameter or a constant), the keyword
arguments, and which inputs need a gradient. Nothing is re-run in Python on replay, so
whatever the function decided from tensor values is frozen into the graph. The tracer
therefore watches the tensors it made:

- converting one to a Python value (``.item()``, ``float()``, ``bool()``, ``if x > 0:``,
  ``.tolist()``) raises `TraceError` at once, at the user's line;
- reading its array (``.data``, ``np.asarray(x)``, ``.numpy()``) outside a gate is noted,
  and the trace fails at the end unless that very array reached a gate (then the
  gate reads the slot on replay: ``x * np.asarray(x)``, ``x.detach()``, the targets a
  loss function unwraps). Computations on the array itself (NumPy on ``x.data``, the
  batch statistics of `batch_norm` in training mode) would be frozen, so they fail;
- comparisons (``x > 0``, ``np.sign(x)``) become nodes of their own (`ConstantOp`),
  so masks are recomputed on replay (`chainrule.graph.traced` has the watched tensors);
- drawing random numbers from chainrule's or NumPy's global generator (dropout in
  training mode, ``cr.randn``) fails the trace: a replay would reuse the same draw.

Values read from parameters and constants are not watched (they are the user's objects).
"""

from __future__ import annotations

import inspect
import os
import sys

import numpy as np

from chainrule import creation
from chainrule import gate as gate_module
from chainrule.errors import TraceError
from chainrule.gate import _RAW_CONSTANTS, Gate, _convert
from chainrule.graph.records import CONSTANT, INPUT, NODE, PARAMETER, Capture, Scope, Slot
from chainrule.graph.traced import _DATA, ConstantOp, Traced, _raw
from chainrule.tensor import Tensor, as_array

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_new = object.__new__


def _where(depth: int = 2) -> str:
    """Where a value was read: the innermost line outside chainrule, and the chainrule
    function that read it on the user's behalf (if any)."""
    frame = sys._getframe(depth)
    library = None
    while frame is not None:
        path = os.path.abspath(frame.f_code.co_filename)
        here = (
            f'File "{frame.f_code.co_filename}", line {frame.f_lineno}, in {frame.f_code.co_name}'
        )
        if not path.startswith(_PACKAGE_DIR):
            return here + (f" (through {library})" if library else "")
        if library is None and not path.startswith(os.path.dirname(__file__)):
            library = f"{frame.f_code.co_name} in chainrule/{os.path.relpath(path, _PACKAGE_DIR)}"
        frame = frame.f_back
    return library or "(unknown)"


def _random_state() -> tuple:
    """chainrule's generator (the object: `cr.seed` replaces it, and its state) and
    NumPy's legacy global one (``np.random.rand``...), to notice draws during a trace."""
    rng = creation._rng
    ours = None if rng is None else rng.bit_generator.state
    _, keys, *rest = np.random.get_state()  # noqa: NPY002  (draws from it count too)
    return rng, ours, keys, tuple(rest)


def _same_random_state(a: tuple, b: tuple) -> bool:
    return a[0] is b[0] and a[1] == b[1] and np.array_equal(a[2], b[2]) and a[3] == b[3]


class Tracer(Capture):
    """Installed as `chainrule.gate.TRACE` while a function runs: records every apply."""

    def __init__(self) -> None:
        super().__init__()
        self.by_id: dict[int, Slot] = {}  # id(tensor) -> slot, for tensors seen
        self.by_array: dict[int, Slot] = {}  # id(array) -> slot, for non-constant values
        self.constants: dict[int, Slot] = {}  # id(array or tensor) -> constant slot
        self.alive: list = []  # keeps the objects behind those ids alive during the trace
        self.traced: list[Traced] = []
        self.reads: dict[Slot, str] = {}  # slot -> where its value was first read
        self.passed: set[Slot] = set()  # slots whose array reached a gate by identity
        self.scope: Scope | None = None  # the innermost module call running now
        self.scopes: list[Scope] = []

    # ----- the inputs -----

    def input(self, x: Tensor, name: str | None) -> Traced:
        """A stand-in for input `x`: a view of its data, so that only the stand-in's array
        (not a tensor the function closes over that shares x's array) maps to the input."""
        proxy = _new(Traced)
        data = _raw(x).view()
        _DATA.__set__(proxy, data)
        proxy.grad = None
        proxy.requires_grad = x.requires_grad
        proxy.name = x.name
        proxy._gate = None
        slot = self.new_slot(INPUT, data.shape, data.dtype, x.requires_grad, x.name or name)
        slot.position = len(self.inputs)
        self.inputs.append(slot)
        self._register(proxy, slot)
        self.traced.append(proxy)
        return proxy

    def _register(self, t: Tensor, slot: Slot) -> None:
        data = _raw(t)
        self.by_id[id(t)] = slot
        self.by_array[id(data)] = slot
        self.alive.append(t)
        self.alive.append(data)

    # ----- every Gate.apply while tracing -----

    def __call__(self, cls, inputs: tuple, params: dict) -> Tensor:
        gate_module.TRACE = None  # the gate runs as usual (and reads its inputs unnoticed)
        try:
            result = cls.apply(*inputs, **params)
        finally:
            gate_module.TRACE = self
        has_tensor = any(isinstance(x, Tensor) for x in inputs)
        args = [self.argument(cls, x, has_tensor) for x in inputs]
        if cls is ConstantOp:
            # As eager comparisons: a constant result, through which no gradient flows.
            needs = (False,) * len(inputs)
            result.requires_grad, result._gate = False, None
            op = params["op"].__name__
        else:
            needs = tuple(isinstance(x, Tensor) and x.requires_grad for x in inputs)
            op = cls.__name__
        refs = self.keyword_slots(cls, params)
        data = _raw(result)
        out = self.new_slot(NODE, data.shape, data.dtype, result.requires_grad)
        node = self.add_node(op, cls, args, out, dict(params), needs, refs)
        node.scope = self.scope
        result.__class__ = Traced
        self.traced.append(result)
        self._register(result, out)
        return result

    def argument(self, cls, x, has_tensor: bool) -> Slot:
        """The slot of one positional argument of a gate."""
        if isinstance(x, Tensor):
            slot = self.by_id.get(id(x)) or self.constants.get(id(x))
            if slot is not None:
                return slot
            if not x.requires_grad:
                slot = self.by_array.get(id(_raw(x)))
                if slot is not None:  # x.detach(), a tensor wrapped around x.data...
                    self.passed.add(slot)
                    return slot
                return self._constant(x, _raw(x), x.name)
            if x._gate is not None:
                raise TraceError(
                    f"Graph: the function uses a tensor computed outside it that requires "
                    f"grad (made by {type(x._gate).__name__}, shape {x.shape}); a captured "
                    "graph cannot backpropagate into the graph it came from. Pass it as an "
                    "input, compute it inside the function, or detach() it."
                )
            data = _raw(x)
            slot = self.new_slot(PARAMETER, data.shape, data.dtype, True, x.name, x)
            self._register(x, slot)
            return slot
        if isinstance(x, np.ndarray):
            slot = self.by_array.get(id(x))
            if slot is not None:  # np.asarray(x) handed back to a gate
                self.passed.add(slot)
                return slot
            slot = self.constants.get(id(x))
            if slot is not None:
                return slot
        # The conversions of Gate.apply, so that a replay passes forward the same values.
        if not isinstance(x, _RAW_CONSTANTS):
            x = _convert(cls, x)
        elif not has_tensor and isinstance(x, (int, float)):
            x = as_array(x)
        return self._constant(x, x, None)

    def _constant(self, source, value, name) -> Slot:
        shape, dtype = getattr(value, "shape", ()), getattr(value, "dtype", None)
        slot = self.new_slot(CONSTANT, shape, dtype, False, name, source)
        if isinstance(source, (Tensor, np.ndarray)):
            self.constants[id(source)] = slot
            self.alive.append(source)
        return slot

    def keyword_slots(self, cls, params: dict) -> list:
        """Keyword arguments that are the arrays of traced values (a loss function's
        targets, an index mask): [(key, position in a tuple or None, slot)]."""
        refs = []
        for key, value in params.items():
            items = enumerate(value) if isinstance(value, tuple) else [(None, value)]
            for i, item in items:
                if isinstance(item, Traced):
                    raise TraceError(
                        f"Graph: {cls.__name__} got a traced tensor as keyword argument "
                        f"{key!r}; pass tensors as positional arguments of a gate"
                    )
                if isinstance(item, np.ndarray):
                    slot = self.by_array.get(id(item))
                    if slot is not None:
                        self.passed.add(slot)
                        refs.append((key, i, slot))
        return refs

    # ----- module calls (nn.Module.__call__ reports them) -----

    def enter(self, module) -> None:
        parent = self.scope
        kind = type(module).__name__
        if parent is None:
            name = kind
            for _ in module.named_parameters():  # names them (fc1.weight) for the drawings
                pass
        else:
            children = getattr(parent.module, "_modules", {})
            name = next((key for key, m in children.items() if m is module), kind.lower())
            if parent.parent is not None:
                name = f"{parent.name}.{name}"
        self.scope = Scope(name, kind, parent, module)
        self.scopes.append(self.scope)

    def exit(self) -> None:
        self.scope = self.scope.parent

    # ----- values escaping -----

    def read(self, t: Traced) -> None:
        slot = self.by_id.get(id(t))
        if slot is not None and slot not in self.reads:
            self.reads[slot] = _where(3)

    def check_reads(self) -> None:
        frozen = [(slot, where) for slot, where in self.reads.items() if slot not in self.passed]
        if not frozen:
            return
        slot, where = frozen[0]
        what = "input " + slot.label if slot.kind == INPUT else f"the output of {slot.node.op}"
        more = f" ({len(frozen) - 1} more values were read so)" if len(frozen) > 1 else ""
        raise TraceError(
            f"Graph: the value of {what} was read outside a gate (x.data, np.asarray(x), "
            f"x.numpy()) at\n  {where}\nand what was computed from it would be frozen into "
            "the captured graph as a constant. Use gates on the tensor instead; batch_norm "
            "in training mode (nn.BatchNorm1d.train()) computes its statistics this way "
            f"and cannot be captured: use eval mode.{more}"
        )

    def close(self) -> None:
        """Turn the traced tensors back into plain tensors and drop the bookkeeping."""
        for t in self.traced:
            t.__class__ = Tensor
        for scope in self.scopes:
            scope.module = None
        self.traced = self.alive = self.scopes = []
        self.by_id = self.by_array = self.constants = {}


def trace(f, tensors: list[Tensor], names: list[str | None]) -> Capture:
    """Run ``f(*tensors)`` once under a tracer and return what it did."""
    if gate_module.TRACE is not None:
        raise TraceError("Graph: a trace is already running")
    tracer = Tracer()
    proxies = [tracer.input(t, name) for t, name in zip(tensors, names)]
    random_before = _random_state()
    gate_module.TRACE = tracer
    try:
        result = f(*proxies)
        gate_module.TRACE = None
        tracer.outputs = _output_slots(tracer, result)
    finally:
        gate_module.TRACE = None
        tracer.close()
    if not _same_random_state(random_before, _random_state()):
        raise TraceError(
            "Graph: the function drew random numbers while it was traced (dropout in "
            "training mode, cr.rand/cr.randn, np.random...); a replay would reuse the same "
            "draw for every call. Put the model in eval mode (model.eval()) or keep the "
            "random part out of the captured function."
        )
    tracer.check_reads()
    return tracer


def _output_slots(tracer: Tracer, result) -> list[Slot]:
    tracer.single = not isinstance(result, (tuple, list))
    outputs = [result] if tracer.single else list(result)
    slots = []
    for out in outputs:
        if not isinstance(out, Tensor):
            raise TypeError(
                f"Graph: the function must return a Tensor or a tuple of Tensors, got "
                f"{type(out).__name__}"
            )
        slots.append(tracer.argument(Gate, out, True))
    return slots


def argument_names(f, n: int) -> list[str | None]:
    """The names of f's first n positional parameters (a module's forward's), for labels."""
    for candidate in (f, getattr(f, "forward", None)):
        if candidate is None:
            continue
        try:
            parameters = inspect.signature(candidate).parameters.values()
        except (TypeError, ValueError):
            continue
        names = [
            p.name for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
        if names:
            return (names + [None] * n)[:n]
    return [None] * n
