"""Property-based (hypothesis): random programs of gates, replayed on new inputs, give
bitwise the values and gradients of eager mode."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr

PROPERTY = settings(max_examples=40, deadline=None, derandomize=True)

UNARY = {
    "tanh": cr.tanh,
    "sin": cr.sin,
    "sigmoid": cr.sigmoid,
    "relu": cr.relu,
    "neg": lambda t: -t,
    "abs": cr.abs,
    "sum0": lambda t: t.sum(axis=0, keepdims=True),
    "mean": lambda t: t.mean(axis=-1, keepdims=True),
    "mask": lambda t: cr.where(t > 0.1, t, t * 0.5),
}
BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "maximum": cr.maximum,
}

steps = st.lists(
    st.one_of(
        st.tuples(st.just("unary"), st.sampled_from(sorted(UNARY)), st.integers(0, 99)),
        st.tuples(st.sampled_from(sorted(BINARY)), st.integers(0, 99), st.integers(0, 99)),
    ),
    min_size=1,
    max_size=12,
)


def program(steps, w):
    """A function of two inputs (shapes (3,) and (2, 3)) and a parameter w, from steps."""

    def f(x, y):
        values = [x, y, w]
        for step in steps:
            if step[0] == "unary":
                _, name, i = step
                values.append(UNARY[name](values[i % len(values)]))
            else:
                name, i, j = step
                values.append(BINARY[name](values[i % len(values)], values[j % len(values)]))
        return (values[-1] * values[-2]).sum() + values[0].sum()

    return f


@PROPERTY
@given(steps=steps, seed=st.integers(0, 2**16))
def test_graph_random_programs_replay_bitwise(steps, seed):
    rng = np.random.default_rng(seed)
    w = cr.tensor(rng.uniform(-1, 1, (2, 3)), requires_grad=True)
    f = program(steps, w)
    graph = cr.Graph(f)
    for _ in range(2):  # the trace, then a replay on other values
        x_data, y_data = rng.uniform(-2, 2, 3), rng.uniform(-2, 2, (2, 3))
        w.grad = None
        out = graph.forward(cr.tensor(x_data, requires_grad=True),
                            cr.tensor(y_data, requires_grad=True))  # fmt: skip
        dx, dy = graph.backward()
        replayed_w = w.grad
        w.grad = None
        x, y = cr.tensor(x_data, requires_grad=True), cr.tensor(y_data, requires_grad=True)
        expected = f(x, y)
        expected.backward()
        np.testing.assert_array_equal(out.data, expected.data)
        for got, want in ((dx, x.grad), (dy, y.grad), (replayed_w, w.grad)):
            if want is None:
                assert got is None
            else:
                assert got.dtype == want.dtype
                np.testing.assert_array_equal(got.data, want.data)
    assert graph.trace_count == 1
