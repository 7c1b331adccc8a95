"""`cr.explore`: a graph's forward and backward as one interactive, self-contained page.

The page is a single HTML file: the graph laid out by Graphviz as inline SVG
(`chainrule.explorer.layout`), the steps and numbers as inline JSON
(`chainrule.explorer.pagedata`), and the script and styles shipped inside this package
(``assets/``), inlined. It opens from disk with no network: no CDN, no other file.
"""

from __future__ import annotations

import html
import json
import os
from importlib import resources
from string import Template

import numpy as np

from chainrule.explorer.encoding import MAX_EMBEDDED
from chainrule.explorer.layout import picture
from chainrule.explorer.pagedata import page_data
from chainrule.explorer.steps import walkthrough
from chainrule.graph.render import MAX_NODES


def explore(
    obj,
    path="backprop.html",
    *,
    title: str | None = None,
    large: bool = False,
    max_elements: int = 4,
    rankdir: str = "LR",
    max_nodes: int | None = MAX_NODES,
    max_embedded: int = MAX_EMBEDDED,
) -> str:
    """Write the backprop explorer of a graph: a page that steps through its forward and
    backward one gate at a time. Returns the path written.

    Parameters
    ----------
    obj : Graph or Tensor
        A graph after its forward (and, if you like, its backward: the gradients of your
        backward are shown; without one, the explorer runs its own from df/df = 1, or
        from a gradient of ones for a non-scalar output). A tensor's graph is captured
        with `Graph.from_tensor`, so it must still be intact (before ``backward()``, or
        after ``backward(retain_graph=True)``). No ``.grad`` is changed either way.
    path : str or path-like
        Where to write the page (``.html`` or ``.htm``); replaced atomically.
    title : str, optional
        The page's heading; by default the graph's function name, or ``f``.
    large : bool
        Start with large fonts (for a projector); the page has a switch for it too.
    max_elements : int
        Numbers an edge label shows before a tensor is summarised (shape, mean, std).
    rankdir : {'LR', 'TB'}
        The direction of the drawing.
    max_nodes : int or None
        Refuse graphs that draw more nodes than this (Graphviz's layout time grows fast).
    max_embedded : int
        Tensors of more elements carry only their shape and statistics into the page.

    Needs the ``draw`` extra (``pip install 'chainrule[draw]'``) for the layout.

    >>> import chainrule as cr
    >>> x = cr.tensor(-2.0, requires_grad=True, name="x")
    >>> y = cr.tensor(5.0, requires_grad=True, name="y")
    >>> z = cr.tensor(-4.0, requires_grad=True, name="z")
    >>> import tempfile, pathlib
    >>> page = cr.explore((x + y) * z, pathlib.Path(tempfile.mkdtemp()) / "add_mul.html")
    >>> pathlib.Path(page).read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    True
    >>> x.grad is None  # the page ran its own backward
    True
    """
    path = _check(path, large, rankdir, max_elements, max_embedded)
    graph = graph_for(obj)
    tour = walkthrough(graph)
    drawn = picture(graph, max_elements=max_elements, rankdir=rankdir, max_nodes=max_nodes)
    data = page_data(tour, drawn, limit=max_embedded)
    text = render_page(data, drawn.svg, title or _title(graph), large=large)
    from chainrule.io import write_atomically

    write_atomically(path, text.encode("utf-8"))
    return path


def graph_for(obj):
    """The graph `explore` shows for `obj`, with gradients (see `explore`).

    >>> import chainrule as cr
    >>> x = cr.tensor([1.0, 2.0], requires_grad=True)
    >>> graph = graph_for(x * x)  # a non-scalar output: backward from ones
    >>> graph.grad(graph.inputs[0]), x.grad
    (array([2., 4.], dtype=float32), None)
    """
    from chainrule.graph.graph import Graph
    from chainrule.tensor import Tensor

    if isinstance(obj, Tensor):
        graph = Graph.from_tensor(obj)
    elif isinstance(obj, Graph):
        graph = obj
        if graph._program is None:
            raise RuntimeError("explore: the graph has not run; call graph.forward(...) first")
    else:
        raise TypeError(f"explore: expected a Graph or a Tensor, got {type(obj).__name__}")
    if not graph.nodes:
        raise ValueError(
            "explore: the graph has no gates (its output is one of its inputs): nothing to "
            "step through"
        )
    run = graph._last()
    if run.grads is None:
        roots = [
            (slot.index, np.ones_like(run.values[slot.index]))
            for slot in graph.outputs
            if slot.requires_grad
        ]
        if not roots:
            raise ValueError(
                "explore: the output does not require grad (no input or parameter requires "
                "grad, or it ran under no_grad), so there is no backward to show"
            )
        # The run's own backward: the graph's values and gates, no .grad touched, and
        # the gates keep what they saved for the explorer to call them again.
        run.backward(roots, retain_graph=True)
    return graph


def render_page(data: dict, svg: str, title: str, *, large: bool = False) -> str:
    """The HTML text of the page: template, styles, script, drawing and data inlined.

    >>> text = render_page({"steps": []}, "<svg></svg>", "a < b")
    >>> "<h1>a &lt; b</h1>" in text, '<script type="application/json"' in text
    (True, True)
    """
    from chainrule._version import __version__

    # "</script>" (or "<!--") in a name would end the <script> element the JSON sits in:
    # every "<" is written as JSON's "\u003c", which reads back the same.
    payload = json.dumps(data, separators=(",", ":"), allow_nan=False).replace("<", "\\u003c")
    return Template(_asset("page.html")).substitute(
        title=html.escape(title),
        version=html.escape(__version__),
        body_class="large" if large else "",
        css=_asset("explorer.css"),
        js=_asset("explorer.js"),
        svg=svg,
        data=payload,
    )


def _asset(name: str) -> str:
    return resources.files("chainrule.explorer").joinpath("assets", name).read_text("utf-8")


def _check(path, large, rankdir, max_elements, max_embedded) -> str:
    path = os.fspath(path)
    if os.path.splitext(path)[1].lower() not in (".html", ".htm"):
        raise ValueError(f"explore: the page is HTML; give a path ending in .html, got {path!r}")
    if not isinstance(large, bool):
        raise TypeError(f"explore: large must be True or False, got {large!r}")
    if rankdir not in ("LR", "TB", "RL", "BT"):
        raise ValueError(f"explore: rankdir must be LR, TB, RL or BT, got {rankdir!r}")
    for name, value in (("max_elements", max_elements), ("max_embedded", max_embedded)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"explore: {name} must be a positive integer, got {value!r}")
    return path


def _title(graph) -> str:
    name = getattr(graph._f, "__name__", None)
    return name if name and not name.startswith("<") else "f"
