"""Dropout, BatchNorm1d and LayerNorm: train/eval behaviour, running statistics, gradients."""

import numpy as np
import pytest
from nn_checks import f64, module_gradcheck

import chainrule as cr
from chainrule import nn
from chainrule.errors import ShapeError


def batches(n=4, shape=(16, 3), seed=0):
    r = np.random.default_rng(seed)
    return [r.standard_normal(shape) * (i + 1) + i for i in range(n)]


# ----- Dropout -----


def test_dropout_is_inverted_in_training():
    cr.seed(0)
    drop = nn.Dropout(p=0.25)
    y = drop(cr.ones(100_000)).data
    kept = y != 0
    assert abs(1 - kept.mean() - 0.25) < 0.01  # 5 sigma is 0.007
    np.testing.assert_allclose(y[kept], 1 / 0.75, rtol=1e-6)
    assert abs(y.mean() - 1.0) < 0.015  # the expected value is unchanged


def test_dropout_is_identity_in_eval():
    drop = nn.Sequential(nn.Dropout(0.9)).eval()
    x = cr.randn(10)
    assert drop(x) is x
    assert nn.Dropout(p=0.0)(x) is x


def test_dropout_p_one_drops_everything():
    assert not nn.Dropout(p=1.0)(cr.ones(5)).data.any()


def test_dropout_is_reproducible_with_seed():
    cr.seed(5)
    a = nn.Dropout()(cr.ones(50)).data
    cr.seed(5)
    b = nn.Dropout()(cr.ones(50)).data
    np.testing.assert_array_equal(a, b)


def test_dropout_gradient_is_the_mask():
    cr.seed(1)
    x = f64(np.ones(20))
    y = nn.Dropout(0.5)(x)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, y.data)  # mask / (1 - p) in both


def test_dropout_gradcheck():
    assert module_gradcheck(nn.Dropout(0.3), f64(np.random.default_rng(0).standard_normal((4, 5))))


def test_dropout_rejects_bad_p():
    for p in (-0.1, 1.5):
        with pytest.raises(ValueError, match=r"\[0, 1\]"):
            nn.Dropout(p)


def test_train_eval_difference_in_a_model():
    cr.seed(0)
    net = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.5), nn.Linear(16, 2))
    x = cr.randn(8, 4)
    train_a, train_b = net(x).data, net(x).data
    assert not np.array_equal(train_a, train_b)
    net.eval()
    np.testing.assert_array_equal(net(x).data, net(x).data)


# ----- BatchNorm1d -----


def test_batchnorm_training_normalizes_and_tracks():
    bn = nn.BatchNorm1d(3).double()
    x = batches(1)[0]
    y = bn(f64(x)).data
    np.testing.assert_allclose(y.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=0), 1, rtol=1e-3)  # eps = 1e-5
    np.testing.assert_allclose(bn.running_mean.data, 0.1 * x.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(bn.running_var.data, 0.9 + 0.1 * x.var(axis=0, ddof=1), rtol=1e-12)
    assert bn.num_batches_tracked.item() == 1


def test_batchnorm_eval_uses_running_stats_and_does_not_update():
    bn = nn.BatchNorm1d(3).double()
    for x in batches():
        bn(f64(x))
    bn.eval()
    mean, var = bn.running_mean.data.copy(), bn.running_var.data.copy()
    x = batches(1, seed=9)[0]
    want = (x - mean) / np.sqrt(var + 1e-5)
    np.testing.assert_allclose(bn(f64(x)).data, want, rtol=1e-12)
    np.testing.assert_array_equal(bn.running_mean.data, mean)
    assert bn.num_batches_tracked.item() == 4


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"momentum": 0.3},
        {"momentum": None},
        {"affine": False},
        {"track_running_stats": False},
        {"eps": 1e-3},
    ],
)
@pytest.mark.parametrize("shape", [(16, 3), (8, 3, 5)])
def test_batchnorm_matches_torch(kwargs, shape):
    torch = pytest.importorskip("torch")
    ours = nn.BatchNorm1d(3, **kwargs).double()
    ref = torch.nn.BatchNorm1d(3, **kwargs).double()
    if ours.affine:
        ours.weight.data[...] = [0.5, 2.0, -1.0]
        ours.bias.data[...] = [0.1, 0.0, 3.0]
        with torch.no_grad():
            ref.weight.copy_(torch.tensor([0.5, 2.0, -1.0], dtype=torch.float64))
            ref.bias.copy_(torch.tensor([0.1, 0.0, 3.0], dtype=torch.float64))
    for x in batches(shape=shape):
        got = ours(f64(x)).data
        want = ref(torch.from_numpy(x)).detach().numpy()
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)
    if ours.track_running_stats:
        np.testing.assert_allclose(ours.running_mean.data, ref.running_mean.numpy(), rtol=1e-12)
        np.testing.assert_allclose(ours.running_var.data, ref.running_var.numpy(), rtol=1e-12)
        assert ours.num_batches_tracked.item() == ref.num_batches_tracked.item()
    ours.eval(), ref.eval()
    x = batches(1, shape=shape, seed=3)[0]
    got = ours(f64(x)).data
    want = ref(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)


def test_batchnorm_gradient_matches_torch():
    torch = pytest.importorskip("torch")
    x = batches(1)[0]
    ours = nn.BatchNorm1d(3).double()
    ref = torch.nn.BatchNorm1d(3).double()
    xt = torch.from_numpy(x).requires_grad_()
    g = np.random.default_rng(1).standard_normal(x.shape)
    ref(xt).backward(torch.from_numpy(g))
    xc = f64(x)
    ours(xc).backward(g)
    np.testing.assert_allclose(xc.grad.data, xt.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours.weight.grad.data, ref.weight.grad.numpy(), rtol=1e-9)
    np.testing.assert_allclose(ours.bias.grad.data, ref.bias.grad.numpy(), rtol=1e-9)


@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 2)])
@pytest.mark.parametrize("training", [True, False])
def test_batchnorm_gradcheck(shape, training):
    bn = nn.BatchNorm1d(3)
    bn.train(training)
    bn.running_mean.data[...] = [0.5, -1.0, 2.0]
    bn.running_var.data[...] = [0.5, 2.0, 1.5]
    x = f64(np.random.default_rng(2).standard_normal(shape))
    assert module_gradcheck(bn, x)


def test_batchnorm_without_running_stats_uses_batch_stats_in_eval():
    bn = nn.BatchNorm1d(3, track_running_stats=False).eval()
    assert bn.running_mean is None and bn.num_batches_tracked is None
    y = bn(f64(batches(1)[0])).data
    np.testing.assert_allclose(y.mean(axis=0), 0, atol=1e-12)


def test_batchnorm_reset():
    bn = nn.BatchNorm1d(3)
    bn(cr.randn(8, 3))
    bn.weight.data[...] = 5
    bn.reset_parameters()
    assert (bn.running_mean.data == 0).all() and (bn.running_var.data == 1).all()
    assert bn.num_batches_tracked.item() == 0 and (bn.weight.data == 1).all()


def test_batchnorm_rejects_wrong_shapes():
    bn = nn.BatchNorm1d(3)
    for shape in [(4, 5), (4,), (2, 3, 4, 5)]:
        with pytest.raises(ShapeError, match=r"expected input \(N, 3\)"):
            bn(cr.zeros(*shape))


def test_batchnorm_in_a_model_train_vs_eval():
    cr.seed(0)
    net = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    x = cr.randn(10, 3)
    train_out = net(x).data
    net.eval()
    assert not np.allclose(net(x).data, train_out)  # running stats moved only 10%


# ----- LayerNorm -----


@pytest.mark.parametrize(
    ("normalized_shape", "shape"), [(5, (4, 5)), ((3, 5), (2, 3, 5)), (5, (5,))]
)
def test_layernorm_gradcheck(normalized_shape, shape):
    ln = nn.LayerNorm(normalized_shape).double()
    r = np.random.default_rng(0)
    ln.weight.data[...] = r.standard_normal(ln.weight.shape)
    ln.bias.data[...] = r.standard_normal(ln.bias.shape)
    assert module_gradcheck(ln, f64(r.standard_normal(shape)))


@pytest.mark.parametrize("kwargs", [{}, {"elementwise_affine": False}, {"bias": False}])
def test_layernorm_matches_torch(kwargs):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).standard_normal((4, 3, 5)) * 3 + 1
    ours = nn.LayerNorm((3, 5), **kwargs).double()
    ref = torch.nn.LayerNorm((3, 5), **kwargs).double()
    if ours.weight is not None:
        w = np.random.default_rng(1).standard_normal((3, 5))
        ours.weight.data[...] = w
        with torch.no_grad():
            ref.weight.copy_(torch.from_numpy(w))
    assert (ours.bias is None) == (ref.bias is None)
    want = ref(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(ours(f64(x)).data, want, rtol=1e-10, atol=1e-10)


def test_layernorm_same_in_train_and_eval():
    ln = nn.LayerNorm(4)
    x = cr.randn(3, 4)
    np.testing.assert_array_equal(ln(x).data, ln.eval()(x).data)
    assert list(ln.state_dict()) == ["weight", "bias"]


def test_layernorm_rejects_wrong_shapes():
    with pytest.raises(ShapeError, match=r"ending with \(3, 5\)"):
        nn.LayerNorm((3, 5))(cr.zeros(2, 5, 3))
    with pytest.raises(ShapeError):
        nn.LayerNorm((2, 3))(cr.zeros(3))
