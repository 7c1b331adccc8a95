"""The expression language of ``chainrule graph``: arithmetic over named tensors, parsed safely.

    >>> from chainrule.expression import parse
    >>> f = parse("(x + y) * z")
    >>> f.variables
    ('x', 'y', 'z')
    >>> f.evaluate({"x": -2, "y": 5, "z": -4}).item()
    -12.0

`parse` turns a string into a checked `Expression`; `Expression.graph` captures it as a
`chainrule.Graph` on float64 inputs; `parse_value` and `parse_assignments` read the
``x=-2``, ``x=1,2,3``, ``W=[[1,2],[3,4]]`` values of the command line.

Decisions
---------
- Safety: the text goes through Python's parser only (``ast.parse(text, mode="eval")``),
  and the syntax tree is checked against a whitelist and rebuilt as a tree of our own
  (`Number`, `Variable`, `Apply`). Nothing ever runs it as Python (no ``eval``, ``exec``):
  evaluation walks our tree and calls the chainrule functions of `FUNCTIONS`, a fixed
  table. Anything else is an `ExpressionError` that quotes the piece and its column.
- Allowed: number literals, variable names, unary ``-`` ``+``, binary ``+ - * / ** @``,
  parentheses, and calls of the names in `FUNCTIONS` with positional arguments. Refused:
  attributes, indexing, comparisons (their result has no gradient), ``and``/``or``/``not``,
  conditional expressions, lambdas, comprehensions, lists, strings, ``True``/``None``,
  keyword and starred arguments, unknown functions.
- Numbers are float64, inputs and constants alike, so the lecture's numbers print as the
  lecture prints them. A literal that does not fit float64 (``1e999``) is refused;
  arithmetic that overflows gives inf, as IEEE says: ``9**9**9**9`` is inf at once, since
  every power is taken in float64, never on Python's unbounded ints.
- The graph is the expression as written: ``x * (2 + 3)`` has an Add gate on two constants.
  Only a sign in front of a literal folds into it (``x * -1`` multiplies by the number -1).
  Each literal is its own constant tensor, named by its value (the graph labels it so).
- Variable names are ASCII: a letter, then letters, digits or ``_``; not a function name
  and not a Python keyword. Variables are ordered by first use in the text.
- ``max`` and ``min`` with two arguments are elementwise (the lecture's max gate, which
  routes); with one they reduce to the largest or smallest element. ``dot`` is ``matmul``
  (``@``): the inner product of two vectors, the matrix product of matrices. The
  parameters of ``leaky_relu``, ``elu`` and ``clip`` must be number literals.
- Errors name the part of the text: a shape error while evaluating says which operation
  (and the column its part starts at) failed. Surrounding spaces are dropped first, and
  columns (1-based, in characters) count in what is left.
- Limits, so that hostile input fails fast: 2,000 characters, one line, 100 levels of
  nesting, 32 levels of brackets in a value.
"""

from chainrule.expression.language import (
    MAX_DEPTH,
    MAX_LENGTH,
    MAX_VALUE_DEPTH,
    Apply,
    Expression,
    ExpressionError,
    Number,
    Variable,
    parse,
)
from chainrule.expression.values import parse_assignments, parse_value
from chainrule.expression.vocabulary import ALLOWED, FUNCTIONS, Function

__all__ = [
    "ALLOWED", "FUNCTIONS", "MAX_DEPTH", "MAX_LENGTH", "MAX_VALUE_DEPTH", "Apply",
    "Expression", "ExpressionError", "Function", "Number", "Variable", "parse",
    "parse_assignments", "parse_value",
]  # fmt: skip
