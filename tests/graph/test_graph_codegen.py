"""cr.Graph replay through compiled code (chainrule.graph.codegen): bitwise the gate
replay's values and gradients for every slot, the code it shows, and when it is not used.

The lowering rules are held to their gates on every gate case of the suite by
tests/graph/test_graph_replay.py (test_graph_replays_every_gate_case_bitwise...).
"""

import numpy as np
import pytest

import chainrule as cr
from chainrule.graph import codegen
from chainrule.graph.codegen import unlowered_ops
from chainrule.graph.lowering import RULES


def leaf(value, dtype="float64"):
    return cr.tensor(value, dtype=dtype, requires_grad=True)


def assert_same(a, b):
    assert type(a) is type(b)
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype and a.shape == b.shape
    assert np.array_equal(a, b), (a, b)


W = np.array([[0.5, -1.5, 2.0], [1.0, 0.25, -0.75]])
B = np.array([0.1, -0.2, 0.3])


def _branches(x):
    y = cr.tanh(x * 2.0)
    return (y * y + cr.exp(-y) / (y + 3.0) - cr.sqrt(y * y + 1.0)).mean()


def _broadcast(x):  # x (3,) broadcast against W (2, 3), and a (2, 1) column
    h = cr.sigmoid(x * W + B) - x
    return (cr.relu(h) * cr.tensor([[1.0], [-2.0]])).sum(axis=1).sum()


def _0d(x):
    s = (x * 2.0).sum() + 1.0
    return cr.log(s * s + 1.0) * cr.abs(s)


FUNCTIONS = {
    "branches": _branches,
    "broadcast": _broadcast,
    "0-d": _0d,
    "float64 constant": lambda x: cr.tanh(x * np.full(3, 0.5) + 1.0).sum(),
    "trigonometry": lambda x: (cr.sin(x) * cr.cos(x * x) - x).sum(axis=0, keepdims=True),
}


@pytest.mark.parametrize("f", FUNCTIONS.values(), ids=FUNCTIONS.keys())
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_compiled_replay_gives_every_slot_the_gate_replays_value_and_gradient(f, dtype):
    data = [np.array(v, dtype=dtype) for v in ([0.5, -1.0, 2.0], [0.1, 0.7, -0.3])]
    graphs = {compiled: cr.Graph(f, compile=compiled) for compiled in (True, False)}
    for x in data:
        slots = {}
        for compiled, graph in graphs.items():
            out = graph.forward(leaf(x, dtype))
            assert (graph._last().gates is None) is compiled
            graph.backward(np.ones(out.shape, out.dtype))
            slots[compiled] = [(graph.value(s), graph.grad(s)) for s in graph.slots]
        for (value, grad), (want_value, want_grad) in zip(slots[True], slots[False], strict=True):
            assert_same(value, want_value)
            assert (grad is None) == (want_grad is None)
            if grad is not None:
                assert_same(grad, want_grad)
    eager = leaf(data[-1], dtype)
    out = f(eager)
    out.backward(np.ones(out.shape, out.dtype))
    assert_same(graphs[True].grad(0), eager.grad.data)


def test_every_gate_with_a_lowering_rule_is_compiled_on_a_gate_case():
    """So that the gate-case test holds each rule to its gate."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parents[1] / "gates"))
    try:
        from cases import CASES
    finally:
        sys.path.pop(0)
    compiled = set()
    for case in CASES:
        if case.gate not in RULES:
            continue
        graph = cr.Graph(case.fn)
        graph.forward(*[leaf(a) for a in case.arrays()])
        if graph._program._compiled is not None:
            compiled.add(case.gate)
    assert compiled == set(RULES)


def test_graph_source_is_the_chain_rule_written_out():
    graph = cr.Graph(lambda x, w: cr.tanh(x * w + B).sum())
    graph.forward(leaf([[1.0, 2.0, 3.0]]), leaf([0.5, -0.5, 1.0]))
    # w is broadcast over x's rows: its gradient is summed back; the add passes its on.
    assert graph.source == SOURCE


SOURCE = """\
def forward(values):
    (x, w, c2) = values
    t0 = x * w
    t1 = t0 + c2
    t2 = np.tanh(t1)
    t3 = asarray(np.sum(t2, axis=(0, 1), keepdims=False))
    values += (t0, t1, t2, t3)


def backward(values, grads):
    (x, w, _, _, _, t2, _) = values
    dt3 = grads[6]
    dt2 = np.broadcast_to(dt3.reshape((1, 1)), (1, 3))
    dt1 = dt2 * (one_float64 - t2 * t2)
    dt0 = dt1
    dx = dt0 * w
    dw = sum_to(dt0 * x, (3,))
    return [dx, dw, None, dt0, dt1, dt2, dt3]
"""


def test_graph_source_names_the_ops_that_have_no_rule():
    graph = cr.Graph(lambda x: cr.tanh(x @ W).sum())
    graph.forward(leaf([1.0, 2.0]))
    assert graph._last().gates is not None  # replayed through the gates
    with pytest.raises(RuntimeError, match="no lowering rule.*: MatMul$"):
        graph.source


def test_graph_without_compile_replays_through_its_gates_and_still_shows_its_code():
    graph = cr.Graph(lambda x: cr.exp(x).sum(), compile=False)
    graph.forward(leaf([1.0, 2.0]))
    assert graph._last().gates is not None
    assert "t0 = np.exp(x)" in graph.source


def test_backward_from_some_outputs_has_code_of_its_own():
    def f(x):
        y = cr.tanh(x * 2.0)
        return (y * y).sum(), (y + 1.0).mean()

    graph = cr.Graph(f)
    first, second = graph.forward(leaf([0.5, -1.0, 2.0]))
    x = leaf([0.5, -1.0, 2.0])
    first.backward()  # through the first output's GraphOutput gate: one root
    eager_first, _ = f(x)
    eager_first.backward()
    assert_same(graph.grad(0), x.grad.data)

    first, second = graph.forward(leaf([0.5, -1.0, 2.0]))
    (dx,) = graph.backward((np.float32(1.0), np.float32(-2.0)))
    x = leaf([0.5, -1.0, 2.0])
    eager_first, eager_second = f(x)
    (eager_first + eager_second * -2.0).backward()
    np.testing.assert_allclose(dx.data, x.grad.data, rtol=1e-12)
    assert len(graph._program._compiled._backwards) == 2


def test_an_upstream_gradient_of_another_dtype_is_carried_through_the_gates():
    graph = cr.Graph(lambda x: cr.tanh(x * 3.0))
    graph.forward(leaf([0.5, -1.0], "float32"))
    upstream = cr.tensor([1.0, 0.1], dtype="float64")
    (dx,) = graph.backward(upstream)
    x = leaf([0.5, -1.0], "float32")
    cr.tanh(x * 3.0).backward(upstream)
    assert_same(dx.data, x.grad.data)
    assert graph._last().freed


def test_compiled_backward_keeps_the_step_with_retain_graph_only():
    graph = cr.Graph(lambda x: cr.sigmoid(x).sum())
    graph.forward(leaf([0.5, -1.0]))
    first = graph.backward(retain_graph=True)[0].data
    assert_same(graph.backward()[0].data, first)
    with pytest.raises(cr.GraphFreedError):
        graph.backward()


def test_a_graph_beyond_max_nodes_is_replayed_through_its_gates(monkeypatch):
    monkeypatch.setattr(codegen, "MAX_NODES", 3)
    graph = cr.Graph(lambda x: cr.tanh(x * 2.0 + 1.0).sum())
    graph.forward(leaf([0.5]))
    assert graph._last().gates is not None
    assert unlowered_ops(graph._program) == []  # every gate has a rule: only the size


def test_a_node_of_a_user_gate_is_not_compiled():
    class Twice(cr.Gate):
        def forward(self, x):
            return 2 * x

        def backward(self, g):
            return (2 * g,)

    graph = cr.Graph(lambda x: cr.exp(Twice.apply(x)).sum())
    graph.forward(leaf([0.5]))
    assert unlowered_ops(graph._program) == ["Twice"]
    (dx,) = graph.backward()
    assert_same(dx.data, 2 * np.exp(np.array([1.0])))


def test_an_mlp_regression_step_compiles_and_trains_bitwise_as_eager():
    from chainrule import nn, optim
    from chainrule.nn import functional as F

    def make():
        cr.seed(0)
        model = nn.Sequential(nn.Linear(3, 8), nn.LeakyReLU(0.1), nn.Linear(8, 2))
        return model, optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((16, 3)), rng.standard_normal((16, 2))
    (model, optimizer), (eager_model, eager_optimizer) = make(), make()
    graph = cr.Graph(lambda x: F.mse_loss(model(x), cr.tensor(y)))
    for _ in range(3):
        optimizer.zero_grad()
        loss = graph(cr.tensor(x))
        graph.backward()
        optimizer.step()
        eager_optimizer.zero_grad()
        eager_loss = F.mse_loss(eager_model(cr.tensor(x)), cr.tensor(y))
        eager_loss.backward()
        eager_optimizer.step()
        assert_same(loss.data, eager_loss.data)
    assert graph._last().freed and graph._program._compiled is not None
    for p, q in zip(model.parameters(), eager_model.parameters(), strict=True):
        assert_same(p.data, q.data)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_classifier_with_cross_entropy_compiles_and_trains_bitwise_as_eager(reduction, dtype):
    from chainrule import nn, optim
    from chainrule.nn import functional as F

    def make():
        cr.seed(1)
        model = nn.Sequential(nn.Linear(4, 8, dtype=dtype), nn.ReLU(), nn.Linear(8, 3, dtype=dtype))
        return model, optim.SGD(model.parameters(), lr=0.5)

    rng = np.random.default_rng(1)
    x = rng.standard_normal((6, 4)).astype(dtype)
    (model, optimizer), (eager_model, eager_optimizer) = make(), make()
    graph = cr.Graph(lambda x, y: F.cross_entropy(model(x), y, reduction=reduction))
    for _ in range(3):
        y = rng.integers(0, 3, 6)  # the targets are an input: new ones on every step
        g = np.linspace(0.5, 1.5, 6).astype(dtype) if reduction == "none" else None
        optimizer.zero_grad()
        loss = graph(cr.tensor(x), y)
        graph.backward(g)
        optimizer.step()
        eager_optimizer.zero_grad()
        eager_loss = F.cross_entropy(eager_model(cr.tensor(x)), y, reduction=reduction)
        eager_loss.backward(g)
        eager_optimizer.step()
        assert_same(loss.data, eager_loss.data)
    assert graph._program._compiled is not None and "cross_entropy(" in graph.source
    for p, q in zip(model.parameters(), eager_model.parameters(), strict=True):
        assert_same(p.data, q.data)


def test_cross_entropy_with_targets_fixed_in_the_function_compiles():
    w = leaf(np.arange(12.0).reshape(3, 4) / 10)
    graph = cr.Graph(lambda x: cr.nn.functional.cross_entropy(x @ w.T, [2, 0]))
    x = np.array([[1.0, -1.0, 0.5, 2.0], [0.0, 3.0, -2.0, 1.0]])
    loss = graph(leaf(x))
    (dx,) = graph.backward()
    assert graph._program._compiled is not None
    eager_x = leaf(x)
    eager = cr.nn.functional.cross_entropy(eager_x @ w.T, [2, 0])
    eager.backward()
    assert_same(loss.data, eager.data)
    assert_same(dx.data, eager_x.grad.data)


@pytest.mark.parametrize(
    "options, shape",
    [({"weight": np.array([1.0, 2.0, 0.5])}, (4, 3)), ({"label_smoothing": 0.1}, (4, 3)),
     ({}, (4, 3, 2))],
    ids=["class weights", "label smoothing", "(N, C, d)"],
)  # fmt: skip
def test_cross_entropy_s_other_cases_replay_through_the_gate_bitwise(options, shape):
    rng = np.random.default_rng(2)
    x = rng.standard_normal(shape)
    y = rng.integers(0, 3, shape[:1] + shape[2:])
    graph = cr.Graph(lambda x, y: cr.nn.functional.cross_entropy(x, y, **options))
    loss = graph(leaf(x), y)
    (dx, _) = graph.backward()
    assert unlowered_ops(graph._program) == ["SoftmaxCrossEntropy"]
    eager_x = leaf(x)
    eager = cr.nn.functional.cross_entropy(eager_x, y, **options)
    eager.backward()
    assert_same(loss.data, eager.data)
    assert_same(dx.data, eager_x.grad.data)


def test_compiled_code_shows_in_tracebacks_and_its_lines_go_with_the_graph():
    import gc
    import linecache
    import traceback

    graph = cr.Graph(lambda x: cr.exp(x).sum())
    graph.forward(leaf([1.0, 2.0]))
    code = graph._program._compiled
    try:
        code.forward([None])  # the code itself, on a value that is not an array
    except TypeError as error:
        frames = traceback.extract_tb(error.__traceback__)
    assert frames[-1].line == "t0 = np.exp(x)"
    filename = frames[-1].filename
    assert filename in linecache.cache
    del graph, code
    gc.collect()
    assert filename not in linecache.cache


def test_names_of_inputs_never_hide_the_code_s_own_globals():
    def f(np, float32, one_float64, _):  # inputs named like what the code uses
        return cr.tanh(np * float32 + one_float64 * _).sum()

    graph = cr.Graph(f)
    arrays = [[0.5, 1.0], [2.0, -1.0], [1.5, 0.5], [-0.5, 0.25]]
    graph.forward(*(leaf(a) for a in arrays))
    grads = graph.backward()
    eager = [leaf(a) for a in arrays]
    f(*eager).backward()
    for got, x in zip(grads, eager, strict=True):
        assert_same(got.data, x.grad.data)
    assert graph._last().freed and graph._program._compiled is not None
    assert "np.tanh(" in graph.source


def test_a_graph_from_a_tensor_backpropagates_its_eager_gates_then_replays_compiled():
    x = leaf([0.5, -1.0, 2.0])
    graph = cr.Graph.from_tensor(cr.tanh(x * 3.0).sum())
    assert graph._last().gates is not None  # the eager gates, with what they saved
    (first,) = graph.backward()
    graph.forward(leaf([1.0, 0.25, -2.0]))
    assert graph._last().gates is None
    (second,) = graph.backward()
    eager = leaf([1.0, 0.25, -2.0])
    cr.tanh(eager * 3.0).sum().backward()
    assert_same(second.data, eager.grad.data)
    assert_same(first.data, (1 - np.tanh(x.data * 3.0) ** 2) * 3.0)


def test_outputs_that_repeat_or_are_inputs_get_the_eager_gradients():
    def f(x):
        y = cr.exp(x * 0.5)
        return x, y, y  # an input as an output, and one output twice

    graph = cr.Graph(f)
    graph.forward(leaf([0.5, -1.0]))
    upstream = [np.array([1.0, 2.0]), np.array([0.5, -0.5]), np.array([3.0, 1.0])]
    (dx,) = graph.backward(upstream)
    x = np.array([0.5, -1.0])
    expected = upstream[0] + (upstream[1] + upstream[2]) * 0.5 * np.exp(0.5 * x)
    np.testing.assert_allclose(dx.data, expected, rtol=1e-12)
    assert graph._program._compiled is not None


def test_a_compiled_graph_under_no_grad_only_computes_values():
    graph = cr.Graph(lambda x: cr.sigmoid(x * 2.0).mean())
    with cr.no_grad():
        out = graph.forward(leaf([0.5, -1.0]))
    assert out.requires_grad is False
    assert_same(out.data, np.asarray(np.mean(1 / (1 + np.exp(-np.array([1.0, -2.0]))))))
    assert graph._last().gates is None


def test_anomaly_mode_after_a_compiled_forward_goes_through_the_gates_once_for_all():
    graph = cr.Graph(lambda x: cr.log(x).sum())
    graph.forward(leaf([0.5, 2.0]))
    with cr.detect_anomaly():
        (checked,) = graph.backward(retain_graph=True)
    assert graph._last().gates is not None  # the gates ran forward again, kept
    (again,) = graph.backward()
    assert_same(checked.data, np.array([2.0, 0.5]))
    assert_same(again.data, checked.data)
