"""cr.Graph capture: the lecture's examples as graphs, topological order, inputs,
parameters and constants, branches, comparisons, no_grad regions, several outputs."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import gate as gate_module


def leaf(value, dtype="float64", name=None):
    return cr.tensor(value, dtype=dtype, requires_grad=True, name=name)


def eager_grads(f, *inputs):
    """f's value and the inputs' gradients in eager mode (fresh leaves, as Graph sees them)."""
    fresh = [cr.tensor(t.data, requires_grad=t.requires_grad) for t in inputs]
    out = f(*fresh)
    out.backward()
    return out.data, [t.grad.data if t.grad is not None else None for t in fresh]


def assert_same(a, b):
    """Bitwise equality, dtype included."""
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype and a.shape == b.shape
    assert np.array_equal(a, b), (a, b)


def check_against_eager(f, *inputs):
    graph = cr.Graph(f)
    out = graph.forward(*inputs)
    grads = graph.backward()
    value, expected = eager_grads(f, *inputs)
    assert_same(out.data, value)
    for g, e in zip(grads, expected):
        assert_same(g.data, e)
    return graph


# ----- the lecture's worked examples -----


def test_graph_lecture_add_mul():
    x, y, z = leaf(-2.0, "float32", "x"), leaf(5.0, "float32", "y"), leaf(-4.0, "float32", "z")
    graph = cr.Graph(lambda x, y, z: (x + y) * z)
    assert graph.forward(x, y, z).item() == -12.0
    dx, dy, dz = graph.backward()
    assert (dx.item(), dy.item(), dz.item()) == (-4.0, -4.0, 3.0)
    assert [node.op for node in graph.nodes] == ["Add", "Multiply"]
    add, mul = graph.nodes
    assert [s.label for s in add.inputs] == ["x", "y"]
    assert mul.inputs[0] is add.output and mul.inputs[1].label == "z"
    assert graph.outputs == (mul.output,)
    assert [s.kind for s in graph.inputs] == ["input"] * 3
    assert x.grad is None  # Graph.backward returns input gradients, it does not store them


def test_graph_lecture_sigmoid_neuron_primitive_gates():
    def neuron(w0, x0, w1, x1, w2):
        return 1.0 / (1.0 + cr.exp(-(w0 * x0 + w1 * x1 + w2)))

    inputs = [leaf(v) for v in (2.0, -1.0, -3.0, -2.0, -3.0)]
    graph = check_against_eager(neuron, *inputs)
    ops = [node.op for node in graph.nodes]
    assert ops == ["Multiply", "Multiply", "Add", "Add", "Negative", "Exp", "Add", "Divide"]
    graph.forward(*inputs)
    np.testing.assert_allclose(
        [g.item() for g in graph.backward()], [-0.20, 0.39, -0.39, -0.59, 0.20], atol=0.005
    )


def test_graph_lecture_sigmoid_neuron_compound_gate():
    inputs = [leaf(v) for v in (2.0, -1.0, -3.0, -2.0, -3.0)]
    graph = check_against_eager(lambda w0, x0, w1, x1, w2: cr.sigmoid(w0 * x0 + w1 * x1 + w2),
                                *inputs)  # fmt: skip
    assert [node.op for node in graph.nodes][-1] == "Sigmoid"


def test_graph_lecture_vectorized_norm_with_a_parameter():
    # f(x, W) = ||W x||^2 with W closed over: a parameter; df/dW = 2 q x^T, df/dx = 2 W^T q
    W = leaf([[0.1, 0.5], [-0.3, 0.8]], name="W")
    graph = cr.Graph(lambda x: ((W @ x) * (W @ x)).sum())
    x = leaf([0.2, 0.4])
    graph.forward(x)
    (dx,) = graph.backward()
    q = W.data @ x.data
    np.testing.assert_allclose(W.grad.data, 2 * np.outer(q, x.data), rtol=1e-12)
    np.testing.assert_allclose(dx.data, 2 * W.data.T @ q, rtol=1e-12)
    assert graph.parameters == (W,)
    assert [s.label for s in graph.nodes[0].inputs] == ["W", "x"]
    # The same gradients as eager mode, bit for bit.
    W_eager = leaf(W.data)
    x_eager = leaf(x.data)
    ((W_eager @ x_eager) * (W_eager @ x_eager)).sum().backward()
    np.testing.assert_array_equal(W.grad.data, W_eager.grad.data)
    np.testing.assert_array_equal(dx.data, x_eager.grad.data)


# ----- topological order, slots -----


def test_graph_nodes_are_in_topological_order():
    def f(a, b):
        c = a * b
        d = cr.exp(c) + a
        e = cr.tanh(d) * c
        return (e + d).sum()

    graph = cr.Graph(f)
    graph.forward(leaf([1.0, 2.0]), leaf([0.5, -0.5]))
    for i, node in enumerate(graph.nodes):
        assert node.index == i and node.output.node is node
        for slot in node.inputs:
            assert slot.kind != "node" or slot.node.index < i
    assert [s.index for s in graph.slots] == list(range(len(graph.slots)))
    kinds = [s.kind for s in graph.slots]
    assert kinds == sorted(kinds, key=["input", "parameter", "constant", "node"].index)


def test_graph_node_records_shapes_dtypes_and_needs():
    w = leaf(np.ones((3, 2)), name="w")
    graph = cr.Graph(lambda x: cr.relu(x @ w).sum(axis=0))
    graph.forward(cr.tensor(np.ones((4, 3))))
    matmul, relu, total = graph.nodes
    assert (matmul.shape, relu.shape, total.shape) == ((4, 2), (4, 2), (2,))
    assert matmul.dtype == np.float64
    assert matmul.needs_input_grad == (False, True)  # x does not require grad, w does
    assert total.params == {"axis": 0, "keepdims": False}
    assert graph.inputs[0].requires_grad is False and graph.inputs[0].label == "x"
    assert "MatMul(x, w)" in repr(matmul)


def test_graph_finds_parameters_and_constants():
    w = leaf([1.0, 2.0], name="w")
    frozen = cr.tensor([3.0, 4.0], dtype="float64")  # no grad: a constant
    array = np.array([0.5, 0.5])

    def f(x):
        return (x * w + frozen * array + 2.0).sum()

    graph = cr.Graph(f)
    graph.forward(leaf([1.0, 1.0]))
    assert graph.parameters == (w,)
    kinds = {s.kind for s in graph.slots}
    assert kinds == {"input", "parameter", "constant", "node"}
    constants = [s for s in graph.slots if s.kind == "constant"]
    assert any(s.source is frozen for s in constants)
    assert any(s.source is array for s in constants)
    assert any(isinstance(s.source, float) and s.label == "2" for s in constants)


def test_graph_input_names_come_from_the_function_or_the_tensors():
    graph = cr.Graph(lambda weight, bias: weight + bias)
    graph.forward(leaf(1.0), leaf(2.0, name="b"))
    assert [s.label for s in graph.inputs] == ["weight", "b"]
    varargs = cr.Graph(lambda *xs: xs[0] * xs[1])
    varargs.forward(leaf(1.0), leaf(2.0))
    assert [s.label for s in varargs.inputs] == ["input0", "input1"]


def test_graph_drops_computations_the_outputs_do_not_use():
    seen = []

    def f(x):
        unused = cr.exp(x) * 3.0
        seen.append(unused)
        return x * 2.0

    graph = cr.Graph(f)
    graph.forward(leaf(1.0))
    assert [node.op for node in graph.nodes] == ["Multiply"]


def test_graph_of_a_module_is_named_after_its_forward():
    cr.seed(0)
    model = cr.nn.Sequential(cr.nn.Linear(3, 4), cr.nn.ReLU(), cr.nn.Linear(4, 2))
    graph = cr.Graph(model)
    out = graph.forward(cr.randn(5, 3))
    assert out.shape == (5, 2)
    assert graph.inputs[0].label == "x"
    assert set(graph.parameters) == set(model.parameters())
    named = [s.label for s in graph.slots if s.kind == "parameter"]
    assert named == ["0.weight", "0.bias", "2.weight", "2.bias"]  # names set by the module


# ----- branches -----


@pytest.mark.parametrize(
    "f",
    [
        lambda x: (x * x).sum(),  # fan-out into one gate
        lambda x: (x + x).sum(),
        lambda x: (cr.exp(x) * cr.sin(x) + cr.exp(x)).sum(),  # a diamond
        lambda x: ((x * 2.0) * (x * 2.0) + x).sum(),  # shared subexpression and a skip
    ],
    ids=["x*x", "x+x", "diamond", "shared"],
)
def test_graph_gradients_add_at_branches(f):
    check_against_eager(f, leaf([0.3, -1.2, 2.0]))


def test_graph_branch_between_an_input_and_a_parameter():
    w = leaf([1.0, 2.0])
    graph = cr.Graph(lambda x: (x + w).sum() + (x * w).sum())
    (dx,) = (graph.forward(leaf([3.0, 4.0])), graph.backward())[1]
    assert_same(dx.data, 1 + w.data)
    assert_same(w.grad.data, 1 + np.array([3.0, 4.0]))


# ----- what the trace records -----


def test_graph_records_comparisons_as_nodes():
    graph = cr.Graph(lambda x: cr.where(x > 0, x, 0.1 * x).sum())
    graph.forward(leaf([1.0, -2.0]))
    assert [node.op for node in graph.nodes] == ["greater", "Multiply", "Where", "Sum"]
    assert graph.nodes[0].dtype == np.bool_
    for values in ([1.0, -2.0], [-1.0, 2.0], [0.0, 5.0]):
        x = leaf(values)
        graph.forward(x)
        (dx,) = graph.backward()
        expected = np.where(np.array(values) > 0, 1.0, 0.1)
        assert_same(dx.data, expected)


@pytest.mark.parametrize(
    "mask",
    [
        lambda x: x >= 0.5,
        lambda x: x > 0.5,  # reflected: Tensor.__gt__
        lambda x: x == 1.0,
        lambda x: x != 1.0,
        lambda x: np.greater(x, 0.5),  # a NumPy ufunc on a traced tensor
        lambda x: np.sign(x) > 0,
        lambda x: np.logical_and(x > 0, x < 2),
    ],
)
def test_graph_masks_follow_the_inputs(mask):
    def f(x):
        return cr.where(mask(x), x * 3.0, x).sum()

    graph = cr.Graph(f)
    for values in ([1.0, 0.2, -1.0], [0.0, 1.5, 3.0]):
        x = leaf(values)
        out = graph.forward(x)
        (dx,) = graph.backward()
        value, (expected,) = eager_grads(f, x)
        assert_same(out.data, value)
        assert_same(dx.data, expected)


def test_graph_no_grad_region_inside_the_function():
    def f(x):
        with cr.no_grad():
            scale = x * 2.0  # a constant as far as gradients go
        return (scale * x).sum()

    graph = check_against_eager(f, leaf([1.0, 2.0]))
    first = graph.nodes[0]
    assert first.op == "Multiply" and first.output.requires_grad is False
    graph.forward(leaf([5.0, 6.0]))
    assert_same(graph.backward()[0].data, np.array([10.0, 12.0]))  # 2x, not 4x


def test_graph_detach_inside_the_function_stops_the_gradient():
    def f(x):
        return (x * x.detach()).sum()

    graph = cr.Graph(f)
    for values in ([1.0, 2.0], [3.0, -1.0]):
        graph.forward(leaf(values))
        assert_same(graph.backward()[0].data, np.array(values))  # x, not 2x


def test_graph_identity_and_constant_outputs():
    x = leaf([1.0, 2.0])
    assert cr.Graph(lambda x: x).forward(x) is x
    c = cr.tensor([7.0])
    assert cr.Graph(lambda x: c).forward(x) is c


def test_graph_with_several_outputs():
    def f(x, y):
        return x * y, (x + y).sum()

    graph = cr.Graph(f)
    x, y = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    prod, total = graph.forward(x, y)
    assert_same(prod.data, np.array([3.0, 8.0]))
    assert total.item() == 10.0
    dx, dy = graph.backward([np.ones(2), 1.0])
    assert_same(dx.data, np.array([4.0, 5.0]))
    assert_same(dy.data, np.array([2.0, 3.0]))
    with pytest.raises(RuntimeError, match="scalar"):
        graph.forward(x, y)
        graph.backward()  # the first output is not a scalar
    with pytest.raises(ValueError, match="2 outputs"):
        graph.backward([1.0])


def test_graph_called_inside_another_traced_function_is_inlined():
    inner = cr.Graph(lambda x: cr.tanh(x) * 2.0)
    outer = cr.Graph(lambda x: inner(x).sum())
    x = leaf([0.5, -0.5])
    outer.forward(x)
    assert [node.op for node in outer.nodes] == ["Tanh", "Multiply", "Sum"]
    assert_same(outer.backward()[0].data, 2 * (1 - np.tanh(x.data) ** 2))


def test_graph_tracing_leaves_no_tracer_behind():
    graph = cr.Graph(lambda x: x * 2.0)
    graph.forward(leaf(1.0))
    assert gate_module.TRACE is None
    with pytest.raises(ZeroDivisionError):
        cr.Graph(lambda x: 1 / 0).forward(leaf(1.0))
    assert gate_module.TRACE is None
    y = cr.tensor(3.0) * 2.0  # eager mode as usual
    assert type(y) is cr.Tensor
