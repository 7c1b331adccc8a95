"""cr.Graph errors: bad arguments, what a traced function may capture and return, and
the messages that name what went wrong."""

import pytest

import chainrule as cr


def leaf(value):
    return cr.tensor(value, dtype="float64", requires_grad=True)


def trace(f, *inputs):
    graph = cr.Graph(f)
    return graph, graph.forward(*inputs)


# ----- what a function may capture -----


def test_graph_refuses_a_closed_over_tensor_with_a_graph_of_its_own():
    w = leaf([1.0, 2.0])
    h = w * 2.0  # requires grad, made outside the function
    with pytest.raises(cr.TraceError, match="computed outside it that requires grad"):
        trace(lambda x: x * h, leaf([1.0, 1.0]))
    graph, _ = trace(lambda x: x * h.detach(), leaf([1.0, 1.0]))  # detached: a constant
    assert graph.parameters == ()


def test_graph_function_must_return_tensors():
    with pytest.raises(TypeError, match="must return a Tensor"):
        trace(lambda x: 1.0, leaf(1.0))
    with pytest.raises(TypeError, match="must return a Tensor"):
        trace(lambda x: (x, x.shape), leaf(1.0))


def test_graph_arguments_are_checked():
    with pytest.raises(TypeError, match="expected a function"):
        cr.Graph(3)
    with pytest.raises(ValueError, match="max_traces"):
        cr.Graph(lambda x: x, max_traces=0)
    assert cr.ComputationalGraph is cr.Graph
    assert repr(cr.Graph(lambda x: x)).endswith("not traced yet>")
    with pytest.raises(RuntimeError, match="not traced yet"):
        cr.Graph(lambda x: x).nodes


def test_graph_refuses_a_traced_tensor_as_a_keyword_argument():
    class Scale(cr.Gate):
        def forward(self, x, factor=None):
            return x * 2.0

        def backward(self, g):
            return (g * 2.0,)

    with pytest.raises(cr.TraceError, match="keyword argument 'factor'"):
        trace(lambda x: Scale.apply(x, factor=x), leaf(1.0))
