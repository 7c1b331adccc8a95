"""``chainrule graph EXPR NAME=VALUE... [-o PATH]``: backprop through an expression, shown.

The expression is parsed by `chainrule.expression` (safely: nothing is run as Python),
captured as a `chainrule.Graph` on float64 inputs, run forward and backward, and printed
as a table: the inputs, then every node in topological order (op, inputs, value,
gradient), then the output. ``-o`` draws it with ``cr.draw`` (DOT always; SVG and PNG
with the ``draw`` extra).

Decisions
---------
- A scalar output is backpropagated from df/df = 1. A non-scalar one from a gradient of
  ones, which is the gradient of the sum of its elements; the command says so.
- Numbers print with 3 significant digits (``--precision``), -0 as 0; up to 6 elements
  inline (``[1, 2, 3]``, ``[[1, 2], [3, 4]]``), bigger arrays as shape, min and max.
- A shape column appears when a value is not a scalar. A gradient that never reached a
  value (a gate on constants only) prints as ``-``.
- Overflow and invalid operations (``log(-1)``) give inf and nan as float64 does; NumPy's
  warnings are silenced and one note says that values are not finite.
- An expression that starts with ``-`` looks like an option to argparse: write ``--``
  before it (``chainrule graph -- "-x * y" x=1 y=2``) or start it with a space.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import chainrule as cr
from chainrule.expression import FUNCTIONS, parse, parse_assignments
from chainrule.graph.graph import Graph
from chainrule.graph.records import Slot

MAX_INLINE = 6  # elements printed in full; bigger values are summarised

_EPILOG = """\
examples:
  chainrule graph "(x + y) * z" x=-2 y=5 z=-4 -o add_mul.svg
  chainrule graph "1 / (1 + exp(-(w0*x0 + w1*x1 + w2)))" w0=2 x0=-1 w1=-3 x1=-2 w2=-3
  chainrule graph "max(x, y) * z" x=1 y=3 z=2
  chainrule graph "dot(w, x)" w=1,2,3 x=[0.5,-1,2]
  chainrule graph "sum(relu(W @ x))" W=[[1,-2],[3,4]] x=1,2

  chainrule graph -- "-x * y" x=1 y=2     (an expression starting with - goes after --)

values are float64: a number, a vector (1,2,3 or [1,2,3]) or a matrix ([[1,2],[3,4]]).
an expression uses numbers, variables, unary - +, binary + - * / ** @, parentheses and:
""" + "\n".join(f"  {f.form:32s} {f.doc}" for overloads in FUNCTIONS.values() for f in overloads)


def _precision(text: str) -> int:
    digits = int(text)
    if not 1 <= digits <= 17:
        raise argparse.ArgumentTypeError(f"expected 1 to 17 significant digits, got {text}")
    return digits


def build_parser(subparsers) -> None:
    """Add the ``graph`` command to the subparsers of ``chainrule``.

    >>> import argparse
    >>> parser = argparse.ArgumentParser(prog="chainrule")
    >>> build_parser(parser.add_subparsers())
    >>> args = parser.parse_args(["graph", "x * y", "x=2", "y=3"])
    >>> args.expression, args.values, args.run is run
    ('x * y', ['x=2', 'y=3'], True)
    """
    parser = subparsers.add_parser(
        "graph",
        help="backprop through an expression: every node's value and gradient",
        description="Parse an expression of named values, run it forward and backward, "
        "print every node's value and gradient, and draw the graph with -o.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("expression", metavar="EXPR", help='an expression, as "(x + y) * z"')
    parser.add_argument("values", nargs="*", metavar="NAME=VALUE", help="each variable's value")
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        metavar="PATH",
        help="draw the graph into PATH (.dot, .svg or .png)",
    )
    parser.add_argument(
        "--precision",
        type=_precision,
        default=3,
        metavar="N",
        help="significant digits of the numbers (default 3)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run ``chainrule graph``: print the table, draw with ``-o``; 0 on success."""
    expression = parse(args.expression)
    values = parse_assignments(args.values)
    with np.errstate(all="ignore"):  # inf and nan are shown, and noted once below
        graph = expression.graph(values)
        seed = backpropagate(graph)
    print(table(graph, expression.text, seed, args.precision))
    if args.output is not None:
        cr.draw(graph, args.output)  # loads the drawing code on first use
        print(f"wrote {args.output}")
    return 0


def backpropagate(graph: Graph) -> str:
    """Run backward from the graph's output; return how it was seeded, for the reader.

    >>> from chainrule.expression import parse
    >>> graph = parse("x * 2").graph({"x": [1, 2]})
    >>> backpropagate(graph)
    'f has shape (2,): backward starts from a gradient of ones, so grad is d(sum f)/d(value)'
    >>> graph.grad(graph.inputs[0])
    array([2., 2.])
    """
    output = graph.outputs[0]
    if output.shape == ():
        graph.backward()
        return "grad is df/d(value), from df/df = 1"
    graph.backward(np.ones(output.shape))
    return (
        f"f has shape {output.shape}: backward starts from a gradient of ones, so grad is "
        "d(sum f)/d(value)"
    )


def table(graph: Graph, text: str, seed: str, precision: int = 3) -> str:
    """The printout: inputs, nodes in topological order, output, with values and gradients.

    >>> from chainrule.expression import parse
    >>> graph = parse("(x + y) * z").graph({"x": -2, "y": 5, "z": -4})
    >>> print(table(graph, "(x + y) * z", backpropagate(graph)))
    f = (x + y) * z
    float64; grad is df/d(value), from df/df = 1
    <BLANKLINE>
    input  value  grad
    -----  -----  ----
    x      -2     -4
    y      5      -4
    z      -4     3
    <BLANKLINE>
    node  op        inputs  value  grad
    ----  --------  ------  -----  ----
    %0    Add       x, y    3      -4
    %1    Multiply  %0, z   -12    1
    <BLANKLINE>
    f = %1 = -12
    """
    slots = [*graph.inputs, *(node.output for node in graph.nodes)]
    shaped = any(slot.shape != () for slot in slots)

    def cells(slot: Slot) -> list[str]:
        shape = [str(slot.shape)] if shaped else []
        grad = graph.grad(slot)
        gradient = "-" if grad is None else format_value(grad, precision)
        return [*shape, format_value(graph.value(slot), precision), gradient]

    shape_header = ["shape"] if shaped else []
    inputs = _columns(
        ["input", *shape_header, "value", "grad"],
        [[slot.label, *cells(slot)] for slot in graph.inputs],
    )
    lines = [f"f = {text}", f"float64; {seed}", "", *inputs]
    if graph.nodes:
        nodes = _columns(
            ["node", "op", "inputs", *shape_header, "value", "grad"],
            [
                [f"%{node.index}", node.op, ", ".join(node.argument_labels), *cells(node.output)]
                for node in graph.nodes
            ],
        )
        lines += ["", *nodes]
    output = graph.outputs[0]
    lines += ["", f"f = {output.label} = {format_value(graph.value(output), precision)}"]
    if not all(_finite(graph, slot) for slot in slots):
        lines.append("note: some values or gradients are inf or nan (float64 overflowed, or a "
                     "function got an argument outside its domain)")  # fmt: skip
    return "\n".join(lines)


def _finite(graph: Graph, slot: Slot) -> bool:
    grad = graph.grad(slot)
    return bool(np.isfinite(graph.value(slot)).all()) and (
        grad is None or bool(np.isfinite(grad).all())
    )


def _columns(headers: list[str], rows: list[list[str]]) -> list[str]:
    """Left-aligned columns two spaces apart, as `Graph.summary` lays them out."""
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(headers)]

    def line(cells) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()

    return [line(headers), "  ".join("-" * w for w in widths), *(line(row) for row in rows)]


def format_value(value, precision: int = 3) -> str:
    """A value as a table shows it: compact numbers, small arrays inline, big ones summarised.

    >>> format_value(np.float64(0.7310585786)), format_value(np.array([[1.0, -0.0], [3, 4]]))
    ('0.731', '[[1, 0], [3, 4]]')
    >>> format_value(np.arange(12.0).reshape(3, 4))
    '(3, 4) min 0 max 11'
    """
    array = np.asarray(value)
    if array.size > MAX_INLINE:
        low, high = _number(array.min(), precision), _number(array.max(), precision)
        return f"{array.shape} min {low} max {high}"
    return _nested(array.tolist(), precision)


def _nested(item, precision: int) -> str:
    if isinstance(item, list):
        return "[" + ", ".join(_nested(x, precision) for x in item) + "]"
    return _number(item, precision)


def _number(x, precision: int) -> str:
    return "0" if x == 0 else f"{float(x):.{precision}g}"  # -0 prints as 0
