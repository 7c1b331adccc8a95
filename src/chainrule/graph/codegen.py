"""A captured graph compiled to straight-line Python: one NumPy expression per step.

Replay through the gates (`chainrule.graph.program`) makes one Python call into a gate
per node forward and per node backward, which on small tensors costs about a third of
the NumPy call it wraps. When every node of a program has a lowering rule
(`chainrule.graph.lowering`), the program is also written out as two functions of plain
NumPy code, a forward and a backward, and replay runs those: the backward pass as a
student would write it by hand, which ``graph.source`` shows.

The code is generated from the program as traced, and everything it leaves out is known
then: which gradients exist (the outputs backpropagated from decide it, so there is one
backward per set of them), which are summed at a branch, which inputs were broadcast
(``sum_to``), and which gradients the engine would convert to their input's type or
dtype. That last part is found by evaluating each expression once, at compile time, on
stand-in arrays of the traced shapes and dtypes (a type and a dtype do not depend on the
values). Everything happens in the order the engine and the gate replay use (gates
latest first, branches summed in that order), so the values and gradients are bitwise
theirs.
"""

from __future__ import annotations

import keyword
import linecache
import re
import weakref
from itertools import count
from string import Formatter

import numpy as np

from chainrule.gate import sum_to
from chainrule.gates.activations import stable_sigmoid
from chainrule.graph.lowering import lower
from chainrule.graph.records import CONSTANT, NODE, PARAMETER
from chainrule.tensor import Tensor

#: Graphs with more nodes are replayed through their gates: the code of a function
#: grows with them, and compiling it takes longer than it would ever save.
MAX_NODES = 20_000

_GLOBALS = {"np": np, "sum_to": sum_to, "stable_sigmoid": stable_sigmoid, "asarray": np.asarray}
_files = count()


class NotLowerable(Exception):
    """Raised while compiling: this program is replayed through its gates instead."""


def compile_program(program, name: str) -> CompiledProgram | None:
    """The program as straight-line code, or None where a node has no lowering rule."""
    if len(program.nodes) > MAX_NODES:
        return None
    lowerings = [_lower(node) for node in program.nodes]
    if None in lowerings:
        return None
    try:
        return CompiledProgram(program, lowerings, name)
    except NotLowerable:
        return None


def unlowered_ops(program) -> list[str]:
    """The ops of the nodes that have no lowering rule (for an error message)."""
    ops = []
    for node in program.nodes:
        if _lower(node) is None and node.op not in ops:
            ops.append(node.op)
    return ops


def _lower(node):
    """The node's `Lowering`; None for a user's gate, and for keyword arguments that are
    values of the run (an index mask) that its rule does not read."""
    return None if node.gate.checked else lower(node)


class CompiledProgram:
    """A program's forward, and its backwards (one per set of roots), as Python functions.

    ``forward(values)`` appends the value of every node to `values` (the leaves, as
    `Program.start` made them); ``backward(roots)(values, grads)`` returns the gradient
    of every slot, given `grads` with the roots' gradients in place (ndarrays of their
    slots' dtypes: `Run.backward` checks them).
    """

    def __init__(self, program, lowerings: list, name: str) -> None:
        # The records, not the program: the program holds this object.
        self.slots, self.nodes = program.slots, program.nodes
        self.lowerings = lowerings
        self.name = name
        self.namespace = dict(_GLOBALS)
        taken = {*self.namespace, "_"}  # "_": the values a backward does not unpack
        self.values = _names(program.slots, taken)
        self.grads = _names(program.slots, taken, "d")
        self.locals = set(self.values) | set(self.grads)  # no global may take these names
        # What each name holds at compile time: a stand-in of the traced type, dtype, shape.
        self.scope = {name: _probe(slot) for name, slot in zip(self.values, program.slots)}
        self.constants = [self._bind_constants(lowering) for lowering in lowerings]
        self.forward_source = self._forward_source()
        self.forward = self._define("forward", self.forward_source)
        self._backwards: dict[tuple, tuple] = {}

    def backward(self, roots: tuple[int, ...]):
        """The backward function from the slots `roots` (sorted slot numbers)."""
        if roots not in self._backwards:
            source = self._backward_source(roots)
            self._backwards[roots] = (source, self._define("backward", source))
        return self._backwards[roots][1]

    def source(self, roots: tuple[int, ...]) -> str:
        """The code of the forward and of the backward from `roots`."""
        self.backward(roots)
        return self.forward_source + "\n\n" + self._backwards[roots][0]

    # ----- writing the code -----

    def _forward_source(self) -> str:
        n_leaves = len(self.slots) - len(self.nodes)
        lines = _unpack(self.values[:n_leaves])
        for node, lowering, constants in zip(self.nodes, self.lowerings, self.constants):
            expr = lowering.forward.format(**self._operands(node, constants))
            probe = self._evaluate(expr)
            if type(probe) is not np.ndarray:  # a 0-d result: Gate.apply makes it an array
                expr, probe = f"asarray({expr})", np.asarray(probe)
            out = node.output
            if probe.shape != out.shape or probe.dtype != out.dtype:
                raise NotLowerable(f"{node}: the rule gives {probe.shape} {probe.dtype}")
            name = self.values[out.index]
            self.scope[name] = _stand_in(probe)
            lines.append(f"{name} = {expr}")
        made = self.values[n_leaves:]
        lines += _wrap("values += (", made + [""] if len(made) == 1 else made, ")")
        return _function("forward", "values", lines)

    def _backward_source(self, roots: tuple[int, ...]) -> str:
        have: set[int] = set()  # the slots that have a gradient so far
        used: set[str] = set()  # the values the gradients read
        lines = []
        for index in roots:
            slot = self.slots[index]
            self.scope[self.grads[index]] = _stand_in(np.ones((), slot.dtype), slot.shape)
            have.add(index)
            lines.append(f"{self.grads[index]} = grads[{index}]")
        for node, lowering, constants in zip(
            reversed(self.nodes), reversed(self.lowerings), reversed(self.constants)
        ):
            out = node.output.index
            if not node.output.requires_grad or out not in have:
                continue
            operands = self._operands(node, constants)
            operands["g"] = self.grads[out]
            for pos, (slot, need) in enumerate(zip(node.inputs, node.needs_input_grad)):
                if not need:
                    continue
                template = lowering.grads[pos]
                used.update(operands[field] for field in _fields(template))
                expr = template.format(**operands)
                expr, probe = self._gradient(expr, slot, lowering.broadcasts)
                lines.append(self._accumulate(slot.index, expr, probe, have))
        unpack = [name if name in used else "_" for name in self.values]
        if used:
            lines = _unpack(unpack) + lines
        grads = [self.grads[i] if i in have else "None" for i in range(len(self.slots))]
        lines += _wrap("return [", grads, "]")
        return _function("backward", "values, grads", lines)

    def _gradient(self, expr: str, slot, broadcasts: bool) -> tuple[str, np.ndarray]:
        """A gradient for `slot` as the engine leaves it (summed back over the axes its
        input was broadcast along, an ndarray of the slot's dtype), and its stand-in."""
        probe = self._evaluate(expr)
        if np.shape(probe) != slot.shape and broadcasts:
            expr, probe = f"sum_to({expr}, {slot.shape})", sum_to(probe, slot.shape)
        if type(probe) is not np.ndarray:
            expr, probe = f"asarray({expr})", np.asarray(probe)
        if probe.dtype.kind not in "fiub" or probe.shape != slot.shape:
            raise NotLowerable(f"a {probe.dtype} gradient of shape {probe.shape} for {slot}")
        if probe.dtype != slot.dtype:
            expr = f"({expr}).astype({self._bind(slot.dtype.name, slot.dtype)})"
            probe = probe.astype(slot.dtype)
        return expr, probe

    def _accumulate(self, index: int, expr: str, probe, have: set) -> str:
        """Store a gradient for slot `index`, or add it to the one there."""
        name = self.grads[index]
        if index in have:
            self.scope[name] = _stand_in(self.scope[name] + probe)
            return f"{name} = {name} + {expr}"
        have.add(index)
        self.scope[name] = _stand_in(probe)
        return f"{name} = {expr}"

    def _operands(self, node, constants: dict) -> dict:
        operands = dict(constants, out=self.values[node.output.index])
        operands.update(zip("xyz", (self.values[slot.index] for slot in node.inputs)))
        operands.update((key, self.values[slot.index]) for key, _, slot in node.keyword_inputs)
        return operands

    def _bind_constants(self, lowering) -> dict:
        return {
            field: self._bind(f"{field}_{value.dtype}" if hasattr(value, "dtype") else field, value)
            for field, value in lowering.constants.items()
        }

    def _bind(self, name: str, value) -> str:
        """A global of the generated code for `value` (one name per value: an array by
        identity, a number by type and repr, which tells -0.0 from 0.0)."""
        while name in self.locals or (
            name in self.namespace and not _same(self.namespace[name], value)
        ):
            name += "_"
        self.namespace[name] = value
        return name

    def _evaluate(self, expr: str):
        """`expr` on the stand-ins: what type, dtype and shape it gives on replay.

        Evaluating code is safe here because every piece of it is the library's own: the
        templates of `chainrule.graph.lowering`, names made identifiers by `_names`, and
        integer shapes; every other value (a constant, a keyword argument) is bound as a
        global of the code, never written into it."""
        with np.errstate(all="ignore"):
            try:
                return eval(expr, self.namespace, self.scope)
            except Exception as error:
                raise NotLowerable(f"{expr}: {error}") from None

    def _define(self, function: str, source: str):
        # A file name of its own in linecache, so that a traceback shows the line; the
        # entry goes when this program does (a graph made per call must not pile them up).
        filename = f"<chainrule graph {self.name} {function} {next(_files)}>"
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        weakref.finalize(self, linecache.cache.pop, filename, None)
        exec(compile(source, filename, "exec"), self.namespace)
        return self.namespace.pop(function)


def _same(a, b) -> bool:
    if a is b:
        return True
    return not isinstance(a, np.ndarray) and type(a) is type(b) and repr(a) == repr(b)


def _probe(slot):
    """A stand-in for a slot's value: a constant is itself (a Python number keeps its
    weak type), the rest an array of its shape and dtype."""
    if slot.kind in (PARAMETER, CONSTANT) and not isinstance(slot.source, Tensor):
        return slot.source
    return _stand_in(np.ones((), slot.dtype), slot.shape)


def _stand_in(probe, shape=None):
    """An ndarray of the probe's dtype and shape that takes no memory (all its elements
    are one), for what the compiler keeps; a NumPy scalar stays as it is."""
    if type(probe) is not np.ndarray:
        return probe
    return np.broadcast_to(np.ones((), probe.dtype), probe.shape if shape is None else shape)


def _names(slots, taken: set, prefix: str = "") -> list[str]:
    """A Python name per slot, none of them in `taken`: ``t3`` for node 3's output, an
    input's or a parameter's own name where it has one (``x``, ``fc1_weight``), else
    ``input0``, ``param0``, and ``c5`` for the unnamed constant in slot 5; gradients
    get the same names after `prefix`."""
    names = []
    for slot in slots:
        if slot.kind == NODE:
            base = f"t{slot.node.index}"
        elif slot.kind == CONSTANT and not (slot.name or getattr(slot.source, "name", None)):
            base = f"c{slot.index}"
        else:
            base = re.sub(r"\W", "_", slot.label)  # fc1.weight: fc1_weight
            if not base.isidentifier():
                base = "_" + base  # 0.weight (a Sequential's): _0_weight
        name = prefix + base
        while name in taken or keyword.iskeyword(name):
            name += "_"
        taken.add(name)
        names.append(name)
    return names


def _fields(template: str) -> list[str]:
    """The names of the fields a template refers to."""
    return [field for _, field, _, _ in Formatter().parse(template) if field]


def _unpack(names: list[str]) -> list[str]:
    """``(a, b, c) = values``, wrapped."""
    if not names:
        return []
    return _wrap("(", names + [""] if len(names) == 1 else names, ") = values")


def _wrap(head: str, items: list[str], tail: str, width: int = 88) -> list[str]:
    """``head`` + the items separated by commas + ``tail``, over as many lines as it takes."""
    line = head + ", ".join(items) + tail
    if len(line) <= width:
        return [line]
    lines, line = [head], "   "
    for item in items:
        if len(line) + len(item) + 2 > width:
            lines.append(line)
            line = "   "
        line += f" {item},"
    return [*lines, line, tail.strip()]


def _function(name: str, arguments: str, lines: list[str]) -> str:
    body = "\n".join("    " + line for line in lines) if lines else "    pass"
    return f"def {name}({arguments}):\n{body}\n"
