"""Tensor: creation helpers, the dtype policy, attributes, operators and their errors."""

import numpy as np
import pytest

import chainrule as cr


@pytest.fixture(autouse=True)
def _restore_default_dtype():
    yield
    cr.set_default_dtype("float32")


# ----- creation helpers -----


def test_tensor_copies_data():
    a = np.array([1.0, 2.0])
    t = cr.tensor(a)
    a[0] = 100.0
    assert t.tolist() == [1.0, 2.0]
    assert not np.shares_memory(t.data, a)


def test_tensor_of_tensor_copies_without_graph():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    t = cr.tensor(x)
    assert not t.requires_grad and t.is_leaf
    assert not np.shares_memory(t.data, x.data)
    np.testing.assert_array_equal(t.data, x.data)


def test_tensor_class_constructor_matches_tensor_function():
    t = cr.Tensor([1.0, 2.0], requires_grad=True)
    assert isinstance(t, cr.Tensor)
    assert t.dtype == np.float32 and t.requires_grad and t.is_leaf


@pytest.mark.parametrize(
    "make, shape",
    [
        (lambda: cr.zeros(2, 3), (2, 3)),
        (lambda: cr.zeros((2, 3)), (2, 3)),
        (lambda: cr.zeros(()), ()),
        (lambda: cr.ones(4), (4,)),
        (lambda: cr.ones((2, 1, 3)), (2, 1, 3)),
        (lambda: cr.full((2, 2), 7.5), (2, 2)),
        (lambda: cr.full(3, 1.0), (3,)),
        (lambda: cr.eye(3), (3, 3)),
        (lambda: cr.eye(2, 4), (2, 4)),
        (lambda: cr.rand(3, 2), (3, 2)),
        (lambda: cr.randn((5,)), (5,)),
    ],
)
def test_creation_helpers_shape_and_float32(make, shape):
    t = make()
    assert isinstance(t, cr.Tensor)
    assert t.shape == shape
    assert t.dtype == np.float32
    assert t.is_leaf and not t.requires_grad and t.grad is None


def test_creation_helpers_values():
    np.testing.assert_array_equal(cr.zeros(2, 2).data, np.zeros((2, 2)))
    np.testing.assert_array_equal(cr.ones(3).data, np.ones(3))
    np.testing.assert_array_equal(cr.full((2,), 3.5).data, [3.5, 3.5])
    np.testing.assert_array_equal(cr.eye(3).data, np.eye(3))
    np.testing.assert_array_equal(cr.eye(2, 3).data, np.eye(2, 3))


def test_creation_helpers_dtype_and_requires_grad():
    t = cr.ones(2, dtype="float64", requires_grad=True)
    assert t.dtype == np.float64 and t.requires_grad
    assert cr.zeros(2, dtype=np.float64).dtype == np.float64
    assert cr.eye(2, dtype="float64").dtype == np.float64
    assert cr.full(2, 1.0, dtype="float64").dtype == np.float64
    assert cr.randn(2, dtype="float64").dtype == np.float64
    assert cr.rand(2, requires_grad=True).requires_grad


def test_arange_ints_and_floats():
    ints = cr.arange(5)
    assert ints.dtype == np.int64
    assert ints.tolist() == [0, 1, 2, 3, 4]
    assert cr.arange(1, 7, 2).tolist() == [1, 3, 5]
    floats = cr.arange(0, 1, 0.25)
    assert floats.dtype == np.float32
    np.testing.assert_allclose(floats.data, [0.0, 0.25, 0.5, 0.75])
    assert cr.arange(3, dtype="float64").dtype == np.float64


def test_rand_values_in_unit_interval():
    cr.seed(0)
    u = cr.rand(1000)
    assert u.data.min() >= 0.0 and u.data.max() < 1.0


def test_randn_is_roughly_standard_normal():
    cr.seed(0)
    z = cr.randn(10_000, dtype="float64")
    assert abs(z.data.mean()) < 0.05
    assert abs(z.data.std() - 1.0) < 0.05


def test_seed_makes_random_helpers_reproducible():
    cr.seed(123)
    a, b = cr.rand(3, 4), cr.randn(5)
    cr.seed(123)
    c, d = cr.rand(3, 4), cr.randn(5)
    np.testing.assert_array_equal(a.data, c.data)
    np.testing.assert_array_equal(b.data, d.data)
    cr.seed(124)
    assert not np.array_equal(cr.rand(3, 4).data, a.data)


def test_zeros_like_and_ones_like_follow_input():
    x = cr.tensor(np.arange(6.0).reshape(2, 3))
    z, o = cr.zeros_like(x), cr.ones_like(x)
    assert z.shape == o.shape == (2, 3)
    assert z.dtype == o.dtype == np.float64
    np.testing.assert_array_equal(z.data, np.zeros((2, 3)))
    np.testing.assert_array_equal(o.data, np.ones((2, 3)))
    assert cr.zeros_like(cr.tensor([1, 2])).dtype == np.int64
    assert cr.ones_like(np.zeros(3, np.float32)).dtype == np.float32
    assert cr.zeros_like(x, dtype="float32").dtype == np.float32
    assert cr.ones_like(x, requires_grad=True).requires_grad


# ----- dtype policy -----


@pytest.mark.parametrize("data", [1.5, [1.0, 2.0], [[1.0], [2.0]], [1, 2.5], (0.5, 1.5)])
def test_dtype_python_floats_become_float32(data):
    assert cr.tensor(data).dtype == np.float32


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_dtype_numpy_arrays_keep_float_dtype(dtype):
    assert cr.tensor(np.ones(3, dtype=dtype)).dtype == dtype
    assert cr.tensor(dtype(1.0)).dtype == dtype


def test_dtype_numpy_int_arrays_keep_dtype():
    assert cr.tensor(np.arange(3, dtype=np.int32)).dtype == np.int32


def test_dtype_python_ints_become_int64_and_bools_bool():
    assert cr.tensor(3).dtype == np.int64
    assert cr.tensor([1, 2, 3]).dtype == np.int64
    assert cr.tensor(True).dtype == np.bool_
    assert cr.tensor([True, False]).dtype == np.bool_


def test_dtype_explicit_argument_wins():
    assert cr.tensor([1, 2], dtype="float64").dtype == np.float64
    assert cr.tensor(np.ones(2, np.float64), dtype=np.float32).dtype == np.float32
    assert cr.tensor(1.5, dtype="float16").dtype == np.float16


def test_set_default_dtype_changes_float_creation():
    cr.set_default_dtype("float64")
    assert cr.get_default_dtype() == np.float64
    assert cr.tensor(1.5).dtype == np.float64
    assert cr.tensor([1.0, 2.0]).dtype == np.float64
    assert cr.zeros(2).dtype == cr.ones(2).dtype == cr.eye(2).dtype == np.float64
    assert cr.rand(2).dtype == cr.randn(2).dtype == np.float64
    assert cr.arange(0, 1, 0.5).dtype == np.float64
    # ints and NumPy arrays are not affected
    assert cr.tensor(1).dtype == np.int64
    assert cr.tensor(np.ones(2, np.float32)).dtype == np.float32
    cr.set_default_dtype(np.float32)
    assert cr.tensor(1.5).dtype == np.float32


@pytest.mark.parametrize("dtype", ["int32", "bool", np.int64])
def test_set_default_dtype_rejects_non_float(dtype):
    with pytest.raises(TypeError, match="floating"):
        cr.set_default_dtype(dtype)
    assert cr.get_default_dtype() == np.float32


@pytest.mark.parametrize(
    "make",
    [
        lambda: cr.tensor([1, 2], requires_grad=True),
        lambda: cr.tensor(True, requires_grad=True),
        lambda: cr.tensor(np.arange(3, dtype=np.int32), requires_grad=True),
        lambda: cr.zeros(2, dtype="int64", requires_grad=True),
        lambda: cr.arange(3, requires_grad=True),
        lambda: cr.tensor([1, 2]).requires_grad_(),
    ],
)
def test_int_and_bool_tensors_cannot_require_grad(make):
    with pytest.raises(TypeError, match="floating"):
        make()


def test_int_tensor_requires_grad_attribute_assignment_raises():
    # The PyTorch idiom `t.requires_grad = True` must not sneak past the dtype check:
    # today it is accepted and backward writes a truncated integer gradient (2, not 2.5).
    # Either the assignment or the backward must refuse it.
    t = cr.tensor([1, 2])
    with pytest.raises((TypeError, RuntimeError), match="float|integer|int64"):
        t.requires_grad = True
        (t * 2.5).sum().backward()


def test_int_tensor_is_usable_without_grad():
    i = cr.tensor([1, 2, 3])
    y = i * 2
    assert y.dtype == np.int64 and not y.requires_grad
    assert y.tolist() == [2, 4, 6]


# ----- attributes -----


def test_attributes_of_leaf():
    x = cr.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    assert isinstance(x.data, np.ndarray)
    assert x.grad is None
    assert x.requires_grad and x.is_leaf and x.gate is None
    assert x.shape == (2, 3) and x.ndim == 2 and x.size == 6
    assert x.dtype == np.float32
    assert len(x) == 2


def test_attributes_of_gate_output():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    assert y.requires_grad and not y.is_leaf
    assert isinstance(y.gate, cr.Gate)
    assert type(y.gate).__name__ == "Multiply"


def test_transpose_property_is_differentiable():
    x = cr.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    y = x.T
    assert y.shape == (3, 2)
    np.testing.assert_array_equal(y.data, x.data.T)
    (y * cr.tensor(np.arange(6.0).reshape(3, 2))).sum().backward()
    np.testing.assert_array_equal(x.grad.data, np.arange(6.0).reshape(3, 2).T)


def test_numpy_returns_underlying_array():
    x = cr.tensor([1.0, 2.0])
    assert x.numpy() is x.data
    assert isinstance(x.numpy(), np.ndarray)


def test_asarray_gives_the_array():
    x = cr.tensor([1.0, 2.0])
    a = np.asarray(x)
    assert type(a) is np.ndarray
    assert a.dtype == np.float32
    np.testing.assert_array_equal(a, [1.0, 2.0])
    assert np.asarray(x, dtype=np.float64).dtype == np.float64
    copied = np.array(x)
    assert type(copied) is np.ndarray and not np.shares_memory(copied, x.data)


def test_item_of_one_element_tensors():
    assert cr.tensor(2.5).item() == 2.5
    assert isinstance(cr.tensor(2.5).item(), float)
    assert cr.tensor([[3.0]]).item() == 3.0
    assert cr.tensor(7).item() == 7 and isinstance(cr.tensor(7).item(), int)


def test_item_of_larger_tensor_raises():
    with pytest.raises(ValueError, match=r"one-element.*\(2,\)"):
        cr.tensor([1.0, 2.0]).item()


def test_tolist_nested():
    assert cr.tensor([[1.0, 2.0], [3.0, 4.0]]).tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert cr.tensor(1.5).tolist() == 1.5


def test_len_and_iteration():
    x = cr.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], requires_grad=True)
    assert len(x) == 3
    rows = list(x)
    assert len(rows) == 3
    assert all(isinstance(r, cr.Tensor) and r.shape == (2,) for r in rows)
    assert [r.tolist() for r in rows] == x.tolist()
    # iteration is indexing, so it stays differentiable
    (rows[0] + rows[2] * 2).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[1, 1], [0, 0], [2, 2]])


def test_len_of_0d_tensor_raises():
    with pytest.raises(TypeError, match="0-d"):
        len(cr.tensor(1.0))


def test_float_and_int_conversions():
    assert float(cr.tensor(2.5)) == 2.5
    assert int(cr.tensor(3)) == 3
    assert bool(cr.tensor(1.0)) is True


# ----- detach, requires_grad_, retain_grad -----


def test_detach_shares_data_and_cuts_graph():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    d = y.detach()
    assert d.is_leaf and not d.requires_grad and d.gate is None
    assert np.shares_memory(d.data, y.data)
    np.testing.assert_array_equal(d.data, y.data)


def test_requires_grad_on_leaf_returns_self():
    x = cr.tensor([1.0, 2.0])
    assert x.requires_grad_() is x
    assert x.requires_grad
    assert x.requires_grad_(False) is x
    assert not x.requires_grad


def test_requires_grad_on_non_leaf_raises():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match=r"leaf.*Multiply.*detach"):
        y.requires_grad_(False)


def test_retain_grad_keeps_intermediate_grad():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    assert h.retain_grad() is h
    (h * h).sum().backward()
    np.testing.assert_allclose(h.grad.data, 2 * h.data)
    np.testing.assert_allclose(x.grad.data, 18 * x.data)


def test_retain_grad_on_leaf_is_harmless():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    x.retain_grad()
    (x * 2).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [2.0, 2.0])


def test_retain_grad_without_requires_grad_raises():
    with pytest.raises(RuntimeError, match="does not require grad"):
        cr.tensor([1.0]).retain_grad()


# ----- repr -----


def test_repr_shows_values_dtype_and_gate():
    x = cr.tensor([1.5, 2.5], requires_grad=True)
    r = repr(x * 2)
    assert "3." in r and "5." in r
    assert "float32" in r
    assert "Multiply" in r


def test_repr_of_leaf_shows_requires_grad_and_name():
    r = repr(cr.tensor([1.0, 2.0], requires_grad=True, name="w"))
    assert "requires_grad=True" in r and "'w'" in r and "float32" in r
    r = repr(cr.tensor([1, 2]))
    assert "1, 2" in r and "int64" in r and "gate" not in r


# ----- comparisons -----


@pytest.mark.parametrize(
    "op, expected",
    [
        (lambda a, b: a < b, [True, False, False]),
        (lambda a, b: a <= b, [True, True, False]),
        (lambda a, b: a > b, [False, False, True]),
        (lambda a, b: a >= b, [False, True, True]),
        (lambda a, b: a == b, [False, True, False]),
        (lambda a, b: a != b, [True, False, True]),
    ],
)
def test_comparisons_return_non_differentiable_bool_tensors(op, expected):
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    for other in (2.0, np.full(3, 2.0), cr.tensor([2.0, 2.0, 2.0], requires_grad=True)):
        out = op(x, other)
        assert isinstance(out, cr.Tensor)
        assert out.dtype == np.bool_
        assert not out.requires_grad and out.is_leaf
        assert out.tolist() == expected


def test_tensor_hash_is_identity():
    a, b = cr.tensor([1.0]), cr.tensor([1.0])
    assert len({a, b}) == 2
    assert {a: 1}[a] == 1


# ----- reflected operators -----


def test_reflected_operators_with_python_scalars():
    x = cr.tensor([1.0, 2.0, 4.0], requires_grad=True)
    for out, expected, dx in [
        (2 - x, [1.0, 0.0, -2.0], [-1.0, -1.0, -1.0]),
        (2 + x, [3.0, 4.0, 6.0], [1.0, 1.0, 1.0]),
        (2 * x, [2.0, 4.0, 8.0], [2.0, 2.0, 2.0]),
        (2 / x, [2.0, 1.0, 0.5], [-2.0, -0.5, -0.125]),
        (2**x, [2.0, 4.0, 16.0], list(np.log(2.0) * np.array([2.0, 4.0, 16.0]))),
    ]:
        x.grad = None
        assert out.dtype == np.float32
        np.testing.assert_allclose(out.data, expected, rtol=1e-6)
        out.sum().backward()
        np.testing.assert_allclose(x.grad.data, dx, rtol=1e-6)


def test_reflected_operators_with_numpy_arrays_on_the_left():
    x = cr.tensor([1.0, 2.0, 4.0], dtype="float64", requires_grad=True)
    a = np.array([3.0, 5.0, 7.0])
    cases = [
        (lambda: a * x, a * x.data, a),
        (lambda: a - x, a - x.data, -np.ones(3)),
        (lambda: a + x, a + x.data, np.ones(3)),
        (lambda: a / x, a / x.data, -a / x.data**2),
        (lambda: np.ones(3) * x, x.data, np.ones(3)),
    ]
    for make, value, dx in cases:
        x.grad = None
        out = make()
        assert isinstance(out, cr.Tensor) and out.requires_grad
        np.testing.assert_allclose(out.data, value)
        out.sum().backward()
        np.testing.assert_allclose(x.grad.data, dx)


def test_reflected_matmul_with_numpy_array_on_the_left():
    w = np.arange(6.0).reshape(2, 3)
    x = cr.tensor([1.0, -1.0, 2.0], dtype="float64", requires_grad=True)
    out = w @ x
    assert isinstance(out, cr.Tensor)
    np.testing.assert_allclose(out.data, w @ x.data)
    out.sum().backward()
    np.testing.assert_allclose(x.grad.data, w.sum(axis=0))


def test_reflected_operators_with_numpy_scalars_on_the_left():
    x = cr.tensor([1.0, 2.0], dtype="float64", requires_grad=True)
    out = np.float64(2) / x
    assert isinstance(out, cr.Tensor)
    np.testing.assert_allclose(out.data, [2.0, 1.0])
    out.sum().backward()
    np.testing.assert_allclose(x.grad.data, [-2.0, -0.5])
    x.grad = None
    (np.float32(3) * x).sum().backward()
    np.testing.assert_allclose(x.grad.data, [3.0, 3.0])


def test_unary_operators():
    x = cr.tensor([1.0, -2.0], requires_grad=True)
    assert (+x) is x
    (-x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [-1.0, -1.0])


def test_operators_accept_python_lists():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    out = x + [10.0, 20.0]
    np.testing.assert_array_equal(out.data, [11.0, 22.0])
    assert out.dtype == np.float32


# ----- item assignment -----


@pytest.mark.parametrize("index", [0, slice(None), (0,), np.array([True, False])])
def test_item_assignment_raises_clear_type_error(index):
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match="item assignment"):
        x[index] = 5.0
    np.testing.assert_array_equal(x.data, [1.0, 2.0])


def test_tensor_builtin_abs_is_the_abs_gate():
    x = cr.tensor([-2.0, 3.0], requires_grad=True)
    y = abs(x)
    assert type(y.gate).__name__ == "Abs"
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [-1.0, 1.0])
