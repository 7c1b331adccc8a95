"""Values of the variables, as typed on the command line: ``x=-2``, ``x=1,2,3``,
``W=[[1,2],[3,4]]``; read with the same parser as expressions, numbers only."""

from __future__ import annotations

import ast
import keyword
from collections.abc import Sequence

import numpy as np

from chainrule.expression.language import (
    _NAME,
    MAX_VALUE_DEPTH,
    ExpressionError,
    _column,
    _number,
    _quote,
    _syntax_tree,
)
from chainrule.expression.vocabulary import FUNCTIONS


def parse_value(text: str) -> np.ndarray:
    """A float64 array from a number, a comma-separated vector or nested lists.

    Read with the same parser, allowing only numbers (with a sign) in lists or tuples.

    >>> parse_value("-2"), parse_value("1,2,3"), parse_value("[[1, 2], [3, 4]]").shape
    (array(-2.), array([1., 2., 3.]), (2, 2))
    """
    text, body = _syntax_tree(text, "value")
    return np.array(_literal(body, text, 0), dtype=np.float64)


def _literal(node: ast.expr, text: str, depth: int):
    column = _column(text, node)
    if isinstance(node, ast.Constant):
        return _number(node, text, "value", column)
    signed = isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd))
    if signed and isinstance(node.operand, ast.Constant):
        value = _number(node.operand, text, "value", column)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, (ast.List, ast.Tuple)):
        if depth == MAX_VALUE_DEPTH:
            raise ExpressionError(
                f"value {_quote(text)}: lists nested more than {MAX_VALUE_DEPTH} deep"
            )
        items = [_literal(item, text, depth + 1) for item in node.elts]
        if not items:
            raise ExpressionError(f"value {_quote(text)}: an empty list at column {column}")
        shapes = {np.shape(item) for item in items}
        if len(shapes) > 1:
            raise ExpressionError(
                f"value {_quote(text)}: the list at column {column} mixes items of shapes "
                f"{', '.join(map(str, sorted(shapes)))}; rows must all have the same length"
            )
        return items
    piece = ast.get_source_segment(text, node)
    raise ExpressionError(
        f"value {_quote(text)}: {piece!r} at column {column} is not allowed; a value is a "
        "number, a comma-separated vector (1,2,3) or nested lists ([[1, 2], [3, 4]])"
    )


def parse_assignments(items: Sequence[str]) -> dict[str, np.ndarray]:
    """``NAME=VALUE`` strings (as typed after the expression) as a dict of float64 arrays.

    >>> parse_assignments(["x=-2", "v=1,2"])
    {'x': array(-2.), 'v': array([1., 2.])}
    """
    values: dict[str, np.ndarray] = {}
    for item in items:
        name, equals, value = item.partition("=")
        name = name.strip()
        if not equals:
            raise ExpressionError(f"variable {item!r}: expected NAME=VALUE, as in x=-2")
        if not _NAME.match(name) or keyword.iskeyword(name):
            raise ExpressionError(
                f"variable {item!r}: {name!r} is not a variable name (a letter, then letters, "
                "digits or _; not a Python keyword)"
            )
        if name in FUNCTIONS:
            raise ExpressionError(f"variable {item!r}: {name} is a function, not a variable")
        if name in values:
            raise ExpressionError(f"variable {item!r}: {name} was given twice")
        values[name] = parse_value(value)
    return values
