"""The data the explorer's page runs on: steps, slots, gates and edges, as JSON.

Arrays are stored once each in a ``tensors`` table (`chainrule.explorer.encoding`) and
referred to by number, since one value shows in several steps. Every edge of the
picture says at which step its value (the first text line of its label) and its
gradient (the second line) appear: an edge into gate j carries what gate j sent back,
so it appears at j's backward step; the edge into a branch point carries the total, so
it appears once the last part has arrived; the edge into the output ``f`` gets the seed.
"""

from __future__ import annotations

import re

import numpy as np

from chainrule.explorer.encoding import MAX_EMBEDDED, encode
from chainrule.explorer.layout import Picture
from chainrule.explorer.rules import PATTERNS, formula
from chainrule.explorer.steps import Part, Row, Step, Walkthrough
from chainrule.graph.labels import op_label

_DOT_NAME = re.compile(r"(n|s|b|out)(\d+)")  # the names DotWriter gives what it draws


class _Tensors:
    """The table of arrays: each distinct array object gets one entry."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.items: list[dict] = []
        self._index: dict[int, int] = {}
        self._kept: list = []  # holds the arrays, so that their id()s stay theirs

    def ref(self, array) -> int | None:
        if array is None:
            return None
        key = id(array)
        if key not in self._index:
            self._index[key] = len(self.items)
            self.items.append(encode(np.asarray(array), self.limit))
            self._kept.append(array)
        return self._index[key]


def page_data(tour: Walkthrough, drawn: Picture, *, limit: int = MAX_EMBEDDED) -> dict:
    """Everything the page shows, as plain JSON-ready data (see the module docstring).

    >>> import chainrule as cr
    >>> from chainrule.explorer.layout import Picture
    >>> from chainrule.explorer.steps import walkthrough
    >>> graph = cr.Graph(lambda x: x * 3.0)
    >>> _ = graph.forward(cr.tensor(2.0, requires_grad=True, name="x")); _ = graph.backward()
    >>> data = page_data(walkthrough(graph), Picture("<svg/>", [("s0", "n0"), ("n0", "out0")]))
    >>> [(e["id"], e["valueStep"], e["gradStep"]) for e in data["edges"]]
    [('s0->n0', 0, 3), ('n0->out0', 1, 2)]
    >>> [step["kind"] for step in data["steps"]]
    ['start', 'forward', 'seed', 'backward', 'done']
    """
    graph = tour.graph
    program = graph._current()
    run = graph._last()
    tensors = _Tensors(limit)
    slots = [
        {
            "label": slot.label,
            "kind": slot.kind,
            "shape": list(slot.shape),
            "dtype": str(slot.dtype),
            "node": None if slot.node is None else slot.node.index,
            "value": tensors.ref(run.values[slot.index]),
            "grad": tensors.ref(run.grads[slot.index]),
            "valueStep": tour.value_step.get(slot.index),
            "gradStep": tour.complete_step.get(slot.index),
        }
        for slot in program.slots
    ]
    nodes = []
    for node in program.nodes:
        math, backward = formula(node.gate)
        nodes.append({
            "op": node.op,
            "label": drawn.labels.get(node.index) or op_label(node.op),
            "math": math,
            "backward": backward,
            "pattern": PATTERNS.get(node.op, ""),
            "scope": None if node.scope is None else node.scope.title,
            "inputs": [slot.index for slot in node.inputs],
            "keywords": [[key, slot.index] for key, _, slot in node.keyword_inputs],
            "output": node.output.index,
        })  # fmt: skip
    return {
        "outputs": [slot.index for slot in program.outputs],
        "slots": slots,
        "nodes": nodes,
        "steps": [_step(step, tensors) for step in tour.steps],
        "edges": [_edge(tour, source, target) for source, target in drawn.edges],
        "tensors": tensors.items,
    }


def slot_of(program, name: str) -> int:
    """The slot a drawn node or edge end (a DOT name of `DotWriter`) stands for.

    >>> import chainrule as cr
    >>> graph = cr.Graph(lambda x: x * 3.0)
    >>> _ = graph.forward(cr.tensor(2.0))
    >>> [slot_of(graph._current(), name) for name in ("s0", "n0", "out0", "b0")]
    [0, 2, 2, 0]
    """
    kind, number = _split(name)
    if kind == "n":
        return program.nodes[number].output.index
    if kind == "out":
        return program.outputs[number].index
    return number  # a slot drawn by itself ("s"), or its branch point ("b")


def _split(name: str) -> tuple[str, int]:
    match = _DOT_NAME.fullmatch(name)
    if match is None:
        raise ValueError(f"explore: unexpected node {name!r} in the drawing")
    return match[1], int(match[2])


def _edge(tour: Walkthrough, source: str, target: str) -> dict:
    program = tour.graph._current()
    slot = slot_of(program, source)
    kind, number = _split(target)
    if kind == "out":
        grad_step = tour.seed_step
    elif kind == "b":
        grad_step = tour.complete_step.get(number)
    else:
        grad_step = tour.backward_step.get(number)
    return {
        "id": f"{source}->{target}",
        "slot": slot,
        "valueStep": tour.value_step[slot],
        "gradStep": grad_step,
    }


def _step(step: Step, tensors: _Tensors) -> dict:
    return {
        "kind": step.kind,
        "node": None if step.node is None else step.node.index,
        "upstream": tensors.ref(step.upstream),
        "upstreamParts": [_part(part, tensors) for part in step.upstream_parts],
        "rows": [_row(row, tensors) for row in step.rows],
    }


def _row(row: Row, tensors: _Tensors) -> dict:
    return {
        "position": row.position,
        "slot": row.slot.index,
        "form": row.form,
        "downstream": tensors.ref(row.downstream),
        "local": tensors.ref(row.local),
        "jacobian": tensors.ref(row.jacobian),
        "total": None if row.total is None else [_part(p, tensors) for p in row.total],
    }


def _part(part: Part, tensors: _Tensors) -> dict:
    return {
        "node": None if part.node is None else part.node.index,
        "position": part.position,
        "grad": tensors.ref(part.grad),
    }
