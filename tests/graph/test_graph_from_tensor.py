"""Graph.from_tensor: capturing the graph behind an already computed result."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn


def leaf(value, name=None):
    return cr.tensor(value, dtype="float64", requires_grad=True, name=name)


def assert_same(a, b):
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype and np.array_equal(a, b), (a, b)


def test_from_tensor_lecture_add_mul():
    x, y, z = leaf(-2.0, "x"), leaf(5.0, "y"), leaf(-4.0, "z")
    f = (x + y) * z
    graph = cr.Graph.from_tensor(f)
    assert [node.op for node in graph.nodes] == ["Add", "Multiply"]
    assert [s.label for s in graph.inputs] == ["x", "y", "z"]
    assert graph.parameters == ()
    assert graph.value(graph.outputs[0]) == -12.0
    assert [g.item() for g in graph.backward()] == [-4.0, -4.0, 3.0]
    assert x.grad is None
    f.backward()  # the eager graph is not consumed by the captured one
    assert x.grad.item() == -4.0


def test_from_tensor_replays_gates_without_keyword_arguments():
    x, y, z = leaf(-2.0), leaf(5.0), leaf(-4.0)
    graph = cr.Graph.from_tensor((x + y) * z)
    out = graph.forward(leaf(1.0), leaf(2.0), leaf(3.0))
    assert out.item() == 9.0
    assert [g.item() for g in graph.backward()] == [3.0, 3.0, 3.0]
    with pytest.raises(cr.TraceError, match="cannot be retraced"):
        graph.forward(leaf([1.0, 1.0]), leaf(2.0), leaf(3.0))


def test_from_tensor_replays_gates_with_keyword_arguments():
    x = leaf([[1.0, 2.0], [3.0, -1.0]])
    graph = cr.Graph.from_tensor((x * x).sum(axis=0).sum())
    assert graph.nodes[1].params == {"axis": 0, "keepdims": False}  # kept by the gate
    assert_same(graph.backward()[0].data, 2 * x.data)
    new = leaf([[3.0, 4.0], [0.5, 2.0]])
    assert graph.forward(new).item() == 9 + 16 + 0.25 + 4
    assert_same(graph.backward()[0].data, 2 * new.data)


def test_from_tensor_finds_module_parameters():
    cr.seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    dict(model.named_parameters())  # names them
    x = cr.randn(5, 3)
    loss = F.cross_entropy(model(x), [0, 1, 1, 0, 1])
    graph = cr.Graph.from_tensor(loss)
    assert set(graph.parameters) == set(model.parameters())
    assert graph.inputs == ()  # x does not require grad: a constant here
    assert [node.op for node in graph.nodes] == ["Linear", "ReLU", "Linear", "SoftmaxCrossEntropy"]
    labels = [s.label for s in graph.nodes[0].inputs]
    assert labels == ["const", "0.weight", "0.bias"]
    assert graph.backward() == ()
    replayed = [p.grad.data.copy() for p in model.parameters()]
    model.zero_grad()
    loss.backward()
    for g, p in zip(replayed, model.parameters()):
        assert_same(g, p.grad.data)


def test_from_tensor_with_explicit_inputs_cuts_the_graph():
    a = leaf([1.0, 2.0], "a")
    h = cr.exp(a)
    out = (h * h).sum()
    graph = cr.Graph.from_tensor(out, inputs=[h])
    assert [node.op for node in graph.nodes] == ["Multiply", "Sum"]
    assert_same(graph.backward()[0].data, 2 * h.data)
    full = cr.Graph.from_tensor(out, inputs=a)
    assert [node.op for node in full.nodes] == ["Exp", "Multiply", "Sum"]
    np.testing.assert_allclose(full.backward()[0].data, 2 * np.exp(2 * a.data), rtol=1e-15)


def test_from_tensor_needs_an_intact_graph():
    x = leaf([1.0, 2.0])
    out = (x * x).sum()
    out.backward(retain_graph=True)
    assert len(cr.Graph.from_tensor(out).nodes) == 2  # retained: still intact
    out.backward()
    with pytest.raises(cr.GraphFreedError, match="capture it before calling backward"):
        cr.Graph.from_tensor(out)


def test_from_tensor_needs_a_gate():
    with pytest.raises(RuntimeError, match="no gate made this tensor"):
        cr.Graph.from_tensor(leaf(1.0))
    with pytest.raises(RuntimeError, match="no gate made this tensor"):
        cr.Graph.from_tensor(cr.tensor(1.0) * 2.0)


def test_from_tensor_backward_twice_needs_retain_graph():
    x = leaf(3.0)
    graph = cr.Graph.from_tensor(x * x)
    graph.backward(retain_graph=True)
    assert graph.backward()[0].item() == 6.0
    with pytest.raises(cr.GraphFreedError):
        graph.backward()


def test_from_tensor_of_several_outputs():
    x = leaf([1.0, 2.0])
    a, b = x * 2.0, (x * x).sum()
    graph = cr.Graph.from_tensor((a, b))
    assert len(graph.outputs) == 2
    (dx,) = graph.backward([np.ones(2), 1.0])
    assert_same(dx.data, 2.0 + 2 * x.data)
