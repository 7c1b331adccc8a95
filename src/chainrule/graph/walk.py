"""Capturing the graph behind an already computed result (`Graph.from_tensor`).

The walk goes back from the gates the eager engine recorded, through their inputs, and
orders them by creation (the engine's topological order). Gates do not keep their
keyword arguments, so a node gets ``params = {}`` only where its gate's ``forward``
cannot have taken any; otherwise None (known unknown: no replay of that graph).
"""

from __future__ import annotations

import sys

import numpy as np

from chainrule.errors import GraphFreedError
from chainrule.gate import _RAW_CONSTANTS, Gate, _convert
from chainrule.graph.records import CONSTANT, INPUT, NODE, PARAMETER, Capture, Slot
from chainrule.tensor import Tensor


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
    stop = {id(t): i for i, t in enumerate(inputs)} if inputs is not None else {}
    gates: dict[int, Gate] = {}
    pending = [out._gate for out in outputs if out._gate is not None and id(out) not in stop]
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
        for x in g.inputs:
            if isinstance(x, Tensor) and x._gate is not None and id(x) not in stop:
                pending.append(x._gate)
    ordered = sorted(gates.values(), key=lambda g: g.seq)

    capture = Capture()
    by_id: dict[int, Slot] = {}
    made_by: dict[int, Slot] = {}  # id(gate) -> its output slot
    if inputs is not None:
        for i, t in enumerate(inputs):
            if not isinstance(t, Tensor):
                raise TypeError(f"Graph.from_tensor: inputs must be Tensors, got {type(t)}")
            slot = capture.new_slot(INPUT, t.shape, t.dtype, t.requires_grad, t.name)
            slot.position = i
            capture.inputs.append(slot)
            capture.input_tensors.append(t)
            by_id[id(t)] = slot
    parameter_type = _parameter_type()

    def slot_of(x, has_tensor: bool, cls) -> Slot:
        if not isinstance(x, Tensor):
            if not isinstance(x, _RAW_CONSTANTS):
                x = _convert(cls, x)
            return capture.new_slot(CONSTANT, np.shape(x), getattr(x, "dtype", None), False,
                                    source=x)  # fmt: skip
        slot = by_id.get(id(x))
        if slot is not None:
            return slot
        if x._gate is not None and id(x._gate) in made_by:
            return made_by[id(x._gate)]
        if x.requires_grad and x._gate is None and inputs is None:
            if isinstance(x, parameter_type):
                slot = capture.new_slot(PARAMETER, x.shape, x.dtype, True, x.name, x)
            else:
                slot = capture.new_slot(INPUT, x.shape, x.dtype, True, x.name)
                slot.position = len(capture.inputs)
                capture.inputs.append(slot)
                capture.input_tensors.append(x)
        elif x.requires_grad and x._gate is None:
            slot = capture.new_slot(PARAMETER, x.shape, x.dtype, True, x.name, x)
        else:
            slot = capture.new_slot(CONSTANT, x.shape, x.dtype, False, x.name, x)
        by_id[id(x)] = slot
        return slot

    values: dict[int, np.ndarray] = {}  # id(slot) -> the value it had
    for g in ordered:
        cls = type(g)
        args = [slot_of(x, True, cls) for x in g.inputs]
        for x, slot in zip(g.inputs, args):
            values.setdefault(id(slot), x.data if isinstance(x, Tensor) else slot.source)
        out = capture.new_slot(NODE, (), None, True)
        made_by[id(g)] = out
        params = {} if _positional_only(cls, len(g.inputs)) else None
        capture.add_node(cls.__name__, cls, args, out, params, g.needs_input_grad)
    for out in outputs:
        slot = slot_of(out, True, Gate)
        values[id(slot)] = out.data
    capture.outputs = [slot_of(out, True, Gate) for out in outputs]
    for slot in capture.slots:  # node outputs: shape and dtype from the values seen
        value = values.get(id(slot))
        if slot.kind == NODE and value is not None:
            slot.shape, slot.dtype = tuple(value.shape), value.dtype
    return capture, ordered, values


def _parameter_type() -> type:
    module = sys.modules.get("chainrule.nn.parameter")
    return module.Parameter if module is not None else type(None)


def _positional_only(cls, n_inputs: int) -> bool:
    """True when `cls.forward`, called with `n_inputs` positional arguments, cannot have
    received keyword arguments as well (so that a replay without them is faithful)."""
    import inspect  # from_tensor only: kept off the import path

    try:
        parameters = list(inspect.signature(cls.forward).parameters.values())[1:]
    except (TypeError, ValueError):
        return False
    filled = 0
    for p in parameters:
        if p.kind is p.VAR_POSITIONAL:
            filled = n_inputs
        elif p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and filled < n_inputs:
            filled += 1
        else:
            return False  # a keyword-only parameter, **kwargs, or one left to its default
    return filled == n_inputs
