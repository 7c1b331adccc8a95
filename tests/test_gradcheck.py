"""Gradient checking: numerical_gradient, rel_error, gradcheck, gradgradcheck."""

import re
import warnings

import numpy as np
import pytest

import chainrule as cr


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def leaf(value):
    return cr.tensor(value, dtype="float64", requires_grad=True)


# ----- numerical_gradient -----


def test_numerical_gradient_of_square():
    g = cr.numerical_gradient(lambda x: (x**2).sum(), np.array([1.0, -3.0]))
    assert isinstance(g, np.ndarray)
    np.testing.assert_allclose(g, [2.0, -6.0], rtol=1e-8)


def test_numerical_gradient_matches_backprop_cs231n_style(rng):
    # CS231n: "relative errors around 1e-7 or less are good" for a smooth function.
    x = rng.standard_normal((4, 5))
    w = rng.standard_normal((5, 3))

    def loss(t):
        return cr.log_softmax(cr.tanh(t @ cr.tensor(w)), axis=1).sum()

    numeric = cr.numerical_gradient(loss, x)
    analytic = cr.grad(loss)(x)
    assert numeric.shape == x.shape
    assert cr.rel_error(analytic, numeric) < 1e-7


def test_numerical_gradient_accepts_tensor_and_leaves_it_unchanged(rng):
    x = leaf(rng.standard_normal(3))
    before = x.data.copy()
    g = cr.numerical_gradient(lambda t: cr.exp(t).sum(), x)
    np.testing.assert_allclose(g, np.exp(before), rtol=1e-8)
    np.testing.assert_array_equal(x.data, before)
    assert x.grad is None


def test_numerical_gradient_of_non_scalar_with_grad_output(rng):
    x = rng.standard_normal(3)
    v = rng.standard_normal(3)
    g = cr.numerical_gradient(lambda t: cr.sin(t), x, grad_output=v)
    np.testing.assert_allclose(g, v * np.cos(x), rtol=1e-7)


def test_numerical_gradient_of_non_scalar_without_grad_output_raises():
    with pytest.raises(ValueError, match=r"grad_output"):
        cr.numerical_gradient(lambda t: t * 2, np.array([1.0, 2.0]))


def test_numerical_gradient_eps_parameter():
    # with a huge eps the central difference of x^3 is 3x^2 + eps^2
    g = cr.numerical_gradient(lambda t: (t**3).sum(), np.array([1.0]), eps=0.5)
    np.testing.assert_allclose(g, [3.25])


def test_numerical_gradient_integer_input_raises():
    with pytest.raises(TypeError, match="floating"):
        cr.numerical_gradient(lambda t: t.sum(), np.array([1, 2]))


def test_numerical_gradient_warns_on_float32():
    with pytest.warns(UserWarning, match="float64"):
        cr.numerical_gradient(lambda t: (t * t).sum(), np.ones(2, np.float32))


def test_numerical_gradient_float64_does_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cr.numerical_gradient(lambda t: (t * t).sum(), np.ones(2))


# ----- rel_error -----


def test_rel_error_cs231n_definition():
    a, b = np.array([1.0, 2.0, -3.0]), np.array([1.1, 2.0, -3.3])
    expected = np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b)))
    assert cr.rel_error(a, b) == pytest.approx(expected, rel=1e-15)
    assert cr.rel_error([1.0, 2.0], [1.0, 2.000001]) == pytest.approx(2.5e-7, rel=1e-5)


def test_rel_error_is_symmetric_and_zero_for_equal():
    a, b = np.array([0.3, -2.0]), np.array([0.31, -2.5])
    assert cr.rel_error(a, b) == cr.rel_error(b, a)
    assert cr.rel_error(a, a) == 0.0


def test_rel_error_with_zeros():
    assert cr.rel_error(np.zeros(3), np.zeros(3)) == 0.0
    # the 1e-8 floor keeps tiny absolute differences between near-zeros small
    assert cr.rel_error([0.0], [1e-12]) == pytest.approx(1e-4)
    assert cr.rel_error([0.0], [1.0]) == 1.0
    assert cr.rel_error([1.0], [-1.0]) == 1.0


def test_rel_error_accepts_tensors_and_scalars():
    assert cr.rel_error(cr.tensor([1.0, 2.0]), np.array([1.0, 2.0])) == 0.0
    assert cr.rel_error(2.0, 2.0) == 0.0
    assert isinstance(cr.rel_error(1.0, 2.0), float)


def test_rel_error_shape_mismatch_raises():
    with pytest.raises(ValueError, match=r"\(2,\).*\(3,\)"):
        cr.rel_error(np.ones(2), np.ones(3))


def test_rel_error_empty_is_zero():
    assert cr.rel_error(np.zeros(0), np.zeros(0)) == 0.0


# ----- gradcheck -----


def test_gradcheck_true_for_correct_gradients(rng):
    x, w = leaf(rng.standard_normal((2, 3))), leaf(rng.standard_normal((3, 4)))
    assert cr.gradcheck(lambda a, b: cr.tanh(a @ b), (x, w)) is True


def test_gradcheck_single_input_need_not_be_a_tuple():
    assert cr.gradcheck(cr.sin, leaf([0.1, 0.2]))


def test_gradcheck_skips_inputs_that_do_not_require_grad(rng):
    x = leaf(rng.standard_normal(3))
    constant = rng.standard_normal(3)
    assert cr.gradcheck(lambda a, c: a * c, (x, constant))
    assert cr.gradcheck(lambda a, c: a * c, (x, cr.tensor(constant)))


def test_gradcheck_leaves_grad_untouched(rng):
    x = leaf(rng.standard_normal(3))
    cr.gradcheck(cr.exp, (x,))
    assert x.grad is None


def test_gradcheck_unused_input_passes():
    x, unused = leaf([1.0, 2.0]), leaf([3.0])
    assert cr.gradcheck(lambda a, b: a * 2, (x, unused))


class _WrongAtOne(cr.Gate):
    """out = x^2 with a backward that is wrong at element 1 only."""

    def forward(self, x):
        self.save(x)
        return x * x

    def backward(self, g):
        (x,) = self.saved
        dx = 2 * g * x
        dx[1] *= 1.5
        return (dx,)


def test_gradcheck_error_names_input_worst_element_and_both_values():
    x = leaf([0.5, 2.0, -1.0])
    y = leaf([1.0, 1.0, 1.0])
    with pytest.raises(cr.GradcheckError) as info:
        cr.gradcheck(lambda a, b: (_WrongAtOne.apply(b) * a).sum(), (x, y))
    message = str(info.value)
    assert "input 1" in message
    match = re.search(r"index \((\d+),\): analytic (\S+), numerical (\S+)", message)
    assert match, message
    assert int(match[1]) == 1
    analytic, numeric = float(match[2]), float(match[3])
    # the output is a scalar, projected on one random number v: analytic = 1.5 numeric
    assert analytic == pytest.approx(1.5 * numeric, rel=1e-6)
    assert abs(numeric) > 0


def test_gradcheck_error_names_a_named_input():
    x = cr.tensor([0.5, 2.0, -1.0], dtype="float64", requires_grad=True, name="weights")
    with pytest.raises(cr.GradcheckError, match=r"input 0 \(weights\)"):
        cr.gradcheck(_WrongAtOne.apply, (x,))


def test_gradcheck_error_reports_index_in_nd():
    x = leaf(np.ones((2, 2)))

    class WrongCorner(cr.Gate):
        def forward(self, x):
            return x * 3

        def backward(self, g):
            dx = 3 * g
            dx[1, 0] = 0.0
            return (dx,)

    with pytest.raises(cr.GradcheckError, match=r"index \(1, 0\)"):
        cr.gradcheck(WrongCorner.apply, (x,))


def test_gradcheck_returns_false_without_raising():
    x = leaf([0.5, 2.0, -1.0])
    assert cr.gradcheck(_WrongAtOne.apply, (x,), raise_exception=False) is False


def test_gradcheck_tolerances():
    class SlightlyOff(cr.Gate):
        def forward(self, x):
            return x * 2

        def backward(self, g):
            return (g * 2 * (1 + 1e-4),)

    x = leaf([1.0, 2.0])
    assert cr.gradcheck(SlightlyOff.apply, (x,), rtol=1e-3)
    assert not cr.gradcheck(SlightlyOff.apply, (x,), rtol=1e-6, atol=0, raise_exception=False)


def test_gradcheck_non_scalar_output_checks_whole_vjp(rng):
    x = leaf(rng.standard_normal((3, 2)))
    assert cr.gradcheck(lambda t: cr.softmax(t, axis=0), (x,))


def test_gradcheck_warns_on_float32():
    x = cr.tensor([0.5, 1.5], requires_grad=True)
    with pytest.warns(UserWarning, match="float32.*float64") as record:
        cr.gradcheck(lambda t: t * 2, (x,), eps=1e-2, raise_exception=False)
    assert any(w.filename == __file__ for w in record)  # points at the caller's line


def test_gradcheck_float64_does_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert cr.gradcheck(cr.exp, (leaf([0.5]),))


def test_gradcheck_without_differentiable_input_raises():
    with pytest.raises(ValueError, match="no input requires grad"):
        cr.gradcheck(lambda t: t * 2, (np.ones(2),))


def test_gradcheck_function_must_return_tensor():
    with pytest.raises(TypeError, match="tensor"):
        cr.gradcheck(lambda t: 1.0, (leaf([1.0]),))


# ----- gradgradcheck -----


def test_gradgradcheck_true_for_builtins(rng):
    x = leaf(rng.standard_normal(4))
    assert cr.gradgradcheck(lambda t: cr.sigmoid(t) * cr.sin(t), (x,)) is True


def test_gradgradcheck_catches_wrong_second_order():
    class FirstOrderOnly(cr.Gate):
        """out = x^3 with a backward 3 x^2 written so its own derivative is wrong."""

        def forward(self, x):
            self.save(x)
            return x**3

        def backward(self, g):
            (x,) = self.saved
            # value 3 x^2 g, but written as 3 * x * (x detached) * g: derivative 3 x g
            return (3 * g * x * np.asarray(x),)

    x = leaf([0.5, 1.5])
    assert cr.gradcheck(FirstOrderOnly.apply, (x,))
    assert cr.gradgradcheck(FirstOrderOnly.apply, (x,), raise_exception=False) is False
    with pytest.raises(cr.GradcheckError, match="gradgradcheck"):
        cr.gradgradcheck(FirstOrderOnly.apply, (x,))
