"""state_dict / load_state_dict: keys, copies, round trips, dtypes and every load error."""

from collections import OrderedDict

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn


def mlp(hidden=5):
    return nn.Sequential(
        nn.Linear(4, hidden), nn.BatchNorm1d(hidden), nn.ReLU(), nn.Linear(hidden, 3)
    )


KEYS = [
    "0.weight",
    "0.bias",
    "1.weight",
    "1.bias",
    "1.running_mean",
    "1.running_var",
    "1.num_batches_tracked",
    "3.weight",
    "3.bias",
]


def test_state_dict_keys_order_and_types():
    state = mlp().state_dict()
    assert isinstance(state, OrderedDict)
    assert list(state) == KEYS
    assert all(type(v) is np.ndarray for v in state.values())
    assert state["0.weight"].shape == (5, 4) and state["0.weight"].dtype == np.float32
    assert (
        state["1.num_batches_tracked"].shape == ()
        and state["1.num_batches_tracked"].dtype == np.int64
    )


def test_state_dict_values_are_copies():
    net = mlp()
    state = net.state_dict()
    state["0.weight"][...] = 123.0
    assert not (net[0].weight.data == 123.0).any()


def test_non_persistent_buffers_are_not_saved():
    m = nn.Module()
    m.register_buffer("kept", np.zeros(2))
    m.register_buffer("scratch", np.zeros(2), persistent=False)
    assert list(m.state_dict()) == ["kept"]
    assert [n for n, _ in m.named_buffers()] == ["kept", "scratch"]


def test_round_trip_reproduces_outputs():
    cr.seed(1)
    a = mlp()
    a(cr.randn(16, 4))  # a training step moves the running statistics
    cr.seed(2)
    b = mlp()
    result = b.load_state_dict(a.state_dict())
    assert result == nn.IncompatibleKeys([], [])
    for key, value in a.state_dict().items():
        np.testing.assert_array_equal(b.state_dict()[key], value)
    a.eval(), b.eval()
    x = cr.randn(3, 4)
    np.testing.assert_array_equal(a(x).data, b(x).data)


def test_load_copies_in_place_and_keeps_dtypes():
    net = mlp()
    params = list(net.parameters())
    arrays = [p.data for p in params]
    state = {k: v.astype(np.float64) + 1 for k, v in net.state_dict().items()}
    state["1.num_batches_tracked"] = 7  # a plain number is fine
    net.load_state_dict(state)
    for p, a in zip(net.parameters(), arrays):
        assert p.data is a and p.dtype == np.float32  # same arrays: optimizers stay valid
    assert all(a is b for a, b in zip(net.parameters(), params))
    np.testing.assert_allclose(net[0].weight.data, state["0.weight"], rtol=1e-6)
    assert net[1].num_batches_tracked.item() == 7


def test_load_accepts_tensors():
    a, b = nn.Linear(3, 2), nn.Linear(3, 2)
    b.load_state_dict({"weight": a.weight, "bias": a.bias})
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    assert b.weight.data is not a.weight.data


def test_missing_keys_are_listed():
    net = mlp()
    state = net.state_dict()
    del state["3.weight"], state["1.running_var"]
    with pytest.raises(
        RuntimeError, match="Error\\(s\\) in loading state_dict for Sequential"
    ) as e:
        net.load_state_dict(state)
    assert "missing keys: '1.running_var', '3.weight'" in str(e.value)


def test_unexpected_keys_are_listed():
    net = mlp()
    state = net.state_dict()
    state["4.weight"] = np.zeros((2, 2))
    with pytest.raises(RuntimeError, match="unexpected keys: '4.weight'"):
        net.load_state_dict(state)


def test_mis_shaped_keys_name_both_shapes():
    net = mlp()
    state = mlp(hidden=6).state_dict()
    with pytest.raises(RuntimeError) as e:
        net.load_state_dict(state)
    message = str(e.value)
    assert "size mismatch for '0.weight': expected shape (5, 4), got (6, 4)" in message
    assert "size mismatch for '3.weight': expected shape (3, 5), got (3, 6)" in message
    assert "size mismatch for '1.running_mean': expected shape (5,), got (6,)" in message


def test_every_problem_is_reported_at_once_and_nothing_is_loaded():
    net = mlp()
    before = net.state_dict()
    state = {k: v + 1 for k, v in before.items()}
    del state["0.bias"]
    state["extra"] = np.zeros(1)
    state["3.bias"] = np.zeros(4)
    with pytest.raises(RuntimeError) as e:
        net.load_state_dict(state)
    lines = str(e.value).splitlines()
    assert lines[1:] == [
        "  missing keys: '0.bias'",
        "  unexpected keys: 'extra'",
        "  size mismatch for '3.bias': expected shape (3,), got (4,)",
    ]
    for key, value in net.state_dict().items():
        np.testing.assert_array_equal(value, before[key])


def test_non_strict_loads_what_matches():
    net = mlp()
    source = nn.Linear(4, 5)
    result = net.load_state_dict({"0.weight": source.weight, "junk": np.ones(1)}, strict=False)
    np.testing.assert_array_equal(net[0].weight.data, source.weight.data)
    assert result.unexpected_keys == ["junk"]
    assert result.missing_keys == [k for k in KEYS if k != "0.weight"]


def test_non_strict_still_rejects_wrong_shapes():
    with pytest.raises(RuntimeError, match="size mismatch for 'weight'"):
        nn.Linear(4, 5).load_state_dict({"weight": np.zeros((5, 3))}, strict=False)


def test_impossible_casts_are_errors():
    net = mlp()
    state = net.state_dict()
    state["1.num_batches_tracked"] = np.array(2.5)
    state["0.bias"] = np.array(["a"] * 5)
    with pytest.raises(RuntimeError) as e:
        net.load_state_dict(state)
    message = str(e.value)
    assert "dtype mismatch for '1.num_batches_tracked': cannot load float64 into int64" in message
    assert "dtype mismatch for '0.bias': cannot load <U1 into float32" in message


def test_load_needs_a_mapping():
    with pytest.raises(TypeError, match="expected a mapping"):
        nn.Linear(2, 2).load_state_dict([("weight", np.zeros((2, 2)))])


def test_shared_module_appears_under_each_path():
    fc = nn.Linear(2, 2)
    net = nn.Sequential(fc, nn.Tanh(), fc)
    assert list(net.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    net.load_state_dict(net.state_dict())


def test_no_bias_and_no_running_stats_are_skipped():
    net = nn.Sequential(nn.Linear(3, 2, bias=False), nn.BatchNorm1d(2, track_running_stats=False))
    assert list(net.state_dict()) == ["0.weight", "1.weight", "1.bias"]


def test_loss_weights_are_buffers():
    loss = nn.CrossEntropyLoss(weight=np.array([1.0, 2.0]))
    assert list(loss.state_dict()) == ["weight"]
    assert list(loss.parameters()) == []
    assert list(nn.CrossEntropyLoss().state_dict()) == []
