"""Replay: a captured graph compiled to a flat program, run forward and backward on arrays.

A `Program` numbers the slots (inputs, parameters, constants, then one per node, in
topological order) and compiles the nodes into steps (`chainrule.graph.steps`): forward,
per node, its gate's function and the slot numbers of its arguments; backward, per node a
gradient can reach (latest first), the slot its gradient is read from and the ones it
goes to. `forward` calls each gate's ``forward`` on the arrays, appending each output to
a list of values: no Tensor objects, no Python control flow of the traced function.
`backward` calls the gates' ``backward`` in reverse order on arrays and adds the
gradients per slot.

Both do exactly what `Gate.apply` and the engine do, in the same order, so replayed
values and gradients are bitwise identical to eager ones: the same forward calls on the
same arrays; the gates run backward from the latest to the earliest (the engine's
order: by creation), each gradient added to what the slot already has (the branches
in the same order); the same checks on what backward returns (count, type, dtype cast
to the input's, shapes for gates outside `chainrule.gates`), and parameter gradients
stored by the engine's own `accumulate_leaf` (so the same copies and dtypes).

A program whose gates all have lowering rules is also written out as straight-line
NumPy code (`chainrule.graph.codegen`, compiled on its first replay); `forward_compiled`
runs that instead, and its `Run` has no gates: its backward is the compiled backward, or,
for what that was not written for (anomaly mode, an upstream gradient of another dtype),
the gates run forward again on the same leaves (the same values) and then backward.

What replay through the gates saves over eager mode, per node (benchmarks/chain.py):

- no Tensor, no graph recording, no heap of gates: the order is the program's;
- the gate instances are made once per program and lent to one run at a time
  (`chainrule.graph.gateset`), instead of a thousand made and dropped per step; a
  forward step holds its gate when the run has the program's own;
- the checks of anomaly mode run in loops of their own, taken only under it;
- what is known when compiling is not checked again, and a gradient passed on unchanged
  to a value that is sent no other is not even handled (`chainrule.graph.steps`).
"""

from __future__ import annotations

import numpy as np

from chainrule.anomaly import check_finite
from chainrule.engine import accumulate_leaf, as_grad_tuple, conform_grad
from chainrule.errors import GraphFreedError
from chainrule.graph.gateset import GateSet
from chainrule.graph.records import CONSTANT, NODE, PARAMETER, Capture
from chainrule.graph.steps import ADD, backward_steps, forward_steps, live_nodes
from chainrule.mode import STATE
from chainrule.tensor import Tensor

_NOT_YET = object()


class Program:
    """A captured graph, numbered and compiled for replay."""

    def __init__(self, capture: Capture) -> None:
        nodes, used = live_nodes(capture)
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

        functions: dict[tuple, object] = {}
        self._gates = GateSet(nodes)
        self.code = forward_steps(nodes, self._gates.gates, functions)
        # `back`: every backward step, for anomaly mode, which checks each gradient a gate
        # returns; `fast_back`: the steps left once passed gradients are read at their
        # source, and `sources`: (slot number, source slot number) to fill in after it.
        self.back, self.fast_back, self.sources = backward_steps(nodes, self.outputs, functions)
        self._compiled = _NOT_YET

    def compiled(self, name: str):
        """The program as straight-line code (`chainrule.graph.codegen`), compiled on
        first use; None when a node has no lowering rule. `name` names its code."""
        if self._compiled is _NOT_YET:
            from chainrule.graph.codegen import compile_program  # only for a replay

            self._compiled = compile_program(self, name)
        return self._compiled

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


class Run:
    """One forward replay: the values of every slot, the gates (with what they saved;
    None after a compiled forward) and, after a backward, the gradient of every slot."""

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
        if self.gates is None:  # a compiled forward
            code = program._compiled
            root_slots = tuple(sorted({index for index, _ in roots}))
            if not STATE.anomaly and all(
                _as_traced(grads[i], program.slots[i]) for i in root_slots
            ):
                return self._done(code.backward(root_slots)(self.values, grads), retain_graph)
            # What the compiled code does not do (checks of anomaly mode, a gradient of
            # another dtype to carry) is done by the gates: run them forward first.
            n_leaves = len(program.slots) - len(program.nodes)
            self.values = self.values[:n_leaves]
            self.call_gates(check=False)
        if STATE.anomaly:
            _backward_checked(program.back, self.gates, self.values, grads)
        else:
            _backward(program.fast_back, self.gates, self.values, grads)
            for slot, source in program.sources:
                grads[slot] = grads[source]
        return self._done(grads, retain_graph)

    def _done(self, grads: list, retain_graph: bool) -> list:
        self.grads = grads
        if not retain_graph:
            self.free()
        return grads

    def call_gates(self, check: bool) -> None:
        """Run the forward through the gates, lent to this run, appending each node's
        value to `values` (the leaves); in anomaly mode (`check`) each value is checked."""
        program = self.program
        values = self.values
        self.gates = gates = program._gates.lend(self)
        code = program.code
        if check:
            for k, gate in enumerate(gates):  # a step at a time, each output checked when made
                _forward_lent(code[k : k + 1], gates[k : k + 1], values)
                check_finite(gate, values[-1], "forward")
        elif gates is program._gates.gates:
            _forward_own(code, gates, values)
        else:
            _forward_lent(code, gates, values)

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
            gate.params = None  # its keyword arguments: this run among them
        self.output_gates = []

    def accumulate(self, grads: list, seen: set) -> None:
        """Add the parameters' gradients into their ``.grad``, as the engine does."""
        for slot in self.program.parameter_slots:
            g = grads[slot.index]
            if g is not None:
                accumulate_leaf(slot.source, g, False, seen)


def forward(program: Program, values: list, inputs) -> Run:
    """Replay the program through its gates on `values` (as `Program.start` made them)."""
    run = Run(program, values, None, inputs)
    run.call_gates(STATE.anomaly)
    return run


def forward_compiled(program: Program, code, values: list, inputs) -> Run:
    """Replay the program's compiled code (`Program.compiled`) on `values`: a run with
    no gates, whose backward is compiled code too."""
    code.forward(values)
    return Run(program, values, None, inputs)


def _as_traced(g, slot) -> bool:
    """Whether a root gradient is what the compiled backward was written for."""
    return type(g) is np.ndarray and g.dtype == slot.dtype and g.shape == slot.shape


# The functions are looked up once, not per call: `cls.forward(gate, ...)` saves an
# attribute lookup and a bound method per node, a tenth of a replay on small tensors.
def _forward_own(steps, gates, values: list) -> None:
    """The steps on the program's own gates: a built-in gate's is in its step."""
    put = values.append
    for fwd, gate, first, second, call in steps:
        if second >= 0:
            put(fwd(gate, values[first], values[second]))
        elif call is None:
            put(fwd(gate, values[first]))
        else:
            put(_forward_general(fwd, gates[first], values, call))


def _forward_lent(steps, gates, values: list) -> None:
    """The steps on other gates (`GateSet.lend` made new ones: the program's were held)."""
    put = values.append
    for (fwd, _, first, second, call), gate in zip(steps, gates):
        if second >= 0:
            put(fwd(gate, values[first], values[second]))
        elif call is None:
            put(fwd(gate, values[first]))
        else:
            put(_forward_general(fwd, gate, values, call))


def _forward_general(fwd, gate, values: list, call):
    args, params, refs = call
    if refs is not None:
        params = _resolve(params, refs, values)
    out = fwd(gate, *[values[i] for i in args], **params)
    if type(out) is not np.ndarray:
        # As Gate.apply: a 0-d array, the same object as the saved one.
        scalar, out = out, np.asarray(out)
        gate.saved = tuple(out if value is scalar else value for value in gate.saved)
    return out


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


def _backward(steps, gates, values: list, grads: list) -> None:
    for k, bwd, index, pos, slot, dtype, how in steps:
        g = grads[index]
        if g is None:
            continue
        if how is None:  # STORE, the common case (see chainrule.graph.steps)
            dx = bwd(gates[k], g)[pos]
            if dx is not None:
                if dx.dtype is not dtype:
                    dx = conform_grad(gates[k], pos, dx, values[slot])
                grads[slot] = dx
        elif how is ADD:
            _backward_one(gates[k], bwd, g, pos, slot, dtype, values, grads, False)
        else:
            gate = gates[k]
            _backward_general(gate, bwd(gate, g), how, values, grads, False)


def _backward_checked(steps, gates, values: list, grads: list) -> None:
    """The backward of anomaly mode: every step, each gradient checked for NaN and inf."""
    for k, bwd, index, pos, slot, dtype, how in steps:
        g = grads[index]
        if g is None:
            continue
        gate = gates[k]
        if how is ADD:
            _backward_one(gate, bwd, g, pos, slot, dtype, values, grads, True)
        else:
            _backward_general(gate, bwd(gate, g), how, values, grads, True)


def _backward_one(gate, bwd, g, pos: int, slot: int, dtype, values, grads, anomaly: bool) -> None:
    """A built-in gate with one input that needs a gradient (`bwd` None: it would pass
    `g` on). It returns a tuple with the right shapes (the suite checks every gate); the
    type and dtype are checked as the engine checks them."""
    if bwd is None:
        dx = g
    else:
        dx = bwd(gate, g)[pos]
        if dx is None:
            return
    if type(dx) is not np.ndarray or dx.dtype is not dtype:
        dx = conform_grad(gate, pos, dx, values[slot])
    if anomaly:
        check_finite(gate, dx, "backward")
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
