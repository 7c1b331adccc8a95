"""Reduction gates: routing and ties of max/min, degenerate std, logsumexp stability, axes."""

import numpy as np
import pytest

import chainrule as cr


def f64(values, requires_grad=True) -> cr.Tensor:
    return cr.tensor(values, dtype="float64", requires_grad=requires_grad)


def test_sum_gradient_is_upstream_broadcast():
    x = f64(np.zeros((2, 3)))
    cr.sum(x, axis=1).backward(np.array([5.0, -1.0]))
    np.testing.assert_array_equal(x.grad.data, [[5.0] * 3, [-1.0] * 3])


def test_mean_gradient_is_one_over_count():
    x = f64(np.zeros((2, 3, 4)))
    cr.mean(x, axis=(0, 2)).sum().backward()
    np.testing.assert_array_equal(x.grad.data, np.full((2, 3, 4), 1 / 8))


def test_max_routes_gradient_to_argmax():
    x = f64([[1.0, 7.0, 3.0], [9.0, 2.0, 4.0]])
    cr.max(x, axis=1).backward(np.array([2.0, 3.0]))
    np.testing.assert_array_equal(x.grad.data, [[0.0, 2.0, 0.0], [3.0, 0.0, 0.0]])


@pytest.mark.parametrize("op", [cr.max, cr.min], ids=["max", "min"])
def test_max_min_ties_split_evenly(op):
    sign = 1.0 if op is cr.max else -1.0
    x = f64(sign * np.array([1.0, 3.0, 3.0, 2.0]))
    op(x).backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.5, 0.5, 0.0])


@pytest.mark.parametrize("op", [cr.max, cr.min], ids=["max", "min"])
def test_max_min_ties_split_per_slice(op):
    x = f64([[1.0, 1.0, 1.0], [0.0, 2.0, 2.0], [5.0, 4.0, 5.0]])
    if op is cr.min:
        x = f64(-x.data)
    op(x, axis=1, keepdims=True).backward(np.array([[3.0], [1.0], [4.0]]))
    np.testing.assert_array_equal(x.grad.data, [[1.0, 1.0, 1.0], [0.0, 0.5, 0.5], [2.0, 0.0, 2.0]])


def test_max_of_constant_tensor_spreads_evenly():
    x = f64(np.full((2, 5), 3.0))
    x.max().backward()
    np.testing.assert_array_equal(x.grad.data, np.full((2, 5), 0.1))


def test_std_of_constant_gradient_is_zero_not_nan():
    x = f64(np.full(4, 2.5))
    out = cr.std(x)
    out.backward()
    assert out.item() == 0.0
    np.testing.assert_array_equal(x.grad.data, np.zeros(4))


def test_std_constant_row_gradient_is_zero_others_exact():
    x = f64([[1.0, 1.0, 1.0], [1.0, 2.0, 3.0]])
    cr.std(x, axis=1).sum().backward()
    centered = np.array([-1.0, 0.0, 1.0])
    np.testing.assert_array_equal(x.grad.data[0], np.zeros(3))
    np.testing.assert_allclose(x.grad.data[1], centered / (3 * np.std([1.0, 2.0, 3.0])))


def test_var_of_constant_gradient_is_zero():
    x = f64(np.full((2, 3), -1.0))
    cr.var(x, axis=0, ddof=1).sum().backward()
    np.testing.assert_array_equal(x.grad.data, np.zeros((2, 3)))


def test_var_ddof_uses_n_minus_ddof():
    x = f64([1.0, 2.0, 6.0])
    cr.var(x, ddof=1).backward()
    np.testing.assert_allclose(x.grad.data, 2 * (x.data - 3.0) / 2, rtol=1e-15)


def test_var_ddof_without_degrees_of_freedom_raises():
    with pytest.raises(ValueError, match="ddof"):
        cr.var(f64([1.0, 2.0]), ddof=2)


def test_logsumexp_large_logits_exact_and_finite():
    x = f64([1e8, 1e8, 1e8 - 1.0])
    out = cr.logsumexp(x)
    out.backward()
    expected = 1e8 + np.log(2 + np.exp(-1.0))
    assert out.item() == pytest.approx(expected, rel=1e-15)
    assert np.isfinite(x.grad.data).all()
    e = np.array([1.0, 1.0, np.exp(-1.0)])
    np.testing.assert_allclose(x.grad.data, e / e.sum(), rtol=1e-15)


def test_logsumexp_float32_large_logits_finite():
    x = cr.tensor([[1e8, -1e8], [3e38, 3e38]], requires_grad=True)
    out = cr.logsumexp(x, axis=1)
    out.sum().backward()
    assert np.isfinite(out.data).all()
    assert np.isfinite(x.grad.data).all()
    np.testing.assert_allclose(x.grad.data, [[1.0, 0.0], [0.5, 0.5]])


def test_logsumexp_all_minus_inf_slice_is_minus_inf_not_nan():
    x = f64([[-np.inf, -np.inf], [0.0, 0.0]], requires_grad=False)
    with np.errstate(divide="ignore"):  # log(0) = -inf is the answer here
        out = cr.logsumexp(x, axis=1)
    assert out.data[0] == -np.inf
    assert out.data[1] == pytest.approx(np.log(2.0))


@pytest.mark.parametrize("op", [cr.sum, cr.mean, cr.max, cr.logsumexp])
def test_reduction_axis_out_of_range_raises_shape_error(op):
    with pytest.raises(cr.ShapeError, match=r"axis 2 is out of range"):
        op(f64(np.ones((2, 3))), axis=2)


def test_reduction_repeated_axis_raises_shape_error():
    with pytest.raises(cr.ShapeError, match="repeated axis"):
        cr.sum(f64(np.ones((2, 3))), axis=(1, -1))


def test_mean_of_empty_axis_raises_shape_error():
    with pytest.raises(cr.ShapeError, match="mean"):
        cr.mean(f64(np.ones((2, 0))), axis=1)
