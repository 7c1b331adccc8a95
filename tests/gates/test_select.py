"""Selecting gates: the max gate routes, ties split, where with a tensor condition."""

import numpy as np
import pytest

import chainrule as cr


def f64(values, requires_grad=True) -> cr.Tensor:
    return cr.tensor(values, dtype="float64", requires_grad=requires_grad)


def test_maximum_routes_gradient_to_larger_input():
    x, y = f64([1.0, 5.0, -2.0]), f64([3.0, 4.0, -3.0])
    cr.maximum(x, y).backward(np.array([10.0, 20.0, 30.0]))
    np.testing.assert_array_equal(x.grad.data, [0.0, 20.0, 30.0])
    np.testing.assert_array_equal(y.grad.data, [10.0, 0.0, 0.0])


def test_minimum_routes_gradient_to_smaller_input():
    x, y = f64([1.0, 5.0, -2.0]), f64([3.0, 4.0, -3.0])
    cr.minimum(x, y).backward(np.array([10.0, 20.0, 30.0]))
    np.testing.assert_array_equal(x.grad.data, [10.0, 0.0, 0.0])
    np.testing.assert_array_equal(y.grad.data, [0.0, 20.0, 30.0])


@pytest.mark.parametrize("op", [cr.maximum, cr.minimum], ids=["maximum", "minimum"])
def test_binary_select_tie_splits_gradient_half_half(op):
    x, y = f64([2.0, 1.0]), f64([2.0, 3.0])
    op(x, y).backward(np.array([4.0, 8.0]))
    winner_x = 8.0 if op is cr.minimum else 0.0
    np.testing.assert_array_equal(x.grad.data, [2.0, winner_x])
    np.testing.assert_array_equal(y.grad.data, [2.0, 8.0 - winner_x])


@pytest.mark.parametrize("op", [cr.maximum, cr.minimum], ids=["maximum", "minimum"])
def test_binary_select_tie_with_broadcast_sums_halves(op):
    # y (3,) against x (2, 1): every tie gives each side half, summed over the broadcast.
    x, y = f64([[1.0], [2.0]]), f64([1.0, 1.0, 2.0])
    op(x, y).sum().backward()
    out = op(x.data, y.data)
    share_x = np.where(x.data == y.data, 0.5, (out == x.data) * 1.0)
    np.testing.assert_array_equal(x.grad.data, share_x.sum(axis=1, keepdims=True))
    np.testing.assert_array_equal(y.grad.data, (1 - share_x).sum(axis=0))


def test_maximum_with_scalar_tie_gives_half():
    x = f64([0.0, -1.0, 1.0])
    cr.maximum(x, 0.0).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0.5, 0.0, 1.0])


def test_maximum_gradients_add_up_to_upstream():
    rng = np.random.default_rng(0)
    x, y = f64(rng.integers(0, 3, (4, 5)) * 1.0), f64(rng.integers(0, 3, 5) * 1.0)
    cr.maximum(x, y).sum().backward()
    assert x.grad.data.sum() + y.grad.data.sum() == 20.0


def test_where_routes_by_tensor_condition():
    cond = cr.tensor([True, False, True])
    x, y = f64([1.0, 2.0, 3.0]), f64([10.0, 20.0, 30.0])
    out = cr.where(cond, x, y)
    out.backward(np.array([4.0, 5.0, 6.0]))
    np.testing.assert_array_equal(out.data, [1.0, 20.0, 3.0])
    np.testing.assert_array_equal(x.grad.data, [4.0, 0.0, 6.0])
    np.testing.assert_array_equal(y.grad.data, [0.0, 5.0, 0.0])


def test_where_condition_from_comparison_broadcasts():
    x, y = f64([[-1.0], [2.0]]), f64([5.0, 6.0, 7.0])
    cr.where(x > 0, x, y).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[0.0], [3.0]])
    np.testing.assert_array_equal(y.grad.data, [1.0, 1.0, 1.0])


def test_where_scalar_branch_gets_no_gradient_but_tensor_does():
    x = f64([-1.0, 2.0])
    cr.where(x > 0, x, 0.0).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 1.0])


def test_where_non_boolean_condition_raises():
    with pytest.raises(TypeError, match="where"):
        cr.where(cr.tensor([1.0, 0.0]), f64([1.0, 2.0]), 0.0)


def test_where_condition_requiring_grad_raises():
    cond = cr.tensor([1.0, 0.0], requires_grad=True)
    with pytest.raises(TypeError, match="where"):
        cr.where(cond, f64([1.0, 2.0]), 0.0)
