"""Softmax gates: exact and finite for huge logits, probabilities, and their gradients."""

import numpy as np
import pytest

import chainrule as cr


def f64(values, requires_grad=True) -> cr.Tensor:
    return cr.tensor(values, dtype="float64", requires_grad=requires_grad)


LARGE = [1e8, 1e8 + 1.0, 0.0]


def test_softmax_large_logits_exact_and_finite():
    x = f64(LARGE)
    out = cr.softmax(x)
    out.backward(np.array([1.0, -1.0, 2.0]))
    e = np.exp(-1.0)
    np.testing.assert_allclose(out.data, [e / (1 + e), 1 / (1 + e), 0.0], rtol=1e-15, atol=0)
    assert np.isfinite(x.grad.data).all()
    s = out.data
    expected = s * (np.array([1.0, -1.0, 2.0]) - (s * [1.0, -1.0, 2.0]).sum())
    np.testing.assert_allclose(x.grad.data, expected, rtol=1e-14)


def test_log_softmax_large_logits_exact_and_finite():
    x = f64(LARGE)
    out = cr.log_softmax(x)
    out.backward(np.array([1.0, -1.0, 2.0]))
    lse = np.log1p(np.exp(-1.0))  # log-sum-exp of the shifted logits [-1, 0, -1e8 - 1]
    np.testing.assert_allclose(out.data, [-1.0 - lse, -lse, -1e8 - 1.0 - lse], rtol=1e-15)
    assert np.isfinite(out.data).all()
    assert np.isfinite(x.grad.data).all()
    softmax = np.exp(out.data)
    np.testing.assert_allclose(x.grad.data, [1.0, -1.0, 2.0] - softmax * 2.0, rtol=1e-14)


@pytest.mark.parametrize("fn", [cr.softmax, cr.log_softmax], ids=["softmax", "log_softmax"])
def test_softmax_float32_large_logits_finite(fn):
    x = cr.tensor([[1e8, 1e8, -1e8], [3e38, 1e38, 0.0]], requires_grad=True)
    with np.errstate(over="raise", invalid="raise"):
        out = fn(x)
        out.backward(np.ones((2, 3), np.float32))
    assert out.dtype == np.float32
    assert np.isfinite(out.data).all()
    assert np.isfinite(x.grad.data).all()


def test_softmax_rows_sum_to_one_and_shift_invariant():
    x = np.random.default_rng(0).standard_normal((4, 5))
    out = cr.softmax(f64(x, requires_grad=False), axis=1).data
    np.testing.assert_allclose(out.sum(axis=1), np.ones(4), rtol=1e-15)
    shifted = cr.softmax(f64(x + 1000.0, requires_grad=False), axis=1).data
    np.testing.assert_allclose(shifted, out, rtol=1e-12)


def test_softmax_gradient_of_sum_is_zero():
    x = f64(np.random.default_rng(1).standard_normal((3, 4)))
    cr.softmax(x, axis=0).sum().backward()
    np.testing.assert_allclose(x.grad.data, np.zeros((3, 4)), atol=1e-16)


def test_softmax_gradient_is_jacobian_product():
    x = f64([0.5, -1.0, 2.0])
    g = np.array([1.0, 2.0, -3.0])
    cr.softmax(x).backward(g)
    s = np.exp(x.data) / np.exp(x.data).sum()
    jacobian = np.diag(s) - np.outer(s, s)
    np.testing.assert_allclose(x.grad.data, jacobian @ g, rtol=1e-14)


def test_log_softmax_equals_log_of_softmax():
    x = f64(np.random.default_rng(2).standard_normal((2, 3, 4)), requires_grad=False)
    np.testing.assert_allclose(
        cr.log_softmax(x, axis=1).data, np.log(cr.softmax(x, axis=1).data), rtol=1e-14
    )


@pytest.mark.parametrize("fn", [cr.softmax, cr.log_softmax], ids=["softmax", "log_softmax"])
def test_softmax_axis_out_of_range_raises_shape_error(fn):
    with pytest.raises(cr.ShapeError, match="axis 2"):
        fn(f64(np.ones((2, 3))), axis=2)
