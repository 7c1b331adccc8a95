"""Capturing the graph behind an already computed result (`Graph.from_tensor`).

The walk goes back from the gates the eager engine recorded, through their edges (the
gates that made their inputs, and leaves), and orders them by creation (the engine's
topological order). Every recorded gate kept the keyword arguments of its forward, so
every node can be replayed.

Values: a computed tensor the caller dropped is gone unless a gate saved its array (the
engine keeps no intermediate alive for drawing's sake); such a value is found among
the arrays the gates saved, by identity, or else computed again from its inputs by a
fresh instance of its gate (forward is deterministic: random masks are inputs).
"""

from __future__ import annotations

import sys

import numpy as np

from chainrule.errors import GraphFreedError
from chainrule.gate import _RAW_CONSTANTS, Gate, _convert
from chainrule.graph.records import CONSTANT, INPUT, NODE, PARAMETER, Capture, Slot
from chainrule.tensor import Tensor

_new = object.__new__


def walk(outputs: list[Tensor], inputs: list[Tensor] | None) -> tuple[Capture, list, dict]:
    """The graph behind `outputs`, from the gates the eager engine recorded.

    Returns the capture, the gates (one per node: they hold the saved values of this
    computation, so that a first backward needs no forward) and the value of each slot
    (keyed by ``id(slot)``). `inputs` are the tensors to
    treat as inputs (the walk stops there); by default the leaves that require grad and
    are not `nn.Parameter`s, in order of first use.
    """
    for out in outputs:
        if not isinstance(out, Tensor):
            raise TypeError(f"Graph.from_tensor: expected Tensors, got {type(out).__name__}")
    for t in inputs or ():
        if not isinstance(t, Tensor):
            raise TypeError(f"Graph.from_tensor: inputs must be Tensors, got {type(t)}")
    # A computed input stops the walk at the gate that made it; a leaf at itself.
    stop = {id(t._gate if t._gate is not None else t): i for i, t in enumerate(inputs or ())}
    ordered = _recorded_gates(outputs, stop)

    capture = Capture()
    by_id: dict[int, Slot] = {}  # id(leaf tensor), or id(gate) of a computed input
    made_by: dict[int, Slot] = {}  # id(gate) -> its output slot
    values: dict[int, np.ndarray] = {}  # id(slot) -> the value it had
    for i, t in enumerate(inputs or ()):
        slot = capture.new_slot(INPUT, t.shape, t.dtype, t.requires_grad, t.name)
        slot.position = i
        capture.inputs.append(slot)
        capture.input_tensors.append(t)
        by_id[id(t._gate if t._gate is not None else t)] = slot
        values[id(slot)] = t.data
    parameter_type = _parameter_type()

    def slot_of(x, cls) -> Slot:
        if isinstance(x, Tensor) and x._gate is not None:  # an output
            x = x._gate
        if isinstance(x, Gate):  # the gate that made this value: a node, or a stop
            slot = by_id.get(id(x))
            return slot if slot is not None else made_by[id(x)]
        if not isinstance(x, Tensor):
            if not isinstance(x, _RAW_CONSTANTS):
                x = _convert(cls, x)
            return capture.new_slot(CONSTANT, np.shape(x), getattr(x, "dtype", None), False,
                                    source=x)  # fmt: skip
        slot = by_id.get(id(x))
        if slot is not None:
            return slot
        if x.requires_grad and inputs is None and not isinstance(x, parameter_type):
            slot = capture.new_slot(INPUT, x.shape, x.dtype, True, x.name)
            slot.position = len(capture.inputs)
            capture.inputs.append(slot)
            capture.input_tensors.append(x)
        elif x.requires_grad:
            slot = capture.new_slot(PARAMETER, x.shape, x.dtype, True, x.name, x)
        else:
            slot = capture.new_slot(CONSTANT, x.shape, x.dtype, False, x.name, x)
        by_id[id(x)] = slot
        values[id(slot)] = x.data
        return slot

    for g in ordered:
        cls = type(g)
        args = [slot_of(x, cls) for x in g.inputs]
        for slot in args:
            if slot.kind == CONSTANT:
                values.setdefault(id(slot), slot.source)
        out = capture.new_slot(NODE, (), g.out_dtype, True)  # its shape: from its value, below
        made_by[id(g)] = out
        capture.add_node(cls.__name__, cls, args, out, dict(g.params or {}), g.needs_input_grad)
    capture.outputs = [slot_of(out, Gate) for out in outputs]
    for tensor, slot in zip(outputs, capture.outputs):
        values.setdefault(id(slot), tensor.data)
    _find_values(capture, ordered, values)
    for node in capture.nodes:
        node.output.shape = values[id(node.output)].shape
    return capture, ordered, values


def _recorded_gates(outputs: list[Tensor], stop: dict[int, int]) -> list[Gate]:
    """The gates behind `outputs` up to `stop`, in creation order."""
    gates: dict[int, Gate] = {}
    pending = [out._gate for out in outputs if out._gate is not None and id(out._gate) not in stop]
    while pending:
        g = pending.pop()
        if id(g) in gates:
            continue
        if g.saved is None:
            raise GraphFreedError(
                f"Graph.from_tensor: the graph behind this tensor was freed by a backward "
                f"(at {type(g).__name__}); capture it before calling backward(), or pass "
                "retain_graph=True to that backward"
            )
        gates[id(g)] = g
        pending.extend(x for x in g.inputs if isinstance(x, Gate) and id(x) not in stop)
    return sorted(gates.values(), key=lambda g: g.seq)


def _find_values(capture: Capture, gates: list[Gate], values: dict[int, np.ndarray]) -> None:
    """Fill in the value of every node output the caller no longer holds: the array its
    gate or a gate reading it saved, or else the node's forward again on its inputs.

    Found by ``id``, among those gates' saved arrays only: each of them was alive at the
    same time as the output (when the gate made it, or took it as an input), so an equal
    id means the same array; a freed output's id may be reused by any later array.
    """
    witnesses: dict[int, list] = {id(g): list(g.saved) for g in gates}
    for g in gates:
        for x in g.inputs:
            if isinstance(x, Gate) and id(x) in witnesses:
                witnesses[id(x)].extend(g.saved)
    for node, g in zip(capture.nodes, gates):
        key = id(node.output)
        if key in values:
            continue
        value = next(
            (a for a in witnesses[id(g)] if isinstance(a, np.ndarray) and id(a) == g.out_id),
            None,
        )
        if value is None:
            fresh = _new(type(g))
            fresh.saved = ()
            fresh.needs_input_grad = g.needs_input_grad
            arrays = [values[id(slot)] for slot in node.inputs]
            value = np.asarray(fresh.forward(*arrays, **node.params))
        values[key] = value


def _parameter_type() -> type:
    module = sys.modules.get("chainrule.nn.parameter")
    return module.Parameter if module is not None else type(None)
