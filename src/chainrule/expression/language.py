"""The expression language's grammar, checked tree and evaluation (see the package's
docstring for the decisions)."""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

import chainrule as cr
from chainrule.expression.vocabulary import (
    ALLOWED,
    FUNCTIONS,
    NEGATIVE,
    OPERATORS,
    REFUSED,
    Function,
)
from chainrule.tensor import Tensor

MAX_LENGTH = 2_000
MAX_DEPTH = 100
MAX_VALUE_DEPTH = 32
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")


class ExpressionError(ValueError):
    """An expression or a value that the language does not allow, or that does not parse."""


ExpressionError.__module__ = "chainrule.expression"  # where users import it from


# ----- the checked tree -----


@dataclass(frozen=True)
class Number:
    """A float64 constant."""

    value: float


@dataclass(frozen=True)
class Variable:
    """A named input."""

    name: str


@dataclass(frozen=True)
class Apply:
    """A function or operator applied to operands (trees) and numbers (its parameters);
    `column` is where its part of the text starts (1-based), for error messages."""

    function: Function
    operands: tuple
    numbers: tuple[float, ...]
    column: int


class Expression:
    """A checked expression: its `text`, its `tree` and its `variables` (by first use).

    Calling it with one tensor per variable, in that order, builds the result from
    chainrule functions (so it is a function ``cr.Graph`` can capture). The tensors are
    used as given; `inputs` makes float64 ones.

    >>> import chainrule as cr
    >>> f = parse("sigmoid(w * x)")
    >>> f(cr.tensor(2.0), cr.tensor(0.0))
    Tensor(0.5, dtype=float32)
    """

    def __init__(self, text: str, tree, variables: tuple[str, ...]) -> None:
        self.text = text
        self.tree = tree
        self.variables = variables
        self.__name__ = text  # Graph.summary and drawings title the graph with it

    def __call__(self, *tensors) -> Tensor:
        if len(tensors) != len(self.variables):
            raise ExpressionError(
                f"expression {_quote(self.text)}: expected {len(self.variables)} tensors, one "
                f"per variable ({', '.join(self.variables)}), got {len(tensors)}"
            )
        return _evaluate(self.tree, dict(zip(self.variables, tensors)), self.text)

    def inputs(self, values: Mapping) -> tuple[Tensor, ...]:
        """One float64 tensor per variable, requiring grad and named after it.

        `values` maps every variable, and nothing else, to a number, an array-like or a
        Tensor (whose values are taken).

        >>> [t.name for t in parse("x * y").inputs({"y": 2, "x": [1, 2]})]
        ['x', 'y']
        """
        missing = [name for name in self.variables if name not in values]
        unused = [name for name in values if name not in self.variables]
        if missing:
            given = f"; got values for {', '.join(values)}" if values else ""
            raise ExpressionError(
                f"expression {_quote(self.text)} uses {', '.join(missing)}, with no value"
                f"{given}: pass {' '.join(f'{name}=VALUE' for name in missing)}"
            )
        if unused:
            raise ExpressionError(
                f"expression {_quote(self.text)} does not use {', '.join(unused)}, but a "
                f"value was given; it uses {', '.join(self.variables)}"
            )
        return tuple(
            cr.tensor(np.asarray(values[name], dtype=np.float64), requires_grad=True, name=name)
            for name in self.variables
        )

    def evaluate(self, values: Mapping) -> Tensor:
        """The value of the expression, computed eagerly on `inputs(values)`.

        >>> parse("max(x, y)").evaluate({"x": 3, "y": [1, 4]})
        Tensor([3., 4.], dtype=float64, gate=Maximum)
        """
        return self(*self.inputs(values))

    def graph(self, values: Mapping) -> cr.Graph:
        """The expression captured as a `chainrule.Graph`, run forward on `inputs(values)`.

        >>> graph = parse("(x + y) * z").graph({"x": -2, "y": 5, "z": -4})
        >>> [node.op for node in graph.nodes], graph.value(graph.outputs[0])
        (['Add', 'Multiply'], array(-12.))
        """
        graph = cr.Graph(self)
        graph.forward(*self.inputs(values))
        return graph

    def __repr__(self) -> str:
        return f"<Expression {_quote(self.text)} of {', '.join(self.variables)}>"


def _evaluate(node, tensors: dict, text: str) -> Tensor:
    if isinstance(node, Variable):
        return tensors[node.name]
    if isinstance(node, Number):
        return cr.tensor(node.value, dtype=np.float64, name=f"{node.value:g}")
    operands = [_evaluate(operand, tensors, text) for operand in node.operands]
    try:
        return node.function.call(*operands, *node.numbers)
    except ValueError as error:  # shapes that do not fit: say which operation of the text
        raise ExpressionError(
            f"expression {_quote(text)}: {node.function.name} of the part at column "
            f"{node.column} failed: {error}"
        ) from error


# ----- parsing -----


def parse(text: str) -> Expression:
    """Parse and check `text`; raise `ExpressionError` for anything the language refuses.

    >>> parse("1 / (1 + exp(-(w0*x0 + w1*x1 + w2)))").variables
    ('w0', 'x0', 'w1', 'x1', 'w2')
    >>> parse("__import__('os')")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    chainrule.expression.ExpressionError: expression "__import__('os')": unknown function \
'__import__' at column 1; allowed are numbers, variables, ...
    """
    text, body = _syntax_tree(text, "expression")
    variables: dict[str, None] = {}
    tree = _Checker(text, variables).check(body, 0)
    if not variables:
        raise ExpressionError(
            f"expression {_quote(text)} has no variables, so nothing to differentiate; "
            "use names such as x and give their values (x=-2)"
        )
    return Expression(text, tree, tuple(variables))


def _syntax_tree(text: str, what: str) -> tuple[str, ast.expr]:
    """`text` without surrounding spaces (messages quote it and count columns in it), and
    the body of its syntax tree."""
    if not isinstance(text, str):
        raise ExpressionError(f"{what}: expected a string, got {type(text).__name__}")
    text = text.strip()
    if len(text) > MAX_LENGTH:
        raise ExpressionError(
            f"{what} {_quote(text)} is {len(text):,} characters long; the limit is {MAX_LENGTH:,}"
        )
    if not text:
        raise ExpressionError(f"{what} is empty")
    if len(text.splitlines()) > 1:
        raise ExpressionError(f"{what} {_quote(text)}: must be one line")
    try:
        return text, ast.parse(text, mode="eval").body
    except SyntaxError as error:
        at = f" at column {error.offset}" if error.offset else ""
        raise ExpressionError(f"{what} {_quote(text)} does not parse{at}: {error.msg}") from None
    except ValueError as error:  # null bytes, before Python 3.11
        raise ExpressionError(f"{what} {_quote(text)} does not parse: {error}") from None
    except (RecursionError, MemoryError):
        raise ExpressionError(f"{what} {_quote(text)} is nested too deeply to parse") from None


class _Checker:
    """Walks Python's syntax tree of one expression, rebuilding the allowed part."""

    def __init__(self, text: str, variables: dict[str, None]) -> None:
        self.text = text
        self.variables = variables

    def check(self, node: ast.expr, depth: int):
        if depth > MAX_DEPTH:
            raise self.error(node, f"is nested more than {MAX_DEPTH} levels deep", allowed=False)
        column = _column(self.text, node)
        if isinstance(node, ast.Constant):
            return Number(_number(node, self.text, "expression", column))
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            operand = self.check(node.operand, depth + 1)
            if isinstance(operand, Number):  # -2 is a number, not a gate on 2
                value = -operand.value if isinstance(node.op, ast.USub) else operand.value
                return Number(value)
            if isinstance(node.op, ast.UAdd):
                return operand
            return Apply(NEGATIVE, (operand,), (), column)
        if isinstance(node, ast.BinOp) and type(node.op) in OPERATORS:
            left = self.check(node.left, depth + 1)
            right = self.check(node.right, depth + 1)
            return Apply(OPERATORS[type(node.op)], (left, right), (), column)
        if isinstance(node, ast.Call):
            return self.call(node, depth, column)
        if isinstance(node, (ast.UnaryOp, ast.BinOp)):
            symbol = _SYMBOLS.get(type(node.op).__name__, type(node.op).__name__)
            raise self.error(node, f"uses the operator {symbol}, which is not allowed")
        what = REFUSED.get(type(node).__name__, f"Python syntax ({type(node).__name__})")
        raise self.error(node, f"is {what}, which is not allowed")

    def name(self, node: ast.Name) -> Variable:
        if node.id in FUNCTIONS:
            raise self.error(node, f"is a function: call it, as in {FUNCTIONS[node.id][0].form}")
        if not _NAME.match(node.id):
            raise self.error(node, "is not a variable name (a letter, then letters, digits or _)")
        self.variables.setdefault(node.id, None)
        return Variable(node.id)

    def call(self, node: ast.Call, depth: int, column: int) -> Apply:
        if not isinstance(node.func, ast.Name):
            raise self.error(node.func, "is called, but only function names can be")
        overloads = FUNCTIONS.get(node.func.id)
        if overloads is None:
            raise self.error(node.func, "", what="unknown function")
        forms = " or ".join(f.form for f in overloads)
        if node.keywords:
            raise self.error(node.keywords[0], f"is a keyword argument; call {forms}")
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise self.error(arg, f"is a starred argument; call {forms}")
        function = next((f for f in overloads if f.accepts(len(node.args))), None)
        if function is None:
            raise self.error(node, f"has {len(node.args)} arguments; call {forms}", allowed=False)
        n = len(function.operands)
        operands = tuple(self.check(arg, depth + 1) for arg in node.args[:n])
        numbers = []
        for name, arg in zip(function.numbers, node.args[n:]):
            number = self.check(arg, depth + 1)
            if not isinstance(number, Number):
                raise self.error(
                    arg, f"is not a number; {name} of {function.form} must be one", allowed=False
                )
            numbers.append(number.value)
        return Apply(function, operands, tuple(numbers), column)

    def error(self, node, problem: str, what: str = "", allowed: bool = True) -> ExpressionError:
        piece = ast.get_source_segment(self.text, node) or type(node).__name__
        if len(piece) > 40:
            piece = piece[:37] + "..."
        where = f"{what} {piece!r}".strip()
        problem = f" {problem}" if problem else ""
        message = f"expression {_quote(self.text)}: {where} at column {_column(self.text, node)}"
        return ExpressionError(message + problem + (f"; {ALLOWED}" if allowed else ""))


_SYMBOLS = {
    "FloorDiv": "//", "Mod": "%", "LShift": "<<", "RShift": ">>", "BitOr": "|",
    "BitXor": "^", "BitAnd": "&", "Invert": "~", "Not": "not",
}  # fmt: skip


def _column(text: str, node) -> int:
    """The 1-based character column of `node` (ast counts UTF-8 bytes)."""
    return len(text.encode()[: node.col_offset].decode(errors="ignore")) + 1


def _number(node: ast.Constant, text: str, what: str, column: int) -> float:
    value = node.value
    if type(value) not in (int, float):  # bool is an int to Python, not a number here
        kind = {str: "a string", bytes: "bytes", bool: "a boolean", complex: "a complex number"}
        raise ExpressionError(
            f"{what} {_quote(text)}: {kind.get(type(value), repr(value))} "
            f"{ast.get_source_segment(text, node)!r} at column {column} is not allowed; "
            + ("only numbers are" if what != "expression" else ALLOWED)
        )
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise ExpressionError(
            f"{what} {_quote(text)}: the number {ast.get_source_segment(text, node)} at column "
            f"{column} does not fit in float64"
        )
    return number


def _quote(text: str) -> str:
    return repr(text if len(text) <= 60 else text[:57] + "...")
