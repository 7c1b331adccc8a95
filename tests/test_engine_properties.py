"""Property-based tests (hypothesis): shapes, broadcasting, indexing, accumulation, symmetry."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import chainrule as cr

# derandomize: the examples are a fixed function of the test, so every run is the same
PROPERTY = settings(max_examples=40, deadline=None, derandomize=True)

shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4)
finite = st.floats(-3.0, 3.0, allow_nan=False, allow_subnormal=False, width=64)


def arrays(shape):
    return hnp.arrays(np.float64, shape, elements=finite)


def leaf(value):
    return cr.tensor(np.asarray(value, dtype=np.float64), requires_grad=True)


# elementwise functions and their derivatives (no kinks in [-3, 3])
ELEMENTWISE = {
    "exp": (cr.exp, np.exp),
    "tanh": (cr.tanh, lambda a: 1 - np.tanh(a) ** 2),
    "sin": (cr.sin, np.cos),
    "sigmoid": (cr.sigmoid, lambda a: np.exp(-a) / (1 + np.exp(-a)) ** 2),
    "square": (lambda t: t * t, lambda a: 2 * a),
    "softplus": (cr.softplus, lambda a: 1 / (1 + np.exp(-a))),
}


@PROPERTY
@given(data=st.data(), name=st.sampled_from(sorted(ELEMENTWISE)))
def test_grad_of_sum_has_input_shape_and_matches_derivative(data, name):
    x = data.draw(arrays(data.draw(shapes)))
    f, df = ELEMENTWISE[name]
    t = leaf(x)
    f(t).sum().backward()
    assert t.grad.shape == x.shape
    assert t.grad.dtype == np.float64
    np.testing.assert_allclose(t.grad.data, df(x), rtol=1e-10, atol=1e-12)


@PROPERTY
@given(shape=shapes, dtype=st.sampled_from([np.float32, np.float64]))
def test_grad_keeps_leaf_dtype(shape, dtype):
    t = cr.tensor(np.ones(shape, dtype=dtype), requires_grad=True)
    (t * np.float64(2.0)).sum().backward()
    assert t.grad.dtype == dtype and t.grad.shape == shape


@PROPERTY
@given(data=st.data())
def test_broadcast_binary_grads_have_operand_shapes(data):
    shape_a, shape_b = data.draw(
        hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3)
    ).input_shapes
    a = data.draw(arrays(shape_a))
    b = data.draw(arrays(shape_b))
    ta, tb = leaf(a), leaf(b)
    out = ta * tb + ta - tb
    assert out.shape == np.broadcast_shapes(shape_a, shape_b)
    out.sum().backward()
    assert ta.grad.shape == shape_a and tb.grad.shape == shape_b
    full = np.broadcast_shapes(shape_a, shape_b)
    np.testing.assert_allclose(
        ta.grad.data, cr.sum_to(np.broadcast_to(b, full) + 1.0, shape_a), rtol=1e-12
    )
    np.testing.assert_allclose(
        tb.grad.data, cr.sum_to(np.broadcast_to(a, full) - 1.0, shape_b), rtol=1e-12
    )


@PROPERTY
@given(data=st.data())
def test_sum_to_undoes_broadcast_to(data):
    shape, full = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=1, max_dims=3))
    shape = shape[0]
    x = data.draw(arrays(shape))
    broadcast = np.broadcast_to(x, full)
    reduced = cr.sum_to(broadcast, shape)
    assert reduced.shape == shape
    factor = np.prod(full) // np.prod(shape)
    np.testing.assert_allclose(reduced, x * factor, rtol=1e-12)


@PROPERTY
@given(
    shape_a=hnp.array_shapes(min_dims=1, max_dims=3, min_side=2, max_side=4),
    extra=st.integers(1, 3),
)
def test_non_broadcastable_shapes_raise_shape_error(shape_a, extra):
    shape_b = shape_a[:-1] + (shape_a[-1] + extra,)
    with pytest.raises(cr.ShapeError) as info:
        leaf(np.ones(shape_a)) + leaf(np.ones(shape_b))
    assert str(shape_a) in str(info.value) and str(shape_b) in str(info.value)


@PROPERTY
@given(data=st.data())
def test_integer_index_grad_counts_repeats(data):
    n = data.draw(st.integers(1, 6))
    index = data.draw(hnp.arrays(np.int64, st.integers(0, 8), elements=st.integers(0, n - 1)))
    x = leaf(np.arange(n, dtype=np.float64))
    x[index].sum().backward()
    np.testing.assert_array_equal(x.grad.data, np.bincount(index, minlength=n))


@PROPERTY
@given(data=st.data())
def test_boolean_mask_grad_is_mask(data):
    x = data.draw(arrays(data.draw(hnp.array_shapes(min_dims=1, max_dims=3, max_side=4))))
    mask = x > 0
    t = leaf(x)
    (t[mask] * 3).sum().backward()
    np.testing.assert_array_equal(t.grad.data, 3.0 * mask)


@PROPERTY
@given(data=st.data())
def test_grad_accumulation_is_additive(data):
    x = data.draw(arrays(data.draw(shapes)))
    t = leaf(x)
    cr.tanh(t).sum().backward()
    first = t.grad.data.copy()
    (t * t).sum().backward()
    np.testing.assert_allclose(t.grad.data, first + 2 * x, rtol=1e-12)

    fresh = leaf(x)
    (cr.tanh(fresh) + fresh * fresh).sum().backward()
    np.testing.assert_allclose(t.grad.data, fresh.grad.data, rtol=1e-12)


@PROPERTY
@given(data=st.data())
def test_backward_independent_of_operand_order(data):
    shape_a, shape_b = data.draw(
        hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3)
    ).input_shapes
    a, b = data.draw(arrays(shape_a)), data.draw(arrays(shape_b))
    symmetric = (
        lambda p, q: p * q,
        lambda p, q: p + q,
        lambda p, q: cr.tanh(p * q) * (p + q),
    )
    for op in symmetric:
        x1, y1 = leaf(a), leaf(b)
        op(x1, y1).sum().backward()
        x2, y2 = leaf(a), leaf(b)
        op(y2, x2).sum().backward()
        np.testing.assert_allclose(x1.grad.data, x2.grad.data, rtol=1e-12)
        np.testing.assert_allclose(y1.grad.data, y2.grad.data, rtol=1e-12)


@PROPERTY
@given(data=st.data())
def test_backward_linear_in_upstream_gradient(data):
    x = data.draw(arrays(data.draw(shapes)))
    v = data.draw(arrays(x.shape))
    scale = data.draw(st.floats(-2.0, 2.0, allow_nan=False, allow_subnormal=False))
    t1, t2 = leaf(x), leaf(x)
    cr.sin(t1).backward(v)
    cr.sin(t2).backward(scale * v)
    np.testing.assert_allclose(t2.grad.data, scale * t1.grad.data, rtol=1e-12, atol=1e-15)


@PROPERTY
@given(data=st.data())
def test_reshape_and_transpose_grads_round_trip(data):
    x = data.draw(arrays(data.draw(hnp.array_shapes(min_dims=1, max_dims=3, max_side=4))))
    w = data.draw(arrays((x.size,)))
    t = leaf(x)
    y = t.transpose().reshape(-1)
    (y * w).sum().backward()
    np.testing.assert_allclose(t.grad.data, w.reshape(x.T.shape).T, rtol=1e-12)


@PROPERTY
@given(data=st.data())
def test_gradcheck_random_composite(data):
    x = data.draw(arrays(data.draw(hnp.array_shapes(min_dims=1, max_dims=2, max_side=3))))
    t = leaf(x)
    assert cr.gradcheck(lambda a: cr.tanh(a * 0.5).sum() * cr.sigmoid(a).mean(), (t,))


@PROPERTY
@given(data=st.data())
def test_jacobian_shape_is_out_plus_in(data):
    x = data.draw(arrays(data.draw(hnp.array_shapes(min_dims=0, max_dims=2, max_side=3))))
    jac = cr.jacobian(lambda t: cr.tanh(t) * 2)(x)
    assert jac.shape == x.shape + x.shape
    np.testing.assert_allclose(
        jac.data.reshape(x.size, x.size), np.diag(2 * (1 - np.tanh(x.ravel()) ** 2)), atol=1e-12
    )
