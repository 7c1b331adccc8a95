"""The custom gate API: subclass cr.Gate, forward/backward with self.save / self.saved, apply."""

import re

import numpy as np
import pytest

import chainrule as cr


def leaf(value):
    return cr.tensor(value, dtype="float64", requires_grad=True)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


# ----- the lecture's MultiplyGate -----


class MultiplyGate(cr.Gate):
    """out = x * y.   Backward: dx = g * y, dy = g * x."""

    def forward(self, x, y):
        self.save(x, y)
        return x * y

    def backward(self, g):
        x, y = self.saved
        return g * y, g * x


class BuggyMultiplyGate(cr.Gate):
    """The classic slip: multiplies by the forward output z instead of the upstream dz."""

    def forward(self, x, y):
        z = x * y
        self.save(x, y, z)
        return z

    def backward(self, g):
        x, y, z = self.saved
        return z * y, z * x


def test_custom_gate_forward_and_backward_values():
    x, y = leaf([1.0, -2.0]), leaf([3.0, 4.0])
    z = MultiplyGate.apply(x, y)
    assert isinstance(z, cr.Tensor)
    assert type(z.gate) is MultiplyGate
    np.testing.assert_array_equal(z.data, [3.0, -8.0])
    z.backward(np.array([1.0, 10.0]))
    np.testing.assert_array_equal(x.grad.data, [3.0, 40.0])
    np.testing.assert_array_equal(y.grad.data, [1.0, -20.0])


def test_custom_gate_lecture_example_matches_builtin():
    x, y, z = leaf(-2.0), leaf(5.0), leaf(-4.0)
    MultiplyGate.apply(x + y, z).backward()
    assert (x.grad.item(), y.grad.item(), z.grad.item()) == (-4.0, -4.0, 3.0)


def test_custom_gate_forward_receives_arrays():
    seen = []

    class Record(cr.Gate):
        def forward(self, x, y):
            seen.extend([type(x), type(y)])
            return x + y

        def backward(self, g):
            return g, g

    Record.apply(leaf([1.0]), np.ones(1))
    Record.apply(leaf([1.0]), 2.0)
    assert seen[:3] == [np.ndarray, np.ndarray, np.ndarray]
    assert seen[3] is float


def test_custom_gate_saved_holds_what_was_saved():
    x, y = leaf([1.0]), leaf([2.0])
    z = MultiplyGate.apply(x, y)
    a, b = z.gate.saved
    assert a is x.data and b is y.data


def test_custom_gate_passes_gradcheck(rng):
    x, y = leaf(rng.standard_normal((3, 4))), leaf(rng.standard_normal((3, 4)))
    assert cr.gradcheck(MultiplyGate.apply, (x, y)) is True


def test_custom_gate_passes_gradgradcheck(rng):
    x, y = leaf(rng.standard_normal(5)), leaf(rng.standard_normal(5))
    assert cr.gradgradcheck(MultiplyGate.apply, (x, y)) is True


def test_buggy_gate_fails_gradcheck_naming_input_and_values(rng):
    x, y = leaf(rng.standard_normal(4) + 2.0), leaf(rng.standard_normal(4) - 3.0)
    with pytest.raises(cr.GradcheckError) as info:
        cr.gradcheck(BuggyMultiplyGate.apply, (x, y))
    message = str(info.value)
    assert "input 0" in message
    match = re.search(r"index \((\d+),\): analytic (\S+), numerical (\S+)", message)
    assert match, message
    i, analytic, numeric = int(match[1]), float(match[2]), float(match[3])
    assert 0 <= i < 4
    # Whatever the upstream gradient, the bug returns z * y = x * y^2 for x.
    assert analytic == pytest.approx(x.data[i] * y.data[i] ** 2, rel=1e-12)
    assert abs(analytic - numeric) > 1e-3


def test_buggy_gate_gradcheck_returns_false_without_raising(rng):
    x, y = leaf(rng.standard_normal(3)), leaf(rng.standard_normal(3))
    assert cr.gradcheck(BuggyMultiplyGate.apply, (x, y), raise_exception=False) is False


def test_buggy_gate_caught_on_second_input():
    x = cr.tensor([1.0, 2.0], dtype="float64")  # only y is checked
    y = leaf([0.5, -1.5])
    with pytest.raises(cr.GradcheckError, match="input 1"):
        cr.gradcheck(BuggyMultiplyGate.apply, (x, y))


# ----- params -----


class Scale(cr.Gate):
    """out = factor * x (factor a keyword parameter, not an input).   Backward: dx = factor g."""

    def forward(self, x, factor=1.0):
        self.factor = factor
        return x * factor

    def backward(self, g):
        return (g * self.factor,)


def test_custom_gate_keyword_params():
    x = leaf([1.0, 2.0])
    out = Scale.apply(x, factor=3.0)
    np.testing.assert_array_equal(out.data, [3.0, 6.0])
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [3.0, 3.0])
    assert cr.gradcheck(lambda t: Scale.apply(t, factor=-2.5), (leaf([0.3, 0.7]),))


class Record(cr.Gate):
    """out = x * y (y = 1 when absent), keeping what forward was called with."""

    def forward(self, x, y=1.0, scale=1.0):
        self.args = (x, y)
        self.save(x, y)
        return x * y * scale

    def backward(self, g):
        x, y = self.saved
        return (g * y, g * x)[: len(self.needs_input_grad)]


class BuiltinRecord(Record):
    """Record as if it were a built-in gate: not checked, so `_run` takes its short path."""

    __module__ = "chainrule.gates.testing"  # what Gate.__init_subclass__ reads


@pytest.mark.parametrize(
    "make_inputs",
    [
        lambda t, u: (t,),  # one tensor
        lambda t, u: (t, u),  # two tensors
        lambda t, u: (t, u.data),  # a tensor and an array
        lambda t, u: (t, 2.5),  # a tensor and a Python float
        lambda t, u: (t, 3),  # a tensor and a Python int
        lambda t, u: (cr.nn.Parameter(t.data), u),  # a Tensor subclass
    ],
    ids=["tensor", "two-tensors", "tensor-array", "tensor-float", "tensor-int", "parameter"],
)
def test_apply_records_the_same_on_its_short_and_general_paths(make_inputs):
    # A built-in gate's `_run` unpacks one or two inputs without keyword arguments on a
    # path of its own; a keyword argument sends the same call through the general loop.
    # Both must hand forward the same arguments and record the same graph.
    assert not BuiltinRecord.checked
    t = cr.tensor([1.5, -2.0], dtype="float64", requires_grad=True)
    u = cr.tensor([0.5, 4.0], dtype="float64", requires_grad=True)
    inputs = make_inputs(t.detach().requires_grad_(), u.detach().requires_grad_())
    short = BuiltinRecord.apply(*inputs)
    general = BuiltinRecord.apply(*inputs, scale=1.0)
    assert short.gate.params is None and general.gate.params == {"scale": 1.0}
    a, b = short.gate, general.gate
    assert [type(v) for v in a.args] == [type(v) for v in b.args]
    for x, y in zip(a.args, b.args):
        assert x is y or np.array_equal(x, y)
    assert a.needs_input_grad == b.needs_input_grad
    assert type(a.needs_input_grad) is tuple and type(a.inputs) is tuple
    assert all(x is y for x, y in zip(a.inputs, b.inputs, strict=True))
    np.testing.assert_array_equal(short.data, general.data)
    assert short.requires_grad and general.requires_grad and a.seq < b.seq
    assert a.out_dtype == b.out_dtype
    leaves = [x for x in inputs if isinstance(x, cr.Tensor)]
    grads = []
    for out in (short, general):
        out.sum().backward()
        grads.append([x.grad.data for x in leaves])
        for x in leaves:
            x.grad = None
    for x, y in zip(*grads, strict=True):
        np.testing.assert_array_equal(x, y)


def test_apply_short_path_on_0d_and_integer_outputs():
    # A 0-d result comes back from NumPy as a scalar: the output is a 0-d array, and
    # what was saved is that same array (as on the general path). An integer output
    # is not recorded.
    x = cr.tensor(2.0, requires_grad=True)
    out = MultiplyGate.apply(x, x)
    assert type(out.data) is np.ndarray and out.data.shape == ()
    out.backward()
    assert x.grad.item() == 4.0
    n = cr.tensor(np.arange(3))
    assert not Record.apply(n, 2).requires_grad and Record.apply(n, 2).gate is None


def test_custom_gate_single_gradient_may_be_bare():
    class Double(cr.Gate):
        def forward(self, x):
            return 2 * x

        def backward(self, g):
            return 2 * g  # not a tuple: accepted for a one-input gate

    x = leaf([1.0, 2.0])
    Double.apply(x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [2.0, 2.0])


def test_custom_gate_list_of_gradients_accepted():
    class AddList(cr.Gate):
        def forward(self, x, y):
            return x + y

        def backward(self, g):
            return [g, g]

    x, y = leaf([1.0]), leaf([2.0])
    AddList.apply(x, y).sum().backward()
    assert x.grad.item() == 1.0 and y.grad.item() == 1.0


def test_custom_gate_none_gradient_means_no_gradient():
    class FirstOnly(cr.Gate):
        def forward(self, x, y):
            return x + y

        def backward(self, g):
            return g, None

    x, y = leaf([1.0]), leaf([2.0])
    FirstOnly.apply(x, y).sum().backward()
    assert x.grad.item() == 1.0 and y.grad is None


def test_custom_gate_with_sum_to_handles_broadcasting():
    class BroadcastMul(cr.Gate):
        def forward(self, x, y):
            self.save(x, y)
            return x * y

        def backward(self, g):
            x, y = self.saved
            return cr.sum_to(g * y, x.shape), cr.sum_to(g * x, y.shape)

    x, y = leaf(np.arange(6.0).reshape(2, 3)), leaf([1.0, 2.0, 3.0])
    assert cr.gradcheck(BroadcastMul.apply, (x, y))
    assert cr.gradcheck(BroadcastMul.apply, (leaf([[1.0], [2.0]]), y))


# ----- contract violations -----


class WrongCount(cr.Gate):
    def forward(self, x, y):
        return x + y

    def backward(self, g):
        return (g,)


class WrongShape(cr.Gate):
    def forward(self, x):
        return x * 2

    def backward(self, g):
        return (np.ones(g.shape[0] + 1),)


class WrongType(cr.Gate):
    def forward(self, x):
        return x * 2

    def backward(self, g):
        return ("not a gradient",)


def test_wrong_number_of_gradients_raises_gate_error():
    with pytest.raises(cr.GateError, match=r"WrongCount.*1.*2 input"):
        WrongCount.apply(leaf([1.0]), leaf([2.0])).sum().backward()


def test_too_many_gradients_raises_gate_error():
    class TooMany(cr.Gate):
        def forward(self, x):
            return x

        def backward(self, g):
            return g, g

    with pytest.raises(cr.GateError, match=r"TooMany.*2.*1 input"):
        TooMany.apply(leaf([1.0])).sum().backward()


def test_wrong_shape_gradient_raises_gate_error():
    with pytest.raises(cr.GateError, match=r"WrongShape.*\(4,\).*\(3,\)"):
        WrongShape.apply(leaf([1.0, 2.0, 3.0])).sum().backward()


def test_wrong_shape_gradient_for_a_computed_input_raises_gate_error():
    # The engine keeps no output shapes: a user's gate records its inputs' shapes itself.
    x = leaf([1.0, 2.0, 3.0])
    with pytest.raises(cr.GateError, match=r"WrongShape.*\(4,\).*input 0 of shape \(3,\)"):
        WrongShape.apply(cr.tanh(x)).sum().backward()
    with pytest.raises(cr.GateError, match=r"WrongShape.*\(4,\).*input 0 of shape \(3,\)"):
        cr.Graph(lambda t: WrongShape.apply(cr.tanh(t)).sum()).forward(x).backward()


def test_broadcastable_but_wrong_shape_gradient_raises_gate_error():
    class Unsummed(cr.Gate):
        def forward(self, x, y):
            return x + y

        def backward(self, g):
            return g, g  # forgot sum_to for the broadcast y

    x, y = leaf(np.ones((2, 3))), leaf(np.ones(3))
    with pytest.raises(cr.GateError, match=r"Unsummed.*\(2, 3\).*input 1.*\(3,\)"):
        Unsummed.apply(x, y).sum().backward()


def test_wrong_type_gradient_raises_gate_error():
    with pytest.raises(cr.GateError, match="WrongType"):
        WrongType.apply(leaf([1.0])).sum().backward()


def test_gate_error_under_create_graph():
    with pytest.raises(cr.GateError, match="WrongShape"):
        WrongShape.apply(leaf([1.0, 2.0])).sum().backward(create_graph=True)


def test_gate_without_backward_raises_not_implemented():
    class NoBackward(cr.Gate):
        def forward(self, x):
            return x

    with pytest.raises(NotImplementedError, match="NoBackward.backward"):
        NoBackward.apply(leaf([1.0])).sum().backward()


def test_gate_error_is_raised_before_any_leaf_is_updated():
    x = leaf([1.0])
    with pytest.raises(cr.GateError):
        WrongCount.apply(x * 1, leaf([2.0])).sum().backward()
    assert x.grad is None


# ----- higher order with NumPy-written backward -----


class ExpLinear(cr.Gate):
    """out = exp(x) @ w.   x: (N, D), w: (D, M).
    Backward: dx = exp(x) * (g @ w^T), dw = exp(x)^T @ g."""

    def forward(self, x, w):
        self.save(x, w)
        return np.exp(x) @ w

    def backward(self, g):
        x, w = self.saved
        e = np.exp(x)
        return e * (g @ w.T), e.T @ g


class SmoothELU(cr.Gate):
    """out = x if x > 0 else exp(x) - 1.   Backward: dx = g if x > 0 else g * exp(x)."""

    def forward(self, x):
        self.save(x)
        return np.where(x > 0, x, np.exp(x) - 1)

    def backward(self, g):
        (x,) = self.saved
        return (np.where(x > 0, g, g * np.exp(x)),)


class SaveOutput(cr.Gate):
    """out = tanh(x) saving its output.   Backward: dx = g * (1 - out^2)."""

    def forward(self, x):
        out = np.tanh(x)
        self.save(out)
        return out

    def backward(self, g):
        (out,) = self.saved
        return (g * (1 - out * out),)


def test_numpy_written_backward_supports_create_graph(rng):
    x = leaf(rng.standard_normal((2, 3)) * 0.5)
    w = leaf(rng.standard_normal((3, 4)))
    assert cr.gradcheck(ExpLinear.apply, (x, w))
    assert cr.gradgradcheck(ExpLinear.apply, (x, w))


def test_numpy_where_backward_supports_create_graph(rng):
    x = leaf(np.array([-1.5, -0.3, 0.4, 2.0]))
    assert cr.gradcheck(SmoothELU.apply, (x,))
    assert cr.gradgradcheck(SmoothELU.apply, (x,))
    second = cr.grad(cr.grad(lambda t: SmoothELU.apply(t)))
    assert second(-0.5).item() == pytest.approx(np.exp(-0.5), rel=1e-6)
    assert second(0.5).item() == 0.0


def test_gate_saving_its_output_supports_create_graph():
    x = leaf([-0.7, 0.2, 1.1])
    assert cr.gradgradcheck(SaveOutput.apply, (x,))
    h = cr.hessian(lambda t: SaveOutput.apply(t).sum())(x.data)
    t = np.tanh(x.data)
    np.testing.assert_allclose(h.data, np.diag(-2 * t * (1 - t**2)), rtol=1e-10)


def test_gate_saving_its_output_supports_create_graph_0d():
    # On 0-d arrays NumPy ufuncs return NumPy scalars, so the saved output is a
    # np.float64, not the output array: its link to the output tensor must survive.
    d2 = cr.grad(cr.grad(lambda t: SaveOutput.apply(t)))(np.float64(0.3))
    t = np.tanh(0.3)
    assert d2.item() == pytest.approx(-2 * t * (1 - t**2), rel=1e-10)


def test_first_order_backward_gets_arrays_not_tensors():
    seen = []

    class Inspect(cr.Gate):
        def forward(self, x):
            self.save(x)
            return x * x

        def backward(self, g):
            (x,) = self.saved
            seen.append((type(g), type(x)))
            return (2 * g * x,)

    x = leaf([1.0, 2.0])
    Inspect.apply(x).sum().backward()
    assert seen == [(np.ndarray, np.ndarray)]
    Inspect.apply(x).sum().backward(create_graph=True)
    assert seen[1] == (cr.Tensor, cr.Tensor)


class SavesIntermediate(cr.Gate):
    """out = x * tanh(x), saving tanh(x)^2 (neither an input nor the output)."""

    def forward(self, x):
        t = np.tanh(x)
        self.save(t * t)
        return x * t

    def backward(self, g):
        (t2,) = self.saved
        return (g * t2,)  # not the true derivative; never reached under create_graph


class NotDifferentiable(cr.Gate):
    differentiable = False

    def forward(self, x):
        self.save(x)
        return x * x

    def backward(self, g):
        (x,) = self.saved
        return (2 * g * x,)


def test_gate_saving_intermediate_works_first_order():
    x = leaf([0.5, 1.0])
    SavesIntermediate.apply(x).sum().backward()
    np.testing.assert_allclose(x.grad.data, np.tanh(x.data) ** 2)


def test_gate_saving_intermediate_raises_higher_order_error():
    x = leaf([0.5, 1.0])
    with pytest.raises(cr.HigherOrderError, match=r"SavesIntermediate.*intermediate"):
        SavesIntermediate.apply(x).sum().backward(create_graph=True)


def test_gate_saving_intermediate_raises_under_hessian():
    with pytest.raises(cr.HigherOrderError, match="SavesIntermediate"):
        cr.hessian(lambda t: SavesIntermediate.apply(t).sum())(np.array([0.5, 1.0]))


def test_gate_saving_intermediate_raises_under_grad_of_grad_0d():
    # tanh(x)^2 of a 0-d array is a np.float64 scalar: still an intermediate, not a constant.
    with pytest.raises(cr.HigherOrderError, match="SavesIntermediate"):
        cr.grad(cr.grad(lambda t: SavesIntermediate.apply(t)))(0.5)


def test_gate_saving_int_index_array_supports_create_graph():
    class TakeFirst(cr.Gate):
        """out = x[idx] with idx an integer array saved for backward."""

        def forward(self, x):
            self.shape = x.shape
            idx = np.array([0, 0, 1])
            self.save(idx)
            return x[idx]

        def backward(self, g):
            (idx,) = self.saved
            onehot = (idx[:, None] == np.arange(self.shape[0])).astype(np.float64)
            return (g @ onehot,)

    x = leaf([2.0, 3.0])
    assert cr.gradgradcheck(lambda t: TakeFirst.apply(t) ** 2, (x,))


def test_non_differentiable_gate_raises_under_create_graph():
    x = leaf([1.0, 2.0])
    NotDifferentiable.apply(x).sum().backward()  # first order is fine
    np.testing.assert_array_equal(x.grad.data, [2.0, 4.0])
    with pytest.raises(cr.HigherOrderError, match="NotDifferentiable"):
        NotDifferentiable.apply(x).sum().backward(create_graph=True)
    with pytest.raises(cr.HigherOrderError, match="NotDifferentiable"):
        cr.gradgradcheck(NotDifferentiable.apply, (x,))


# ----- apply through each class's own entry (chainrule.gate._runner) -----


def test_every_gate_class_runs_through_a_code_object_of_its_own():
    # (the interpreter specialises a code object for the class it sees, so a shared
    # one would be slow for all of them)
    from chainrule.gates import Add, Multiply, Tanh

    classes = (cr.Gate, Add, Multiply, Tanh, MultiplyGate)
    assert len({id(cls._run.__code__) for cls in classes}) == len(classes)
    assert {cls._run.__qualname__ for cls in classes} == {"_runner.<locals>.run"}
    assert type(Multiply._run(leaf([2.0]), 3.0).gate) is Multiply
    assert type(MultiplyGate._run(leaf([2.0]), leaf([3.0])).gate) is MultiplyGate


def test_a_gate_without_inputs_runs_and_is_not_recorded():
    class Constant(cr.Gate):
        def forward(self, value=1.0):
            return np.full(2, value)

        def backward(self, g):
            return ()

    out = Constant.apply()
    assert out.data.tolist() == [1.0, 1.0] and out.gate is None and not out.requires_grad
    assert Constant.apply(value=3.0).data.tolist() == [3.0, 3.0]


def test_a_gate_with_an_init_of_its_own_is_made_without_calling_it():
    # Gates are made as object.__new__ makes them: apply never called __init__, and a
    # class with one keeps that (its gates are not made by calling the class).
    class WithInit(cr.Gate):
        def __init__(self, required):
            raise AssertionError("not called")

        def forward(self, x):
            return x * 2

        def backward(self, g):
            return (g * 2,)

    x = leaf([1.0, 2.0])
    WithInit.apply(x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [2.0, 2.0])


def test_a_gate_s_own_apply_is_kept_and_inherited_by_its_subclasses():
    class Doubled(cr.Gate):
        @classmethod
        def apply(cls, x):
            return super().apply(x) * 2

        def forward(self, x):
            return x + 1

        def backward(self, g):
            return (g,)

    class Child(Doubled):
        pass

    assert Child.apply.__func__ is Doubled.apply.__func__  # inherited as it is
    x = leaf([1.0, 3.0])
    for cls in (Doubled, Child):
        out = cls.apply(x)
        np.testing.assert_array_equal(out.data, [4.0, 8.0])
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [2.0, 2.0])
