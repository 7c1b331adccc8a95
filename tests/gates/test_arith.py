"""Arithmetic gates: the lecture's patterns and the corners of power and divide."""

import numpy as np
import pytest

import chainrule as cr


def f64(values, requires_grad=True) -> cr.Tensor:
    return cr.tensor(values, dtype="float64", requires_grad=requires_grad)


def test_lecture_example_gradients_are_exact():
    # CS231n lecture 4: f(x, y, z) = (x + y) z at x = -2, y = 5, z = -4.
    x, y, z = f64(-2.0), f64(5.0), f64(-4.0)
    f = (x + y) * z
    f.backward()
    assert f.item() == -12.0
    assert (x.grad.item(), y.grad.item(), z.grad.item()) == (-4.0, -4.0, 3.0)


def test_add_distributes_upstream_gradient():
    x, y = f64([1.0, 2.0]), f64([30.0, -4.0])
    g = np.array([0.25, -3.0])
    (x + y).backward(g)
    np.testing.assert_array_equal(x.grad.data, g)
    np.testing.assert_array_equal(y.grad.data, g)


def test_subtract_negates_second_gradient():
    x, y = f64([1.0, 2.0]), f64([30.0, -4.0])
    g = np.array([0.25, -3.0])
    (x - y).backward(g)
    np.testing.assert_array_equal(x.grad.data, g)
    np.testing.assert_array_equal(y.grad.data, -g)


def test_multiply_switches_inputs():
    x, y = f64([3.0, -1.0]), f64([-4.0, 7.0])
    g = np.array([2.0, 0.5])
    (x * y).backward(g)
    np.testing.assert_array_equal(x.grad.data, g * y.data)
    np.testing.assert_array_equal(y.grad.data, g * x.data)


def test_multiply_branch_adds_gradients():
    # x * x: the copy gate adds the two switched gradients, 2x.
    x = f64([3.0, -1.5])
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [6.0, -3.0])


def test_add_broadcast_gradient_is_summed_back():
    x, y = f64(np.zeros((3, 1))), f64(np.zeros(4))
    (x + y).sum().backward()
    np.testing.assert_array_equal(x.grad.data, np.full((3, 1), 4.0))
    np.testing.assert_array_equal(y.grad.data, np.full(4, 3.0))


def test_divide_gradients_follow_quotient_rule():
    x, y = f64([1.0, -6.0]), f64([2.0, 3.0])
    (x / y).sum().backward()
    np.testing.assert_allclose(x.grad.data, [0.5, 1 / 3], rtol=1e-15)
    np.testing.assert_allclose(y.grad.data, [-1 / 4, 6 / 9], rtol=1e-15)


def test_negative_flips_gradient():
    x = f64([1.0, -2.0])
    (-x).backward(np.array([3.0, 4.0]))
    np.testing.assert_array_equal(x.grad.data, [-3.0, -4.0])


def test_power_zero_exponent_at_zero_gradient_is_zero():
    # d/dx x**0 = 0 * x**-1 = 0 * inf at x = 0: the gate must answer 0, not NaN.
    x = f64([0.0, 2.0])
    with np.errstate(divide="ignore", invalid="ignore"):
        (x**0).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.0])


def test_power_zero_exponent_tensor_at_zero_gradient_is_zero():
    x, y = f64([0.0, 0.0]), f64([0.0, 2.0])
    with np.errstate(divide="ignore", invalid="ignore"):
        cr.power(x, y).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.0])
    # d/dy 0**y is taken as 0 (log 0 would give 0 * -inf).
    np.testing.assert_array_equal(y.grad.data, [0.0, 0.0])


def test_power_negative_base_integer_exponent_gradient():
    x = f64([-2.0])
    (x**3).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [12.0])


@pytest.mark.parametrize("base", [2.0, 2])
def test_power_python_base_keeps_float32_gradient(base):
    y = cr.tensor([0.5, -1.0], requires_grad=True)
    out = cr.power(base, y)
    (dy,) = out.gate.backward(np.ones(2, np.float32))[1:]
    assert dy.dtype == np.float32
    np.testing.assert_allclose(dy, 2.0**y.data * np.log(2.0), rtol=1e-6)


def test_add_python_scalar_keeps_float32():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    out = 2.5 * x + 1.0
    assert out.dtype == np.float32
    out.sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad.data, [2.5, 2.5])
