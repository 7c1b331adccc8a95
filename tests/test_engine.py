"""The backprop engine: the chain rule along the graph, branches, modes, memory and errors."""

import gc
import sys
import weakref

import numpy as np
import pytest

import chainrule as cr


def leaf(value, dtype="float64"):
    return cr.tensor(value, dtype=dtype, requires_grad=True)


# ----- the lecture's worked examples -----


def test_lecture_add_mul_gradients():
    x, y, z = leaf(-2.0, "float32"), leaf(5.0, "float32"), leaf(-4.0, "float32")
    q = x + y
    f = q * z
    assert f.item() == -12.0
    f.backward()
    assert (x.grad.item(), y.grad.item(), z.grad.item()) == (-4.0, -4.0, 3.0)


def _neuron_inputs():
    return [leaf(v) for v in (2.0, -1.0, -3.0, -2.0, -3.0)]  # w0, x0, w1, x1, w2


_NEURON_GRADS = [-0.20, 0.39, -0.39, -0.59, 0.20]  # the lecture's rounded values


def _neuron_exact():
    w0, x0, w1, x1, w2 = 2.0, -1.0, -3.0, -2.0, -3.0
    s = 1 / (1 + np.exp(-(w0 * x0 + w1 * x1 + w2)))
    local = s * (1 - s)
    return [x0 * local, w0 * local, x1 * local, w1 * local, local]


def test_lecture_sigmoid_neuron_from_primitive_gates():
    w0, x0, w1, x1, w2 = _neuron_inputs()
    f = 1.0 / (1.0 + cr.exp(-(w0 * x0 + w1 * x1 + w2)))
    np.testing.assert_allclose(f.item(), 0.7310585786, rtol=1e-9)
    f.backward()
    grads = [t.grad.item() for t in (w0, x0, w1, x1, w2)]
    np.testing.assert_allclose(np.round(grads, 2), _NEURON_GRADS)
    np.testing.assert_allclose(grads, _neuron_exact(), rtol=1e-12)


def test_lecture_sigmoid_neuron_with_compound_gate():
    w0, x0, w1, x1, w2 = _neuron_inputs()
    f = cr.sigmoid(w0 * x0 + w1 * x1 + w2)
    assert type(f.gate).__name__ == "Sigmoid"
    f.backward()
    grads = [t.grad.item() for t in (w0, x0, w1, x1, w2)]
    np.testing.assert_allclose(np.round(grads, 2), _NEURON_GRADS)
    np.testing.assert_allclose(grads, _neuron_exact(), rtol=1e-12)


def test_lecture_vectorized_norm_gradients():
    # f(x, W) = ||W x||^2: df/dW = 2 q x^T, df/dx = 2 W^T q
    W = leaf([[0.1, 0.5], [-0.3, 0.8]])
    x = leaf([0.2, 0.4])
    q = W @ x
    (q * q).sum().backward()
    qv = W.data @ x.data
    np.testing.assert_allclose(W.grad.data, 2 * np.outer(qv, x.data))
    np.testing.assert_allclose(x.grad.data, 2 * W.data.T @ qv)


# ----- branches: fan-out, diamonds, shared subexpressions -----


def test_fan_out_x_times_x():
    x = leaf([1.0, -2.0, 3.0])
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.data, 2 * x.data)


def test_fan_out_a_plus_a():
    x = leaf([1.0, -2.0])
    a = x * 3
    (a + a).sum().backward()
    np.testing.assert_allclose(x.grad.data, [6.0, 6.0])


def test_fan_out_many_uses_add_up():
    x = leaf(2.0)
    f = x + x * x + x * x * x  # 1 + 2x + 3x^2 = 17
    f.backward()
    assert x.grad.item() == pytest.approx(17.0)


def test_diamond():
    x = leaf([0.5, -1.5, 2.0])
    a = x * 2
    b = a + 1
    c = a * a
    d = (b * c).sum()  # 8x^3 + 4x^2
    d.backward()
    np.testing.assert_allclose(x.grad.data, 24 * x.data**2 + 8 * x.data)


def test_shared_subexpression():
    x, y = leaf([1.0, 2.0]), leaf([3.0, -1.0])
    s = x * y
    f = (s * s + s).sum()
    f.backward()
    sv = x.data * y.data
    np.testing.assert_allclose(x.grad.data, (2 * sv + 1) * y.data)
    np.testing.assert_allclose(y.grad.data, (2 * sv + 1) * x.data)


def test_two_paths_of_different_length():
    x = leaf(1.5)
    long = cr.tanh(cr.exp(x) * 2)
    f = long * x  # d/dx = tanh'(2e^x) 2e^x x + tanh(2e^x)
    f.backward()
    u = 2 * np.exp(1.5)
    expected = (1 - np.tanh(u) ** 2) * u * 1.5 + np.tanh(u)
    assert x.grad.item() == pytest.approx(expected, rel=1e-12)


# ----- deep graphs: no recursion -----


def test_deep_chain_of_100000_gates_backprops():
    x = leaf(1.0)
    h = x
    for _ in range(100_000):
        h = h * 1.00001
    limit = sys.getrecursionlimit()
    h.backward()
    assert sys.getrecursionlimit() == limit
    assert x.grad.item() == pytest.approx(1.00001**100_000, rel=1e-9)


def test_deep_chain_of_100000_gates_is_freed_without_backward():
    x = leaf(1.0)
    h = x
    for _ in range(100_000):
        h = h + 1.0
    ref = weakref.ref(h.gate)
    del h  # must not overflow the C stack while the chain is torn down
    assert ref() is None


# ----- accumulation and intermediate gradients -----


def test_leaf_grads_accumulate_across_backward_calls():
    x = leaf([1.0, 2.0])
    (x * 2).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.data, 2 + 2 * x.data)
    x.grad = None
    (x * 5).sum().backward()
    np.testing.assert_allclose(x.grad.data, [5.0, 5.0])


def test_grad_is_a_tensor_without_graph():
    x = leaf([1.0, 2.0])
    (x * x).sum().backward()
    assert isinstance(x.grad, cr.Tensor)
    assert not x.grad.requires_grad and x.grad.is_leaf


def test_intermediate_tensors_get_no_grad():
    x = leaf([1.0, 2.0])
    h = x * 3
    k = h + 1
    (k * k).sum().backward()
    assert h.grad is None and k.grad is None
    assert x.grad is not None


def test_retain_grad_on_some_intermediates_only():
    x = leaf([1.0, 2.0])
    h = x * 3
    k = h + 1
    k.retain_grad()
    (k * k).sum().backward()
    assert h.grad is None
    np.testing.assert_allclose(k.grad.data, 2 * k.data)


def test_backward_from_leaf():
    x = leaf(3.0)
    x.backward()
    assert x.grad.item() == 1.0
    v = leaf([1.0, 2.0])
    v.backward(np.array([3.0, 4.0]))
    np.testing.assert_array_equal(v.grad.data, [3.0, 4.0])


# ----- inputs that do not require grad -----


class SpyMultiply(cr.Gate):
    """out = x * y, recording what the engine told it and whether backward ran."""

    calls: list = []

    def forward(self, x, y):
        self.save(x, y)
        return x * y

    def backward(self, g):
        SpyMultiply.calls.append(tuple(self.needs_input_grad))
        x, y = self.saved
        need_x, need_y = self.needs_input_grad
        return (g * y if need_x else None), (g * x if need_y else None)


def test_inputs_without_grad_get_none_and_gate_is_told():
    SpyMultiply.calls = []
    x, c = leaf([1.0, 2.0]), cr.tensor([3.0, 4.0], dtype="float64")
    SpyMultiply.apply(x, c).sum().backward()
    SpyMultiply.apply(c, x).sum().backward()
    SpyMultiply.apply(x, 2.0).sum().backward()
    SpyMultiply.apply(np.ones(2), x).sum().backward()
    assert SpyMultiply.calls == [(True, False), (False, True), (True, False), (False, True)]
    assert c.grad is None
    # dx: c, c, 2, 1 from the four products
    np.testing.assert_allclose(x.grad.data, [3 + 3 + 2 + 1, 4 + 4 + 2 + 1])


def test_gate_without_grad_inputs_is_not_recorded():
    SpyMultiply.calls = []
    out = SpyMultiply.apply(cr.tensor([1.0]), cr.tensor([2.0]))
    assert not out.requires_grad and out.gate is None
    x = leaf(1.0)
    (x * 2 + SpyMultiply.apply(cr.tensor(1.0), 3.0)).backward()
    assert SpyMultiply.calls == []


def test_gradient_returned_for_input_without_grad_is_ignored():
    class Greedy(cr.Gate):
        def forward(self, x, y):
            return x + y

        def backward(self, g):
            return g, g  # even for the input that does not need it

    x, c = leaf([1.0, 2.0]), cr.tensor([1.0, 1.0], dtype="float64")
    Greedy.apply(x, c).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [1.0, 1.0])
    assert c.grad is None


def test_unused_inputs_get_no_grad():
    x, unused = leaf([1.0, 2.0]), leaf([5.0])
    f = (x * 2).sum()
    f.backward()
    assert unused.grad is None
    np.testing.assert_array_equal(x.grad.data, [2.0, 2.0])


def test_unused_branch_is_not_run():
    SpyMultiply.calls = []
    x = leaf([1.0, 2.0])
    side = SpyMultiply.apply(x, x)  # built but not part of the loss
    (x * 3).sum().backward()
    assert SpyMultiply.calls == []
    assert side.grad is None
    np.testing.assert_array_equal(x.grad.data, [3.0, 3.0])


# ----- retain_graph and freed graphs -----


def test_backward_twice_without_retain_graph_raises():
    x = leaf(2.0)
    y = x * x * 3
    y.backward()
    with pytest.raises(cr.GraphFreedError, match=r"Multiply.*retain_graph=True"):
        y.backward()


def test_backward_through_freed_part_of_graph_raises():
    x = leaf(2.0)
    shared = x * 3
    (shared * 2).backward()
    with pytest.raises(cr.GraphFreedError, match="retain_graph"):
        (shared * 4).backward()


def test_graph_freed_error_is_a_runtime_error():
    assert issubclass(cr.GraphFreedError, RuntimeError)


def test_retain_graph_allows_second_backward_and_accumulates():
    x = leaf(2.0)
    y = x * x * 3  # dy/dx = 6x = 12
    y.backward(retain_graph=True)
    assert x.grad.item() == pytest.approx(12.0)
    y.backward(retain_graph=True)
    assert x.grad.item() == pytest.approx(24.0)
    y.backward()
    assert x.grad.item() == pytest.approx(36.0)
    with pytest.raises(cr.GraphFreedError):
        y.backward()


def test_saved_values_freed_after_backward():
    x, w = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    h = x * w
    gate = h.gate
    assert gate.saved is not None and len(gate.saved) == 2
    cr.exp(h).sum().backward()
    assert gate.saved is None


def test_saved_values_kept_with_retain_graph():
    x, w = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    h = x * w
    gate = h.gate
    h.sum().backward(retain_graph=True)
    assert gate.saved is not None
    np.testing.assert_array_equal(gate.saved[0], x.data)


def test_activations_freed_after_backward_while_loss_kept():
    x = leaf(np.ones(1000))
    h = cr.exp(x)
    act = weakref.ref(h.gate.saved[0])  # Exp saves its output array
    loss = (h * 2).sum()
    del h
    loss.backward()
    gc.collect()
    assert act() is None  # loss is alive, the activation is not


class _Probe(cr.Gate):
    """out = 2 x; keeps a weak reference to the gradient it received."""

    refs: list = []

    def forward(self, x):
        return x * 2

    def backward(self, g):
        _Probe.refs.append(weakref.ref(g))
        return (g * 2,)


class _Check(cr.Gate):
    """out = x; when its backward runs, records whether _Probe's gradient still lives."""

    alive: list = []

    def forward(self, x):
        return x.copy()

    def backward(self, g):
        _Check.alive = [r() is not None for r in _Probe.refs]
        return (g,)


def test_intermediate_gradients_freed_once_consumed():
    _Probe.refs, _Check.alive = [], []
    x = leaf(np.ones(4))
    (_Probe.apply(_Check.apply(x)) * 3).sum().backward()
    assert len(_Probe.refs) == 1
    assert _Check.alive == [False]
    np.testing.assert_array_equal(x.grad.data, np.full(4, 6.0))


# ----- non-scalar outputs -----


def test_non_scalar_backward_without_grad_raises():
    x = leaf([1.0, 2.0])
    y = x * 2
    with pytest.raises(RuntimeError, match=r"scalar.*\(2,\).*grad"):
        y.backward()


@pytest.mark.parametrize(
    "upstream", [np.array([1.0, 3.0]), [1.0, 3.0], cr.tensor([1.0, 3.0], dtype="float64")]
)
def test_non_scalar_backward_with_grad(upstream):
    x = leaf([1.0, 2.0])
    (x * x).backward(upstream)
    np.testing.assert_allclose(x.grad.data, 2 * x.data * np.array([1.0, 3.0]))


def test_backward_grad_of_wrong_shape_raises():
    x = leaf([1.0, 2.0])
    with pytest.raises(ValueError, match=r"\(3,\).*\(2,\)"):
        (x * 2).backward(np.ones(3))


def test_one_element_non_0d_output_backward_implicitly():
    x = leaf([[2.0]])
    (x * x).backward()
    assert x.grad.item() == 4.0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(), (1,), (1, 1)])
def test_implicit_gradient_of_a_one_element_leaf_is_its_own_writeable_one(shape, dtype):
    x = cr.tensor(np.full(shape, 3.0, dtype), requires_grad=True)
    x.backward()
    assert x.grad.shape == shape and x.grad.dtype == dtype and x.grad.item() == 1.0
    assert x.grad.data.base is None and x.grad.data.flags.writeable
    (x * 2).backward()
    assert x.grad.item() == 3.0


def test_backward_on_tensor_without_grad_raises():
    with pytest.raises(RuntimeError, match="does not require grad"):
        cr.tensor(1.0).backward()
    x = leaf(1.0)
    with cr.no_grad():
        y = x * 2
    with pytest.raises(RuntimeError, match="no_grad"):
        y.backward()


# ----- no_grad, enable_grad -----


def test_no_grad_context_manager():
    x = leaf([1.0, 2.0])
    with cr.no_grad():
        assert not cr.is_grad_enabled()
        y = x * 2
    assert cr.is_grad_enabled()
    assert not y.requires_grad and y.gate is None and y.is_leaf
    np.testing.assert_array_equal(y.data, [2.0, 4.0])


def test_no_grad_decorator():
    x = leaf([1.0, 2.0])

    @cr.no_grad()
    def double(t):
        assert not cr.is_grad_enabled()
        return t * 2

    assert not double(x).requires_grad
    assert not double(x).requires_grad  # the decorator is reusable
    assert cr.is_grad_enabled()
    assert (x * 2).requires_grad


def test_enable_grad_inside_no_grad():
    x = leaf([1.0, 2.0])
    with cr.no_grad():
        with cr.enable_grad():
            y = x * 2
        z = x * 2
    assert y.requires_grad and not z.requires_grad
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [2.0, 2.0])


def test_enable_grad_decorator_inside_no_grad():
    x = leaf(1.0)

    @cr.enable_grad()
    def square(t):
        return t * t

    with cr.no_grad():
        y = square(x)
    assert y.requires_grad


def test_no_grad_restored_after_exception():
    with pytest.raises(ZeroDivisionError), cr.no_grad():
        1 / 0
    assert cr.is_grad_enabled()


def test_no_grad_nested_restores_outer_state():
    with cr.no_grad():
        with cr.no_grad():
            pass
        assert not cr.is_grad_enabled()
        with cr.enable_grad():
            assert cr.is_grad_enabled()
        assert not cr.is_grad_enabled()
    assert cr.is_grad_enabled()


# ----- detach -----


def test_detach_cuts_the_graph():
    x = leaf([1.0, 2.0])
    y = x * 2
    z = (y.detach() * x).sum()  # y treated as a constant: dz/dx = y = 2x, not 4x
    z.backward()
    np.testing.assert_allclose(x.grad.data, 2 * x.data)


def test_detached_tensor_can_become_a_new_leaf():
    x = leaf([1.0, 2.0])
    d = (x * 3).detach().requires_grad_()
    (d * d).sum().backward()
    np.testing.assert_allclose(d.grad.data, 2 * d.data)
    assert x.grad is None


# ----- no reference cycles -----


def _dead_after(build):
    """Run `build` (returns weakrefs) with the cyclic GC off; report which are still alive."""
    gc.collect()
    gc.disable()
    try:
        refs = build()
        return [r() is not None for r in refs]
    finally:
        gc.enable()


def test_graph_freed_by_refcount_after_del_output():
    def build():
        x = leaf([1.0, 2.0])
        h = cr.tanh(x * x)
        out = (h + 1).sum()
        refs = [weakref.ref(t) for t in (h, out)] + [weakref.ref(h.gate), weakref.ref(out.gate)]
        del h, out
        return refs

    assert _dead_after(build) == [False] * 4


def test_graph_freed_by_refcount_after_backward():
    def build():
        x = leaf([1.0, 2.0])
        h = cr.exp(x * x)
        out = h.sum()
        out.backward()
        refs = [weakref.ref(h), weakref.ref(out), weakref.ref(h.gate), weakref.ref(out.gate)]
        del h, out
        return refs

    assert _dead_after(build) == [False] * 4


def test_graph_freed_by_refcount_with_retain_graph_and_retain_grad():
    def build():
        x = leaf([1.0, 2.0])
        h = cr.exp(x) * x
        h.retain_grad()
        out = h.sum()
        out.backward(retain_graph=True)
        assert h.grad is not None
        refs = [weakref.ref(h), weakref.ref(out), weakref.ref(h.gate), weakref.ref(h.grad)]
        del h, out
        return refs

    assert _dead_after(build) == [False] * 4


def test_retain_grad_registry_forgets_a_gate_once_it_is_freed():
    from chainrule import engine

    def build():
        x = leaf([1.0, 2.0])
        h = cr.exp(x) * x
        h.retain_grad()
        assert h.gate in engine.RETAINED
        h.sum().backward()
        refs = [weakref.ref(h), weakref.ref(h.gate)]
        del h
        return refs

    assert _dead_after(build) == [False, False]
    assert len(engine.RETAINED) == 0


def test_graph_freed_by_refcount_under_detect_anomaly():
    def build():
        x = leaf([1.0, 2.0])
        with cr.detect_anomaly():
            out = (cr.sqrt(x) * 2).sum()
            out.backward()
        refs = [weakref.ref(out), weakref.ref(out.gate)]
        del out
        return refs

    assert _dead_after(build) == [False, False]


def test_functional_transforms_leave_no_cycles():
    def build():
        refs = []

        def f(t):
            h = cr.tanh(t) * t
            refs.append(weakref.ref(h))
            return h.sum()

        cr.grad(f)(np.array([0.5, 1.0]))
        cr.grad(cr.grad(lambda t: f(t) * 1.0))(0.3)
        cr.hessian(f)(np.array([0.5, 1.0]))
        return refs

    assert not any(_dead_after(build))


# ----- dtypes and ownership of gradients -----


def test_gradients_keep_leaf_dtype_float32():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x * np.array([3.0, 4.0])  # float64 array: the output is float64
    assert y.dtype == np.float64
    y.sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad.data, [3.0, 4.0])


def test_gradients_keep_leaf_dtype_float64():
    x = leaf([1.0, 2.0])
    (x * np.float32(2)).sum().backward()
    assert x.grad.dtype == np.float64


def test_mixed_precision_leaves_get_their_own_dtype():
    a = cr.tensor([1.0, 2.0], requires_grad=True)
    b = leaf([3.0, 4.0])
    (a * b).sum().backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64


def test_grad_arrays_are_writable_and_not_shared_between_leaves():
    x, y = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    z = x + y
    z.sum().backward()
    assert x.grad.data.flags.writeable and y.grad.data.flags.writeable
    assert not np.shares_memory(x.grad.data, y.grad.data)
    x.grad.data[0] = 100.0
    assert y.grad.data[0] == 1.0


def test_grad_arrays_not_shared_with_explicit_upstream_gradient():
    upstream = np.array([1.0, 1.0])
    x, y = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    (x + y).backward(upstream)
    for g in (x.grad.data, y.grad.data):
        assert g.flags.writeable and not np.shares_memory(g, upstream)
    assert not np.shares_memory(x.grad.data, y.grad.data)


def test_grad_of_leaf_root_not_shared_with_explicit_upstream_gradient():
    upstream = np.array([1.0, 2.0])
    x = leaf([5.0, 6.0])
    x.backward(upstream)
    assert not np.shares_memory(x.grad.data, upstream)
    upstream[0] = 100.0
    np.testing.assert_array_equal(x.grad.data, [1.0, 2.0])


def test_leaf_grad_not_shared_with_retained_intermediate_grad():
    x = leaf([1.0, 2.0])
    z = x + 1
    z.retain_grad()
    (z * 2).sum().backward()
    assert not np.shares_memory(x.grad.data, z.grad.data)
    x.grad.data[:] = 0.0  # an in-place zero_grad must not touch z.grad
    np.testing.assert_array_equal(z.grad.data, [2.0, 2.0])


def test_grad_of_broadcast_is_writable():
    x = leaf(2.0)
    (x + cr.zeros(3, dtype="float64")).sum().backward()
    assert x.grad.data.flags.writeable
    assert x.grad.item() == 3.0


def test_grad_can_be_edited_in_place():
    x = leaf([1.0, 2.0])
    (x * 1).sum().backward()  # the upstream ones of sum reach x through views
    x.grad.data *= 5
    np.testing.assert_array_equal(x.grad.data, [5.0, 5.0])
    (x * 1).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [6.0, 6.0])


# ----- higher order: create_graph -----


def test_create_graph_makes_grad_differentiable():
    x = leaf(3.0)
    (x**3).backward(create_graph=True)
    g = x.grad
    assert g.item() == pytest.approx(27.0)
    assert g.requires_grad and not g.is_leaf
    x.grad = None
    g.backward()
    assert x.grad.item() == pytest.approx(18.0)


def test_create_graph_third_derivative():
    x = leaf(2.0)
    (x**4).backward(create_graph=True)
    g1 = x.grad  # 4x^3 = 32
    x.grad = None
    g1.backward(create_graph=True)
    g2 = x.grad  # 12x^2 = 48
    x.grad = None
    g2.backward()
    assert (g1.item(), g2.item(), x.grad.item()) == pytest.approx((32.0, 48.0, 48.0))


def test_create_graph_keeps_first_graph_usable():
    x = leaf([0.5, -1.0])
    y = (cr.tanh(x) * x).sum()
    y.backward(create_graph=True)
    first = x.grad.data.copy()
    y.backward()  # create_graph retains the graph
    np.testing.assert_allclose(x.grad.data, 2 * first)


def test_create_graph_through_network_like_graph_passes_gradgradcheck():
    rng = np.random.default_rng(0)
    x = leaf(rng.standard_normal((3, 4)))
    w = leaf(rng.standard_normal((4, 2)))

    def f(x, w):
        return cr.log_softmax(cr.tanh(x @ w), axis=-1).sum() + (w * w).mean()

    assert cr.gradgradcheck(f, (x, w))


def test_gradient_penalty_style_double_backward():
    # d(sum w x)/dx = w in each of the 3 entries, so ||.||^2 = 3 w^2 and d/dw = 6 w
    x, w = leaf([1.0, 2.0, 3.0]), leaf(0.5)
    (w * x).sum().backward(create_graph=True)
    gx = x.grad
    np.testing.assert_allclose(gx.data, [0.5, 0.5, 0.5])
    x.grad = w.grad = None
    (gx * gx).sum().backward()
    assert w.grad.item() == pytest.approx(6 * 0.5)
    assert x.grad is None  # gx = w does not depend on x


_SECOND_DERIVATIVES = {
    "tanh": (cr.tanh, lambda v: -2 * np.tanh(v) * (1 - np.tanh(v) ** 2)),
    "exp": (cr.exp, np.exp),
    "sqrt": (cr.sqrt, lambda v: -0.25 * v**-1.5),
    "reciprocal": (lambda t: 1.0 / t, lambda v: 2 / v**3),
    "cube": (lambda t: t**3, lambda v: 6 * v),
}


@pytest.mark.parametrize("shape", [(), (1,), (2, 1)], ids=["0d", "1d", "2d"])
@pytest.mark.parametrize("name", sorted(_SECOND_DERIVATIVES))
def test_create_graph_second_derivative(name, shape):
    # Gates that save their output: on 0-d arrays NumPy returns scalars, which must
    # still be recognised as the output when the backward pass is differentiated.
    f, d2 = _SECOND_DERIVATIVES[name]
    x = leaf(np.full(shape, 0.7))
    f(x).sum().backward(create_graph=True)
    g = x.grad
    assert g.requires_grad
    x.grad = None
    g.sum().backward()
    np.testing.assert_allclose(x.grad.data, np.full(shape, d2(0.7)), rtol=1e-10)
