"""The expression language: the lecture's numbers, every function's gradient, hostile text."""

import re

import numpy as np
import pytest

import chainrule as cr
from chainrule.expression import (
    FUNCTIONS,
    MAX_DEPTH,
    MAX_LENGTH,
    ExpressionError,
    parse,
    parse_assignments,
    parse_value,
)

NEURON = {"w0": 2, "x0": -1, "w1": -3, "x1": -2, "w2": -3}


def input_grads(text: str, values: dict) -> dict:
    graph = parse(text).graph(values)
    graph.backward()
    return {slot.label: graph.grad(slot).item() for slot in graph.inputs}


# ----- the lecture's examples -----


def test_add_mul_gives_the_lecture_numbers():
    graph = parse("(x + y) * z").graph({"x": -2, "y": 5, "z": -4})
    assert graph.value(graph.outputs[0]) == -12
    assert input_grads("(x + y) * z", {"x": -2, "y": 5, "z": -4}) == {"x": -4, "y": -4, "z": 3}


@pytest.mark.parametrize(
    "text", ["1 / (1 + exp(-(w0*x0 + w1*x1 + w2)))", "sigmoid(w0*x0 + w1*x1 + w2)"]
)
def test_sigmoid_neuron_gives_the_lecture_numbers(text):
    f = parse(text)
    assert f.evaluate(NEURON).item() == pytest.approx(0.73, abs=0.005)
    grads = input_grads(text, NEURON)
    expected = {"w0": -0.2, "x0": 0.39, "w1": -0.39, "x1": -0.59, "w2": 0.2}
    assert grads == pytest.approx(expected, abs=0.01)


def test_the_two_neurons_agree_to_rounding():
    spelled = input_grads("1 / (1 + exp(-(w0*x0 + w1*x1 + w2)))", NEURON)
    compound = input_grads("sigmoid(w0*x0 + w1*x1 + w2)", NEURON)
    assert compound == pytest.approx(spelled, rel=1e-12)


def test_two_argument_max_routes_the_gradient_to_the_larger():
    assert input_grads("max(x, y) * z", {"x": 1, "y": 3, "z": 2}) == {"x": 0, "y": 2, "z": 3}


def test_one_argument_max_reduces():
    graph = parse("max(v)").graph({"v": [1, 5, 2]})
    graph.backward()
    assert graph.value(graph.outputs[0]) == 5
    np.testing.assert_array_equal(graph.grad(graph.inputs[0]), [0, 1, 0])


def test_dot_of_vectors_is_the_inner_product():
    grads = parse("dot(w, x)")
    w, x = grads.inputs({"w": [1, 2, 3], "x": [0.5, -1, 2]})
    out = grads(w, x)
    out.backward()
    assert out.item() == 4.5
    np.testing.assert_array_equal(w.grad.numpy(), [0.5, -1, 2])
    np.testing.assert_array_equal(x.grad.numpy(), [1, 2, 3])


def test_a_branch_adds_its_gradients():
    assert input_grads("x * x + x", {"x": 3}) == {"x": 7}


# ----- every function and operator, numerically -----

NUMBERS = {"lo": 0.5, "hi": 2.0, "negative_slope": 0.1, "alpha": 0.5}
FORMS = [
    f"{f.name}({', '.join([*f.operands, *(str(NUMBERS[n]) for n in f.numbers)])})"
    for overloads in FUNCTIONS.values()
    for f in overloads
]


@pytest.mark.parametrize("text", FORMS)
def test_every_function_passes_gradcheck(text):
    f = parse(text)
    # Positive (log, sqrt), away from kinks (relu, abs, clip at 0.5 and 2) and from ties.
    values = {"x": [0.3, 1.7, 2.2], "y": [1.1, 0.5, 2.9]}
    assert cr.gradcheck(f, f.inputs({v: values[v] for v in f.variables}))


@pytest.mark.parametrize("op", ["+", "-", "*", "/", "**", "@"])
def test_every_operator_passes_gradcheck(op):
    f = parse(f"(x {op} y) * 0.5 - x")
    assert cr.gradcheck(f, f.inputs({"x": [0.7, 1.3], "y": [1.9, 0.4]}))


def test_matrices_multiply_with_at_and_gradcheck():
    f = parse("sum(relu(W @ x + b))")
    inputs = f.inputs({"W": parse_value("[[1, -2], [3, 4]]"), "x": [1, 2], "b": [0.5, -1]})
    assert f(*inputs).item() == 10
    assert cr.gradcheck(f, inputs)


# ----- numbers and constants -----


def test_values_and_constants_are_float64():
    graph = parse("x * 2 + 1").graph({"x": 3})
    assert all(slot.dtype == np.float64 for slot in graph.slots)


def test_a_sign_folds_into_its_literal():
    graph = parse("x * -1").graph({"x": 3})
    assert [node.op for node in graph.nodes] == ["Multiply"]
    assert graph.nodes[0].argument_labels == ["x", "-1"]


def test_constant_subexpressions_stay_gates_on_constants():
    graph = parse("x * (2 + 3)").graph({"x": 3})
    graph.backward()
    assert [node.op for node in graph.nodes] == ["Add", "Multiply"]
    assert graph.grad(graph.nodes[0].output) is None  # no gradient reaches constants


def test_powers_overflow_to_inf_instead_of_computing_huge_integers():
    with np.errstate(over="ignore"):
        out = parse("x * 9**9**9**9").evaluate({"x": 1})
    assert out.item() == np.inf


def test_unary_plus_is_no_gate():
    assert [node.op for node in parse("+x * y").graph({"x": 1, "y": 2}).nodes] == ["Multiply"]


def test_variables_are_ordered_by_first_use():
    assert parse("b * a + exp(c) - a").variables == ("b", "a", "c")


def test_surrounding_spaces_are_ignored():
    assert parse("  -x * y ").text == "-x * y"


def test_the_graph_is_titled_by_the_expression():
    graph = parse("x * y").graph({"x": 1, "y": 2})
    assert graph.summary().splitlines()[0] == "Graph of x * y: 1 nodes"


# ----- refused expressions -----

HOSTILE = [
    ("__import__('os').system('touch PWNED')", "only function names can be", 1),
    ("__import__('os')", "unknown function '__import__'", 1),
    ("open('f')", "unknown function 'open'", 1),
    ("x.__class__", "'x.__class__' at column 1 is attribute access", 1),
    ("().__class__.__bases__", "attribute access", 1),
    ("[c for c in ()]", "is a comprehension", 1),
    ("lambda: 0", "is a lambda", 1),
    ("(lambda: 0)()", "only function names can be", 2),
    ("x[0]", "is indexing", 1),
    ("x < y", "is a comparison", 1),
    ("x and y", "is and/or", 1),
    ("not x", "the operator not", 1),
    ("x // y", "the operator //", 1),
    ("x if y else z", "conditional expression", 1),
    ("x + 'a'", "a string \"'a'\" at column 5", 5),
    ("True * x", "a boolean", 1),
    ("1j * x", "a complex number", 1),
    ("(y := x)", "an assignment", 2),
    ("f'{x}'", "an f-string", 1),
    ("exp(x=1)", "keyword argument; call exp(x)", 5),
    ("exp(*x)", "starred argument", 5),
    ("x + _secret", "'_secret' at column 5 is not a variable name", 5),
    ("exp + x", "is a function: call it, as in exp(x)", 1),
]


@pytest.mark.parametrize(("text", "message", "column"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_expressions_are_refused_with_the_piece_and_its_column(text, message, column):
    with pytest.raises(ExpressionError) as error:
        parse(text)
    assert message in str(error.value)
    assert f"at column {column}" in str(error.value)
    assert str(error.value).startswith(f"expression {text!r}")


def test_refusals_say_what_is_allowed():
    with pytest.raises(ExpressionError, match=r"allowed are numbers, variables, .* sigmoid"):
        parse("x.real")


def test_columns_count_characters_not_bytes():
    with pytest.raises(ExpressionError, match="'é' at column 5"):
        parse("x + é")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("max(x, y, z)", "has 3 arguments; call max(x) or max(x, y)"),
        ("clip(x, 0)", "has 2 arguments; call clip(x, lo, hi)"),
        ("exp()", "has 0 arguments; call exp(x)"),
        ("leaky_relu(x, y)", "'y' at column 15 is not a number; negative_slope"),
    ],
)
def test_wrong_arguments_name_the_forms_that_work(text, message):
    with pytest.raises(ExpressionError, match=re.escape(message)):
        parse(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "expression is empty"),
        ("(x +", "does not parse at column 1: '(' was never closed"),
        ("x y", "does not parse at column 3"),
        ("x +\n y", "must be one line"),
        ("x\x00", "does not parse"),
        ("2 + 3", "has no variables"),
        ("x * 1e999", "the number 1e999 at column 5 does not fit in float64"),
        ("x" + " + x" * MAX_LENGTH, f"the limit is {MAX_LENGTH:,}"),
        ("(" * 10_000 + "x" + ")" * 10_000, f"the limit is {MAX_LENGTH:,}"),
        ("(" * 300 + "x" + ")" * 300, "too many nested parentheses"),
        ("-" * 1_500 + "x", f"nested more than {MAX_DEPTH} levels deep"),
        ("+".join(["x"] * (MAX_DEPTH + 5)), f"nested more than {MAX_DEPTH} levels deep"),
        (b"x", "expected a string, got bytes"),
    ],
)
def test_malformed_or_huge_expressions_fail_clearly(text, message):
    with pytest.raises(ExpressionError, match=re.escape(message)):
        parse(text)


def test_nesting_within_the_limits_works():
    deep = "(" * 150 + "x" + ")" * 150 + "".join(" + x" for _ in range(MAX_DEPTH - 1))
    assert parse(deep).evaluate({"x": 1}).item() == MAX_DEPTH


# ----- variables and their values -----


def test_a_variable_without_a_value_is_named():
    with pytest.raises(ExpressionError, match="uses z, with no value; got values for x, y"):
        parse("(x + y) * z").inputs({"x": 1, "y": 2})


def test_a_value_for_an_unused_variable_is_an_error():
    with pytest.raises(ExpressionError, match="does not use w, but a value was given"):
        parse("x * y").inputs({"x": 1, "y": 2, "w": 3})


def test_shapes_that_do_not_fit_name_the_part_of_the_text():
    f = parse("sum(W @ x) + dot(a, b)")
    with pytest.raises(ExpressionError, match="dot of the part at column 14 failed: matmul"):
        f.evaluate({"W": [[1, 2]], "x": [1, 2], "a": [1, 2], "b": [1, 2, 3]})


def test_calling_with_the_wrong_number_of_tensors_is_an_error():
    with pytest.raises(ExpressionError, match=r"expected 2 tensors, one per variable \(x, y\)"):
        parse("x * y")(cr.tensor(1.0))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("-2", -2.0),
        ("2.5e-3", 0.0025),
        ("1,2,3", [1, 2, 3]),
        ("[1, -2, +3]", [1, -2, 3]),
        ("(4,)", [4]),
        ("[[1, 2], [3, 4]]", [[1, 2], [3, 4]]),
    ],
)
def test_values_are_numbers_vectors_or_matrices_in_float64(text, expected):
    value = parse_value(text)
    assert value.dtype == np.float64
    np.testing.assert_array_equal(value, expected)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[1, 2], [3]]", "mixes items of shapes"),
        ("[]", "an empty list at column 1"),
        ("1 + 2", "'1 \\+ 2' at column 1 is not allowed; a value is a number"),
        ("x", "'x' at column 1 is not allowed"),
        ("'a'", "a string"),
        ("--1", "'--1' at column 1 is not allowed"),
        ("1e400", "does not fit in float64"),
        ("[" * 40 + "1" + "]" * 40, "lists nested more than 32 deep"),
        ("__import__('os')", "is not allowed; a value is a number"),
    ],
)
def test_bad_values_fail_clearly(text, message):
    with pytest.raises(ExpressionError, match=message):
        parse_value(text)


def test_assignments_read_name_value_pairs():
    values = parse_assignments(["x=-2", "v=1,2", "W=[[1,2],[3,4]]"])
    assert list(values) == ["x", "v", "W"]
    assert values["W"].shape == (2, 2)


@pytest.mark.parametrize(
    ("items", "message"),
    [
        (["x"], "expected NAME=VALUE"),
        (["1x=2"], "'1x' is not a variable name"),
        (["lambda=1"], "not a Python keyword"),
        (["exp=1"], "exp is a function, not a variable"),
        (["x=1", "x=2"], "x was given twice"),
        (["x=os"], "'os' at column 1 is not allowed"),
    ],
)
def test_bad_assignments_fail_clearly(items, message):
    with pytest.raises(ExpressionError, match=message):
        parse_assignments(items)
