"""Elementwise gates: kinks, saturation and overflow, clip boundaries, casts."""

import numpy as np
import pytest

import chainrule as cr


def f64(values, requires_grad=True) -> cr.Tensor:
    return cr.tensor(values, dtype="float64", requires_grad=requires_grad)


def grad_of(fn, values, dtype="float64") -> np.ndarray:
    x = cr.tensor(values, dtype=dtype, requires_grad=True)
    fn(x).sum().backward()
    return x.grad.data


def test_relu_gradient_at_zero_is_zero():
    np.testing.assert_array_equal(grad_of(cr.relu, [-1.0, 0.0, 2.0]), [0.0, 0.0, 1.0])


def test_relu_scalar_zero_gradient_is_zero():
    assert grad_of(cr.relu, 0.0).item() == 0.0


def test_abs_gradient_at_zero_is_zero():
    np.testing.assert_array_equal(grad_of(cr.abs, [-3.0, 0.0, 0.5]), [-1.0, 0.0, 1.0])


def test_leaky_relu_gradient_at_zero_is_the_slope():
    # As PyTorch: x > 0 takes the identity branch, so x == 0 takes the slope.
    grads = grad_of(lambda x: cr.leaky_relu(x, negative_slope=0.1), [-2.0, 0.0, 3.0])
    np.testing.assert_allclose(grads, [0.1, 0.1, 1.0], rtol=1e-15)


def test_elu_gradient_at_zero_is_alpha():
    grads = grad_of(lambda x: cr.elu(x, alpha=0.5), [0.0, 1.0, -1.0])
    np.testing.assert_allclose(grads, [0.5, 1.0, 0.5 * np.exp(-1.0)], rtol=1e-15)


def test_elu_large_input_no_overflow():
    x = f64([1000.0, -1000.0])
    with np.errstate(over="raise", invalid="raise"):
        out = cr.elu(x)
        out.sum().backward()
    np.testing.assert_array_equal(out.data, [1000.0, -1.0])
    np.testing.assert_array_equal(x.grad.data, [1.0, 0.0])


def test_sigmoid_lecture_neuron_gradients():
    # CS231n lecture 4: f = sigmoid(w0 x0 + w1 x1 + w2), the compound gate (1 - s) s.
    w0, x0, w1, x1, w2 = (f64(v) for v in (2.0, -1.0, -3.0, -2.0, -3.0))
    f = cr.sigmoid(w0 * x0 + w1 * x1 + w2)
    f.backward()
    assert abs(f.item() - 0.73) < 1e-2
    got = [t.grad.item() for t in (w0, x0, w1, x1, w2)]
    np.testing.assert_allclose(got, [-0.20, 0.39, -0.39, -0.59, 0.20], atol=5e-3)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sigmoid_saturated_inputs_stay_finite(dtype):
    x = cr.tensor([-1000.0, 1000.0], dtype=dtype, requires_grad=True)
    with np.errstate(over="raise", invalid="raise"):
        out = cr.sigmoid(x)
        out.sum().backward()
    np.testing.assert_array_equal(out.data, [0.0, 1.0])
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.0])


def test_sigmoid_negative_tail_keeps_relative_precision():
    # 1 / (1 + exp(40)) rounds fine, but the formula must not lose the tail to 1 - s.
    x = f64([-40.0, -700.0])
    out = cr.sigmoid(x)
    expected = np.exp(x.data) / (1 + np.exp(x.data))
    np.testing.assert_allclose(out.data, expected, rtol=1e-14)
    assert out.data[1] > 0


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_softplus_large_inputs_no_overflow(dtype):
    x = cr.tensor([-1000.0, 0.0, 1000.0], dtype=dtype, requires_grad=True)
    with np.errstate(over="raise", invalid="raise"):
        out = cr.softplus(x)
        out.sum().backward()
    np.testing.assert_allclose(out.data, [0.0, np.log(2.0), 1000.0], rtol=1e-6)
    np.testing.assert_allclose(x.grad.data, [0.0, 0.5, 1.0], rtol=1e-6)


def test_softplus_negative_tail_is_exp():
    out = cr.softplus(f64([-40.0]))
    np.testing.assert_allclose(out.data, [np.exp(-40.0)], rtol=1e-14)


def test_clip_boundaries_are_inclusive():
    # lo <= x <= hi passes the gradient, as PyTorch's clamp.
    grads = grad_of(lambda x: cr.clip(x, -1.0, 1.0), [-2.0, -1.0, 0.0, 1.0, 2.0])
    np.testing.assert_array_equal(grads, [0.0, 1.0, 1.0, 1.0, 0.0])


def test_clip_tensor_bounds_receive_gradient_outside():
    x = f64([-2.0, -1.0, 0.0, 1.0, 2.0])
    lo, hi = f64(-1.0), f64([1.0] * 5)
    cr.clip(x, lo, hi).backward(np.arange(1.0, 6.0))
    np.testing.assert_array_equal(x.grad.data, [0.0, 2.0, 3.0, 4.0, 0.0])
    assert lo.grad.item() == 1.0  # only x = -2 is below; the boundary x = -1 is not
    np.testing.assert_array_equal(hi.grad.data, [0.0, 0.0, 0.0, 0.0, 5.0])


def test_clip_lo_above_hi_routes_to_hi():
    # np.clip and torch.clamp give hi everywhere when lo > hi: so does the gradient.
    x = f64([-0.5, 0.5, 2.0])
    lo, hi = f64([1.0] * 3), f64([0.0] * 3)
    out = cr.clip(x, lo, hi)
    out.sum().backward()
    np.testing.assert_array_equal(out.data, np.clip(x.data, lo.data, hi.data))
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(lo.grad.data, [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(hi.grad.data, [1.0, 1.0, 1.0])


def test_clip_without_bounds_raises():
    with pytest.raises(ValueError, match="clip"):
        cr.clip(f64([1.0]))


def test_cast_gradient_comes_back_in_input_dtype():
    x = cr.tensor([1.5, -2.0], dtype="float32", requires_grad=True)
    y = cr.astype(x, "float64")
    assert y.dtype == np.float64
    (y * y).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad.data, [3.0, -4.0])


def test_cast_to_integer_is_not_differentiable():
    x = cr.tensor([1.5, -2.0], requires_grad=True)
    y = cr.astype(x, "int64")
    assert y.dtype == np.int64
    assert not y.requires_grad


@pytest.mark.parametrize(
    ("fn", "derivative"),
    [
        (cr.exp, np.exp),
        (cr.log, lambda x: 1 / x),
        (cr.sqrt, lambda x: 0.5 / np.sqrt(x)),
        (cr.sin, np.cos),
        (cr.cos, lambda x: -np.sin(x)),
        (cr.tanh, lambda x: 1 - np.tanh(x) ** 2),
        (cr.sigmoid, lambda x: np.exp(-x) / (1 + np.exp(-x)) ** 2),
        (cr.softplus, lambda x: 1 / (1 + np.exp(-x))),
    ],
    ids=["exp", "log", "sqrt", "sin", "cos", "tanh", "sigmoid", "softplus"],
)
def test_unary_gradient_matches_closed_form(fn, derivative):
    values = np.linspace(0.25, 3.0, 7)
    np.testing.assert_allclose(grad_of(fn, values), derivative(values), rtol=1e-13)
