"""The limits of tracing, each shown: what is refused (values escaping to Python, random
draws, batch statistics), what is supported (masks, shapes, values handed back to a
gate), and what is frozen by design (side effects, Python reads of parameters)."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn


def leaf(value):
    return cr.tensor(value, dtype="float64", requires_grad=True)


def trace(f, *inputs):
    graph = cr.Graph(f)
    return graph, graph.forward(*inputs)


# ----- values escaping to Python: refused at trace time -----


@pytest.mark.parametrize(
    ("f", "what"),
    [
        (lambda x: x * x.item(), r"x\.item\(\)"),
        (lambda x: x * float(x), r"float\(x\)"),
        (lambda x: x * int(x), r"int\(x\)"),
        (lambda x: x * 2.0 if x > 0 else x * 3.0, "if"),  # Python control flow on a value
        (lambda x: x * max(x.tolist()), r"x\.tolist\(\)"),
    ],
    ids=["item", "float", "int", "if", "tolist"],
)
def test_graph_refuses_tensor_values_turned_into_python_values(f, what):
    with pytest.raises(cr.TraceError, match=what):
        trace(f, leaf(2.0))


def test_graph_refuses_numpy_computations_on_a_traced_value():
    def f(x):
        return x * np.asarray(x).mean()  # a new array computed from x: frozen on replay

    with pytest.raises(cr.TraceError, match="value of input x was read") as info:
        trace(f, leaf([1.0, 2.0]))
    assert "test_graph_limits.py" in str(info.value)  # names the user's line


def test_graph_refuses_a_copy_of_a_traced_value():
    with pytest.raises(cr.TraceError, match="value of input x was read"):
        trace(lambda x: x * cr.tensor(x.data), leaf([1.0, 2.0]))  # cr.tensor copies


def test_graph_refuses_reading_data_of_an_intermediate():
    def f(x):
        y = cr.exp(x)
        return y * (y.data > 1)  # the mask, computed on the array, would be frozen

    with pytest.raises(cr.TraceError, match="the output of Exp"):
        trace(f, leaf([-1.0, 1.0]))


def test_graph_refuses_writing_a_traced_value_in_place():
    def f(x):
        y = x * 2.0
        y.data[0] = 0.0
        return y

    with pytest.raises(cr.TraceError, match="read outside a gate"):
        trace(f, leaf([1.0, 2.0]))


def test_graph_refuses_eager_transforms_inside_the_function():
    def f(x):
        return cr.grad(lambda t: (t * t).sum())(x) * x

    with pytest.raises(cr.TraceError):
        trace(f, leaf([1.0, 2.0]))


@pytest.mark.parametrize(
    "f",
    [
        lambda x: x * np.asarray(x),
        lambda x: x * x.data,
        lambda x: x * x.numpy(),
    ],
    ids=["asarray", "data", "numpy"],
)
def test_graph_accepts_a_value_handed_back_to_a_gate_unchanged(f):
    # The array reaches the gate as it is, so the replay hands it the new value: the
    # same as eager mode, where it is a constant (no gradient through it).
    graph, _ = trace(lambda x: f(x).sum(), leaf([1.0, 2.0]))
    for values in ([3.0, 4.0], [-1.0, 0.5]):
        out = graph.forward(leaf(values))
        (dx,) = graph.backward()
        assert out.item() == sum(v * v for v in values)
        np.testing.assert_array_equal(dx.data, values)


def test_graph_printing_and_shapes_are_not_escapes(capsys):
    def f(x):
        print(x)
        n = len(x) + x.shape[0] + x.ndim + x.size
        assert x.dtype == np.float64
        return x * float(n)

    graph, _ = trace(f, leaf([1.0, 2.0]))
    assert "Tensor([1., 2.]" in capsys.readouterr().out
    assert graph.forward(leaf([1.0, 1.0])).data.tolist() == [7.0, 7.0]


# ----- randomness -----


@pytest.mark.parametrize(
    "f",
    [
        lambda x: cr.nn.functional.dropout(x, 0.5),
        lambda x: x * cr.randn(2),
        lambda x: x * np.random.rand(2),  # noqa: NPY002  (the legacy global generator)
    ],
    ids=["dropout", "cr.randn", "np.random"],
)
def test_graph_refuses_random_draws(f):
    with pytest.raises(cr.TraceError, match="drew random numbers"):
        trace(f, leaf([1.0, 2.0]))


def test_graph_of_a_model_with_dropout_works_in_eval_mode():
    cr.seed(0)
    model = nn.Sequential(nn.Linear(3, 3), nn.Dropout(0.5))
    with pytest.raises(cr.TraceError, match="model.eval"):
        cr.Graph(model).forward(cr.randn(2, 3))
    model.eval()
    x = cr.randn(2, 3)
    np.testing.assert_array_equal(cr.Graph(model).forward(x).data, model(x).data)


# ----- batch statistics -----


def test_graph_of_batch_norm_needs_eval_mode():
    cr.seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    with pytest.raises(cr.TraceError, match="batch_norm") as info:
        cr.Graph(model).forward(cr.randn(8, 3))
    assert "nn/functional.py" in str(info.value)
    model.eval()
    graph = cr.Graph(lambda x: model(x).sum())
    for _ in range(2):
        x = cr.randn(8, 3)
        graph.forward(x)
        graph.backward()
        replayed = [p.grad.data.copy() for p in model.parameters()]
        model.zero_grad()
        model(x).sum().backward()
        for g, p in zip(replayed, model.parameters()):
            np.testing.assert_array_equal(g, p.grad.data)
        model.zero_grad()


# ----- supported: shapes, masks, value-dependent shapes -----


def test_graph_control_flow_on_shapes_is_retraced():
    def f(x):
        return (x * 2.0).sum() if x.shape[0] > 2 else (x * 3.0).sum()

    graph = cr.Graph(f)
    assert graph.forward(leaf([1.0, 1.0, 1.0])).item() == 6.0
    assert graph.forward(leaf([1.0, 1.0])).item() == 6.0  # another shape: traced again
    assert graph.trace_count == 2


def test_graph_boolean_mask_with_a_value_dependent_shape():
    graph = cr.Graph(lambda x: (x[x > 0] ** 2).sum())
    for values in ([1.0, -2.0, 3.0], [-1.0, -2.0, 4.0], [1.0, 2.0, 3.0]):
        x = leaf(values)
        out = graph.forward(x)
        (dx,) = graph.backward()
        v = np.array(values)
        assert out.item() == np.sum(v[v > 0] ** 2)
        np.testing.assert_array_equal(dx.data, np.where(v > 0, 2 * v, 0.0))
    assert graph.trace_count == 1


# ----- frozen by design (documented) -----


def test_graph_side_effects_happen_only_when_tracing():
    calls = []

    def f(x):
        calls.append(1)
        return x * 2.0

    graph = cr.Graph(f)
    for _ in range(3):
        graph.forward(leaf(1.0))
    assert len(calls) == 1


def test_graph_python_reads_of_parameters_are_frozen():
    # Parameters are the user's own tensors: reading their values in Python is not
    # watched, and the branch taken at trace time is replayed (a documented limit).
    w = leaf([1.0, 1.0])

    def f(x):
        return (x * w).sum() if w.data.sum() > 0 else (x * w * 0.0).sum()

    graph = cr.Graph(f)
    x = leaf([1.0, 2.0])
    assert graph.forward(x).item() == 3.0
    w.data[:] = -1.0
    assert f(x).item() == 0.0  # eager mode takes the other branch now
    assert graph.forward(x).item() == -3.0  # the graph does not


def test_graph_tensor_requiring_grad_created_inside_becomes_a_parameter():
    # Eager mode would make a new leaf at every call; the graph keeps the first one.
    made = []

    def f(x):
        bias = cr.zeros(2, dtype="float64", requires_grad=True)
        made.append(bias)
        return (x + bias).sum()

    graph = cr.Graph(f)
    graph.forward(leaf([1.0, 2.0]))
    graph.backward()
    graph.forward(leaf([1.0, 2.0]))
    graph.backward()
    assert len(made) == 1 and graph.parameters == (made[0],)
    np.testing.assert_array_equal(made[0].grad.data, [2.0, 2.0])


def test_graph_replay_checks_cross_entropy_targets_in_the_gate():
    # A replay calls the gates' forward alone; the target range is checked there, so a
    # target of -1 is an error on replay too, not a silent pick of the last class.
    w = cr.tensor(np.ones((3, 4)), requires_grad=True)
    graph = cr.Graph(lambda x, y: cr.nn.functional.cross_entropy(x @ w.T, y))
    x = cr.tensor(np.ones((2, 4)))
    graph.forward(x, cr.tensor([0, 1]))
    assert graph._program._compiled is not None  # the compiled code checks them as well
    with pytest.raises(ValueError, match="out of range"):
        graph.forward(x, cr.tensor([0, -1]))
    with pytest.raises(ValueError, match="out of range"):
        graph.forward(x, cr.tensor([0, 3]))
