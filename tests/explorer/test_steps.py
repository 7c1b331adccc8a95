"""The explorer's step list, without a browser: order, rules in numbers, branches, Jacobians."""

from __future__ import annotations

import numpy as np
import pytest
from explorer_graphs import lecture, relu_graph

import chainrule as cr
from chainrule.explorer.encoding import encode, number_text
from chainrule.explorer.local import GateCalls
from chainrule.explorer.rules import formula
from chainrule.explorer.steps import ELEMENTWISE, FORMULA, GRADIENT, JACOBIAN, SCALAR, walkthrough
from chainrule.gates import ALL_GATES
from chainrule.graph.contributions import edge_gradients


def backward_steps(tour):
    return [step for step in tour.steps if step.kind == "backward"]


def test_steps_go_forward_in_order_then_backward_in_reverse():
    graph = lecture.sigmoid_neuron_primitive()
    tour = walkthrough(graph)
    kinds = [step.kind for step in tour.steps]
    n = len(graph.nodes)
    assert kinds == ["start"] + ["forward"] * n + ["seed"] + ["backward"] * n + ["done"]
    forward = [step.node.index for step in tour.steps if step.kind == "forward"]
    assert forward == list(range(n))
    assert [step.node.index for step in backward_steps(tour)] == list(reversed(range(n)))
    assert tour.seed_step == n + 1
    assert all(tour.backward_step[i] == tour.seed_step + n - i for i in range(n))


def test_every_downstream_is_the_engine_part():
    for make in (lecture.sigmoid_neuron_primitive, lecture.gate_patterns, lecture.branch):
        graph = make()
        parts = edge_gradients(graph)
        for step in backward_steps(walkthrough(graph)):
            assert np.array_equal(step.upstream, graph.grad(step.node.output))
            for row in step.rows:
                expected = parts.get((step.node.index, row.position))
                if expected is None:
                    assert row.downstream is None
                else:
                    assert np.array_equal(row.downstream, expected)


def test_gate_patterns_in_numbers():
    """x*y + max(z, w), times 2, at x=3 y=-4 z=2 w=-1: mul switches, max routes, add
    distributes."""
    graph = lecture.gate_patterns()
    rows = {step.node.op: step.rows for step in backward_steps(walkthrough(graph))}
    x, y = (graph.value(slot).item() for slot in graph.inputs[:2])
    mul = next(s for s in backward_steps(walkthrough(graph)) if s.node.inputs[0].label == "x")
    assert [row.local.item() for row in mul.rows] == [y, x]  # switch
    assert [row.local.item() for row in rows["Maximum"]] == [1.0, 0.0]  # route to z = 2
    assert [row.local.item() for row in rows["Add"]] == [1.0, 1.0]  # distribute
    assert all(row.form == SCALAR for step_rows in rows.values() for row in step_rows
               if row.downstream is not None)  # fmt: skip


def test_branch_gradient_is_the_sum_of_its_parts_once_complete():
    graph = lecture.branch()  # x * y + exp(x): x feeds two gates
    tour = walkthrough(graph)
    x = graph.inputs[0]
    with_total = [
        (step, row) for step in backward_steps(tour) for row in step.rows if row.total is not None
    ]
    assert len(with_total) == 1
    step, row = with_total[0]
    assert row.slot is x
    # The total shows at the last of x's readers that backward reaches: the earliest gate.
    assert step.node.index == min(n.index for n in graph.nodes if x in n.inputs)
    assert tour.complete_step[x.index] == tour.steps.index(step)
    assert [part.node.op for part in row.total] == ["Exp", "Multiply"]
    np.testing.assert_allclose(sum(part.grad for part in row.total), graph.grad(x), rtol=1e-15)


def test_upstream_of_a_shared_value_lists_its_parts():
    def f(x):
        h = cr.exp(x)
        return h * h + h  # h feeds a gate twice and another once

    graph = cr.Graph(f)
    graph.forward(cr.tensor(0.5, dtype="float64", requires_grad=True))
    graph.backward()
    exp_step = next(s for s in backward_steps(walkthrough(graph)) if s.node.op == "Exp")
    assert len(exp_step.upstream_parts) == 3
    np.testing.assert_allclose(sum(p.grad for p in exp_step.upstream_parts), exp_step.upstream)


def test_relu_local_gradient_is_a_diagonal_jacobian():
    graph = relu_graph()
    steps = {step.node.op: step for step in backward_steps(walkthrough(graph))}
    (row,) = steps["ReLU"].rows
    x = graph.value(row.slot)
    assert row.form == ELEMENTWISE
    np.testing.assert_array_equal(row.jacobian, np.diag((x > 0).astype(float)))
    np.testing.assert_array_equal(row.local, (x > 0).astype(float))
    np.testing.assert_array_equal(row.downstream, steps["ReLU"].upstream * row.local)
    (sum_row,) = steps["Sum"].rows
    assert sum_row.form == GRADIENT and sum_row.local.shape == (3,)


def test_matmul_downstream_is_upstream_times_the_jacobian():
    graph = relu_graph()
    step = next(s for s in backward_steps(walkthrough(graph)) if s.node.op == "MatMul")
    for row in step.rows:
        assert row.form == JACOBIAN
        flat = step.upstream.reshape(-1) @ row.jacobian
        np.testing.assert_allclose(flat.reshape(row.slot.shape), row.downstream, rtol=1e-15)


def test_big_tensors_show_the_formula_only():
    graph = lecture.two_layer_net()  # a batch of 32 digits through 100 hidden units
    forms = {
        (step.node.op, row.position): row.form
        for step in backward_steps(walkthrough(graph)) for row in step.rows
    }  # fmt: skip
    assert forms[("ReLU", 0)] == FORMULA  # 3,200 x 3,200 would not be shown
    assert forms[("SoftmaxCrossEntropy", 0)] == GRADIENT


def test_tensor_graph_with_keyword_gates_uses_its_own_gates():
    x = cr.tensor([[1.0, -2.0], [3.0, 0.5]], requires_grad=True, name="x")
    from chainrule.explorer.page import graph_for

    graph = graph_for((x * x).sum(axis=0))  # the gates kept their keyword arguments
    tour = walkthrough(graph)
    mul = next(s for s in backward_steps(tour) if s.node.op == "Multiply")
    np.testing.assert_array_equal(sum(row.downstream for row in mul.rows), 2 * x.numpy())
    assert x.grad is None


def test_after_a_freed_backward_the_parts_come_from_a_replay():
    x = cr.tensor([[1.0, 2.0], [0.5, -1.0]], requires_grad=True, name="x")
    y = cr.exp(x)
    graph = cr.Graph.from_tensor((y * y).sum(axis=0))
    graph.backward(np.ones(2, np.float32))  # frees what the eager gates saved
    mul = next(s for s in backward_steps(walkthrough(graph)) if s.node.op == "Multiply")
    expected = np.exp(x.numpy())  # each of the two branches sends g * y, g = 1
    for row in mul.rows:
        np.testing.assert_allclose(row.downstream, expected, rtol=1e-6)


def test_no_gradient_yet_is_an_error():
    graph = cr.Graph(lambda x: x * 2.0)
    graph.forward(cr.tensor(1.0, requires_grad=True))
    with pytest.raises(RuntimeError, match="explore: the graph has no gradients yet"):
        walkthrough(graph)


def test_jacobian_rows_are_vector_jacobian_products():
    graph = cr.Graph(lambda x: cr.softmax(x))
    graph.forward(cr.tensor([0.5, -1.0, 2.0], dtype="float64", requires_grad=True))
    graph.backward(np.ones(3))
    with GateCalls(graph) as calls:
        jacobian = calls.jacobian(graph.nodes[0], 0)
    s = graph.value(graph.outputs[0])
    np.testing.assert_allclose(jacobian, np.diag(s) - np.outer(s, s), atol=1e-15)


def test_every_builtin_gate_states_its_backward_rule():
    missing = [gate.__name__ for gate in ALL_GATES if not formula(gate)[1]]
    assert missing == []


@pytest.mark.parametrize(
    ("array", "text"),
    [
        (np.array([0.1, -0.0, np.nan, np.inf, -np.inf], dtype=np.float32),
         "0.1,-0.0,NaN,Infinity,-Infinity"),
        (np.array([1 / 3]), "0.3333333333333333"),
        (np.array([[1, -2]], dtype=np.int64), "1,-2"),
        (np.array([True, False]), "1,0"),
    ],
)  # fmt: skip
def test_encoding_is_exact(array, text):
    encoded = encode(array)
    assert encoded["data"] == text
    back = np.array([float(t.replace("Infinity", "inf")) for t in text.split(",")])
    np.testing.assert_array_equal(back.astype(array.dtype).reshape(array.shape), array)


def test_encoding_of_float32_round_trips():
    a = np.random.default_rng(0).standard_normal(1000).astype(np.float32)
    tokens = encode(a)["data"].split(",")
    assert np.array_equal(np.array(tokens, dtype=np.float64).astype(np.float32), a)
    assert max(len(t) for t in tokens) <= 15  # float32's own shortest form, not float64's


def test_encoding_summarises_big_tensors():
    encoded = encode(np.arange(10.0), limit=5)
    assert encoded["data"] is None and (encoded["min"], encoded["max"]) == (0.0, 9.0)
    with pytest.raises(TypeError, match="explore: cannot show an array of dtype"):
        encode(np.array(["a"]))
    assert number_text(np.float16(0.1)) == "0.1"
