"""NumPy functions on tensors route to gates and stay differentiable, or refuse loudly."""

import numpy as np
import pytest

import chainrule as cr


def leaf(value):
    return cr.tensor(value, dtype="float64", requires_grad=True)


X = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])


def _check(fn, gate_name, reference, expected_grad=None):
    """Run fn on a tensor: right values, a recorded gate, and a gradient to x."""
    x = leaf(X)
    out = fn(x)
    assert isinstance(out, cr.Tensor), type(out)
    assert out.requires_grad
    assert type(out.gate).__name__ == gate_name
    np.testing.assert_allclose(out.data, reference(X), rtol=1e-12)
    out.sum().backward()
    assert x.grad is not None and x.grad.shape == X.shape
    if expected_grad is not None:
        np.testing.assert_allclose(x.grad.data, expected_grad, rtol=1e-12)
    assert cr.gradcheck(lambda t: fn(t), (leaf(X),))


def test_np_exp_routes_to_exp_gate():
    _check(np.exp, "Exp", np.exp, np.exp(X))


def test_np_sum_with_axis_routes_to_sum_gate():
    _check(lambda t: np.sum(t, axis=0), "Sum", lambda a: np.sum(a, axis=0), np.ones_like(X))
    _check(lambda t: np.sum(t, axis=1, keepdims=True), "Sum", lambda a: a.sum(1, keepdims=True))


def test_np_where_routes_to_where_gate():
    mask = X > 0
    _check(lambda t: np.where(mask, t, 0), "Where", lambda a: np.where(mask, a, 0), mask * 1.0)


def test_np_where_with_tensor_mask():
    x = leaf(X)
    out = np.where(x > 0, x, 0.0)
    assert type(out.gate).__name__ == "Where"
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.data, (X > 0) * 1.0)


def test_np_concatenate_routes_to_concatenate_gate():
    _check(
        lambda t: np.concatenate([t, t]),
        "Concatenate",
        lambda a: np.concatenate([a, a]),
        2 * np.ones_like(X),
    )


def test_np_concatenate_mixed_with_arrays():
    x = leaf(X)
    out = np.concatenate([np.zeros((1, 3)), x], axis=0)
    assert isinstance(out, cr.Tensor) and out.shape == (3, 3)
    (out * 2).sum().backward()
    np.testing.assert_array_equal(x.grad.data, np.full(X.shape, 2.0))


@pytest.mark.parametrize(
    "fn, gate, reference",
    [
        (np.log, "Log", np.log),
        (np.tanh, "Tanh", np.tanh),
        (np.sin, "Sin", np.sin),
        (np.cos, "Cos", np.cos),
        (np.abs, "Abs", np.abs),
        (np.negative, "Negative", np.negative),
        (np.sqrt, "Sqrt", np.sqrt),
        (np.square, "Multiply", np.square),
        (lambda a: np.maximum(a, 0.3), "Maximum", lambda a: np.maximum(a, 0.3)),
        (lambda a: np.minimum(0.3, a), "Minimum", lambda a: np.minimum(0.3, a)),
        (lambda a: np.power(a, 3), "Power", lambda a: np.power(a, 3)),
        (lambda a: np.add(a, 1.0), "Add", lambda a: a + 1.0),
        (lambda a: np.subtract(1.0, a), "Subtract", lambda a: 1.0 - a),
        (lambda a: np.multiply(a, a), "Multiply", lambda a: a * a),
        (lambda a: np.divide(1.0, a), "Divide", lambda a: 1.0 / a),
        (lambda a: np.matmul(a, np.ones((3, 2))), "MatMul", lambda a: a @ np.ones((3, 2))),
        (np.mean, "Mean", np.mean),
        (lambda a: np.max(a, axis=1), "Max", lambda a: np.max(a, axis=1)),
        (lambda a: np.min(a, axis=0), "Min", lambda a: np.min(a, axis=0)),
        (lambda a: np.var(a, axis=1), "Var", lambda a: np.var(a, axis=1)),
        (lambda a: np.std(a, ddof=1), "Std", lambda a: np.std(a, ddof=1)),
        (np.transpose, "Transpose", np.transpose),
        (lambda a: np.reshape(a, (3, 2)), "Reshape", lambda a: np.reshape(a, (3, 2))),
        (lambda a: np.swapaxes(a, 0, 1), "Transpose", lambda a: np.swapaxes(a, 0, 1)),
        (lambda a: np.expand_dims(a, 0), "Reshape", lambda a: np.expand_dims(a, 0)),
        (lambda a: np.stack([a, a], axis=1), "Concatenate", lambda a: np.stack([a, a], 1)),
        (lambda a: np.clip(a, -0.8, 1.0), "Clip", lambda a: np.clip(a, -0.8, 1.0)),
        (
            lambda a: np.broadcast_to(a, (4, 2, 3)),
            "BroadcastTo",
            lambda a: np.broadcast_to(a, (4, 2, 3)),
        ),
    ],
)
def test_numpy_function_routes_to_gate(fn, gate, reference):
    x = np.abs(X) + 0.1 if gate in ("Log", "Sqrt") else X

    def run(t):
        return fn(t)

    t = leaf(x)
    out = run(t)
    assert isinstance(out, cr.Tensor) and out.requires_grad
    assert type(out.gate).__name__ == gate
    np.testing.assert_allclose(out.data, reference(x), rtol=1e-12)
    assert cr.gradcheck(run, (leaf(x),))


def test_numpy_operators_with_array_on_the_left_route_to_gates():
    x = leaf(X)
    out = np.ones((2, 3)) * x + np.full((2, 3), 2.0) - x / np.full((2, 3), 4.0)
    assert out.requires_grad
    out.sum().backward()
    np.testing.assert_allclose(x.grad.data, np.full(X.shape, 0.75))


@pytest.mark.parametrize(
    "fn",
    [np.sign, np.floor, np.isfinite, lambda a: np.greater(a, 0), lambda a: np.equal(a, a)],
)
def test_piecewise_constant_ufuncs_give_constant_tensors(fn):
    out = fn(leaf(X))
    assert isinstance(out, cr.Tensor)
    assert not out.requires_grad
    np.testing.assert_array_equal(out.data, fn(X))


def test_shape_queries():
    x = leaf(X)
    assert np.shape(x) == (2, 3) and np.ndim(x) == 2 and np.size(x) == 6


def test_zeros_like_and_ones_like_give_constants():
    x = leaf(X)
    z, o = np.zeros_like(x), np.ones_like(x)
    assert isinstance(z, cr.Tensor) and isinstance(o, cr.Tensor)
    assert not z.requires_grad and not o.requires_grad
    np.testing.assert_array_equal(z.data, np.zeros_like(X))
    np.testing.assert_array_equal(o.data, np.ones_like(X))


def test_numpy_composition_is_differentiable_twice():
    f = lambda t: np.sum(np.exp(np.tanh(t)) * t)  # noqa: E731
    x = leaf(X)
    assert cr.gradcheck(f, (x,))
    assert cr.gradgradcheck(f, (x,))


@pytest.mark.parametrize(
    "fn",
    [
        np.log1p,
        np.arctan,
        np.cumsum,
        np.sort,
        np.prod,
        np.linalg.norm,
        np.outer,
        lambda a: np.dot(a, a.T),
        lambda a: np.einsum("ij->i", a),
        lambda a: np.add.reduce(a),
        lambda a: np.sum(a, dtype=np.float32),
        lambda a: np.exp(a, out=np.empty((2, 3))),
    ],
)
def test_unsupported_numpy_function_raises_type_error(fn):
    x = leaf(X)
    with pytest.raises(TypeError):
        fn(x)
    assert x.grad is None


def test_unsupported_numpy_function_message_names_it():
    with pytest.raises(TypeError, match="cumsum"):
        np.cumsum(leaf(X))
    with pytest.raises(TypeError, match="log1p"):
        np.log1p(leaf(X))


def test_explicit_conversion_to_array_is_allowed():
    x = leaf(X)
    a = np.asarray(x)
    assert type(a) is np.ndarray
    np.testing.assert_array_equal(np.cumsum(a), np.cumsum(X))
