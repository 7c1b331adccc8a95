"""cr.Graph replay: bitwise the same values and gradients as eager mode, new inputs,
parameter updates by an optimizer, retracing per signature, backward semantics."""

import contextlib

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn, optim
from chainrule.graph.codegen import unlowered_ops


def leaf(value, dtype="float64"):
    return cr.tensor(value, dtype=dtype, requires_grad=True)


def assert_same(a, b):
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype and a.shape == b.shape
    assert np.array_equal(a, b), (a, b)


# ----- replay equals eager -----


def chain(x, a, b, repeats=50):
    y = x
    for _ in range(repeats):
        y = cr.tanh(y * a + b)
    return y.sum()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_graph_replay_is_bitwise_eager_on_new_inputs(dtype):
    rng = np.random.default_rng(0)
    a = (1 + 0.01 * rng.standard_normal(16)).astype(dtype)
    b = (0.01 * rng.standard_normal(16)).astype(dtype)
    graph = cr.Graph(lambda x: chain(x, a, b))
    for _ in range(4):
        data = rng.uniform(-1, 1, 16).astype(dtype)
        out = graph.forward(leaf(data, dtype))
        (dx,) = graph.backward()
        x = leaf(data, dtype)
        expected = chain(x, a, b)
        expected.backward()
        assert_same(out.data, expected.data)
        assert_same(dx.data, x.grad.data)
    assert graph.trace_count == 1


def test_graph_replay_of_the_benchmark_chain_is_bitwise_eager():
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    try:
        import chain as bench
    finally:
        sys.path.pop(0)
    args = bench.inputs()
    value, dx = bench.run_chainrule(*args)
    run_graph = bench.make_graph_replay(*args)
    for _ in range(2):
        got_value, got_dx = run_graph(*args)
        assert_same(got_value, value)
        assert_same(got_dx, dx)


def test_graph_mlp_with_cross_entropy_matches_eager():
    cr.seed(0)
    model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 16), nn.Tanh(),
                          nn.Linear(16, 4))  # fmt: skip
    graph = cr.Graph(lambda x, y: F.cross_entropy(model(x), y))
    rng = np.random.default_rng(1)
    for _ in range(3):
        x = rng.standard_normal((8, 6)).astype(np.float32)
        y = rng.integers(0, 4, 8)  # new targets every call: a keyword input of the loss gate
        model.zero_grad()
        loss = graph.forward(cr.tensor(x), cr.tensor(y))
        assert graph.backward() == (None, None)  # neither input requires grad
        replayed = [p.grad.data.copy() for p in model.parameters()]
        model.zero_grad()
        expected = F.cross_entropy(model(cr.tensor(x)), y)
        expected.backward()
        assert_same(loss.data, expected.data)
        for g, p in zip(replayed, model.parameters()):
            assert_same(g, p.grad.data)
    assert graph.trace_count == 1


def _training_run(use_graph: bool, make_optimizer, steps=6):
    cr.seed(3)
    model = nn.Sequential(nn.Linear(5, 12), nn.ReLU(), nn.Linear(12, 3))
    opt = make_optimizer(model.parameters())

    def loss_fn(x, y):
        return F.cross_entropy(model(x), y)

    step = cr.Graph(loss_fn) if use_graph else loss_fn
    rng = np.random.default_rng(7)
    losses, weights = [], []
    for _ in range(steps):
        x = cr.tensor(rng.standard_normal((10, 5)).astype(np.float32))
        y = cr.tensor(rng.integers(0, 3, 10))
        opt.zero_grad()
        loss = step(x, y)
        if use_graph:
            step.backward()
        else:
            loss.backward()
        opt.step()
        losses.append(loss.data.copy())
        weights.append([p.data.copy() for p in model.parameters()])
    return losses, weights


@pytest.mark.parametrize(
    "make_optimizer",
    [
        lambda params: optim.SGD(params, lr=0.1, momentum=0.9),
        lambda params: optim.Adam(params, lr=1e-2),
    ],
    ids=["sgd-momentum", "adam"],
)
def test_graph_training_with_an_optimizer_matches_eager_step_by_step(make_optimizer):
    eager_losses, eager_weights = _training_run(False, make_optimizer)
    graph_losses, graph_weights = _training_run(True, make_optimizer)
    assert eager_losses[-1] < eager_losses[0]
    for a, b in zip(eager_losses, graph_losses):
        assert_same(a, b)
    for step_a, step_b in zip(eager_weights, graph_weights):
        for a, b in zip(step_a, step_b):
            assert_same(a, b)


def test_graph_sees_in_place_and_rebound_parameter_data():
    w = leaf([1.0, 2.0])
    graph = cr.Graph(lambda x: (x * w).sum())
    x = leaf([1.0, 1.0])
    assert graph.forward(x).item() == 3.0
    w.data -= 1.0  # what an optimizer does
    assert graph.forward(x).item() == 1.0
    w.data = np.array([5.0, 5.0])  # a new array of the same shape and dtype
    assert graph.forward(x).item() == 10.0
    assert graph.trace_count == 1


def test_graph_constants_are_captured_by_reference():
    scale = np.array([2.0, 2.0])
    graph = cr.Graph(lambda x: (x * scale).sum())
    x = leaf([1.0, 1.0])
    assert graph.forward(x).item() == 4.0
    scale[:] = 3.0  # an in-place edit is seen: the graph holds the array itself
    assert graph.forward(x).item() == 6.0
    scale = np.array([10.0, 10.0])  # noqa: F841  rebinding the name is not seen
    assert graph.forward(x).item() == 6.0
    frozen = cr.tensor([1.0, 1.0], dtype="float64")
    g2 = cr.Graph(lambda x: (x * frozen).sum())
    assert g2.forward(x).item() == 2.0
    frozen.data = np.array([4.0, 4.0])  # a tensor constant is read again at each call
    assert g2.forward(x).item() == 8.0


# ----- signatures: retrace or refuse -----


def test_graph_retraces_for_a_new_shape_dtype_or_requires_grad():
    graph = cr.Graph(lambda x: (x * x).sum())
    graph.forward(leaf([1.0, 2.0]))
    graph.forward(leaf([3.0, 4.0]))
    assert graph.trace_count == 1
    graph.forward(leaf([1.0, 2.0, 3.0]))
    assert graph.trace_count == 2
    assert graph.nodes[0].shape == (3,)
    assert_same(graph.backward()[0].data, np.array([2.0, 4.0, 6.0]))
    graph.forward(leaf([1.0, 2.0], "float32"))
    assert graph.trace_count == 3
    assert_same(graph.backward()[0].data, np.array([2.0, 4.0], np.float32))
    graph.forward(cr.tensor([1.0, 2.0], dtype="float64"))  # no grad wanted
    assert graph.trace_count == 4
    graph.forward(leaf([5.0, 6.0]))  # the first signature is still cached
    assert graph.trace_count == 4
    assert graph.nodes[0].shape == (2,)


def test_graph_keeps_at_most_max_traces_signatures():
    graph = cr.Graph(lambda x: x.sum(), max_traces=2)
    for n in (1, 2, 3):
        graph.forward(leaf(np.ones(n)))
    assert graph.trace_count == 3
    graph.forward(leaf(np.ones(3)))
    assert graph.trace_count == 3
    graph.forward(leaf(np.ones(1)))  # dropped as the oldest: traced again
    assert graph.trace_count == 4


def test_graph_without_retrace_refuses_a_new_signature():
    graph = cr.Graph(lambda x: x.sum(), retrace=False)
    graph.forward(leaf([1.0, 2.0]))
    with pytest.raises(cr.TraceError, match=r"traced for inputs \(\(2,\) float64\)"):
        graph.forward(leaf([1.0, 2.0, 3.0]))


def test_graph_retraces_when_a_parameter_changes_dtype_or_is_frozen():
    cr.seed(0)
    model = nn.Linear(3, 2)
    graph = cr.Graph(lambda x: model(x).sum())
    graph.forward(cr.randn(4, 3))
    model.double()
    out = graph.forward(cr.randn(4, 3, dtype="float64"))
    assert out.dtype == np.float64 and graph.trace_count == 2
    model.zero_grad()
    model.bias.requires_grad_(False)
    graph.forward(cr.randn(4, 3, dtype="float64"))
    assert graph.trace_count == 3
    graph.backward()
    assert model.bias.grad is None and model.weight.grad is not None


def test_graph_under_no_grad_replays_without_a_graph():
    w = leaf([1.0, 2.0])
    graph = cr.Graph(lambda x: (x * w).sum())
    x = leaf([1.0, 1.0])
    with cr.no_grad():
        out = graph.forward(x)
    assert not out.requires_grad and out.item() == 3.0
    with pytest.raises(RuntimeError, match="does not require grad"):
        graph.backward()
    graph.forward(x)  # with grad: another signature
    assert graph.trace_count == 2
    graph.backward()
    assert_same(w.grad.data, np.array([1.0, 1.0]))


def test_graph_converts_arrays_and_numbers_to_tensors():
    graph = cr.Graph(lambda x, y: x * y)
    out = graph.forward(np.array([1.0, 2.0]), 3.0)
    assert_same(out.data, np.array([3.0, 6.0]))  # float64 array times a float32 tensor
    with pytest.raises(RuntimeError, match="does not require grad"):
        graph.backward()


# ----- backward -----


def test_graph_backward_accumulates_parameter_grads_like_eager():
    w = leaf([1.0, 2.0])
    graph = cr.Graph(lambda x: (x * w).sum())
    graph.forward(leaf([3.0, 4.0]))
    graph.backward()
    first = w.grad
    graph.forward(leaf([1.0, 1.0]))
    graph.backward()
    assert_same(w.grad.data, np.array([4.0, 5.0]))
    assert_same(first.data, np.array([3.0, 4.0]))  # a new array: the old .grad is unchanged


def test_graph_gradients_are_never_shared_arrays():
    w = leaf([1.0, 2.0])
    graph = cr.Graph(lambda x: x + w)
    g = np.array([1.0, 1.0])
    graph.forward(leaf([0.0, 0.0]))
    (dx,) = graph.backward(g)
    assert dx.data is not g and w.grad.data is not g and dx.data is not w.grad.data
    assert dx.data.flags.writeable and w.grad.data.flags.writeable


def test_graph_float32_parameter_gets_a_float32_grad():
    w = cr.tensor([1.0, 2.0], requires_grad=True)  # float32
    graph = cr.Graph(lambda x: (x * w).sum())  # x float64: the product is float64
    graph.forward(leaf([1.0, 1.0]))
    (dx,) = graph.backward()
    assert w.grad.dtype == np.float32 and dx.dtype == np.float64


def test_graph_backward_non_scalar_needs_a_gradient():
    graph = cr.Graph(lambda x: x * 2.0)
    graph.forward(leaf([1.0, 2.0]))
    with pytest.raises(RuntimeError, match="implicit only for a scalar"):
        graph.backward()
    with pytest.raises(ValueError, match="grad has shape"):
        graph.backward(np.ones(3))
    (dx,) = graph.backward(np.array([1.0, -1.0]))
    assert_same(dx.data, np.array([2.0, -2.0]))


def test_graph_second_backward_needs_retain_graph():
    w = leaf([1.0, 2.0])
    graph = cr.Graph(lambda x: (x * w).sum())
    graph.forward(leaf([1.0, 1.0]))
    graph.backward(retain_graph=True)
    graph.backward()
    assert_same(w.grad.data, np.array([2.0, 2.0]))
    with pytest.raises(cr.GraphFreedError, match="retain_graph=True"):
        graph.backward()
    with pytest.raises(RuntimeError, match="forward first"):
        cr.Graph(lambda x: x).backward()


def test_graph_unused_input_gets_none():
    graph = cr.Graph(lambda x, y: (x * 2.0).sum())
    graph.forward(leaf([1.0]), leaf([1.0]))
    dx, dy = graph.backward()
    assert_same(dx.data, np.array([2.0]))
    assert dy is None


def test_graph_keeps_the_values_and_gradients_of_the_last_step():
    graph = cr.Graph(lambda x: (cr.exp(x) * x).sum())
    x = leaf([0.0, 1.0])
    graph.forward(x)
    exp_node = graph.nodes[0]
    assert_same(graph.value(exp_node.output), np.exp(x.data))
    assert graph.grad(exp_node.output) is None
    graph.backward()
    assert_same(graph.grad(exp_node.output), x.data)  # d(e * x)/de = x
    assert_same(graph.grad(graph.inputs[0]), (1 + x.data) * np.exp(x.data))
    assert_same(graph.value(graph.outputs[0].index), np.sum(np.exp(x.data) * x.data))


# ----- the outputs in eager code -----


def test_graph_output_backward_works_as_in_eager_mode():
    w = leaf([1.0, 2.0])
    graph = cr.Graph(lambda x: (x * w).sum())
    x = leaf([3.0, 4.0])
    out = graph.forward(x)
    assert type(out.gate).__name__ == "GraphOutput"
    (out * 2.0).backward()  # eager code after the graph, and eager backward through it
    assert_same(x.grad.data, 2 * w.data)  # as eager: leaves' .grad are filled
    assert_same(w.grad.data, 2 * x.data)
    with pytest.raises(cr.GraphFreedError):
        (out * 2.0).backward()


def test_graph_output_composes_with_grad_and_eager_inputs():
    graph = cr.Graph(lambda x: cr.sin(x).sum())
    dx = cr.grad(lambda x: graph(x) * 3.0)(cr.tensor([0.0, 1.0], dtype="float64"))
    assert_same(dx.data, 3 * np.cos([0.0, 1.0]))
    a = leaf([0.5, 1.5])
    out = graph.forward(a * 2.0)  # a non-leaf input: backward goes on into its graph
    out.backward()
    assert_same(a.grad.data, 2 * np.cos(2 * a.data))


def test_graph_output_refuses_create_graph():
    graph = cr.Graph(lambda x: (x * x).sum())
    out = graph.forward(leaf([1.0]))
    with pytest.raises(cr.HigherOrderError, match="GraphOutput"):
        out.backward(create_graph=True)


def test_graph_replay_under_detect_anomaly():
    graph = cr.Graph(lambda x: cr.log(x).sum())
    graph.forward(leaf([1.0, 2.0]))
    with (
        cr.detect_anomaly(),
        np.errstate(divide="ignore"),
        pytest.raises(cr.AnomalyError, match="Log forward produced inf"),
    ):
        graph.forward(leaf([0.0, 2.0]))


class _Twice(cr.Gate):
    """A user gate with a staticmethod backward helper and a keyword argument."""

    @staticmethod
    def _scale(g, k):
        return g * k

    def forward(self, x, k=2.0):
        self.k = k
        return x * k

    def backward(self, g):
        return [self._scale(g, self.k)]  # a list: accepted, as by the engine


def test_graph_replays_user_gates_with_the_engine_checks():
    graph = cr.Graph(lambda x: _Twice.apply(x, k=3.0).sum())
    for values in ([1.0, 2.0], [0.5, -1.0]):
        x = leaf(values)
        assert graph.forward(x).item() == 3.0 * sum(values)
        assert_same(graph.backward()[0].data, np.array([3.0, 3.0]))


class _BadShape(cr.Gate):
    def forward(self, x):
        return x * 2.0

    def backward(self, g):
        return (g[:1],)


def test_graph_replay_checks_user_gradient_shapes():
    graph = cr.Graph(lambda x: _BadShape.apply(x).sum())
    graph.forward(leaf([1.0, 2.0]))
    with pytest.raises(cr.GateError, match=r"gradient of shape \(1,\) for input 0 of shape \(2,\)"):
        graph.backward()


def test_graph_outputs_kept_after_backward_hold_nothing_of_the_step():
    import weakref

    graph = cr.Graph(lambda x: cr.exp(x).sum())
    kept, refs = [], []
    for values in ([1.0, 2.0], [3.0, 4.0]):
        out = graph.forward(leaf(values))
        refs.append(weakref.ref(graph.value(graph.nodes[0].output)))  # exp(x) of this step
        graph.backward()
        kept.append(out)
    graph.forward(leaf([5.0, 6.0]))  # the graph lets go of the previous step too
    assert [r() for r in refs] == [None, None]
    assert kept[0].gate.saved is None and kept[0].gate.inputs == ()
    with pytest.raises(cr.GraphFreedError):
        kept[1].backward()


# ----- what replay compiles away (see chainrule.graph.program) -----


def _gate_cases():
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "gates"))
    try:
        from cases import CASES, recorded_gates
    finally:
        sys.path.pop(0)
    return CASES, recorded_gates


GATE_CASES, recorded_gates = _gate_cases()


def _case_arrays(case, seed):
    """The case's inputs drawn with its own samplers (kinks avoided) from another seed."""
    rng = np.random.default_rng(seed)
    samplers = case.sample if isinstance(case.sample, tuple) else (case.sample,) * len(case.shapes)
    return [np.asarray(sample(rng, shape)) for sample, shape in zip(samplers, case.shapes)]


def _eager_step(case, arrays, upstream):
    xs = [leaf(a) for a in arrays]
    out = case.fn(*xs)
    out.backward(upstream)
    return out.data, [None if x.grad is None else x.grad.data for x in xs]


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "gates"])
@pytest.mark.parametrize("case", GATE_CASES, ids=[c.id for c in GATE_CASES])
def test_graph_replays_every_gate_case_bitwise_with_its_gates_reused(case, compiled):
    """Every built-in gate, replayed on new inputs by the same program (whose gate
    instances the second step reuses), or by its compiled code where the gates have
    lowering rules: values and gradients bitwise eager ones."""
    graph = cr.Graph(case.fn, compile=compiled)
    for seed in (1, 2, 3):
        arrays = _case_arrays(case, seed)
        try:
            out = graph.forward(*[leaf(a) for a in arrays])
        except cr.TraceError:  # batch statistics read as arrays: refused, documented
            pytest.skip("not capturable")
        upstream = np.random.default_rng(seed).standard_normal(out.shape)
        grads = graph.backward(upstream)
        value, expected = _eager_step(case, arrays, upstream)
        assert_same(out.data, value)
        for got, want in zip(grads, expected, strict=True):
            assert (got is None) == (want is None)
            if got is not None:
                assert_same(got.data, want)
    assert graph.trace_count == 1
    if compiled and not unlowered_ops(graph._program):  # the rules held to the gates
        assert graph._last().gates is None


@pytest.mark.parametrize("case", GATE_CASES, ids=[c.id for c in GATE_CASES])
def test_builtin_gate_backward_returns_a_tuple_with_one_entry_per_input(case):
    """Replay reads a built-in gate's gradients without the engine's count check."""
    out = case.fn(*[leaf(a) for a in case.arrays()])
    for gate, out_shape, _ in recorded_gates(out):
        grads = gate.backward(np.ones(out_shape))
        assert type(grads) is tuple and len(grads) == len(gate.inputs), type(gate).__name__


def test_gates_that_pass_the_gradient_return_it_unchanged():
    from chainrule.gates import ALL_GATES

    claims = [cls for cls in ALL_GATES if any(cls.passes_gradient)]
    assert claims  # Add and Subtract at least
    for cls in claims:
        xs = [leaf(np.arange(6.0).reshape(2, 3) + i) for i in range(len(cls.passes_gradient))]
        out = cls.apply(*xs)
        g = np.full(out.shape, 0.5)
        for passes, dx in zip(cls.passes_gradient, out.gate.backward(g), strict=True):
            assert dx is g or not passes, cls.__name__


def test_graph_passes_no_gradient_past_a_value_dependent_shape():
    """Traced with one positive entry, x[x > 0] has y's shape (1,): the add gate would
    hand y the upstream gradient unchanged. Replayed with three, y is broadcast, and its
    gradient must be summed, as eager mode does."""
    y = leaf([0.5])
    graph = cr.Graph(lambda x: ((x[x > 0] + y) * 2.0).sum())
    for values in ([-1.0, 2.0, -3.0], [1.0, 2.0, 3.0]):
        y.grad = None
        out = graph.forward(cr.tensor(values, dtype="float64"))
        graph.backward()
        replayed = y.grad.data
        y.grad = None
        x = cr.tensor(values, dtype="float64")
        expected = ((x[x > 0] + y) * 2.0).sum()
        expected.backward()
        assert_same(out.data, expected.data)
        assert_same(replayed, y.grad.data)


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "gates"])
def test_graph_steps_alive_at_once_keep_their_own_gates(compiled):
    a = np.array([0.5, -1.5, 2.0])
    graph = cr.Graph(lambda x: cr.tanh(x * a + 1.0).sum(), compile=compiled)
    x1, x2 = leaf([0.1, 0.2, 0.3]), leaf([-1.0, 0.0, 1.0])
    out1 = graph.forward(x1)  # not backpropagated yet: holds the program's gates
    out2 = graph.forward(x2)  # so this step gets gates of its own
    (out1 + out2).backward()
    for x in (x1, x2):
        eager = leaf(x.data)
        cr.tanh(eager * a + 1.0).sum().backward()
        assert_same(x.grad.data, eager.grad.data)


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "gates"])
def test_graph_gates_let_go_of_a_step_once_it_is_backpropagated_or_dropped(compiled):
    import gc
    import weakref

    graph = cr.Graph(lambda x: cr.exp(x).sum(), compile=compiled)
    graph.forward(leaf([1.0, 2.0]))
    first = weakref.ref(graph.value(graph.nodes[0].output))  # exp(x), saved by its gate
    graph.backward()
    graph.forward(leaf([1.0, 2.0, 3.0]))  # another shape: another program, gates
    second = weakref.ref(graph.value(graph.nodes[0].output))
    graph.forward(leaf([4.0, 5.0]))  # back to the first: the step of shape 3 is dropped
    gc.collect()  # the dropped step's output and its run refer to each other
    assert first() is None and second() is None


def test_graph_anomaly_mode_names_the_add_gate_a_nan_gradient_passes_through():
    graph = cr.Graph(lambda x: x + 1.0)
    x = leaf([1.0, 2.0])
    graph.forward(x)
    upstream = np.array([np.nan, 1.0])
    with cr.detect_anomaly(), pytest.raises(cr.AnomalyError, match="Add backward produced NaN"):
        graph.backward(upstream)
    with cr.detect_anomaly(), pytest.raises(cr.AnomalyError, match="Add backward produced NaN"):
        (x + 1.0).backward(upstream)


@pytest.mark.parametrize("case", GATE_CASES, ids=[c.id for c in GATE_CASES])
def test_builtin_gate_gradients_for_inputs_that_are_not_0d_are_ndarrays(case):
    """Replay stores such a gradient checking its dtype alone (chainrule.graph.steps):
    only a NumPy scalar, which is 0-d, could be another type."""
    graph = cr.Graph(case.fn, compile=False)
    try:
        graph.forward(*[leaf(a) for a in case.arrays()])
    except cr.TraceError:  # batch statistics read as arrays: refused, documented
        pytest.skip("not capturable")
    for node, gate in zip(graph.nodes, graph._last().gates):
        if not node.output.requires_grad:
            continue
        grads = gate.backward(np.ones(node.shape, node.dtype))
        for slot, need, dx in zip(node.inputs, node.needs_input_grad, grads):
            if need and slot.shape != () and dx is not None:
                assert type(dx) is np.ndarray, (node.op, type(dx))


def _passes_to_a_value_used_twice(x):
    y = x * 2.0
    return ((y + 1.0) * y).sum()


def _0d_passed_twice(x):
    s = (x * 2.0).sum() + 1.0  # the gradient of s, a sum of two 0-d ones, is a NumPy scalar
    return s * s


PASSING = {
    "chain": lambda x: chain(x, np.full(3, 1.5), np.full(3, 0.25), repeats=3),
    "adds of adds": lambda x: cr.tanh(x * 2.0 + 1.0 + 2.0 - 0.5).sum(),
    "value used twice": _passes_to_a_value_used_twice,
    "output passed": lambda x: x * 1.1 + 1.0,
    "0-d": _0d_passed_twice,
    "0-d chain": lambda x: cr.tanh(x.sum() * 2.0),  # NumPy scalar gradients: made arrays
    "float64 constant": lambda x: cr.tanh(x * np.full(3, 0.5) + 1.0).sum(),
}


@pytest.mark.parametrize("f", PASSING.values(), ids=PASSING.keys())
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_graph_gradients_of_every_slot_are_those_of_the_step_by_step_backward(f, dtype):
    """Outside anomaly mode a gradient passed on unchanged has no step and is filled in
    after the backward; anomaly mode runs every step as the engine does (each gradient
    checked): both give every slot the same gradient, and the input the eager one. The
    upstream gradient is a float64 Tensor: kept as it is (as eager mode keeps it), it
    is cast where a gate hands it on."""
    data = np.array([0.5, -1.0, 2.0], dtype=dtype)
    graph = cr.Graph(f)
    grads = {}
    for anomaly in (False, True):
        with cr.detect_anomaly() if anomaly else contextlib.nullcontext():
            out = graph.forward(leaf(data, dtype))
            upstream = cr.tensor(np.linspace(-1.3, 1.7, out.size).reshape(out.shape), "float64")
            (dx,) = graph.backward(upstream)
        grads[anomaly] = [graph.grad(slot) for slot in graph.slots]
        x = leaf(data, dtype)
        f(x).backward(upstream)
        assert_same(dx.data, x.grad.data)
    for fast, stepwise in zip(grads[False], grads[True], strict=True):
        assert type(fast) is type(stepwise)
        if fast is not None:
            assert_same(fast, stepwise)


def test_graph_passes_the_gradient_of_a_chain_without_a_step_for_its_adds():
    graph = cr.Graph(lambda x: chain(x, np.full(3, 1.5), np.full(3, 0.25), repeats=4))
    graph.forward(leaf([0.5, -1.0, 2.0]))
    program = graph._current()
    ops = [graph.nodes[step[0]].op for step in program.fast_back]
    assert ops == ["Sum"] + ["Tanh", "Multiply"] * 4
    assert len(program.sources) == 4  # y * a gets the gradient of y * a + b
    graph.backward()
    for node in graph.nodes:
        if node.op == "Add":
            assert graph.grad(node.inputs[0]) is graph.grad(node.output)


def test_graph_casts_a_stored_gradient_to_its_input_dtype():
    a = np.array([0.5, 1.5, -2.0])  # float64: x * a is float64, its gradient for x too
    graph = cr.Graph(lambda x: cr.tanh(x * a).sum())
    for values in ([0.1, 0.2, 0.3], [1.0, -1.0, 0.5]):
        graph.forward(leaf(values, "float32"))
        (dx,) = graph.backward()
        x = leaf(values, "float32")
        cr.tanh(x * a).sum().backward()
        assert dx.dtype == np.float32
        assert_same(dx.data, x.grad.data)


def test_graph_anomaly_mode_names_the_gate_whose_gradient_is_not_finite_as_eager():
    def f(x):
        return (cr.sqrt(x) + 1.0).sum()

    graph = cr.Graph(f)
    graph.forward(leaf([1.0, 4.0]))
    graph.backward()
    for backward in (lambda x: (graph.forward(x), graph.backward()), lambda x: f(x).backward()):
        with (
            cr.detect_anomaly(),
            np.errstate(divide="ignore"),
            pytest.raises(cr.AnomalyError, match="Sqrt backward produced inf"),
        ):
            backward(leaf([0.0, 4.0]))
