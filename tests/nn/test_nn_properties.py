"""Property tests for nn: Flatten against NumPy, MLP shapes and state_dict round trips.

Hypothesis draws the shapes; every test is derandomized and has no example database.
"""

import copy
import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes

import chainrule as cr
from chainrule import nn

fast = settings(max_examples=40, deadline=None, derandomize=True, database=None)


@fast
@given(shape=array_shapes(min_dims=1, max_dims=5, min_side=1, max_side=3), data=st.data())
def test_flatten_matches_numpy_reshape(shape, data):
    ndim = len(shape)
    start = data.draw(st.integers(-ndim, ndim - 1))
    end = data.draw(st.integers(start % ndim, ndim - 1))
    x = np.arange(math.prod(shape), dtype=np.float64).reshape(shape)
    want = x.reshape(shape[: start % ndim] + (-1,) + shape[end + 1 :])
    np.testing.assert_array_equal(nn.Flatten(start, end)(cr.tensor(x)).data, want)


@fast
@given(
    widths=st.lists(st.integers(1, 6), min_size=2, max_size=5),
    batch=st.integers(1, 4),
    norm=st.booleans(),
)
def test_mlp_shapes_and_state_round_trip(widths, batch, norm):
    def make(seed):
        cr.seed(seed)
        layers = []
        for n_in, n_out in zip(widths, widths[1:]):
            layers += [nn.Linear(n_in, n_out), nn.ReLU()]
            if norm:
                layers.append(nn.LayerNorm(n_out))
        return nn.Sequential(*layers)

    a, b = make(0), make(1)
    x = cr.randn(batch, widths[0])
    out = a(x)
    assert out.shape == (batch, widths[-1])
    out.sum().backward()
    assert [p.grad.shape for p in a.parameters()] == [p.shape for p in a.parameters()]
    b.load_state_dict(a.state_dict())
    np.testing.assert_array_equal(b(x).data, out.data)
    per_linear = sum(i * o + o for i, o in zip(widths, widths[1:]))
    assert a.num_parameters() == per_linear + (2 * sum(widths[1:]) if norm else 0)


def test_deepcopy_makes_an_independent_model():
    net = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    clone = copy.deepcopy(net)
    assert isinstance(clone[0].weight, nn.Parameter)
    assert clone[0].weight.data is not net[0].weight.data
    clone(cr.randn(4, 3)).sum().backward()
    assert net[0].weight.grad is None and clone[0].weight.grad is not None
    assert net[1].num_batches_tracked.item() == 0 and clone[1].num_batches_tracked.item() == 1
