"""The explorer's steps: a graph's forward and backward, one gate at a time.

`walkthrough(graph)` turns a graph that ran forward and backward into the list of
pictures the lecture's slides are:

1. ``start``: the inputs, parameters and constants have their values;
2. one ``forward`` step per gate, in topological order: its output value appears;
3. ``seed``: backward starts at the output, from df/df = 1 (or a gradient of ones for
   a non-scalar output: the gradient of the sum of its elements);
4. one ``backward`` step per gate that a gradient reaches, in reverse topological order:
   the gate multiplies its upstream gradient by its local gradient, and each input gets
   its part (`Row`); where a value feeds several gates, its gradient is the sum of the
   parts, complete once the last of those gates has run;
5. ``done``: the gradients of the inputs and parameters.

The numbers are the engine's: values and totals are ``graph.value``/``graph.grad``, the
parts and Jacobians come from the gates' own backward (`chainrule.explorer.local`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from chainrule.explorer.local import GateCalls
from chainrule.graph.records import NODE, Node, Slot

#: How a row of a backward step writes ``upstream x local = downstream``.
SCALAR = "scalar"  # one number times one number
GRADIENT = "gradient"  # a scalar output: upstream (a number) times d out / d input
ELEMENTWISE = "elementwise"  # a diagonal Jacobian: upstream * local, element by element
JACOBIAN = "jacobian"  # upstream (as a row) times the Jacobian matrix
FORMULA = "formula"  # too big to show the local gradient: the gate's formula only


@dataclass
class Part:
    """One term of a value's gradient: what gate `node` sent it (None: the seed df/df)."""

    node: Node | None
    position: int | None
    grad: np.ndarray


@dataclass
class Row:
    """One input of a gate in its backward step: ``upstream x local = downstream``."""

    position: int
    slot: Slot
    downstream: np.ndarray | None  # what the gate sent (None: no gradient needed or kept)
    form: str
    local: np.ndarray | None = None  # for SCALAR, GRADIENT, ELEMENTWISE: input-shaped
    jacobian: np.ndarray | None = None  # d out / d input, (output size, input size)
    total: list[Part] | None = None  # the parts, when this step completes a branch's sum


@dataclass
class Step:
    """One picture: what appears in it and what the panel says.

    `kind` is ``start``, ``forward``, ``seed``, ``backward`` or ``done``. Forward and
    backward steps have the `node`; backward steps its `upstream` gradient, the parts it
    is the sum of when the output feeds several gates (`upstream_parts`), and a `Row` per
    input.
    """

    kind: str
    node: Node | None = None
    upstream: np.ndarray | None = None
    upstream_parts: list[Part] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)


@dataclass
class Walkthrough:
    """The steps of a graph, and when each value and gradient appears.

    `value_step[slot index]` is the step at which a value appears; `backward_step[node
    index]` the step of a gate's backward (its inputs' parts appear); `complete_step[slot
    index]` the step at which a value's total gradient is known; `seed_step` the step at
    which the outputs get their gradients.
    """

    graph: object
    steps: list[Step]
    value_step: dict[int, int]
    backward_step: dict[int, int]
    complete_step: dict[int, int]
    seed_step: int


def walkthrough(graph) -> Walkthrough:
    """The steps of `graph`, which must have run forward and backward.

    >>> import chainrule as cr
    >>> graph = cr.Graph(lambda x, y, z: (x + y) * z)
    >>> inputs = (cr.tensor(v, requires_grad=True) for v in (-2.0, 5.0, -4.0))
    >>> _ = graph.forward(*inputs)
    >>> _ = graph.backward()
    >>> tour = walkthrough(graph)
    >>> [(step.kind, step.node and step.node.op) for step in tour.steps]
    ... # doctest: +NORMALIZE_WHITESPACE
    [('start', None), ('forward', 'Add'), ('forward', 'Multiply'), ('seed', None),
     ('backward', 'Multiply'), ('backward', 'Add'), ('done', None)]
    >>> [(row.slot.label, row.downstream.item(), row.local.item()) for row in tour.steps[4].rows]
    [('%0', -4.0, -4.0), ('z', 3.0, 3.0)]
    """
    run = graph._last()
    if run.grads is None:
        raise RuntimeError("explore: the graph has no gradients yet; run its backward first")
    program = graph._current()
    nodes = program.nodes
    grads = run.grads
    readers = _readers(nodes)
    steps = [Step("start")]
    value_step = {slot.index: 0 for slot in program.slots if slot.kind != NODE}
    for node in nodes:
        value_step[node.output.index] = len(steps)
        steps.append(Step("forward", node))

    seed_step = len(steps)
    steps.append(Step("seed"))
    backward_nodes = [
        node for node in reversed(nodes)
        if node.output.requires_grad and grads[node.output.index] is not None
    ]  # fmt: skip
    backward_step = {node.index: seed_step + 1 + k for k, node in enumerate(backward_nodes)}

    with GateCalls(graph) as calls:
        parts = _parts(calls, backward_nodes, grads)
        contributions = _contributions(program, readers, parts, grads)
        complete_step = {}
        for index, terms in contributions.items():
            senders = [backward_step[t.node.index] for t in terms if t.node is not None]
            complete_step[index] = max(senders, default=seed_step)
        rows = _Rows(calls, parts, contributions)
        for node in backward_nodes:
            terms = contributions.get(node.output.index, [])
            steps.append(
                Step(
                    "backward",
                    node,
                    upstream=grads[node.output.index],
                    upstream_parts=terms if len(terms) > 1 else [],
                    rows=[rows.row(node, pos) for pos in range(len(node.inputs))],
                )
            )
    steps.append(Step("done"))
    return Walkthrough(graph, steps, value_step, backward_step, complete_step, seed_step)


def _readers(nodes) -> dict[int, list[tuple[Node, int]]]:
    """For each slot, the (node, input position) pairs that read it, in topological order."""
    readers: dict[int, list] = {}
    for node in nodes:
        for pos, slot in enumerate(node.inputs):
            readers.setdefault(slot.index, []).append((node, pos))
    return readers


def _parts(calls: GateCalls, backward_nodes, grads) -> dict[tuple[int, int], np.ndarray]:
    """``{(node index, position): what the gate sent}``, as the engine computed it."""
    parts = {}
    for node in backward_nodes:
        for pos, dx in enumerate(calls.backward(node, grads[node.output.index])):
            if dx is not None:
                parts[node.index, pos] = dx
    return parts


def _contributions(program, readers, parts, grads) -> dict[int, list[Part]]:
    """For each slot a gradient reaches, the terms its gradient is the sum of."""
    found: dict[int, list[Part]] = {}
    for k, slot in enumerate(program.outputs):
        if grads[slot.index] is not None:
            found.setdefault(slot.index, []).append(Part(None, k, grads[slot.index]))
    for index, pairs in readers.items():
        for node, pos in reversed(pairs):  # in the order backward reaches them
            part = parts.get((node.index, pos))
            if part is not None:
                found.setdefault(index, []).append(Part(node, pos, part))
    return found


class _Rows:
    """Builds the rows of backward steps from what the walk found."""

    def __init__(self, calls: GateCalls, parts, contributions) -> None:
        self.calls = calls
        self.parts = parts
        self.contributions = contributions

    def row(self, node: Node, pos: int) -> Row:
        slot = node.inputs[pos]
        downstream = self.parts.get((node.index, pos))
        row = Row(pos, slot, downstream, FORMULA)
        terms = self.contributions.get(slot.index, [])
        if len(terms) > 1 and _last_term(node, pos, terms):
            row.total = terms
        if downstream is None:
            return row
        jacobian = self.calls.jacobian(node, pos)
        if jacobian is None:
            return row
        row.jacobian = jacobian
        m, n = jacobian.shape
        if m == 1:
            row.form = SCALAR if n == 1 else GRADIENT
            row.local = jacobian.reshape(slot.shape)
        elif slot.shape == node.output.shape and _diagonal(jacobian):
            row.form = ELEMENTWISE
            row.local = np.diagonal(jacobian).reshape(slot.shape)
        else:
            row.form = JACOBIAN
        return row


def _last_term(node, pos, terms: list[Part]) -> bool:
    """Whether (node, pos) sends the last term backward adds: its row shows the sum."""
    last = [t for t in terms if t.node is not None][-1]
    return last.node is node and last.position == pos


def _diagonal(jacobian: np.ndarray) -> bool:
    off = ~np.eye(*jacobian.shape, dtype=bool)
    return not np.count_nonzero(jacobian[off])
