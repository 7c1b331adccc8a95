"""Function transforms: grad, value_and_grad, vjp, jvp, jacobian, hessian (JAX conventions)."""

import numpy as np
import pytest

import chainrule as cr


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def f64(value):
    return np.asarray(value, dtype=np.float64)


# ----- grad -----


def test_grad_of_scalar_function():
    d = cr.grad(lambda x: x**3)
    out = d(2.0)
    assert isinstance(out, cr.Tensor)
    assert out.item() == pytest.approx(12.0)


def test_grad_result_has_argument_shape_and_dtype(rng):
    x = rng.standard_normal((3, 2))
    g = cr.grad(lambda t: (cr.sin(t) * t).sum())(x)
    assert g.shape == (3, 2) and g.dtype == np.float64
    np.testing.assert_allclose(g.data, np.cos(x) * x + np.sin(x), rtol=1e-12)


def test_grad_result_is_not_part_of_a_graph():
    g = cr.grad(lambda x: x**2)(3.0)
    assert not g.requires_grad and g.is_leaf


def test_grad_argnums_int():
    f = lambda x, y: x * y**2  # noqa: E731
    assert cr.grad(f)(2.0, 3.0).item() == pytest.approx(9.0)
    assert cr.grad(f, argnums=1)(2.0, 3.0).item() == pytest.approx(12.0)
    assert cr.grad(f, argnums=-1)(2.0, 3.0).item() == pytest.approx(12.0)


def test_grad_argnums_tuple():
    f = lambda x, y, z: x * y**2 + z  # noqa: E731
    gx, gz = cr.grad(f, argnums=(0, 2))(2.0, 3.0, 5.0)
    assert (gx.item(), gz.item()) == pytest.approx((9.0, 1.0))
    (gy,) = cr.grad(f, argnums=(1,))(2.0, 3.0, 5.0)
    assert gy.item() == pytest.approx(12.0)


def test_grad_argnums_out_of_range_raises():
    with pytest.raises(ValueError, match="argnums"):
        cr.grad(lambda x, y: x * y, argnums=2)(1.0, 2.0)


def test_grad_passes_keyword_arguments_through():
    d = cr.grad(lambda x, scale=1.0: scale * x * x)
    assert d(2.0, scale=3.0).item() == pytest.approx(12.0)


def test_grad_accepts_tensors_and_leaves_their_grad_alone():
    x = cr.tensor([1.0, 2.0], dtype="float64", requires_grad=True)
    g = cr.grad(lambda t: (t**2).sum())(x)
    np.testing.assert_allclose(g.data, [2.0, 4.0])
    assert x.grad is None


def test_grad_composes_second_derivative():
    d2 = cr.grad(cr.grad(lambda x: x**3))
    assert d2(2.0).item() == pytest.approx(12.0)


def test_grad_composes_third_and_fourth_derivative():
    f = lambda x: cr.sin(x) * x**2  # noqa: E731
    d3 = cr.grad(cr.grad(cr.grad(f)))
    d4 = cr.grad(d3)
    x = 0.7
    # (x^2 sin x)''' = -x^2 cos x - 6 x sin x + 6 cos x
    expected3 = -(x**2) * np.cos(x) - 6 * x * np.sin(x) + 6 * np.cos(x)
    expected4 = x**2 * np.sin(x) - 8 * x * np.cos(x) - 12 * np.sin(x)
    assert d3(f64(x)).item() == pytest.approx(expected3, rel=1e-10)
    assert d4(f64(x)).item() == pytest.approx(expected4, rel=1e-10)


def test_grad_of_polynomial_vanishes_past_its_degree():
    d4 = cr.grad(cr.grad(cr.grad(cr.grad(lambda x: x**3))))
    assert d4(2.0).item() == 0.0


def test_grad_nested_closure_over_outer_variable():
    # d/dw [d/dx (w x^2)](x=3) = d/dw (6 w) = 6
    out = cr.grad(lambda w: cr.grad(lambda x: w * x**2)(3.0))(2.0)
    assert out.item() == pytest.approx(6.0)


def test_grad_nested_no_perturbation_confusion():
    # d/dx [x * d/dy (x y)] ... the inner derivative is with respect to y only:
    # grad(lambda x: grad(lambda y: x * y)(x))(3.0) = d/dx x = 1 (JAX gives 1, not 2).
    assert cr.grad(lambda x: cr.grad(lambda y: x * y)(x))(3.0).item() == pytest.approx(1.0)
    # d/dw [2 w x](x=w) = d/dw 2 w^2 = 4 w
    out = cr.grad(lambda w: cr.grad(lambda x: w * x**2)(w))(2.0)
    assert out.item() == pytest.approx(8.0)


def test_grad_argument_that_is_also_closed_over():
    x = cr.tensor(3.0, dtype="float64", requires_grad=True)
    assert cr.grad(lambda y: x * y)(x).item() == pytest.approx(3.0)
    gx, gy = cr.grad(lambda a, b: a * b, argnums=(0, 1))(x, x)
    assert (gx.item(), gy.item()) == pytest.approx((3.0, 3.0))


def test_grad_of_function_independent_of_argument_is_zero():
    g = cr.grad(lambda x, y: y * 2, argnums=0)(f64([1.0, 2.0]), 3.0)
    np.testing.assert_array_equal(g.data, [0.0, 0.0])
    assert cr.grad(lambda x: cr.tensor(1.0))(2.0).item() == 0.0


def test_grad_works_inside_no_grad():
    with cr.no_grad():
        assert cr.grad(lambda x: x**2)(3.0).item() == pytest.approx(6.0)
        assert not cr.is_grad_enabled()


def test_grad_non_scalar_output_raises():
    with pytest.raises(ValueError, match=r"scalar.*\(2,\)"):
        cr.grad(lambda x: x * 2)(f64([1.0, 2.0]))


@pytest.mark.parametrize("arg", [3, np.array([1, 2]), True])
def test_grad_integer_argument_raises(arg):
    with pytest.raises(TypeError, match="floating"):
        cr.grad(lambda x: x * 2.0)(arg)


def test_grad_non_tensor_output_raises():
    with pytest.raises(TypeError, match="must return a tensor"):
        cr.grad(lambda x: "nope")(1.0)


# ----- value_and_grad -----


def test_value_and_grad():
    value, g = cr.value_and_grad(lambda x: (x**2).sum())(f64([1.0, 2.0]))
    assert value.item() == pytest.approx(5.0)
    np.testing.assert_allclose(g.data, [2.0, 4.0])
    assert not value.requires_grad


def test_value_and_grad_argnums_tuple():
    value, (gx, gy) = cr.value_and_grad(lambda x, y: x * y, argnums=(0, 1))(2.0, 5.0)
    assert value.item() == 10.0
    assert (gx.item(), gy.item()) == (5.0, 2.0)


# ----- vjp -----


def test_vjp_shape_and_values(rng):
    w = rng.standard_normal((3, 4))
    x = rng.standard_normal(4)
    out, vjp_fn = cr.vjp(lambda t: cr.tanh(cr.tensor(w) @ t), x)
    assert out.shape == (3,)
    np.testing.assert_allclose(out.data, np.tanh(w @ x))
    v = rng.standard_normal(3)
    (vx,) = vjp_fn(v)
    assert vx.shape == (4,)
    np.testing.assert_allclose(vx.data, w.T @ (v * (1 - np.tanh(w @ x) ** 2)), rtol=1e-12)


def test_vjp_multiple_primals():
    out, vjp_fn = cr.vjp(lambda x, y: x * y, f64([1.0, 2.0]), f64([3.0, 4.0]))
    np.testing.assert_array_equal(out.data, [3.0, 8.0])
    vx, vy = vjp_fn(f64([1.0, 10.0]))
    np.testing.assert_array_equal(vx.data, [3.0, 40.0])
    np.testing.assert_array_equal(vy.data, [1.0, 20.0])


def test_vjp_fn_can_be_called_repeatedly():
    _, vjp_fn = cr.vjp(lambda x: x**2, f64([1.0, 2.0]))
    (a,) = vjp_fn(f64([1.0, 0.0]))
    (b,) = vjp_fn(f64([0.0, 1.0]))
    np.testing.assert_array_equal(a.data, [2.0, 0.0])
    np.testing.assert_array_equal(b.data, [0.0, 4.0])


def test_vjp_cotangent_shape_mismatch_raises():
    _, vjp_fn = cr.vjp(lambda x: x * 2, f64([1.0, 2.0]))
    with pytest.raises(ValueError, match=r"\(3,\).*\(2,\)"):
        vjp_fn(np.ones(3))


# ----- jvp -----


def _central_jvp(f, primals, tangents, eps=1e-6):
    plus = [p + eps * t for p, t in zip(primals, tangents)]
    minus = [p - eps * t for p, t in zip(primals, tangents)]
    with cr.no_grad():
        return (np.asarray(f(*map(cr.tensor, plus))) - np.asarray(f(*map(cr.tensor, minus)))) / (
            2 * eps
        )


def test_jvp_against_finite_differences(rng):
    x, t = rng.standard_normal(5), rng.standard_normal(5)
    f = lambda a: cr.sin(a) * a + cr.exp(a).sum()  # noqa: E731
    out, tangent_out = cr.jvp(f, (x,), (t,))
    np.testing.assert_allclose(out.data, np.sin(x) * x + np.exp(x).sum())
    np.testing.assert_allclose(tangent_out.data, _central_jvp(f, [x], [t]), rtol=1e-6)


def test_jvp_multiple_primals_against_finite_differences(rng):
    w, x = rng.standard_normal((3, 4)), rng.standard_normal(4)
    tw, tx = rng.standard_normal((3, 4)), rng.standard_normal(4)
    f = lambda a, b: cr.tanh(a @ b)  # noqa: E731
    out, tangent_out = cr.jvp(f, (w, x), (tw, tx))
    assert tangent_out.shape == out.shape == (3,)
    np.testing.assert_allclose(tangent_out.data, _central_jvp(f, [w, x], [tw, tx]), rtol=1e-6)


def test_jvp_equals_jacobian_times_tangent(rng):
    x, t = rng.standard_normal(4), rng.standard_normal(4)
    a = rng.standard_normal((3, 4))
    f = lambda v: cr.sigmoid(cr.tensor(a) @ v) * v[:3]  # noqa: E731
    _, tangent_out = cr.jvp(f, (x,), (t,))
    jac = cr.jacobian(f)(x)
    np.testing.assert_allclose(tangent_out.data, jac.data @ t, rtol=1e-12)


def test_jvp_tangent_shape_mismatch_raises():
    with pytest.raises(ValueError, match="tangent"):
        cr.jvp(lambda x: x * 2, (f64([1.0, 2.0]),), (f64([1.0]),))
    with pytest.raises(ValueError, match="tangents"):
        cr.jvp(lambda x: x * 2, (f64([1.0, 2.0]),), ())


# ----- jacobian -----


def test_jacobian_shape_is_out_shape_plus_x_shape(rng):
    w = rng.standard_normal((3, 2))
    jac = cr.jacobian(lambda x: x @ cr.tensor(w))(rng.standard_normal((4, 3)))
    assert jac.shape == (4, 2, 4, 3)
    # d(x @ w)[i, j] / dx[k, l] = delta_ik w[l, j]
    expected = np.einsum("ik,lj->ijkl", np.eye(4), w)
    np.testing.assert_allclose(jac.data, expected)


def test_jacobian_of_elementwise_relu_is_diagonal():
    x = f64([-1.0, 2.0, -0.5, 3.0])
    jac = cr.jacobian(cr.relu)(x)
    np.testing.assert_array_equal(jac.data, np.diag([0.0, 1.0, 0.0, 1.0]))


def test_jacobian_of_scalar_function_is_gradient():
    x = f64([1.0, 2.0])
    np.testing.assert_allclose(cr.jacobian(lambda t: (t**2).sum())(x).data, [2.0, 4.0])


def test_jacobian_of_scalar_input():
    jac = cr.jacobian(lambda t: t * f64([1.0, 2.0]))(2.0)
    assert jac.shape == (2,)
    np.testing.assert_allclose(jac.data, [1.0, 2.0])


def test_jacobian_argnums_tuple():
    jx, jy = cr.jacobian(lambda x, y: x * y, argnums=(0, 1))(f64([1.0, 2.0]), f64([3.0, 4.0]))
    np.testing.assert_array_equal(jx.data, np.diag([3.0, 4.0]))
    np.testing.assert_array_equal(jy.data, np.diag([1.0, 2.0]))


def test_jacobian_of_constant_function_is_zero():
    jac = cr.jacobian(lambda t: cr.ones(2, dtype="float64"))(f64([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(jac.data, np.zeros((2, 3)))


def test_jacobian_matches_finite_differences(rng):
    x = rng.standard_normal(3)
    f = lambda t: cr.softmax(t * t)  # noqa: E731
    jac = cr.jacobian(f)(x)
    numeric = np.stack([_central_jvp(f, [x], [e]) for e in np.eye(3)], axis=-1)
    np.testing.assert_allclose(jac.data, numeric, rtol=1e-6, atol=1e-9)


# ----- hessian -----


def test_hessian_of_quadratic_form_is_a_plus_a_transpose(rng):
    a = rng.standard_normal((4, 4))
    x = rng.standard_normal(4)
    h = cr.hessian(lambda t: t @ (cr.tensor(a) @ t))(x)
    assert h.shape == (4, 4)
    np.testing.assert_allclose(h.data, a + a.T, rtol=1e-12)


def test_hessian_of_separable_function_is_diagonal():
    x = f64([1.0, 2.0])
    h = cr.hessian(lambda t: (t**3).sum())(x)
    np.testing.assert_allclose(h.data, np.diag([6.0, 12.0]))


def test_hessian_matrix_argument_shape(rng):
    x = rng.standard_normal((2, 3))
    h = cr.hessian(lambda t: (cr.tanh(t) ** 2).sum())(x)
    assert h.shape == (2, 3, 2, 3)
    th = np.tanh(x)
    diag = 2 * (1 - th**2) ** 2 - 4 * th**2 * (1 - th**2)
    np.testing.assert_allclose(h.data.reshape(6, 6), np.diag(diag.ravel()), atol=1e-12)


def test_hessian_equals_jacobian_of_grad(rng):
    x = rng.standard_normal(3)
    f = lambda t: cr.logsumexp(t * t)  # noqa: E731
    np.testing.assert_allclose(cr.hessian(f)(x).data, cr.jacobian(cr.grad(f))(x).data, rtol=1e-12)


def test_hessian_argnums_must_be_int():
    with pytest.raises(TypeError, match="argnums"):
        cr.hessian(lambda x, y: x * y, argnums=(0, 1))


# ----- transforms composed with each other -----


def test_grad_of_vjp():
    def slope(x):
        _, vjp_fn = cr.vjp(lambda t: t**3, x)
        return vjp_fn(f64(1.0))[0]  # 3 x^2

    assert cr.grad(slope)(f64(3.0)).item() == pytest.approx(18.0)


def test_grad_of_jvp():
    def slope(x):
        return cr.jvp(lambda t: t**3, (x,), (f64(1.0),))[1]  # 3 x^2

    assert cr.grad(slope)(f64(3.0)).item() == pytest.approx(18.0)


def test_grad_of_value_and_grad():
    assert cr.grad(lambda x: cr.value_and_grad(lambda t: t**3)(x)[1])(f64(2.0)).item() == 12.0


def test_grad_of_hessian():
    out = cr.grad(lambda x: cr.hessian(lambda t: (t**4).sum())(x).sum())(f64([1.0, 2.0]))
    np.testing.assert_allclose(out.data, [24.0, 48.0])


def test_jacobian_of_jvp():
    jac = cr.jacobian(lambda x: cr.jvp(lambda t: t**3, (x,), (np.ones(2),))[1])(f64([1.0, 2.0]))
    np.testing.assert_allclose(jac.data, np.diag([6.0, 12.0]))


def test_transform_state_restored_after_exception():
    with pytest.raises(ZeroDivisionError):
        cr.grad(lambda x: 1 / 0)(1.0)
    g = cr.grad(lambda x: x * x)(3.0)
    assert not g.requires_grad  # not mistaken for a nested call
    assert g.item() == 6.0
