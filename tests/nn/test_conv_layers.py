"""The CNN layers: Conv2d, ConvTranspose2d, the pools, BatchNorm2d and Dropout2d.

PyTorch's initialisation and reprs, the same outputs and gradients as PyTorch from the
same weights, errors that name the layer, end-to-end gradient checks, and a seeded CNN
whose loss falls on the bundled digits.
"""

import math

import numpy as np
import pytest
from nn_checks import f64, module_gradcheck

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn, optim
from chainrule.errors import ShapeError


def rand(seed, *shape):
    return np.random.default_rng(seed).standard_normal(shape)


def copy_into_torch(ours, theirs):
    """Copy our parameters into a PyTorch module, in order, as float64."""
    torch = pytest.importorskip("torch")
    theirs.double()
    with torch.no_grad():
        for p, q in zip(ours.parameters(), theirs.parameters(), strict=True):
            q.copy_(torch.tensor(p.data, dtype=torch.float64))


def assert_same_step(ours, theirs, x, rtol=1e-10):
    """Same output and same gradients (input and parameters) for one random upstream g."""
    torch = pytest.importorskip("torch")
    ours.double()
    copy_into_torch(ours, theirs)
    xt, tx = f64(x), torch.tensor(x, requires_grad=True)
    out, expected = ours(xt), theirs(tx)
    g = rand(99, *expected.shape)
    out.backward(g)
    expected.backward(torch.tensor(g))
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=rtol, atol=rtol)
    np.testing.assert_allclose(xt.grad.data, tx.grad.numpy(), rtol=rtol, atol=rtol)
    for p, q in zip(ours.parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.grad.data, q.grad.numpy(), rtol=rtol, atol=rtol)


# ----- Conv2d and ConvTranspose2d -----


@pytest.mark.parametrize(
    ("layer", "fan_in"),
    [(lambda: nn.Conv2d(6, 64, 3), 54), (lambda: nn.Conv2d(8, 64, (5, 3), groups=4), 30),
     (lambda: nn.ConvTranspose2d(64, 6, 2, stride=2), 24)],
)  # fmt: skip
def test_conv_layers_initialise_as_pytorch(layer, fan_in):
    # kaiming_uniform_(a=sqrt(5)) is U(-b, b) with b = 1/sqrt(fan_in); the bias too.
    cr.seed(0)
    conv = layer()
    bound = 1 / math.sqrt(fan_in)
    for p in (conv.weight, conv.bias):
        assert p.dtype == np.float32
        assert np.abs(p.data).max() <= bound
    assert np.abs(conv.weight.data).max() > 0.95 * bound
    assert abs(conv.weight.data.std() - bound / math.sqrt(3)) < 0.1 * bound


def test_conv2d_shapes_and_repr_match_torch():
    torch = pytest.importorskip("torch")
    for args, kwargs in [
        ((3, 16, 3), {"padding": 1}),
        ((4, 8, (3, 5)), {"stride": 2, "dilation": (1, 2), "groups": 2, "bias": False}),
        ((2, 2, 3), {"padding": "same", "padding_mode": "reflect"}),
    ]:
        ours, theirs = nn.Conv2d(*args, **kwargs), torch.nn.Conv2d(*args, **kwargs)
        assert repr(ours) == repr(theirs)
        assert ours.weight.shape == tuple(theirs.weight.shape)
    ours, theirs = (
        nn.ConvTranspose2d(16, 8, 3, 2, 1, 1),
        torch.nn.ConvTranspose2d(16, 8, 3, 2, 1, 1),
    )
    assert repr(ours) == repr(theirs) and ours.weight.shape == tuple(theirs.weight.shape)
    for ours, theirs in [
        (nn.MaxPool2d(2), torch.nn.MaxPool2d(2)),
        (nn.MaxPool2d(3, 2, 1, ceil_mode=True), torch.nn.MaxPool2d(3, 2, 1, ceil_mode=True)),
        (nn.AvgPool2d(3, 2, 1), torch.nn.AvgPool2d(3, 2, 1)),
        (nn.AdaptiveAvgPool2d((2, 3)), torch.nn.AdaptiveAvgPool2d((2, 3))),
    ]:
        assert repr(ours) == repr(theirs)


@pytest.mark.parametrize(
    "kwargs",
    [{"padding": 1}, {"stride": 2, "padding": 2, "dilation": 2, "groups": 2},
      {"padding": "same", "padding_mode": "reflect"},
     {"padding": (1, 2), "padding_mode": "replicate"},
     {"padding": 1, "padding_mode": "circular", "bias": False}],
)  # fmt: skip
def test_conv2d_layer_matches_torch(kwargs):
    torch = pytest.importorskip("torch")
    cr.seed(0)
    ours, theirs = nn.Conv2d(4, 6, 3, **kwargs), torch.nn.Conv2d(4, 6, 3, **kwargs)
    assert_same_step(ours, theirs, rand(0, 2, 4, 7, 6))


def test_conv_transpose2d_layer_matches_torch_with_output_size():
    torch = pytest.importorskip("torch")
    cr.seed(0)
    ours = nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, groups=2)
    theirs = torch.nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, groups=2)
    assert_same_step(ours, theirs, rand(0, 2, 4, 5, 4))
    x = rand(1, 2, 4, 5, 4)
    out = ours(f64(x), output_size=(10, 8))
    assert out.shape == (2, 6, 10, 8)
    expected = theirs(torch.tensor(x), output_size=(10, 8))
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    with pytest.raises(
        ValueError,
        match=r"output_size \(12, 8\) cannot be reached from input "
        r"size \(5, 4\); height and width must lie in \(9, 10\) and \(7, 8\)",
    ):
        ours(f64(x), output_size=(12, 8))  # fmt: skip


def test_conv_layers_gradcheck():
    cr.seed(0)
    assert module_gradcheck(nn.Conv2d(2, 3, 3, stride=2, padding=1), f64(rand(0, 2, 2, 5, 5)))
    assert module_gradcheck(nn.Conv2d(2, 2, 2, padding_mode="circular", padding=1),
                            f64(rand(1, 1, 2, 3, 4)))  # fmt: skip
    assert module_gradcheck(nn.ConvTranspose2d(2, 3, 3, stride=2), f64(rand(2, 1, 2, 3, 3)))


def test_conv_layer_errors_name_the_layer_and_shapes():
    conv = nn.Conv2d(3, 16, 3)
    with pytest.raises(
        ShapeError,
        match=r"Conv2d\(3, 16, kernel_size=\(3, 3\), stride=\(1, 1\)\): "
        r"expected input \(N, 3, H, W\) or \(3, H, W\), got shape \(2, 4, 8, 8\)",
    ):
        conv(cr.zeros(2, 4, 8, 8))  # fmt: skip
    with pytest.raises(ShapeError, match=r"got shape \(8, 8\)"):
        conv(cr.zeros(8, 8))
    with pytest.raises(ShapeError, match=r"conv2d: kernel \(3, 3\) .* larger than the padded"):
        conv(cr.zeros(1, 3, 2, 8))
    with pytest.raises(ShapeError, match=r"ConvTranspose2d\(4, 2, .*\): expected input \(N, 4, H"):
        nn.ConvTranspose2d(4, 2, 2)(cr.zeros(1, 2, 3, 3))
    with pytest.raises(ValueError, match="Conv2d: groups=2 must divide in_channels=3"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="Conv2d: padding_mode must be one of"):
        nn.Conv2d(3, 4, 3, padding_mode="edge")
    with pytest.raises(ValueError, match="Conv2d: padding='same' needs stride 1"):
        nn.Conv2d(3, 4, 3, stride=2, padding="same")


# ----- pooling layers -----


def test_pooling_layers_match_torch():
    torch = pytest.importorskip("torch")
    x = rand(0, 2, 3, 9, 7)
    for ours, theirs in [
        (nn.MaxPool2d(3, 2, 1, ceil_mode=True), torch.nn.MaxPool2d(3, 2, 1, ceil_mode=True)),
        (nn.AvgPool2d((2, 3), 1, count_include_pad=False),
         torch.nn.AvgPool2d((2, 3), 1, count_include_pad=False)),
        (nn.AdaptiveAvgPool2d(1), torch.nn.AdaptiveAvgPool2d(1)),
        (nn.AdaptiveAvgPool2d((4, None)), torch.nn.AdaptiveAvgPool2d((4, None))),
    ]:  # fmt: skip
        assert_same_step(ours, theirs, x)


# ----- BatchNorm2d and batch_norm on feature maps -----


def test_batchnorm2d_matches_torch_in_training_and_eval():
    torch = pytest.importorskip("torch")
    ours, theirs = nn.BatchNorm2d(3).double(), torch.nn.BatchNorm2d(3).double()
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor([0.5, 2.0, -1.0]))
        theirs.bias.copy_(torch.tensor([0.0, 1.0, 3.0]))
    ours.weight.data[...] = [0.5, 2.0, -1.0]
    ours.bias.data[...] = [0.0, 1.0, 3.0]
    for step in range(3):
        x = rand(step, 4, 3, 5, 6) * (step + 1) + step
        xt, tx = f64(x), torch.tensor(x, requires_grad=True)
        out, expected = ours(xt), theirs(tx)
        g = rand(10 + step, *x.shape)
        out.backward(g)
        expected.backward(torch.tensor(g))
        np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(xt.grad.data, tx.grad.numpy(), rtol=1e-9, atol=1e-12)
    for name in ("running_mean", "running_var"):
        np.testing.assert_allclose(getattr(ours, name).data, getattr(theirs, name).numpy(), 1e-12)
    np.testing.assert_allclose(ours.weight.grad.data, theirs.weight.grad.numpy(), rtol=1e-10)
    ours.eval(), theirs.eval()
    x = rand(9, 2, 3, 4, 4)
    np.testing.assert_allclose(ours(f64(x)).data, theirs(torch.tensor(x)).detach().numpy(), 1e-12)


def test_batchnorm2d_normalises_each_channel_over_batch_and_space():
    x = rand(0, 8, 4, 5, 5) * np.array([1.0, 10.0, 0.5, 3.0])[:, None, None] + 7
    y = nn.BatchNorm2d(4)(cr.tensor(x)).data
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(y.var(axis=(0, 2, 3)), 1, atol=1e-3)


def test_batchnorm2d_gradcheck_and_errors():
    assert module_gradcheck(nn.BatchNorm2d(2), f64(rand(0, 3, 2, 2, 3)))
    with pytest.raises(ShapeError, match=r"BatchNorm2d: expected input \(N, 3, H, W\), got shape"):
        nn.BatchNorm2d(3)(cr.zeros(4, 3, 5))


def test_functional_batch_norm_on_feature_maps_matches_torch():
    torch = pytest.importorskip("torch")
    x, w, b = rand(0, 4, 3, 5, 2), rand(1, 3), rand(2, 3)
    mean, var = np.zeros(3), np.ones(3)
    t_mean, t_var = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    out = F.batch_norm(f64(x), mean, var, f64(w), f64(b), training=True)
    expected = torch.nn.functional.batch_norm(
        torch.tensor(x), t_mean, t_var, torch.tensor(w), torch.tensor(b), training=True
    )
    np.testing.assert_allclose(out.data, expected.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(mean, t_mean.numpy(), rtol=1e-12)
    np.testing.assert_allclose(var, t_var.numpy(), rtol=1e-12)


# ----- Dropout2d -----


def test_dropout2d_drops_whole_channels_and_scales_the_rest():
    cr.seed(0)
    y = nn.Dropout2d(0.25)(cr.ones(200, 50, 3, 3)).data
    per_map = y.reshape(200, 50, 9)
    assert (per_map == per_map[..., :1]).all()  # a map is kept or dropped as a whole
    kept = per_map[..., 0] != 0
    assert abs(1 - kept.mean() - 0.25) < 0.02  # 10,000 maps: 5 sigma is 0.022
    np.testing.assert_allclose(per_map[..., 0][kept], 1 / 0.75, rtol=1e-6)


def test_dropout2d_eval_reproducibility_and_gradient():
    x = cr.randn(2, 4, 3, 3)
    assert nn.Dropout2d().eval()(x) is x
    cr.seed(3)
    a = nn.Dropout2d()(x).data
    cr.seed(3)
    np.testing.assert_array_equal(a, nn.Dropout2d()(x).data)
    assert module_gradcheck(nn.Dropout2d(0.4), f64(rand(0, 2, 3, 2, 2)))
    with pytest.raises(ShapeError, match=r"dropout2d: expected input \(N, C, H, W\), got shape"):
        F.dropout2d(cr.ones(3, 4))
    with pytest.raises(ValueError, match=r"dropout2d: p is a probability"):
        F.dropout2d(cr.ones(1, 2, 3, 3), p=1.5)


# ----- a CNN learns -----


def test_seeded_cnn_training_on_digits_reduces_the_loss():
    from chainrule.data import digits_split

    cr.seed(0)
    x_train, y_train, _, _ = digits_split()
    x = cr.tensor((x_train[:128] / 16).reshape(-1, 1, 8, 8).astype(np.float32))
    y = y_train[:128]
    model = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(2), nn.Dropout2d(0.1),
        nn.Flatten(), nn.Linear(64, 10),
    )  # fmt: skip
    optimizer = optim.Adam(model.parameters(), lr=0.03)
    losses = []
    for _ in range(25):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[0] > 2.0  # chance level is log(10) = 2.3
    assert losses[-1] < 0.25 * losses[0]
    assert all(p.dtype == np.float32 for p in model.parameters())
