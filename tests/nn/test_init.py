"""cr.nn.init: gains, fans, the statistics of each initialiser, and the layers' defaults."""

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn import init

# A (500, 400) tensor has 200,000 samples: the sample std is within ~0.3% of the
# true one (relative standard error 1/sqrt(2n)), the mean within ~0.2% of the std.
SHAPE = (500, 400)
STD_RTOL = 0.01


def big(dtype="float32"):
    return cr.zeros(*SHAPE, dtype=dtype)


# ----- gains and fans -----


@pytest.mark.parametrize(
    ("nonlinearity", "param", "gain"),
    [
        ("linear", None, 1.0),
        ("conv2d", None, 1.0),
        ("sigmoid", None, 1.0),
        ("tanh", None, 5 / 3),
        ("relu", None, math.sqrt(2)),
        ("leaky_relu", None, math.sqrt(2 / (1 + 0.01**2))),
        ("leaky_relu", 0.2, math.sqrt(2 / 1.04)),
        ("leaky_relu", math.sqrt(5), math.sqrt(1 / 3)),
        ("selu", None, 0.75),
    ],
)
def test_calculate_gain(nonlinearity, param, gain):
    assert init.calculate_gain(nonlinearity, param) == pytest.approx(gain, rel=1e-12)


def test_calculate_gain_errors():
    with pytest.raises(ValueError, match="unsupported nonlinearity 'swish'"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="not a valid number"):
        init.calculate_gain("leaky_relu", "0.1")


def test_gains_match_torch():
    torch = pytest.importorskip("torch")
    for name in ("linear", "sigmoid", "tanh", "relu", "leaky_relu", "selu"):
        assert init.calculate_gain(name) == pytest.approx(torch.nn.init.calculate_gain(name))
    assert init.calculate_gain("leaky_relu", 0.3) == pytest.approx(
        torch.nn.init.calculate_gain("leaky_relu", 0.3)
    )


@pytest.mark.parametrize(
    ("shape", "fans"),
    [((256, 784), (784, 256)), ((16, 3, 5, 5), (75, 400)), ((4, 2, 3), (6, 12)), ((1, 1), (1, 1))],
)
def test_fans(shape, fans):
    assert init.calculate_fan_in_and_fan_out(cr.zeros(*shape)) == fans


def test_fans_match_torch():
    torch = pytest.importorskip("torch")
    for shape in [(256, 784), (16, 3, 5, 5), (4, 2, 3), (7, 1, 2, 2, 2)]:
        ours = init.calculate_fan_in_and_fan_out(cr.zeros(*shape))
        theirs = torch.nn.init._calculate_fan_in_and_fan_out(torch.zeros(*shape))
        assert ours == theirs


def test_fans_need_two_dimensions():
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.calculate_fan_in_and_fan_out(cr.zeros(5))
    with pytest.raises(ValueError, match="fewer than 2"):
        init.kaiming_uniform_(cr.zeros(5))


def test_bad_mode():
    with pytest.raises(ValueError, match="'fan_in' or 'fan_out'"):
        init.kaiming_normal_(big(), mode="fan_avg")


# ----- statistics -----


def check_uniform(data, bound):
    assert data.min() >= -bound and data.max() <= bound
    assert data.min() < -0.99 * bound and data.max() > 0.99 * bound
    assert data.std() == pytest.approx(bound / math.sqrt(3), rel=STD_RTOL)
    assert abs(data.mean()) < 0.01 * bound


def check_normal(data, std, mean=0.0):
    assert data.std() == pytest.approx(std, rel=STD_RTOL)
    assert abs(data.mean() - mean) < 0.01 * std
    assert abs(data - mean).max() > 3.5 * std  # tails present: not a uniform


def test_kaiming_uniform_defaults_and_relu():
    fan_in = SHAPE[1]
    t = init.kaiming_uniform_(big())  # leaky_relu with a=0: the ReLU gain
    check_uniform(t.data, math.sqrt(6 / fan_in))
    t = init.kaiming_uniform_(big(), nonlinearity="relu", mode="fan_out")
    check_uniform(t.data, math.sqrt(6 / SHAPE[0]))


def test_kaiming_normal():
    t = init.kaiming_normal_(big(), nonlinearity="relu")
    check_normal(t.data, math.sqrt(2 / SHAPE[1]))
    t = init.kaiming_normal_(big(), a=0.2, mode="fan_out")
    check_normal(t.data, math.sqrt(2 / 1.04) / math.sqrt(SHAPE[0]))


def test_kaiming_on_conv_weights_uses_receptive_field():
    t = init.kaiming_normal_(cr.zeros(64, 32, 5, 5), nonlinearity="relu")
    check_normal(t.data, math.sqrt(2 / (32 * 25)))


def test_xavier():
    fan_in, fan_out = SHAPE[1], SHAPE[0]
    t = init.xavier_uniform_(big())
    check_uniform(t.data, math.sqrt(6 / (fan_in + fan_out)))
    t = init.xavier_uniform_(big(), gain=init.calculate_gain("tanh"))
    check_uniform(t.data, 5 / 3 * math.sqrt(6 / (fan_in + fan_out)))
    t = init.xavier_normal_(big(), gain=2.0)
    check_normal(t.data, 2.0 * math.sqrt(2 / (fan_in + fan_out)))


def test_uniform_and_normal():
    check_uniform(init.uniform_(big(), -3.0, 3.0).data, 3.0)
    data = init.uniform_(big()).data
    assert data.min() >= 0 and data.max() < 1
    check_normal(init.normal_(big(), mean=2.0, std=0.5).data, 0.5, mean=2.0)


def test_constants():
    t = cr.ones(3, 4, dtype="float64")
    assert (init.zeros_(t).data == 0).all()
    assert (init.ones_(t).data == 1).all()
    assert (init.constant_(t, 0.25).data == 0.25).all()
    ints = cr.zeros(3, dtype="int64")
    assert (init.ones_(ints).data == 1).all() and ints.dtype == np.int64


# ----- in place, dtype, reproducibility -----


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_init_is_in_place_and_keeps_dtype(dtype):
    p = nn.Parameter(np.zeros((30, 20), dtype))
    data = p.data
    for fn in (init.kaiming_uniform_, init.kaiming_normal_, init.xavier_uniform_, init.normal_):
        assert fn(p) is p
        assert p.data is data and p.dtype == dtype
        assert p.is_leaf and p.requires_grad and p.grad is None
    assert data.any()


def test_init_works_on_arrays_and_ignores_no_grad_state():
    a = np.zeros((10, 10))
    init.xavier_normal_(a)
    assert a.std() > 0
    p = nn.Parameter(np.zeros((10, 10)))
    with cr.no_grad():
        init.uniform_(p)
    assert p.data.any()


def test_init_is_reproducible_with_seed():
    cr.seed(3)
    a = init.kaiming_normal_(big()).data.copy()
    b = init.uniform_(cr.zeros(10)).data.copy()
    cr.seed(3)
    np.testing.assert_array_equal(init.kaiming_normal_(big()).data, a)
    np.testing.assert_array_equal(init.uniform_(cr.zeros(10)).data, b)
    assert not np.array_equal(init.uniform_(cr.zeros(10)).data, b)


def test_random_init_needs_floats():
    with pytest.raises(TypeError, match="floating tensor"):
        init.normal_(cr.zeros(3, 3, dtype="int64"))
    with pytest.raises(TypeError, match="Tensor or an ndarray"):
        init.zeros_([1.0, 2.0])


def test_zero_element_tensors_are_left_alone():
    for fn in (init.kaiming_uniform_, init.kaiming_normal_, init.xavier_uniform_):
        assert fn(cr.zeros(0, 3)).shape == (0, 3)


# ----- layer defaults -----


def test_linear_default_init_matches_pytorch_bounds():
    cr.seed(0)
    fc = nn.Linear(400, 500)
    bound = 1 / math.sqrt(400)
    check_uniform(fc.weight.data, bound)
    b = fc.bias.data
    assert b.min() >= -bound and b.max() <= bound and b.std() > 0.4 * bound
    assert fc.weight.dtype == np.float32 and fc.bias.dtype == np.float32


def test_layers_use_the_default_dtype_or_the_one_given():
    cr.set_default_dtype("float64")
    try:
        assert nn.Linear(2, 3).weight.dtype == np.float64
        assert nn.BatchNorm1d(3).running_mean.dtype == np.float64
    finally:
        cr.set_default_dtype("float32")
    assert nn.Linear(2, 3, dtype="float64").bias.dtype == np.float64
    assert nn.Maxout(2, 3, dtype="float64").weight.dtype == np.float64
    assert nn.LayerNorm(3, dtype="float64").weight.dtype == np.float64
    assert nn.Linear(2, 3).weight.dtype == np.float32


def test_layer_init_is_reproducible():
    cr.seed(7)
    a = nn.Sequential(nn.Linear(5, 4), nn.Maxout(4, 2))
    cr.seed(7)
    b = nn.Sequential(nn.Linear(5, 4), nn.Maxout(4, 2))
    for (key, x), y in zip(a.state_dict().items(), b.state_dict().values()):
        np.testing.assert_array_equal(x, y, err_msg=key)


def test_reset_parameters_redraws():
    fc = nn.Linear(3, 3)
    before = fc.weight.data.copy()
    fc.reset_parameters()
    assert not np.array_equal(before, fc.weight.data)


def test_normalization_layers_start_as_identity_affine():
    bn, ln = nn.BatchNorm1d(4), nn.LayerNorm((2, 3))
    assert (bn.weight.data == 1).all() and (bn.bias.data == 0).all()
    assert (bn.running_mean.data == 0).all() and (bn.running_var.data == 1).all()
    assert (ln.weight.data == 1).all() and ln.bias.shape == (2, 3)
