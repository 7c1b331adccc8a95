"""Layers and activation modules: end-to-end gradient checks (float64) and references.

Each gradcheck perturbs the input and every parameter (central differences) and
compares with backprop; the default tolerances (atol 1e-5, rtol 1e-3) are loose
against the ~1e-9 relative error that float64 central differences reach.
"""

import numpy as np
import pytest
from nn_checks import f64, module_gradcheck

import chainrule as cr
from chainrule import nn


def rng(seed=0):
    return np.random.default_rng(seed)


def away_from_zero(shape, seed=0, gap=0.1):
    """Inputs at least `gap` from the ReLU / leaky ReLU kink."""
    x = rng(seed).standard_normal(shape)
    return f64(np.where(np.abs(x) < gap, np.sign(x + 1e-12) * gap + x, x))


# ----- gradient checks -----


@pytest.mark.parametrize(
    ("make", "shape"),
    [
        (lambda: nn.Linear(4, 3), (5, 4)),
        (lambda: nn.Linear(4, 3, bias=False), (5, 4)),
        (lambda: nn.Linear(4, 3), (2, 5, 4)),
        (lambda: nn.Linear(4, 3), (4,)),
        (lambda: nn.Maxout(4, 3, pieces=3), (6, 4)),
        (lambda: nn.Maxout(4, 2, bias=False), (6, 4)),
        (lambda: nn.Flatten(), (2, 3, 4)),
        (lambda: nn.Flatten(0, 1), (2, 3, 4)),
        (lambda: nn.Identity(), (3, 2)),
        (lambda: nn.ReLU(), (4, 5)),
        (lambda: nn.LeakyReLU(0.2), (4, 5)),
        (lambda: nn.ELU(alpha=0.5), (4, 5)),
        (lambda: nn.Sigmoid(), (4, 5)),
        (lambda: nn.Tanh(), (4, 5)),
        (lambda: nn.Softplus(), (4, 5)),
        (lambda: nn.Softplus(beta=2.0), (4, 5)),
        (lambda: nn.Softmax(dim=-1), (4, 5)),
        (lambda: nn.Softmax(dim=0), (4, 5)),
        (lambda: nn.LogSoftmax(dim=1), (4, 5)),
    ],
    ids=lambda v: "" if callable(v) else str(v),
)
def test_layer_gradcheck(make, shape):
    module = make()
    assert module_gradcheck(module, away_from_zero(shape))


def test_sequential_mlp_gradcheck():
    net = nn.Sequential(
        nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 8), nn.ELU(), nn.Maxout(8, 4), nn.Linear(4, 3)
    )
    assert module_gradcheck(net, away_from_zero((5, 6)))


def test_shared_layer_gradients_add_up():
    fc = nn.Linear(3, 3)
    net = nn.Sequential(fc, nn.Tanh(), fc)
    assert module_gradcheck(net, away_from_zero((4, 3)))


# ----- f = W2 max(0, W1 x): the lecture's network against NumPy -----


def test_two_layer_net_matches_hand_written_numpy():
    cr.seed(0)
    net = nn.Sequential(nn.Linear(5, 7), nn.ReLU(), nn.Linear(7, 3)).double()
    r = rng(1)
    x_np = r.standard_normal((4, 5))
    dout = r.standard_normal((4, 3))
    W1, b1 = net[0].weight.data.copy(), net[0].bias.data.copy()
    W2, b2 = net[2].weight.data.copy(), net[2].bias.data.copy()

    # CS231n style, rows are samples: h = max(0, x W1^T + b1), out = h W2^T + b2.
    z = x_np @ W1.T + b1
    h = np.maximum(0, z)
    out_np = h @ W2.T + b2
    dW2, db2 = dout.T @ h, dout.sum(axis=0)
    dh = dout @ W2
    dz = dh * (z > 0)
    dW1, db1, dx_np = dz.T @ x_np, dz.sum(axis=0), dz @ W1

    x = f64(x_np)
    out = net(x)
    out.backward(dout)
    np.testing.assert_allclose(out.data, out_np, rtol=1e-12, atol=1e-12)
    for got, want in [
        (net[0].weight.grad, dW1),
        (net[0].bias.grad, db1),
        (net[2].weight.grad, dW2),
        (net[2].bias.grad, db2),
        (x.grad, dx_np),
    ]:
        assert cr.rel_error(got, want) < 1e-12


def test_linear_matches_torch():
    torch = pytest.importorskip("torch")
    fc = nn.Linear(4, 3, dtype="float64")
    x = rng().standard_normal((5, 4))
    ref = torch.nn.Linear(4, 3).double()
    with torch.no_grad():
        ref.weight.copy_(torch.from_numpy(fc.weight.data))
        ref.bias.copy_(torch.from_numpy(fc.bias.data))
    np.testing.assert_allclose(fc(f64(x)).data, ref(torch.from_numpy(x)).detach().numpy())


def test_linear_keeps_float32():
    fc = nn.Linear(3, 2)
    out = fc(cr.randn(4, 3))
    assert out.dtype == np.float32 and out.shape == (4, 2)


# ----- Maxout -----


def test_maxout_is_max_over_pieces_of_one_linear():
    layer = nn.Maxout(3, 2, pieces=3).double()
    x = rng().standard_normal((5, 3))
    z = x @ layer.weight.data.T + layer.bias.data  # (5, 6): unit k owns columns 3k..3k+2
    want = z.reshape(5, 2, 3).max(axis=-1)
    np.testing.assert_allclose(layer(f64(x)).data, want, rtol=1e-12)


def test_maxout_lecture_form_with_two_pieces():
    # max(w1^T x + b1, w2^T x + b2) for one output unit.
    layer = nn.Maxout(2, 1).double()
    (w1, w2), (b1, b2) = layer.weight.data, layer.bias.data
    x = np.array([0.3, -1.2])
    assert layer(f64(x)).item() == pytest.approx(max(w1 @ x + b1, w2 @ x + b2))


def test_maxout_routes_gradient_to_the_winning_piece():
    layer = nn.Maxout(2, 1).double()
    layer.weight.data[...] = [[1.0, 0.0], [0.0, 1.0]]
    layer.bias.data[...] = 0.0
    x = f64([3.0, -1.0])
    layer(x).sum().backward()
    np.testing.assert_array_equal(layer.weight.grad.data, [[3.0, -1.0], [0.0, 0.0]])
    np.testing.assert_array_equal(x.grad.data, [1.0, 0.0])


def test_maxout_with_one_piece_is_linear():
    cr.seed(0)
    maxout = nn.Maxout(4, 3, pieces=1)
    fc = nn.Linear(4, 3)
    fc.load_state_dict(maxout.state_dict())
    x = cr.randn(2, 4)
    np.testing.assert_allclose(maxout(x).data, fc(x).data, rtol=1e-6)
    with pytest.raises(ValueError, match="at least 1"):
        nn.Maxout(4, 3, pieces=0)


# ----- shape layers -----


@pytest.mark.parametrize(
    ("start", "end", "shape", "want"),
    [
        (1, -1, (2, 3, 4, 5), (2, 60)),
        (0, -1, (2, 3, 4), (24,)),
        (1, 2, (2, 3, 4, 5), (2, 12, 5)),
        (-2, -1, (2, 3, 4), (2, 12)),
        (1, 1, (2, 3), (2, 3)),
        (0, 0, (), (1,)),
    ],
)
def test_flatten_shapes(start, end, shape, want):
    assert nn.Flatten(start, end)(cr.zeros(*shape)).shape == want


def test_flatten_matches_torch_order():
    x = np.arange(24.0).reshape(2, 3, 4)
    np.testing.assert_array_equal(nn.Flatten()(cr.tensor(x)).data, x.reshape(2, 12))


def test_flatten_bad_dims():
    with pytest.raises(IndexError, match="out of range"):
        nn.Flatten(3)(cr.zeros(2, 3))
    with pytest.raises(ValueError, match="comes after"):
        nn.Flatten(2, 1)(cr.zeros(2, 3, 4))


def test_identity_returns_its_input_and_accepts_arguments():
    x = cr.randn(3)
    assert nn.Identity(54, unused="x")(x) is x


# ----- activations against NumPy and torch -----


ACTIVATIONS = [
    (lambda: nn.ReLU(), lambda x: np.maximum(0, x), "ReLU", {}),
    (lambda: nn.LeakyReLU(), lambda x: np.where(x > 0, x, 0.01 * x), "LeakyReLU", {}),
    (
        lambda: nn.LeakyReLU(0.3),
        lambda x: np.where(x > 0, x, 0.3 * x),
        "LeakyReLU",
        {"negative_slope": 0.3},
    ),
    (lambda: nn.ELU(), lambda x: np.where(x > 0, x, np.expm1(x)), "ELU", {}),
    (lambda: nn.ELU(2.0), lambda x: np.where(x > 0, x, 2 * np.expm1(x)), "ELU", {"alpha": 2.0}),
    (lambda: nn.Sigmoid(), lambda x: 1 / (1 + np.exp(-x)), "Sigmoid", {}),
    (lambda: nn.Tanh(), np.tanh, "Tanh", {}),
    (lambda: nn.Softplus(), lambda x: np.logaddexp(0, x), "Softplus", {}),
    (
        lambda: nn.Softplus(beta=3.0),
        lambda x: np.logaddexp(0, 3 * x) / 3,
        "Softplus",
        {"beta": 3.0},
    ),
]


@pytest.mark.parametrize(("make", "reference", "torch_name", "kwargs"), ACTIVATIONS)
def test_activation_values(make, reference, torch_name, kwargs):
    x = np.linspace(-5, 5, 41)
    np.testing.assert_allclose(make()(f64(x)).data, reference(x), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize(("make", "reference", "torch_name", "kwargs"), ACTIVATIONS)
def test_activation_matches_torch(make, reference, torch_name, kwargs):
    torch = pytest.importorskip("torch")
    x = np.linspace(-30, 30, 61)
    want = getattr(torch.nn, torch_name)(**kwargs)(torch.from_numpy(x)).numpy()
    # Softplus: PyTorch returns x itself above its threshold; the stable formula differs
    # there by exp(-20) ~ 2e-9.
    np.testing.assert_allclose(make()(f64(x)).data, want, rtol=1e-9, atol=1e-9)


def test_softmax_modules_use_dim():
    x = rng().standard_normal((3, 4))
    for dim in (0, 1, -1):
        p = nn.Softmax(dim=dim)(f64(x)).data
        np.testing.assert_allclose(p.sum(axis=dim), 1.0)
        logp = nn.LogSoftmax(dim=dim)(f64(x)).data
        np.testing.assert_allclose(np.exp(logp), p, rtol=1e-12)


def test_relu_gradient_at_zero_is_zero():
    x = f64([0.0, 1.0])
    nn.ReLU()(x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 1.0])
