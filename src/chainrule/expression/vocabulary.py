"""The words of the expression language: its functions (a fixed table of chainrule
functions), its operators, and what it calls the Python syntax it refuses."""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass

import chainrule as cr
from chainrule.tensor import Tensor


@dataclass(frozen=True)
class Function:
    """A function of the language: ``call(*operands, *numbers)``.

    `operands` name the arguments that are expressions; `numbers` the parameters after
    them, which must be number literals (``leaky_relu(x, 0.1)``); the last `optional` of
    those may be left out (chainrule's defaults apply).
    """

    name: str
    call: Callable[..., Tensor]
    operands: tuple[str, ...]
    doc: str
    numbers: tuple[str, ...] = ()
    optional: int = 0

    @property
    def form(self) -> str:
        """How it is called: ``leaky_relu(x[, negative_slope])``."""
        required = self.operands + self.numbers[: len(self.numbers) - self.optional]
        optional = "".join(f"[, {n}]" for n in self.numbers[len(required) - len(self.operands) :])
        return f"{self.name}({', '.join(required)}{optional})"

    def accepts(self, n_args: int) -> bool:
        lowest = len(self.operands) + len(self.numbers) - self.optional
        return lowest <= n_args <= len(self.operands) + len(self.numbers)


X, XY = ("x",), ("x", "y")  # the operands of one- and two-argument functions
#: The functions by name; a name with two entries is chosen by its number of arguments.
FUNCTIONS: dict[str, tuple[Function, ...]] = {}
for _function in (
    Function("abs", cr.abs, X, "absolute value"),
    Function("clip", cr.clip, X, "x limited to [lo, hi]", ("lo", "hi")),
    Function("cos", cr.cos, X, "cosine"),
    Function("dot", cr.matmul, XY, "inner product of vectors (matrix product of matrices)"),
    Function("elu", cr.elu, X, "exponential linear unit", ("alpha",), 1),
    Function("exp", cr.exp, X, "e to the x"),
    Function("leaky_relu", cr.leaky_relu, X, "max(slope*x, x)", ("negative_slope",), 1),
    Function("log", cr.log, X, "natural logarithm"),
    Function("log_softmax", cr.log_softmax, X, "log of softmax (last axis)"),
    Function("logsumexp", cr.logsumexp, X, "log of the sum of exp (all elements)"),
    Function("matmul", cr.matmul, XY, "matrix product, as @"),
    Function("max", cr.max, X, "the largest element"),
    Function("max", cr.maximum, XY, "elementwise maximum (the max gate routes)"),
    Function("maximum", cr.maximum, XY, "elementwise maximum"),
    Function("mean", cr.mean, X, "mean of all elements"),
    Function("min", cr.min, X, "the smallest element"),
    Function("min", cr.minimum, XY, "elementwise minimum"),
    Function("minimum", cr.minimum, XY, "elementwise minimum"),
    Function("relu", cr.relu, X, "max(0, x)"),
    Function("sigmoid", cr.sigmoid, X, "1 / (1 + exp(-x)), as one gate"),
    Function("sin", cr.sin, X, "sine"),
    Function("softmax", cr.softmax, X, "softmax (last axis)"),
    Function("softplus", cr.softplus, X, "log(1 + exp(x))"),
    Function("sqrt", cr.sqrt, X, "square root"),
    Function("sum", cr.sum, X, "sum of all elements"),
    Function("tanh", cr.tanh, X, "hyperbolic tangent"),
    Function("transpose", cr.transpose, X, "reversed axes (a matrix transposed)"),
):
    FUNCTIONS[_function.name] = (*FUNCTIONS.get(_function.name, ()), _function)

OPERATORS = {
    ast.Add: Function("+", cr.add, XY, "add"),
    ast.Sub: Function("-", cr.subtract, XY, "subtract"),
    ast.Mult: Function("*", cr.multiply, XY, "multiply"),
    ast.Div: Function("/", cr.divide, XY, "divide"),
    ast.Pow: Function("**", cr.power, XY, "power"),
    ast.MatMult: Function("@", cr.matmul, XY, "matrix product"),
}
NEGATIVE = Function("-", cr.negative, X, "negative")

ALLOWED = (
    "allowed are numbers, variables, unary - +, binary + - * / ** @, parentheses and calls "
    "of " + ", ".join(FUNCTIONS)
)

# What to call a refused piece of syntax, by its ast class.
REFUSED = {
    "Attribute": "attribute access", "Subscript": "indexing", "Compare": "a comparison",
    "BoolOp": "and/or", "IfExp": "a conditional expression", "Lambda": "a lambda",
    "ListComp": "a comprehension", "SetComp": "a comprehension", "DictComp": "a comprehension",
    "GeneratorExp": "a generator expression", "List": "a list", "Tuple": "a tuple",
    "Set": "a set", "Dict": "a dict", "JoinedStr": "an f-string", "NamedExpr": "an assignment",
    "Starred": "a starred argument", "Await": "await", "Yield": "yield", "YieldFrom": "yield",
    "Slice": "a slice",
}  # fmt: skip
