"""Indexing: every NumPy index kind, and gradients of repeated indices accumulating."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.gates import IndexAdd


def f64(values, requires_grad=True) -> cr.Tensor:
    return cr.tensor(values, dtype="float64", requires_grad=requires_grad)


def index_grad(shape, index) -> np.ndarray:
    """The gradient of sum(x[index] * g) for g = 1, 2, 3, ... (so misrouting shows)."""
    x = f64(np.arange(np.prod(shape), dtype=np.float64).reshape(shape))
    out = x[index]
    np.testing.assert_array_equal(out.data, x.data[index])
    g = np.arange(1.0, out.size + 1).reshape(out.shape)
    out.backward(g)
    expected = np.zeros(shape)
    np.add.at(expected, index, g)
    np.testing.assert_array_equal(x.grad.data, expected)
    return x.grad.data


@pytest.mark.parametrize(
    "index",
    [
        np.s_[1:3],
        np.s_[::-2, 1],
        np.s_[2],
        np.s_[-1, -2],
        np.s_[None, 1:, None],
        np.s_[..., 0],
        np.s_[1, ..., None],
        np.s_[:, [2, 0, 2]],
        np.s_[[-1, 0], 1:],
        np.s_[[[0, 1], [1, 0]], [[3, 3], [0, 0]]],
        np.s_[np.array([True, False, True, True])],
        np.s_[np.arange(20).reshape(4, 5) % 3 == 0],
    ],
    ids=[
        "slice", "reverse-step-and-int", "int", "negative-ints", "None", "Ellipsis",
        "int-Ellipsis-None", "int-array-repeats", "negative-int-array", "2d-int-arrays",
        "bool-rows", "bool-mask",
    ],
)  # fmt: skip
def test_getitem_gradient_scatters_upstream(index):
    index_grad((4, 5), index)


def test_getitem_repeated_index_accumulates():
    x = f64([1.0, 2.0, 3.0])
    x[[0, 0]].sum().backward()
    np.testing.assert_array_equal(x.grad.data, [2.0, 0.0, 0.0])


def test_getitem_repeated_rows_accumulate_with_slices():
    grad = index_grad((3, 2), np.s_[[1, 1, 1, 0], :])
    np.testing.assert_array_equal(grad[2], [0.0, 0.0])


def test_getitem_scalar_element_of_vector():
    x = f64([1.0, 2.0, 3.0])
    out = x[-1]
    assert out.shape == ()
    out.backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.0, 1.0])


def test_getitem_tensor_and_list_indices():
    x = f64([[1.0, -2.0], [3.0, -4.0]])
    x[x > 0].sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[1.0, 0.0], [1.0, 0.0]])
    x.grad = None
    x[cr.tensor([1, 1]), [0, 1]].sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[0.0, 0.0], [1.0, 1.0]])


def test_getitem_empty_selection_gives_zero_gradient():
    x = f64([1.0, 2.0])
    out = x[np.array([False, False])]
    assert out.shape == (0,)
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.0])


def test_getitem_float_index_array_raises():
    with pytest.raises(IndexError, match="integer or boolean"):
        f64([1.0, 2.0])[np.array([0.0])]


def test_getitem_out_of_range_names_getitem_and_shape():
    with pytest.raises(IndexError, match=r"getitem: .* \(tensor of shape \(2,\)\)"):
        f64([1.0, 2.0])[5]


def test_index_add_accumulates_repeats_and_backward_gathers():
    x = f64([1.0, 2.0, 3.0])
    index = (np.array([0, 2, 0]),)
    out = IndexAdd.apply(x, index=index, shape=(4,))
    np.testing.assert_array_equal(out.data, [4.0, 0.0, 2.0, 0.0])
    out.backward(np.array([10.0, 20.0, 30.0, 40.0]))
    np.testing.assert_array_equal(x.grad.data, [10.0, 30.0, 10.0])


def test_index_add_bad_index_raises_shape_error():
    with pytest.raises(cr.ShapeError, match="index_add"):
        IndexAdd.apply(f64([1.0, 2.0]), index=(np.array([0, 7]),), shape=(3,))


def test_getitem_second_order_goes_through_index_add():
    # d/dx sum(x[idx]**2) = index_add(2 x[idx]): x[0] is picked twice, x[1] never.
    x = f64([1.0, 2.0, 3.0])
    idx = [0, 0, 2]
    dx = cr.grad(lambda t: (t[idx] ** 2).sum())(x)
    np.testing.assert_array_equal(dx.data, [4.0, 0.0, 6.0])
    hessian = cr.hessian(lambda t: (t[idx] ** 2).sum())(x)
    np.testing.assert_array_equal(hessian.data, np.diag([4.0, 0.0, 2.0]))
