"""MatMul: every operand rank np.matmul accepts, broadcast batches, and bad shapes."""

import numpy as np
import pytest

import chainrule as cr


def f64(values, requires_grad=True) -> cr.Tensor:
    return cr.tensor(values, dtype="float64", requires_grad=requires_grad)


def matmul_grads(x_shape, y_shape):
    """(x, y, g, dx, dy) for out = x @ y with upstream gradient g."""
    rng = np.random.default_rng(2024)
    x, y = f64(rng.standard_normal(x_shape)), f64(rng.standard_normal(y_shape))
    out = x @ y
    g = rng.standard_normal(out.shape)
    out.backward(g)
    assert out.shape == np.matmul(x.data, y.data).shape
    return x.data, y.data, g, x.grad.data, y.grad.data


def test_matmul_vector_dot_vector_gradients():
    x, y, g, dx, dy = matmul_grads((4,), (4,))
    assert np.shape(g) == ()
    np.testing.assert_allclose(dx, g * y, rtol=1e-14)
    np.testing.assert_allclose(dy, g * x, rtol=1e-14)


def test_matmul_vector_times_matrix_gradients():
    x, w, g, dx, dw = matmul_grads((4,), (4, 3))
    np.testing.assert_allclose(dx, w @ g, rtol=1e-14)
    np.testing.assert_allclose(dw, np.outer(x, g), rtol=1e-14)


def test_matmul_matrix_times_vector_gradients():
    w, x, g, dw, dx = matmul_grads((3, 4), (4,))
    np.testing.assert_allclose(dw, np.outer(g, x), rtol=1e-14)
    np.testing.assert_allclose(dx, w.T @ g, rtol=1e-14)


def test_matmul_matrix_gradients_are_cs231n_formulas():
    x, w, g, dx, dw = matmul_grads((5, 4), (4, 3))
    np.testing.assert_allclose(dx, g @ w.T, rtol=1e-14)
    np.testing.assert_allclose(dw, x.T @ g, rtol=1e-14)


def test_matmul_batched_broadcast_batch_dims_sum_gradients():
    # (2, 1, 3, 4) @ (5, 4, 2) -> (2, 5, 3, 2): y is shared over the batch of 2, x over 5.
    x, y, g, dx, dy = matmul_grads((2, 1, 3, 4), (5, 4, 2))
    np.testing.assert_allclose(dx, np.einsum("abij,bkj->aik", g, y)[:, None], rtol=1e-13)
    np.testing.assert_allclose(dy, np.einsum("aik,abij->bkj", x[:, 0], g), rtol=1e-13)


def test_matmul_batched_times_vector_gradients():
    x, v, g, dx, dv = matmul_grads((2, 3, 4), (4,))
    np.testing.assert_allclose(dx, g[..., None] * v, rtol=1e-14)
    np.testing.assert_allclose(dv, np.einsum("bik,bi->k", x, g), rtol=1e-14)


def test_matmul_vector_times_batched_gradients():
    v, y, g, dv, dy = matmul_grads((4,), (2, 4, 3))
    np.testing.assert_allclose(dv, np.einsum("bkj,bj->k", y, g), rtol=1e-14)
    np.testing.assert_allclose(dy, v[None, :, None] * g[:, None, :], rtol=1e-14)


def test_matmul_only_one_input_requires_grad():
    rng = np.random.default_rng(1)
    x = f64(rng.standard_normal((3, 4)))
    w = f64(rng.standard_normal((4, 2)), requires_grad=False)
    (x @ w).sum().backward()
    np.testing.assert_allclose(x.grad.data, np.ones((3, 2)) @ w.data.T, rtol=1e-14)
    assert w.grad is None


def test_matmul_two_layer_net_gradients():
    # The lecture's f = W2 max(0, W1 x), with a squared loss, against hand backprop.
    rng = np.random.default_rng(2)
    x, w1, w2 = (f64(rng.standard_normal(s)) for s in ((4,), (5, 4), (3, 5)))
    h = cr.relu(w1 @ x)
    loss = ((w2 @ h) ** 2).sum()
    loss.backward()
    hv = np.maximum(0, w1.data @ x.data)
    dout = 2 * (w2.data @ hv)
    dh = w2.data.T @ dout * (hv > 0)
    np.testing.assert_allclose(w2.grad.data, np.outer(dout, hv), rtol=1e-13)
    np.testing.assert_allclose(w1.grad.data, np.outer(dh, x.data), rtol=1e-13)
    np.testing.assert_allclose(x.grad.data, w1.data.T @ dh, rtol=1e-13)


@pytest.mark.parametrize(
    ("x_shape", "y_shape"),
    [((3, 4), (3, 4)), ((4,), (3,)), ((2, 3, 4), (5, 2)), ((2, 3, 4), (3, 4, 2))],
)
def test_matmul_misaligned_shapes_raise_shape_error(x_shape, y_shape):
    x, y = f64(np.ones(x_shape)), f64(np.ones(y_shape))
    with pytest.raises(cr.ShapeError, match="(?i)matmul") as info:
        x @ y
    assert str(x_shape) in str(info.value)
    assert str(y_shape) in str(info.value)


def test_matmul_scalar_operand_raises_shape_error():
    with pytest.raises(cr.ShapeError, match="at least 1-D"):
        cr.matmul(f64(2.0), f64([1.0, 2.0]))
