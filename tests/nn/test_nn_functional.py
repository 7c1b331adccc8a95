"""`chainrule.nn.functional` apart from the losses: linear, dropout, batch_norm, layer_norm.

(Named test_nn_functional.py: tests/test_functional.py exists and test modules share one
namespace.) Values compared in float64 to 1e-12 relative; gradients against PyTorch's to
1e-10; central differences with `cr.gradcheck` (atol 1e-5, rtol 1e-3).
"""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule.errors import ShapeError
from chainrule.gates import Linear


def f64(values, requires_grad=True) -> cr.Tensor:
    return cr.tensor(np.asarray(values, dtype=np.float64), requires_grad=requires_grad)


def normal(seed, *shape):
    return np.random.default_rng(seed).standard_normal(shape)


def assert_close(actual, expected, rtol=1e-12, atol=1e-13):
    actual = actual.data if isinstance(actual, cr.Tensor) else actual
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol)


# ----- the namespace -----


def test_functional_exports_activations_as_the_gates_functions():
    for name in ("relu", "leaky_relu", "sigmoid", "tanh", "elu", "softplus", "softmax"):
        assert getattr(F, name) is getattr(cr, name)
    assert F.log_softmax is cr.log_softmax


def test_functional_all_names_exist():
    missing = [name for name in F.__all__ if not hasattr(F, name)]
    assert not missing


# ----- linear -----


@pytest.mark.parametrize(
    ("x_shape", "bias"),
    [((4, 3), True), ((4, 3), False), ((2, 5, 3), True), ((3,), True), ((0, 3), True)],
)
def test_linear_matches_numpy_and_gradients(x_shape, bias):
    x, w, b = normal(0, *x_shape), normal(1, 2, 3), normal(2, 2)
    xt, wt, bt = f64(x), f64(w), f64(b)
    out = F.linear(xt, wt, bt if bias else None)
    expected = x @ w.T + (b if bias else 0)
    assert out.shape == expected.shape
    assert_close(out, expected)
    g = normal(3, *expected.shape)
    out.backward(g)
    g2, x2 = g.reshape(-1, 2), x.reshape(-1, 3)
    assert_close(xt.grad, g @ w)
    assert_close(wt.grad, g2.T @ x2)
    if bias:
        assert_close(bt.grad, g2.sum(axis=0))


def test_linear_is_one_gate():
    out = F.linear(f64(normal(0, 4, 3)), f64(normal(1, 2, 3)), f64(normal(2, 2)))
    assert type(out.gate) is Linear
    assert all(isinstance(x, cr.Tensor) and x.is_leaf for x in out.gate.inputs)


def test_linear_skips_gradients_nobody_needs():
    x, w = f64(normal(0, 4, 3), requires_grad=False), f64(normal(1, 2, 3))
    out = F.linear(x, w, normal(2, 2))
    assert out.gate.saved[1] is None  # w is kept only for dx, which nobody needs
    dx, dw, db = out.gate.backward(np.ones((4, 2)))
    assert dx is None and db is None and dw.shape == (2, 3)


def test_linear_float32_in_float32_out():
    x = cr.tensor(normal(0, 4, 3).astype(np.float32), requires_grad=True)
    w = cr.tensor(normal(1, 2, 3).astype(np.float32), requires_grad=True)
    b = cr.tensor(normal(2, 2).astype(np.float32), requires_grad=True)
    out = F.linear(x, w, b)
    out.sum().backward()
    assert out.dtype == np.float32
    assert {x.grad.dtype, w.grad.dtype, b.grad.dtype} == {np.dtype(np.float32)}


def test_linear_gradcheck_first_and_second_order():
    args = [f64(normal(0, 2, 4, 3)), f64(normal(1, 2, 3)), f64(normal(2, 2))]
    assert cr.gradcheck(F.linear, args)
    assert cr.gradgradcheck(F.linear, args)


def test_linear_shape_errors():
    with pytest.raises(ShapeError, match=r"linear: x of shape \(4, 3\) does not fit weight of"):
        F.linear(f64(np.zeros((4, 3))), f64(np.zeros((3, 2))))
    with pytest.raises(ShapeError, match=r"linear: bias has shape \(3,\), expected \(2,\)"):
        F.linear(f64(np.zeros((4, 3))), f64(np.zeros((2, 3))), f64(np.zeros(3)))
    with pytest.raises(ShapeError, match=r"linear: x of shape \(\)"):
        F.linear(f64(1.0), f64(np.zeros((2, 1))))


def test_linear_matches_torch():
    torch = pytest.importorskip("torch")
    x, w, b = normal(0, 3, 4, 5), normal(1, 2, 5), normal(2, 2)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    g = normal(3, 3, 4, 2)
    expected = torch.nn.functional.linear(tx, tw, tb)
    expected.backward(torch.tensor(g))
    xt, wt, bt = f64(x), f64(w), f64(b)
    out = F.linear(xt, wt, bt)
    out.backward(g)
    assert_close(out, expected.detach().numpy())
    for ours, theirs in ((xt, tx), (wt, tw), (bt, tb)):
        assert_close(ours.grad, theirs.grad.numpy(), rtol=1e-10)


# ----- dropout -----


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_statistics(p):
    cr.seed(0)
    n = 200_000
    out = F.dropout(cr.ones(n), p=p).data
    dropped = np.mean(out == 0)
    # The count of zeros is Binomial(n, p): 5 standard deviations of the fraction.
    assert abs(dropped - p) < 5 * np.sqrt(p * (1 - p) / n)
    np.testing.assert_allclose(out[out != 0], 1 / (1 - p), rtol=1e-6)
    assert abs(out.mean() - 1.0) < 5 * np.sqrt(p / (1 - p) / n)


def test_dropout_seeded_is_reproducible():
    cr.seed(3)
    a = F.dropout(cr.ones(100), p=0.3).data
    cr.seed(3)
    b = F.dropout(cr.ones(100), p=0.3).data
    np.testing.assert_array_equal(a, b)


def test_dropout_gradient_is_the_mask():
    cr.seed(1)
    x = f64(normal(0, 50))
    out = F.dropout(x, p=0.4)
    g = normal(1, 50)
    out.backward(g)
    mask = out.data / x.data
    assert set(np.round(np.unique(mask), 12)) <= {0.0, round(1 / 0.6, 12)}
    assert_close(x.grad, g * mask)


def test_dropout_gradcheck_with_fixed_seed():
    def f(x):
        cr.seed(5)
        return F.dropout(x, p=0.3)

    assert cr.gradcheck(f, [f64(normal(0, 4, 5))])
    assert cr.gradgradcheck(f, [f64(normal(0, 4, 5))])


@pytest.mark.parametrize(("p", "training"), [(0.5, False), (0.0, True), (0.0, False)])
def test_dropout_identity_in_eval_and_at_p0(p, training):
    x = f64(normal(0, 3, 4))
    assert F.dropout(x, p=p, training=training) is x


def test_dropout_p1_gives_zeros_and_zero_gradient():
    x = f64(normal(0, 3, 4))
    out = F.dropout(x, p=1.0)
    out.sum().backward()
    np.testing.assert_array_equal(out.data, np.zeros((3, 4)))
    np.testing.assert_array_equal(x.grad.data, np.zeros((3, 4)))


def test_dropout_keeps_dtype():
    cr.seed(0)
    assert F.dropout(cr.ones(10), 0.5).dtype == np.float32
    assert F.dropout(cr.ones(10, dtype="float64"), 0.5).dtype == np.float64


@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_dropout_rejects_p_outside_unit_interval(p):
    with pytest.raises(ValueError, match=rf"dropout: p is a probability .* got {p}"):
        F.dropout(cr.ones(3), p=p)


# ----- batch_norm -----


def batch_norm_ref(x, mean, var, w, b, eps=1e-5):
    kept = (1, -1) + (1,) * (x.ndim - 2)
    return (x - mean.reshape(kept)) / np.sqrt(var.reshape(kept) + eps) * w.reshape(
        kept
    ) + b.reshape(kept)


@pytest.mark.parametrize("shape", [(8, 3), (4, 3, 5)], ids=["NC", "NCL"])
def test_batch_norm_training_normalises_and_updates_running_stats(shape):
    x = normal(0, *shape) * 3 + 2
    w, b = normal(1, 3), normal(2, 3)
    running_mean, running_var = normal(3, 3), np.abs(normal(4, 3)) + 0.5
    rm0, rv0 = running_mean.copy(), running_var.copy()
    out = F.batch_norm(f64(x), running_mean, running_var, f64(w), f64(b), training=True)
    axes = (0,) if len(shape) == 2 else (0, 2)
    mean, var = x.mean(axis=axes), x.var(axis=axes)
    assert_close(out, batch_norm_ref(x, mean, var, w, b))
    n = x.size // 3
    assert_close(running_mean, 0.9 * rm0 + 0.1 * mean)
    assert_close(running_var, 0.9 * rv0 + 0.1 * var * n / (n - 1))


def test_batch_norm_eval_uses_running_stats_and_leaves_them():
    x = normal(0, 6, 3)
    w, b = normal(1, 3), normal(2, 3)
    running_mean, running_var = normal(3, 3), np.abs(normal(4, 3)) + 0.5
    rm0, rv0 = running_mean.copy(), running_var.copy()
    out = F.batch_norm(f64(x), running_mean, running_var, f64(w), f64(b))
    assert_close(out, batch_norm_ref(x, running_mean, running_var, w, b))
    np.testing.assert_array_equal(running_mean, rm0)
    np.testing.assert_array_equal(running_var, rv0)


def test_batch_norm_updates_tensor_running_stats_in_place():
    running_mean, running_var = cr.zeros(2), cr.ones(2)
    mean_data = running_mean.data
    F.batch_norm(cr.tensor([[1.0, 10.0], [3.0, 30.0]]), running_mean, running_var, training=True)
    assert running_mean.data is mean_data
    assert_close(running_mean, [0.2, 2.0], rtol=1e-6)
    assert_close(running_var, [1.1, 20.9], rtol=1e-6)


def test_batch_norm_without_running_stats_in_training():
    x = normal(0, 5, 2)
    out = F.batch_norm(f64(x), None, None, training=True, eps=0.0)
    assert_close(out, (x - x.mean(0)) / x.std(0))


def test_batch_norm_float32_stays_float32_with_float64_running_stats():
    x = cr.tensor(normal(0, 5, 2).astype(np.float32), requires_grad=True)
    out = F.batch_norm(x, np.zeros(2), np.ones(2), cr.ones(2), cr.zeros(2))
    assert out.dtype == np.float32


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("shape", [(5, 3), (3, 3, 4)], ids=["NC", "NCL"])
def test_batch_norm_gradcheck(training, shape):
    running_mean, running_var = normal(3, 3), np.abs(normal(4, 3)) + 0.5

    def f(x, w, b):
        return F.batch_norm(x, running_mean.copy(), running_var.copy(), w, b, training)

    args = [f64(normal(0, *shape)), f64(normal(1, 3)), f64(normal(2, 3))]
    assert cr.gradcheck(f, args)
    assert cr.gradgradcheck(f, args)


@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5)], ids=["NC", "NCL"])
@pytest.mark.parametrize("momentum", [0.1, 0.5])
def test_batch_norm_matches_torch(shape, momentum):
    torch = pytest.importorskip("torch")
    x, w, b = normal(0, *shape) * 2 + 1, normal(1, 3), normal(2, 3)
    g = normal(5, *shape)
    ours_mean, ours_var = np.zeros(3), np.ones(3)
    their_mean, their_var = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    for step, training in enumerate([True, True, False]):
        xs = x + step
        tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (xs, w, b))
        expected = torch.nn.functional.batch_norm(
            tx, their_mean, their_var, tw, tb, training=training, momentum=momentum
        )
        expected.backward(torch.tensor(g))
        xt, wt, bt = f64(xs), f64(w), f64(b)
        out = F.batch_norm(xt, ours_mean, ours_var, wt, bt, training=training, momentum=momentum)
        out.backward(g)
        assert_close(out, expected.detach().numpy(), rtol=1e-10, atol=1e-12)
        assert_close(ours_mean, their_mean.numpy())
        assert_close(ours_var, their_var.numpy())
        for ours, theirs in ((xt, tx), (wt, tw), (bt, tb)):
            assert_close(ours.grad, theirs.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_batch_norm_errors():
    x = f64(np.zeros((4, 3)))
    with pytest.raises(ShapeError, match=r"batch_norm: input must have shape \(N, C\) or"):
        F.batch_norm(f64(np.zeros(3)), np.zeros(3), np.ones(3))
    with pytest.raises(ShapeError, match=r"batch_norm: running_mean has shape \(2,\), expected"):
        F.batch_norm(x, np.zeros(2), np.ones(3))
    with pytest.raises(ShapeError, match=r"batch_norm: weight has shape \(4,\), expected \(3,\)"):
        F.batch_norm(x, np.zeros(3), np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match="batch_norm: expected more than 1 value per channel"):
        F.batch_norm(f64(np.zeros((1, 3))), np.zeros(3), np.ones(3), training=True)
    with pytest.raises(ValueError, match="batch_norm: running_mean and running_var are needed"):
        F.batch_norm(x, None, None)
    with pytest.raises(TypeError, match="batch_norm: running_mean must be a floating ndarray"):
        F.batch_norm(x, [0.0, 0.0, 0.0], np.ones(3), training=True)


# ----- layer_norm -----


def layer_norm_ref(x, k, w=None, b=None, eps=1e-5):
    axes = tuple(range(x.ndim - k, x.ndim))
    out = (x - x.mean(axis=axes, keepdims=True)) / np.sqrt(x.var(axis=axes, keepdims=True) + eps)
    return out * (1 if w is None else w) + (0 if b is None else b)


@pytest.mark.parametrize(("shape", "normalized"), [((4, 5), 5), ((2, 3, 4), (3, 4))])
def test_layer_norm_matches_numpy(shape, normalized):
    x = normal(0, *shape) * 2 + 1
    k = 1 if isinstance(normalized, int) else len(normalized)
    w, b = normal(1, *shape[-k:]), normal(2, *shape[-k:])
    assert_close(F.layer_norm(f64(x), normalized), layer_norm_ref(x, k))
    assert_close(F.layer_norm(f64(x), normalized, f64(w), f64(b)), layer_norm_ref(x, k, w, b))


def test_layer_norm_gradcheck():
    args = [f64(normal(0, 3, 2, 4)), f64(normal(1, 2, 4)), f64(normal(2, 2, 4))]
    assert cr.gradcheck(lambda x, w, b: F.layer_norm(x, (2, 4), w, b), args)
    assert cr.gradgradcheck(lambda x, w, b: F.layer_norm(x, (2, 4), w, b), args)


def test_layer_norm_matches_torch():
    torch = pytest.importorskip("torch")
    x, w, b, g = normal(0, 3, 4, 5), normal(1, 4, 5), normal(2, 4, 5), normal(3, 3, 4, 5)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    expected = torch.nn.functional.layer_norm(tx, (4, 5), tw, tb)
    expected.backward(torch.tensor(g))
    xt, wt, bt = f64(x), f64(w), f64(b)
    out = F.layer_norm(xt, (4, 5), wt, bt)
    out.backward(g)
    assert_close(out, expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    for ours, theirs in ((xt, tx), (wt, tw), (bt, tb)):
        assert_close(ours.grad, theirs.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_layer_norm_errors():
    with pytest.raises(ShapeError, match=r"layer_norm: normalized_shape \(3,\) must be the trail"):
        F.layer_norm(f64(np.zeros((2, 4))), 3)
    with pytest.raises(ShapeError, match=r"layer_norm: weight has shape \(3,\), expected \(4,\)"):
        F.layer_norm(f64(np.zeros((2, 4))), 4, np.ones(3))


@pytest.mark.parametrize("norm", ["batch_norm", "layer_norm"])
def test_normalization_second_backward_with_retain_graph_matches_first(norm):
    """The fused gate recomputes what its first backward consumed."""
    x, w, b = f64(normal(0, 4, 3)), f64(normal(1, 3)), f64(normal(2, 3))
    if norm == "batch_norm":
        out = F.batch_norm(x, None, None, w, b, training=True)
    else:
        out = F.layer_norm(x, 3, w, b)
    g = normal(3, 4, 3)
    out.backward(g, retain_graph=True)
    first = [t.grad.data.copy() for t in (x, w, b)]
    out.backward(g)
    for t, grad in zip((x, w, b), first, strict=True):
        assert_close(t.grad, 2 * grad)


def test_batch_norm_training_output_has_zero_mean_unit_variance():
    x = f64(normal(0, 64, 4) * 5 + 3)
    out = F.batch_norm(x, None, None, training=True, eps=0.0).data
    assert_close(out.mean(axis=0), np.zeros(4), atol=1e-14)
    assert_close(out.var(axis=0), np.ones(4))
