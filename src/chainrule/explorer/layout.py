"""The explorer's picture: the graph drawn the lecture's way, laid out by Graphviz.

The drawing is `chainrule.graph.dot.DotWriter`'s, with every value and gradient on its
edge, laid out by Graphviz (``dot``) through `chainrule.graph.render.svg`: the space of
every label is reserved from the start, so nothing moves while the page reveals them
step by step. The SVG is made ready to inline in a page: the XML prologue and comments
go, and each node and edge group gets its DOT name as ``data-id`` (``n3`` for gate 3,
``s0`` for slot 0, ``b4`` for the branch point of slot 4, ``out0`` for the output;
``n0->n1`` for an edge) in place of its ``<title>``, which browsers would show as a
tooltip. The explorer steps through every gate, so module calls are framed, never
collapsed into boxes.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

from chainrule.errors import DrawError
from chainrule.graph.dot import DotWriter
from chainrule.graph.render import MAX_NODES, svg

_EDGE_LINE = re.compile(r"^\s*(\w+) -> (\w+) \[", re.MULTILINE)
_GROUP_TITLE = re.compile(r'(<g id="[^"]*" class="(?:node|edge)[^"]*")>\s*<title>([^<]*)</title>')


@dataclass
class Picture:
    """The laid-out graph: `svg` text to inline, its `edges` as (source, target) DOT
    names in the order of the DOT text, and the `labels` of gates that differ from their
    op's (a folded constant: ``*-1``, ``1/x``), by node index."""

    svg: str
    edges: list[tuple[str, str]]
    labels: dict[int, str] = field(default_factory=dict)


def picture(
    graph,
    *,
    title: str | None = None,
    max_elements: int = 4,
    rankdir: str = "LR",
    max_nodes: int | None = MAX_NODES,
) -> Picture:
    """Lay out `graph` (after forward and backward) as the explorer shows it.

    Needs the ``draw`` extra (Graphviz compiled to WebAssembly).

    >>> import chainrule as cr
    >>> x = cr.tensor(2.0, requires_grad=True, name="x")
    >>> graph = cr.Graph(lambda x: cr.exp(x) * x)
    >>> _ = graph.forward(x); _ = graph.backward()
    >>> drawn = picture(graph)
    >>> drawn.edges, 'data-id="n0-&gt;n1"' in drawn.svg
    ([('s0', 'b0'), ('b0', 'n0'), ('b0', 'n1'), ('n0', 'n1'), ('n1', 'out0')], True)
    """
    writer = DotWriter(graph, html=False, max_elements=max_elements, rankdir=rankdir, title=title)
    if max_nodes is not None and writer.count > max_nodes:
        raise DrawError(
            f"explore: this graph draws {writer.count:,} nodes, more than max_nodes="
            f"{max_nodes:,}; Graphviz would take minutes or more to lay it out. Explore a "
            "smaller part of the graph, or pass a larger max_nodes (None: no limit)"
        )
    edges = _EDGE_LINE.findall(writer.text)
    labels = {index: label for index, (_, label) in writer.folded.items()}
    return Picture(_inline(svg(writer.text).decode("utf-8")), edges, labels)


def _inline(image: str) -> str:
    """Graphviz's SVG made ready to sit inside an HTML page."""
    start = image.find("<svg")
    if start < 0:
        raise DrawError("explore: Graphviz returned no SVG")
    image = re.sub(r"<!--.*?-->\n?", "", image[start:], flags=re.DOTALL)
    image = re.sub(r"<title>[^<]*</title>\n?", "", image, count=1)  # the graph's own
    return _GROUP_TITLE.sub(
        lambda m: f'{m[1]} data-id="{html.escape(html.unescape(m[2]))}">', image
    )
