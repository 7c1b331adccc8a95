"""A captured graph as Graphviz DOT text, drawn the lecture's way.

Gates are circles labelled with their op (``+``, ``*``, ``max``, ``exp``, ``1/x``);
inputs and parameters are their names; every edge carries its forward value (green, on
top) and, once backward has run, its gradient (red and bold, below it: the two differ by
more than hue). The DOT text colours the two lines with an HTML-like label. The
WebAssembly Graphviz that `chainrule.graph.render` uses has no XML parser for those, so
for it the writer makes plain two-line labels (``html=False``) on edges of class
``grad``, and the renderer recolours the second line in the SVG.

A scalar constant of ``+``, ``*``, ``-``, ``/``, ``**``, ``max`` or ``min`` is folded
into the gate's label (``+1``, ``*-1``, ``1/x``), as the slides do.

Where a value feeds several gates, the edge ends in a small dot, the branch: the edge
into it carries the slot's total gradient, each edge out of it the part one gate sent
back, and the parts add up to the total.

Tensors of more than `max_elements` elements show their shape, mean and standard
deviation instead of every number. Gates traced inside `nn.Module` calls are framed per
module call; ``collapse=True`` draws each innermost module call as one box instead
(``fc1: Linear``), ``collapse=k`` the module calls at depth k (1 = outermost), so that
the graph of a real network stays readable.
"""

from __future__ import annotations

import math

import numpy as np

from chainrule.graph.contributions import edge_gradients
from chainrule.graph.labels import number, op_label, summarize
from chainrule.graph.records import CONSTANT, INPUT, NODE, PARAMETER

VALUE_COLOR = "#1b7a2e"  # green, as on the slides
GRAD_COLOR = "#c0262d"  # red; gradients are bold as well, for colour-blind readers
BOX_COLOR = "#eef3fb"
BOLD = "Helvetica-Bold"
GREY = "#555555"

# Ops whose scalar constant operand is folded into the label: (constant first, second).
_FOLDS = {
    "Add": ("+{c}", "+{c}"),
    "Multiply": ("*{c}", "*{c}"),
    "Subtract": ("{c}-", "-{c}"),
    "Divide": ("{c}/x", "/{c}"),
    "Power": ("{c}**x", "**{c}"),
    "Maximum": ("max {c}", "max {c}"),
    "Minimum": ("min {c}", "min {c}"),
}
_SHORT = 3  # labels up to this long fit in a circle


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


class _Html(str):
    """An HTML-like label, written as is (``<...>``); every other value is quoted."""


def _attrs(**attrs) -> str:
    parts = []
    for key, value in attrs.items():
        if value is None:
            continue
        parts.append(
            f"{key}={value}" if isinstance(value, _Html) else f"{key}={_quote(str(value))}"
        )
    return "[" + " ".join(parts) + "]"


class _Unit:
    """One drawn box or circle: a gate, or a collapsed module call."""

    def __init__(self, ident: str, scope, box: bool) -> None:
        self.ident = ident
        self.scope = scope  # where it is framed (a box: its module call)
        self.box = box
        self.nodes = []
        self.hidden: list = []  # parameters and constants drawn inside a box


class DotWriter:
    """Builds the DOT text of one graph; `text` and `count` (drawn nodes) are the result."""

    def __init__(
        self,
        graph,
        *,
        collapse=False,
        values: bool = True,
        grads: bool = True,
        max_elements: int = 4,
        rankdir: str = "LR",
        title: str | None = None,
        html: bool = True,
    ) -> None:
        if not isinstance(collapse, (bool, int)) or (type(collapse) is int and collapse < 1):
            raise ValueError(
                f"draw: collapse must be True, False or a module depth >= 1, got {collapse!r}"
            )
        if rankdir not in ("LR", "TB", "RL", "BT"):
            raise ValueError(f"draw: rankdir must be LR, TB, RL or BT, got {rankdir!r}")
        self.graph = graph
        self.program = graph._current()
        self.run = graph._last()
        self.show_values = values
        self.show_grads = grads and self.run.grads is not None
        self.max_elements = max_elements
        self.html = html
        self.parts = edge_gradients(graph) if self.show_grads else None
        self.lines: list[str] = []
        self.count = 0
        self._units(collapse)
        self._write(rankdir, title)
        self.text = "\n".join(self.lines) + "\n"

    # ----- grouping the gates into drawn units -----

    def _units(self, collapse) -> None:
        nodes = self.program.nodes
        parents = {id(n.scope.parent) for n in nodes if n.scope is not None}
        self.unit_of: dict[int, _Unit] = {}  # node index -> unit
        boxes: dict[int, _Unit] = {}
        self.units: list[_Unit] = []
        for node in nodes:
            scope = node.scope
            boxed = None
            if collapse is True and scope is not None and id(scope) not in parents:
                boxed = scope
            elif collapse is not False and collapse is not True and scope is not None:
                boxed = scope.at_depth(collapse)
            if boxed is None:
                unit = _Unit(f"n{node.index}", scope, box=False)
                self.units.append(unit)
            else:
                unit = boxes.get(id(boxed))
                if unit is None:
                    unit = boxes[id(boxed)] = _Unit(f"m{len(boxes)}", boxed, box=True)
                    self.units.append(unit)
            unit.nodes.append(node)
            self.unit_of[node.index] = unit

        # The consumers of every slot: [(unit, node, position)]; position None for a
        # keyword input (a loss's targets: no gradient goes back to it).
        self.readers: dict[int, list] = {}
        for node in nodes:
            unit = self.unit_of[node.index]
            for pos, slot in enumerate(node.inputs):
                self.readers.setdefault(slot.index, []).append((unit, node, pos))
            for _, _, slot in node.keyword_inputs:
                self.readers.setdefault(slot.index, []).append((unit, node, None))
        self.folded: dict[int, tuple[int, str]] = {}  # node index -> (constant slot, label)
        for unit in self.units:
            if not unit.box:
                self._fold(unit.nodes[0])
        # Leaves read only inside one box are drawn in it (a layer's weight and bias).
        for slot in self.program.slots:
            if slot.kind not in (PARAMETER, CONSTANT):
                continue
            units = {id(u): u for u, _, _ in self.readers.get(slot.index, ())}
            if len(units) == 1 and slot not in self.program.outputs:
                (unit,) = units.values()
                if unit.box:
                    unit.hidden.append(slot)

    def _fold(self, node) -> None:
        forms = _FOLDS.get(node.op)
        if forms is None or len(node.inputs) != 2:
            return
        constant = [
            pos for pos, s in enumerate(node.inputs)
            if s.kind == CONSTANT and s.shape == () and len(self.readers[s.index]) == 1
            and s not in self.program.outputs
        ]  # fmt: skip
        if len(constant) != 1 or node.inputs[0] is node.inputs[1]:
            return
        pos = constant[0]
        slot = node.inputs[pos]
        label = forms[pos].format(c=number(np.asarray(self.graph.value(slot)).item()))  # "1/x"
        self.folded[node.index] = (slot.index, label)

    # ----- writing -----

    def _write(self, rankdir: str, title: str | None) -> None:
        out = self.lines
        out.append("digraph chainrule {")
        legend = []
        if self.show_values:
            legend.append("green: forward value")
        if self.show_grads:
            legend.append("red, bold, below it: gradient")
        label = ([title] if title else []) + ([" · ".join(legend)] if legend else [])
        graph_attrs = _attrs(
            rankdir=rankdir, fontname="Helvetica", fontsize=12, nodesep=0.4, ranksep=0.9,
            labelloc="b", label="\n".join(label) if label else None,
        )  # fmt: skip
        out.append(f"  graph {graph_attrs};")
        out.append(f"  node {_attrs(fontname='Helvetica', fontsize=14)};")
        edge = _attrs(fontname="Helvetica", fontsize=11, labelfontsize=11, arrowsize=0.6)
        out.append(f"  edge {edge};")
        self._leaves()
        self._gates()
        self._edges()
        out.append("}")

    def _leaves(self) -> None:
        hidden = {s.index for u in self.units for s in u.hidden}
        folded = {index for index, _ in self.folded.values()}
        for slot in self.program.slots:
            if slot.kind == NODE or slot.index in hidden or slot.index in folded:
                continue
            if slot.index not in self.readers and slot not in self.program.outputs:
                continue
            if slot.kind in (INPUT, PARAMETER):
                attrs = _attrs(
                    shape="plaintext", label=slot.label, fontname=BOLD, tooltip=self._tooltip(slot)
                )
            else:  # a constant: its value or "const"
                attrs = _attrs(shape="plaintext", label=slot.label, fontcolor=GREY, fontsize=11)
            self._node(f"s{slot.index}", attrs)

    def _gates(self) -> None:
        frames: dict[int, list] = {}  # id(scope) -> [scope, lines]
        for unit in self.units:
            attrs = self._box(unit) if unit.box else self._gate(unit.nodes[0])
            line = f"  {unit.ident} {attrs};"
            frame = unit.scope.parent if unit.box else unit.scope
            if frame is None:
                self.lines.append(line)
            else:
                frames.setdefault(id(frame), [frame, []])[1].append(line)
        # Nested frames, one cluster per module call, the outermost first.
        children: dict[int, list] = {}
        roots = []
        known = {key: scope for key, (scope, _) in frames.items()}
        for scope in list(known.values()):
            while scope.parent is not None and id(scope.parent) not in known:
                known[id(scope.parent)] = scope.parent
                scope = scope.parent
        for scope in known.values():
            siblings = children.setdefault(id(scope.parent), []) if scope.parent else roots
            siblings.append(scope)

        def emit(scope, depth: int) -> None:
            pad = "  " * depth
            self.lines.append(f"{pad}subgraph cluster_{len(self.lines)} {{")
            frame = _attrs(
                label=scope.title, style="rounded,dashed", color="#8a8a8a", fontcolor="#555555",
                fontsize=11,
            )  # fmt: skip
            self.lines.append(f"{pad}  graph {frame};")
            for line in frames.get(id(scope), (None, []))[1]:
                self.lines.append(pad + line)
            for child in children.get(id(scope), ()):
                emit(child, depth + 1)
            self.lines.append(f"{pad}}}")

        for scope in roots:
            emit(scope, 1)

    def _gate(self, node) -> str:
        folded = self.folded.get(node.index)
        label = folded[1] if folded else op_label(node.op)
        params = _params(node)
        shape = "circle" if len(label) <= _SHORT and not params else "ellipse"
        if params:
            label += "\n" + params
        self.count += 1
        return _attrs(shape=shape, label=label, margin=0.04, tooltip=self._tooltip(node.output))

    def _box(self, unit: _Unit) -> str:
        n_params = sum(math.prod(s.shape) for s in unit.hidden if s.kind == PARAMETER)
        detail = f"{len(unit.nodes):,} gate{'s' if len(unit.nodes) > 1 else ''}"
        if n_params:
            detail += f", {n_params:,} parameters"
        self.count += 1
        return _attrs(
            shape="box", style="rounded,filled", fillcolor=BOX_COLOR, margin="0.3,0.08",
            label=f"{unit.scope.title}\n{detail}",
        )  # fmt: skip

    def _node(self, ident: str, attrs: str) -> None:
        self.count += 1
        self.lines.append(f"  {ident} {attrs};")

    def _tooltip(self, slot) -> str:
        return f"{slot.label}: {slot.shape} {slot.dtype}"

    # ----- the edges, with their values and gradients -----

    def _source(self, slot) -> str:
        if slot.kind == NODE:
            return self.unit_of[slot.node.index].ident
        return f"s{slot.index}"

    def _edges(self) -> None:
        skip = {index for index, _ in self.folded.values()}
        skip.update(s.index for u in self.units for s in u.hidden)
        outputs = {slot.index: k for k, slot in enumerate(self.program.outputs)}
        for slot in self.program.slots:
            if slot.index in skip:
                continue
            source = self._source(slot)
            # Where the slot goes: {unit ident: gradient sent back along that way}.
            targets: dict[str, list] = {}
            for unit, node, pos in self.readers.get(slot.index, ()):
                if unit.ident == source:
                    continue  # inside a box
                part = None if self.parts is None else self.parts.get((node.index, pos), None)
                targets.setdefault(unit.ident, []).append(part)
            if slot.index in outputs:
                k = outputs[slot.index]
                sink = "f" if len(self.program.outputs) == 1 else f"f{k}"
                self._node(f"out{k}", _attrs(shape="plaintext", label=sink, fontname=BOLD))
                targets[f"out{k}"] = [self._grad(slot)]
            if not targets:
                continue
            value = self.graph.value(slot)
            total = self._grad(slot)
            if len(targets) == 1:
                (target,) = targets
                self._edge(source, target, value, total)
                continue
            point = f"b{slot.index}"
            self._node(point, _attrs(shape="point", width=0.07))
            self._edge(source, point, value, total, arrowhead="none")
            for target, parts in targets.items():
                known = [p for p in parts if p is not None]
                part = sum(known[1:], known[0]) if known else None
                self._edge(point, target, value, part)

    def _grad(self, slot):
        return self.run.grads[slot.index] if self.show_grads else None

    def _edge(self, source: str, target: str, value, grad, **extra) -> None:
        rows = []  # (text, colour, bold)
        if self.show_values:
            rows.append((summarize(value, self.max_elements), VALUE_COLOR, False))
        if grad is not None:
            rows.append((summarize(grad, self.max_elements), GRAD_COLOR, True))
        attrs = dict(extra)
        if rows and self.html:
            attrs["label"] = _Html("<" + "<br/>".join(_html_row(*row) for row in rows) + ">")
        elif rows:
            # One colour per plain label: `render.svg` recolours the gradient line.
            attrs.update(label="\n".join(row[0] for row in rows), fontcolor=rows[0][1])
            if grad is not None:
                attrs["class"] = "grad"
        self.lines.append(f"  {source} -> {target} {_attrs(**attrs)};")


def _html_row(text: str, color: str, bold: bool) -> str:
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if bold:
        text = f"<b>{text}</b>"
    return f'<font color="{color}">{text}</font>'


def _params(node) -> str:
    """The keyword arguments worth showing under the op (``axis=1``), short."""
    if not node.params:
        return ""
    shown = []
    for key, value in node.params.items():
        if value is None or value is False:
            continue  # the usual defaults: noise on a drawing
        if isinstance(value, (bool, int, float, str)) or (
            isinstance(value, tuple) and all(isinstance(v, (int, float)) for v in value)
        ):
            shown.append(f"{key}={value}")
    text = ", ".join(shown)
    return text if len(text) <= 24 else text[:21] + "..."
