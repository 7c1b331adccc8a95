"""Replay: a captured graph compiled to a flat program, run forward and backward on arrays.

A `Program` numbers the slots (inputs, parameters, constants, then one per node, in
topological order) and keeps, per node, the gate class, the slot numbers of its
arguments and its keyword arguments. `forward` creates a fresh instance of each gate
and calls its ``forward`` on the arrays, appending each output to a list of values:
no Tensor objects, no Python control flow of the traced function. `backward` calls
the gates' ``backward`` in reverse order on arrays and adds the gradients per slot.

Both do exactly what `Gate.apply` and the engine do, in the same order, so replayed
values and gradients are bitwise identical to eager ones: the same forward calls on the
same arrays; the gates run backward from the latest to the earliest (the engine's
order: by creation), each gradient added to what the slot already has (the branches
in the same order); the same checks on what backward returns (count, type, dtype cast
to the input's, shapes for gates outside `chainrule.gates`), and parameter gradients
stored by the engine's own `accumulate_leaf` (so the same copies and dtypes).
"""

from __future__ import annotations

from types import FunctionType

import numpy as np

from chainrule.engine import accumulate_leaf, as_grad_tuple, conform_grad
from chainrule.errors import GraphFreedError
from chainrule.gate import Gate, check_finite
from chainrule.graph.records import CONSTANT, NODE, PARAMETER, Capture
from chainrule.mode import STATE
from chainrule.tensor import Tensor

_new = object.__new__


class Program:
    """A captured graph, numbered and compiled for replay."""

    def __init__(self, capture: Capture) -> None:
        nodes, used = _live_nodes(capture)
        kept = [s for s in capture.slots if s.kind != NODE and id(s) in used]
        self.inputs = tuple(capture.inputs)
        self.parameter_slots = tuple(s for s in kept if s.kind == PARAMETER)
        constants = tuple(s for s in kept if s.kind == CONSTANT)
        self.slots = (*self.inputs, *self.parameter_slots, *constants, *(n.output for n in nodes))
        for i, slot in enumerate(self.slots):
            slot.index = i
        for i, slot in enumerate(self.parameter_slots):
            slot.position = i
        for i, node in enumerate(nodes):
            node.index = i
        self.nodes = tuple(nodes)
        self.outputs = tuple(capture.outputs)
        self.single = capture.single
        self.parameters = tuple(slot.source for slot in self.parameter_slots)

        # The values every run starts from: raw constants in place, the rest filled per run.
        self.template = [None] * (len(self.slots) - len(nodes))
        self.refresh = []  # (slot number, tensor): parameters and tensor constants
        self.externals = []  # (tensor, shape, dtype, requires_grad) as traced
        for slot in (*self.parameter_slots, *constants):
            if isinstance(slot.source, Tensor):
                t = slot.source
                self.refresh.append((slot.index, t))
                self.externals.append((t, slot.shape, slot.dtype, t.requires_grad))
            else:
                self.template[slot.index] = slot.source
        self.replayable = all(node.params is not None for node in nodes)

        # Per node: (gate class, its forward, arity, first and last argument slots, all
        # argument slots, (keyword arguments, keyword inputs) or None, needs_input_grad).
        # A built-in gate with one or two arguments and no keywords, whose output is not
        # 0-d, takes the fast path, arity 1 or 2 (it always returns an ndarray: nothing to
        # check); every other node has arity 0 and goes the general way.
        self.code = []
        functions: dict[tuple, object] = {}
        shared: dict[tuple, tuple] = {}  # one needs_input_grad tuple per value: less memory
        for node in nodes:
            args = tuple([s.index for s in node.inputs])
            if node.keyword_inputs:
                refs = tuple((key, i, slot.index) for key, i, slot in node.keyword_inputs)
                call = (node.params, refs)
            elif node.params or len(args) not in (1, 2) or node.gate.checked or not node.shape:
                call = (node.params or {}, None)
            else:
                call = None
            first, second = (args[0], args[-1]) if args else (-1, -1)
            arity = len(args) if call is None else 0
            forward = _function(functions, node.gate, "forward")
            needs = shared.setdefault(node.needs_input_grad, node.needs_input_grad)
            self.code.append(
                (node.gate, forward, arity, first, second, None if arity else args, call, needs)
            )
        # Per node a gradient can reach, latest first: (node, output slot, number of inputs,
        # checked, then the one input that needs a gradient, or all of them as routes).
        self.back = []
        for node in reversed(nodes):
            if not node.output.requires_grad:
                continue
            routes = tuple(
                (pos, slot.index, slot.dtype)
                for pos, (slot, need) in enumerate(zip(node.inputs, node.needs_input_grad))
                if need
            )
            backward = _function(functions, node.gate, "backward")
            head = (node.index, backward, node.output.index, len(node.inputs), node.gate.checked)
            if len(routes) == 1:
                self.back.append((*head, *routes[0], None))
            else:
                self.back.append((*head, -1, -1, None, routes))

    def start(self, arrays: list) -> list | None:
        """The values a run starts from, or None when a parameter or constant tensor no
        longer has the shape, dtype or requires_grad it was traced with."""
        values = self.template.copy()
        values[: len(arrays)] = arrays
        for (index, t), (_, shape, dtype, requires_grad) in zip(self.refresh, self.externals):
            data = t.data
            if data.shape != shape or data.dtype != dtype or t.requires_grad != requires_grad:
                return None
            values[index] = data
        return values


def _function(cache: dict, cls, name: str):
    """``cls.<name>`` as a plain function of (gate, ...), to call without a bound method."""
    key = (cls, name)
    if key not in cache:
        cache[key] = _find_function(cls, name)
    return cache[key]


def _find_function(cls, name: str):
    for klass in cls.__mro__:
        if name in klass.__dict__:
            method = klass.__dict__[name]
            if type(method) is FunctionType:  # not a staticmethod, classmethod or callable
                return method
            break
    return lambda gate, *args, **kwargs: getattr(gate, name)(*args, **kwargs)


def _live_nodes(capture: Capture) -> tuple[list, set]:
    """The nodes the outputs depend on (a traced function may compute things it drops),
    and the ids of the slots they and the outputs use."""
    live = set(map(id, capture.outputs))
    kept = []
    for node in reversed(capture.nodes):
        if id(node.output) in live:
            kept.append(node)
            live.update(map(id, node.inputs))
            for _, _, slot in node.keyword_inputs:
                live.add(id(slot))
    kept.reverse()
    return kept, live


class Run:
    """One forward replay: the values of every slot, the gates (with what they saved) and,
    after a backward, the gradient of every slot."""

    __slots__ = ("program", "values", "gates", "grads", "inputs", "freed", "output_gates")

    def __init__(self, program: Program, values: list, gates: list, inputs) -> None:
        self.program = program
        self.values = values
        self.gates = gates
        self.grads = None
        self.inputs = inputs  # the input tensors of this call
        self.freed = False
        self.output_gates: list = []  # the GraphOutput gates of the tensors forward returned

    def backward(self, roots, retain_graph: bool) -> list:
        """Backpropagate from [(slot number, gradient array)]; the gradient of every slot."""
        if self.freed:
            raise GraphFreedError(
                "backward: this forward of the Graph was already backpropagated, and its "
                "saved values freed; pass retain_graph=True to the first backward to go "
                "through it again, or call forward again"
            )
        program = self.program
        grads = [None] * len(program.slots)
        for index, g in roots:
            old = grads[index]
            grads[index] = g if old is None else old + g
        _backward(program.back, self.gates, self.values, grads, STATE.anomaly)
        self.grads = grads
        if not retain_graph:
            self.free()
        return grads

    def free(self) -> None:
        """Drop what the gates saved, as eager mode does after a backward. The values and
        gradients stay (the graph shows them until its next forward); the output tensors'
        gates are freed as the engine frees gates, so that outputs kept by the caller hold
        nothing of this run and a backward through them raises `GraphFreedError`."""
        self.gates = None
        self.freed = True
        for gate in self.output_gates:
            gate.saved = None
            gate.inputs = ()
        self.output_gates = []

    def accumulate(self, grads: list, seen: set) -> None:
        """Add the parameters' gradients into their ``.grad``, as the engine does."""
        for slot in self.program.parameter_slots:
            g = grads[slot.index]
            if g is not None:
                accumulate_leaf(slot.source, g, False, seen)


def forward(program: Program, values: list, inputs) -> Run:
    """Replay the program on `values` (as `Program.start` made them)."""
    anomaly = STATE.anomaly
    gates = []
    keep = gates.append
    put = values.append
    new = _new
    ndarray = np.ndarray
    # The functions are looked up once, not per call: `cls.forward(gate, ...)` saves an
    # attribute lookup and a bound method per node, a tenth of a replay on small tensors.
    for cls, fwd, arity, first, second, args, call, needs in program.code:
        gate = new(cls)
        gate.needs_input_grad = needs
        if arity == 2:
            out = fwd(gate, values[first], values[second])
        elif arity == 1:
            out = fwd(gate, values[first])
        else:
            params, refs = call
            if refs is not None:
                params = _resolve(params, refs, values)
            out = fwd(gate, *[values[i] for i in args], **params)
            if type(out) is not ndarray:
                # As Gate.apply: a 0-d array, the same object as the saved one.
                scalar, out = out, np.asarray(out)
                gate.saved = tuple(out if value is scalar else value for value in gate.saved)
        if anomaly:
            check_finite(gate, out, "forward")
        put(out)
        keep(gate)
    return Run(program, values, gates, inputs)


def _resolve(params: dict, refs: tuple, values: list) -> dict:
    """The keyword arguments with the traced arrays replaced by this run's values."""
    params = dict(params)
    for key, item, index in refs:
        if item is None:
            params[key] = values[index]
        else:
            items = list(params[key])
            items[item] = values[index]
            params[key] = tuple(items)
    return params


def _backward(back, gates, values, grads, anomaly: bool) -> None:
    ndarray = np.ndarray
    for k, bwd, index, n_inputs, checked, pos, slot, dtype, routes in back:
        g = grads[index]
        if g is None:
            continue
        gate = gates[k]
        input_grads = bwd(gate, g)
        if type(input_grads) is not tuple or (checked and len(input_grads) != n_inputs):
            input_grads = as_grad_tuple(gate, input_grads, n_inputs)
        if routes is None:  # one input needs a gradient (the common case)
            dx = input_grads[pos]
            if dx is None:
                continue
            if (
                type(dx) is not ndarray
                or dx.dtype is not dtype
                or (checked and dx.shape != values[slot].shape)
            ):
                dx = conform_grad(gate, pos, dx, values[slot])
            if anomaly:
                check_finite(gate, dx, "backward")
            old = grads[slot]
            grads[slot] = dx if old is None else old + dx
            continue
        for pos, slot, dtype in routes:
            dx = input_grads[pos]
            if dx is None:
                continue
            if (
                type(dx) is not ndarray
                or dx.dtype is not dtype
                or (checked and dx.shape != values[slot].shape)
            ):
                dx = conform_grad(gate, pos, dx, values[slot])
            if anomaly:
                check_finite(gate, dx, "backward")
            old = grads[slot]
            grads[slot] = dx if old is None else old + dx


class GraphOutput(Gate):
    """out = output k of one forward of a Graph; its inputs are the graph's inputs and
    parameters that require grad.   Backward: the graph's replayed backward."""

    differentiable = False  # the replay runs on arrays: no create_graph through it

    def forward(self, *arrays, run, k):
        # In `saved`, so that a backward that frees this gate (the engine's, or the
        # graph's) lets go of the run: a loss kept after backward keeps nothing alive.
        self.save(run, k)
        return run.values[run.program.outputs[k].index]

    def backward(self, g):
        run, k = self.saved
        program = run.program
        grads = run.backward([(program.outputs[k].index, g)], retain_graph=True)
        dx = [grads[s.index] for s in program.inputs if s.requires_grad]
        dp = [grads[s.index] for s in program.parameter_slots if s.source.requires_grad]
        return (*dx, *dp)


def _root_grads(run: Run, grad) -> list:
    """[(slot number, upstream gradient)] for the outputs that require grad, as the
    engine's `_root_grad` makes them."""
    outputs = run.program.outputs
    if len(outputs) == 1 or grad is None:
        grads = [grad] * len(outputs) if grad is None else [grad]
    else:
        grads = list(grad)
        if len(grads) != len(outputs):
            raise ValueError(
                f"Graph.backward: got {len(grads)} gradients for {len(outputs)} outputs"
            )
    roots = []
    for slot, g in zip(outputs, grads):
        if not slot.requires_grad:
            continue
        value = run.values[slot.index]
        if g is None:
            if value.size != 1:
                raise RuntimeError(
                    f"backward: the gradient can be implicit only for a scalar output; this "
                    f"output has shape {value.shape}, so pass grad= with that shape"
                )
            g = np.ones_like(value)
        else:
            g = g.data if isinstance(g, Tensor) else np.asarray(g, dtype=value.dtype)
            if g.shape != value.shape:
                raise ValueError(f"backward: grad has shape {g.shape}, the output {value.shape}")
        roots.append((slot.index, g))
    if not roots:
        raise RuntimeError(
            "backward: the output does not require grad (no input or parameter of the "
            "graph requires grad, or it ran under no_grad)"
        )
    return roots
