"""Property tests: broadcasting of the binary gates, indexing, and incompatible shapes.

Hypothesis draws the shapes and indices; the values come from a seeded generator. Every
test is derandomized (the same examples on every run) and has no example database.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import (
    array_shapes,
    arrays,
    basic_indices,
    broadcastable_shapes,
    integer_array_indices,
    mutually_broadcastable_shapes,
)

import chainrule as cr

fast = settings(max_examples=40, deadline=None, derandomize=True, database=None)


def reduce_to(values: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum `values` onto `shape`: each element collects every position it was broadcast to.

    Written with bincount over broadcast element numbers, independently of `sum_to`.
    """
    size = int(np.prod(shape, dtype=np.int64))
    owner = np.broadcast_to(np.arange(size).reshape(shape), values.shape)
    return np.bincount(owner.ravel(), weights=values.ravel(), minlength=size).reshape(shape)


def lattice(rng, shape, offset):
    """k + offset + U(-0.2, 0.2): a lattice 0.5 away from another one never ties with it."""
    return rng.integers(-2, 3, shape) + offset + rng.uniform(-0.2, 0.2, shape)


# op: (function, sampler of x and y, local partials d out/dx and d out/dy on broadcast arrays)
BINARY = {
    "add": (cr.add, None, lambda x, y: (np.ones_like(x), np.ones_like(y))),
    "subtract": (cr.subtract, None, lambda x, y: (np.ones_like(x), -np.ones_like(y))),
    "multiply": (cr.multiply, None, lambda x, y: (y, x)),
    "divide": (cr.divide, None, lambda x, y: (1 / y, -x / y**2)),
    "power": (cr.power, "positive", lambda x, y: (y * x ** (y - 1), x**y * np.log(x))),
    "maximum": (cr.maximum, None, lambda x, y: (1.0 * (x > y), 1.0 * (x < y))),
    "minimum": (cr.minimum, None, lambda x, y: (1.0 * (x < y), 1.0 * (x > y))),
}


def binary_inputs(rng, op, x_shape, y_shape):
    if BINARY[op][1] == "positive":
        return rng.uniform(0.5, 2.0, x_shape), rng.standard_normal(y_shape)
    # Lattices half a step apart: no ties for maximum, |y| >= 0.3 for divide.
    return lattice(rng, x_shape, 0.0), lattice(rng, y_shape, 0.5)


@pytest.mark.parametrize("op", list(BINARY))
@fast
@given(
    shapes=mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, max_side=4),
    seed=st.integers(0, 2**32 - 1),
)
def test_binary_broadcast_gradient_matches_numpy(op, shapes, seed):
    fn, _, partials = BINARY[op]
    (x_shape, y_shape), out_shape = shapes.input_shapes, shapes.result_shape
    rng = np.random.default_rng(seed)
    x_data, y_data = binary_inputs(rng, op, x_shape, y_shape)
    x = cr.tensor(x_data, requires_grad=True)
    y = cr.tensor(y_data, requires_grad=True)
    out = fn(x, y)
    assert out.shape == out_shape
    g = rng.standard_normal(out_shape)
    out.backward(g)
    assert x.grad.shape == x_shape
    assert y.grad.shape == y_shape
    dx, dy = partials(*np.broadcast_arrays(x_data, y_data))
    np.testing.assert_allclose(x.grad.data, reduce_to(g * dx, x_shape), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(y.grad.data, reduce_to(g * dy, y_shape), rtol=1e-12, atol=1e-12)


@fast
@given(
    shapes=mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=3, max_side=4),
    seed=st.integers(0, 2**32 - 1),
)
def test_where_broadcast_gradient_matches_numpy(shapes, seed):
    cond_shape, x_shape, y_shape = shapes.input_shapes
    rng = np.random.default_rng(seed)
    cond = rng.random(cond_shape) < 0.5
    x = cr.tensor(rng.standard_normal(x_shape), requires_grad=True)
    y = cr.tensor(rng.standard_normal(y_shape), requires_grad=True)
    out = cr.where(cond, x, y)
    np.testing.assert_array_equal(out.data, np.where(cond, x.data, y.data))
    g = rng.standard_normal(shapes.result_shape)
    out.backward(g)
    chosen = np.broadcast_to(cond, shapes.result_shape)
    np.testing.assert_allclose(x.grad.data, reduce_to(g * chosen, x_shape), rtol=1e-12)
    np.testing.assert_allclose(y.grad.data, reduce_to(g * ~chosen, y_shape), rtol=1e-12)


@fast
@given(data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_broadcast_to_gradient_sums_back(data, seed):
    target = data.draw(array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=4))
    shape = data.draw(
        broadcastable_shapes(target, min_dims=0, max_dims=len(target), min_side=0).filter(
            lambda s: np.broadcast_shapes(s, target) == target  # broadcasts *to* target
        )
    )
    rng = np.random.default_rng(seed)
    x = cr.tensor(rng.standard_normal(shape), requires_grad=True)
    out = cr.broadcast_to(x, target)
    assert out.shape == target
    g = rng.standard_normal(target)
    out.backward(g)
    np.testing.assert_allclose(x.grad.data, reduce_to(g, shape), rtol=1e-12, atol=1e-12)


def expected_index_grad(shape, index) -> np.ndarray:
    expected = np.zeros(shape)
    np.add.at(expected, index, 1.0)
    return expected


def check_index_grad(shape, index) -> None:
    x = cr.tensor(np.arange(float(np.prod(shape))).reshape(shape), requires_grad=True)
    out = x[index]
    np.testing.assert_array_equal(out.data, x.data[index])
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.data, expected_index_grad(shape, index))


@fast
@given(data=st.data())
def test_getitem_basic_index_gradient_matches_add_at(data):
    shape = data.draw(array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=5))
    index = data.draw(basic_indices(shape, allow_newaxis=True, allow_ellipsis=True))
    check_index_grad(shape, index)


@fast
@given(data=st.data())
def test_getitem_integer_array_gradient_matches_add_at(data):
    shape = data.draw(array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5))
    index = data.draw(
        integer_array_indices(shape, result_shape=array_shapes(min_dims=1, max_dims=2, max_side=6))
    )
    check_index_grad(shape, index)


@fast
@given(data=st.data())
def test_getitem_boolean_mask_gradient_matches_add_at(data):
    shape = data.draw(array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=5))
    lead = data.draw(st.integers(1, len(shape)))
    mask = data.draw(arrays(np.bool_, shape[:lead]))
    check_index_grad(shape, mask)


@st.composite
def incompatible_shapes(draw):
    """Two shapes that do not broadcast: one dimension differs and neither side is 1."""
    a = draw(array_shapes(min_dims=1, max_dims=4, min_side=2, max_side=5))
    axis = draw(st.integers(0, len(a) - 1))
    b = list(a)
    b[axis] = a[axis] + draw(st.integers(1, 3))
    b = tuple(b[draw(st.integers(0, axis)) :])  # fewer leading dims still clash at `axis`
    return (b, a) if draw(st.booleans()) else (a, b)


BINARY_GATES = {
    "Add": cr.add,
    "Subtract": cr.subtract,
    "Multiply": cr.multiply,
    "Divide": cr.divide,
    "Power": cr.power,
    "Maximum": cr.maximum,
    "Minimum": cr.minimum,
    "Where": lambda x, y: cr.where(np.array(True), x, y),
    "Clip": lambda x, y: cr.clip(x, y, None),
}


@pytest.mark.parametrize("name", list(BINARY_GATES))
@fast
@given(shapes=incompatible_shapes())
def test_binary_incompatible_shapes_raise_shape_error(name, shapes):
    a, b = shapes
    x = cr.tensor(np.ones(a), requires_grad=True)
    y = cr.tensor(np.ones(b), requires_grad=True)
    with pytest.raises(cr.ShapeError) as info:
        BINARY_GATES[name](x, y)
    message = str(info.value)
    assert name in message
    assert str(a) in message
    assert str(b) in message
