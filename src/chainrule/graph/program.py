"""Replay: a captured graph compiled to a flat program, run forward and backward on arrays.

A `Program` numbers the slots (inputs, parameters, constants, then one per node, in
topological order) and keeps, per node, the gate class, the slot numbers of its
arguments and its keyword arguments. `forward` calls each gate's ``forward`` on the
arrays, appending each output to a list of values: no Tensor objects, no Python control
flow of the traced function. `backward` calls the gates' ``backward`` in reverse order
on arrays and adds the gradients per slot.

Both do exactly what `Gate.apply` and the engine do, in the same order, so replayed
values and gradients are bitwise identical to eager ones: the same forward calls on the
same arrays; the gates run backward from the latest to the earliest (the engine's
order: by creation), each gradient added to what the slot already has (the branches
in the same order); the same checks on what backward returns (count, type, dtype cast
to the input's, shapes for gates outside `chainrule.gates`), and parameter gradients
stored by the engine's own `accumulate_leaf` (so the same copies and dtypes).

What replay saves over eager mode, per node (benchmarks/chain.py measures it):

- no Tensor, no graph recording, no heap of gates: the order is the program's;
- the gate instances are made once per program and lent to one run at a time
  (`chainrule.graph.gateset`), instead of a thousand made and dropped per step;
- what is known when compiling is not checked again: which inputs need a gradient, the
  shapes of the built-in gates' gradients (the suite checks every gate), and whether an
  add gate's input has the output's shape, where its backward would hand the upstream
  gradient on unchanged (`Gate.passes_gradient`): the gradient is then passed on without
  the call. Shapes are known when compiling for every value that cannot depend on the
  data (`_fixed_shapes`: ``x[x > 0]`` can).
"""

from __future__ import annotations

from types import FunctionType

import numpy as np

from chainrule.engine import accumulate_leaf, as_grad_tuple, conform_grad
from chainrule.errors import GraphFreedError
from chainrule.gate import Gate, check_finite
from chainrule.graph.gateset import GateSet
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

        # Per node: (its gate's forward, arity, first and last argument slots, call),
        # one tuple per node, read in order (a replay that runs after other work finds
        # little of the program in the CPU caches: what it reads should be compact).
        # A built-in gate with one or two arguments and no keywords, whose output is not
        # 0-d, takes the fast path, arity 1 or 2 (it always returns an ndarray: nothing to
        # check); every other node has arity 0 and goes the general way, call being
        # (argument slots, keyword arguments, keyword inputs or None).
        self.code = []
        functions: dict[tuple, object] = {}
        for node in nodes:
            args = tuple([s.index for s in node.inputs])
            refs = None
            if node.keyword_inputs:
                refs = tuple((key, i, slot.index) for key, i, slot in node.keyword_inputs)
            general = (
                refs is not None
                or node.params
                or len(args) not in (1, 2)
                or node.gate.checked
                or not node.shape
            )
            first, second = (args[0], args[-1]) if args else (-1, -1)
            forward = _function(functions, node.gate, "forward")
            if general:
                self.code.append((forward, 0, first, second, (args, node.params or {}, refs)))
            else:
                self.code.append((forward, len(args), first, second, None))
        self._gates = GateSet(nodes)

        # Per node a gradient can reach, latest first: (node, its backward, output slot,
        # then the one input that needs a gradient: position, slot, dtype; then None) for
        # a built-in gate with one such input; its backward is None when the gradient
        # passes to that input unchanged (`Gate.passes_gradient`: the input has the
        # output's shape, which is then fixed). Every other node: (node, backward,
        # output slot, -1, -1, None, (number of inputs, checked, routes)).
        fixed = _fixed_shapes(nodes)
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
            head = (node.index, backward, node.output.index)
            if len(routes) == 1 and not node.gate.checked:
                pos = routes[0][0]
                if _passes(node, pos, fixed):
                    head = (node.index, None, node.output.index)
                self.back.append((*head, *routes[0], None))
            else:
                general = (len(node.inputs), node.gate.checked, routes)
                self.back.append((*head, -1, -1, None, general))

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


def _fixed_shapes(nodes) -> set[int]:
    """The ids of the node outputs whose shape is the same on every replay.

    The inputs, parameters and constants have their traced shapes (the signature and
    `Program.start` see to it), and so has the output of a built-in gate whose inputs
    all do, unless it reads a value of the run through a keyword (an index mask: the
    shape of ``x[x > 0]`` depends on the values). A user's gate may do anything.
    """
    fixed = set()
    for node in nodes:
        if (
            not node.gate.checked
            and not node.keyword_inputs
            and all(s.kind != NODE or id(s) in fixed for s in node.inputs)
        ):
            fixed.add(id(node.output))
    return fixed


def _passes(node, pos: int, fixed: set[int]) -> bool:
    """Whether the node's backward would hand input `pos` the upstream gradient itself."""
    x, out = node.inputs[pos], node.output
    return (
        pos < len(node.gate.passes_gradient)
        and node.gate.passes_gradient[pos]
        and id(out) in fixed
        and (x.kind != NODE or id(x) in fixed)
        and x.shape == out.shape
        and x.dtype == out.dtype
    )


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

    __slots__ = (
        "program", "values", "gates", "grads", "inputs", "freed", "output_gates", "__weakref__",
    )  # fmt: skip

    def __init__(self, program: Program, values: list, gates: list | None, inputs) -> None:
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
        self.program._gates.give_back(self)
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
    run = Run(program, values, None, inputs)
    run.gates = gates = program._gates.lend(run)
    anomaly = STATE.anomaly
    put = values.append
    ndarray = np.ndarray
    # The functions are looked up once, not per call: `cls.forward(gate, ...)` saves an
    # attribute lookup and a bound method per node, a tenth of a replay on small tensors.
    for (fwd, arity, first, second, call), gate in zip(program.code, gates):
        if arity == 2:
            out = fwd(gate, values[first], values[second])
        elif arity == 1:
            out = fwd(gate, values[first])
        else:
            args, params, refs = call
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
    return run


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
    for k, bwd, index, pos, slot, dtype, general in back:
        g = grads[index]
        if g is None:
            continue
        if general is not None:
            gate = gates[k]
            _backward_general(gate, bwd(gate, g), general, values, grads, anomaly)
            continue
        # A built-in gate, one input needing a gradient (the common case). It returns a
        # tuple with the right shapes (the suite checks every gate); the type and dtype
        # are checked as the engine checks them.
        if bwd is None:
            dx = g  # what its backward would return, without the call
        else:
            dx = bwd(gates[k], g)[pos]
            if dx is None:
                continue
        if type(dx) is not ndarray or dx.dtype is not dtype:
            dx = conform_grad(gates[k], pos, dx, values[slot])
        if anomaly:
            check_finite(gates[k], dx, "backward")
        old = grads[slot]
        grads[slot] = dx if old is None else old + dx


def _backward_general(gate, input_grads, general, values, grads, anomaly: bool) -> None:
    """Route the gradients of a gate with several inputs that need one, or a user's."""
    n_inputs, checked, routes = general
    if type(input_grads) is not tuple or (checked and len(input_grads) != n_inputs):
        input_grads = as_grad_tuple(gate, input_grads, n_inputs)
    for pos, slot, dtype in routes:
        dx = input_grads[pos]
        if dx is None:
            continue
        if (
            type(dx) is not np.ndarray
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
