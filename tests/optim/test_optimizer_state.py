"""The Optimizer base: construction errors, groups, zero_grad, closure, state dicts, identity."""

import io
import json

import numpy as np
import pytest

import chainrule as cr
from chainrule.optim import SGD, Adagrad, Adam, AdamW, Optimizer, RMSprop
from chainrule.tensor import Tensor

CONFIGS = [
    (SGD, {"lr": 0.1}),
    (SGD, {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    (RMSprop, {"lr": 0.01, "momentum": 0.5, "centered": True}),
    (Adagrad, {"lr": 0.1, "lr_decay": 0.05, "initial_accumulator_value": 0.1}),
    (Adam, {"lr": 0.05, "amsgrad": True, "betas": (0.8, 0.95)}),
    (AdamW, {"lr": 0.05, "weight_decay": 0.1}),
]
IDS = ["SGD", "SGD-momentum", "RMSprop", "Adagrad", "Adam", "AdamW"]


def make_params(dtype=np.float64):
    rng = np.random.default_rng(0)
    return [
        cr.tensor(rng.standard_normal((3, 2)).astype(dtype), requires_grad=True),
        cr.tensor(rng.standard_normal(2).astype(dtype), requires_grad=True),
        cr.tensor(rng.standard_normal(()).astype(dtype), requires_grad=True),
    ]


def train(opt, params, steps):
    """Steps of a fixed least-squares problem (quartic in the scalar, to vary the gradients)."""
    x = cr.tensor(np.linspace(-1.0, 1.0, 12).reshape(4, 3).astype(params[0].dtype))
    w, b, s = params
    for _ in range(steps):
        opt.zero_grad()
        out = x @ w + b
        loss = ((out - 1.0) ** 2).mean() + (s * s) ** 2
        loss.backward()
        opt.step()


def optimizer_with_groups(cls, options, params):
    return cls([{"params": params[:2]}, {"params": params[2:], "lr": 0.02}], **options)


# ----- construction -----


def test_optimizer_rejects_a_single_tensor():
    with pytest.raises(TypeError, match=r"single Tensor \(wrap it in a list"):
        SGD(cr.tensor(np.ones(2), requires_grad=True), lr=0.1)


def test_optimizer_rejects_an_empty_list():
    with pytest.raises(ValueError, match="Adam got an empty parameter list"):
        Adam([])


def test_optimizer_rejects_a_parameter_without_requires_grad():
    frozen = cr.tensor(np.ones(2))
    with pytest.raises(ValueError, match=r"SGD: a parameter of shape \(2,\) does not require grad"):
        SGD([frozen], lr=0.1)


def test_optimizer_rejects_a_non_leaf():
    w = cr.tensor(np.ones(2), requires_grad=True)
    with pytest.raises(ValueError, match="can't optimize a non-leaf tensor"):
        SGD([w * 2], lr=0.1)


def test_optimizer_rejects_non_tensors_and_sets():
    with pytest.raises(TypeError, match="can only optimize Tensors, but param group 0 holds a"):
        SGD([np.ones(2)], lr=0.1)
    w = cr.tensor(np.ones(2), requires_grad=True)
    with pytest.raises(TypeError, match="not named_parameters"):
        SGD([("w", w)], lr=0.1)
    with pytest.raises(TypeError, match="ordered collection"):
        SGD([{"params": {w}}], lr=0.1)


def test_optimizer_rejects_duplicate_parameters():
    w = cr.tensor(np.ones(2), requires_grad=True)
    with pytest.raises(ValueError, match="lists a parameter twice"):
        SGD([w, w], lr=0.1)
    with pytest.raises(ValueError, match="more than one param group"):
        SGD([{"params": [w]}, {"params": [w]}], lr=0.1)


def test_optimizer_accepts_a_generator_and_a_group_with_one_tensor():
    params = make_params()
    opt = SGD((p for p in params), lr=0.1)
    assert opt.param_groups[0]["params"] == params  # list == compares identity first
    opt = SGD([{"params": params[0]}], lr=0.1)
    assert opt.param_groups[0]["params"][0] is params[0]


def test_add_param_group_fills_defaults_and_copies_the_dict():
    a, b, c = make_params()
    opt = Adam([a], lr=0.01, betas=(0.8, 0.9))
    group = {"params": [b, c], "lr": 0.5}
    opt.add_param_group(group)
    added = opt.param_groups[1]
    assert added["lr"] == 0.5 and added["betas"] == (0.8, 0.9) and added["amsgrad"] is False
    assert added is not group and group == {"params": [b, c], "lr": 0.5}
    with pytest.raises(ValueError, match="more than one param group"):
        opt.add_param_group({"params": [a]})
    with pytest.raises(ValueError, match=r"invalid beta .* \(param group 2\)"):
        opt.add_param_group({"params": [cr.tensor(1.0, requires_grad=True)], "betas": (1, 0)})


def test_optimizer_repr_lists_the_groups():
    a, b, _ = make_params()
    text = repr(SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1))
    assert text.startswith("SGD (\nParameter Group 0\n")
    assert "    lr: 0.1\n" in text and "Parameter Group 1" in text and "    lr: 0.5" in text


# ----- zero_grad, step, closure -----


def test_zero_grad_sets_none_by_default():
    params = make_params()
    opt = SGD(params, lr=0.1)
    train(opt, params, 1)
    assert all(p.grad is not None for p in params)
    opt.zero_grad()
    assert all(p.grad is None for p in params)


def test_zero_grad_without_set_to_none_zeroes_in_place():
    params = make_params()
    opt = SGD(params, lr=0.1)
    train(opt, params, 1)
    arrays = [p.grad.data for p in params]
    opt.zero_grad(set_to_none=False)
    for p, array in zip(params, arrays):
        assert not np.asarray(p.grad.data).any() and p.grad.data.shape == p.shape
        if isinstance(array, np.ndarray):  # (a 0-d gradient may be a NumPy scalar)
            assert p.grad.data is array


def test_step_with_closure_returns_the_loss():
    w = cr.tensor(np.array([2.0]), requires_grad=True)
    opt = SGD([w], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    with cr.no_grad():  # the closure records its graph anyway
        loss = opt.step(closure)
    assert loss.item() == 4.0
    assert w.data.item() == 1.0


def test_step_rejects_a_gradient_of_the_wrong_shape():
    w = cr.tensor(np.ones(3), requires_grad=True)
    w.grad = cr.tensor(np.ones(2))
    with pytest.raises(ValueError, match=r"shape \(3,\) has a gradient of shape \(2,\)"):
        SGD([w], lr=0.1).step()


def test_step_records_nothing():
    w = cr.tensor(np.ones(3), requires_grad=True)
    w.grad = cr.tensor(np.ones(3))
    Adam([w], lr=0.1).step()
    assert w.is_leaf and w.requires_grad and w.gate is None


# ----- identity -----


class LoudTensor(Tensor):
    """A tensor whose == must never be called by the optimizer."""

    __slots__ = ()

    def __eq__(self, other):
        raise AssertionError("the optimizer compared tensors with ==")

    __hash__ = Tensor.__hash__


@pytest.mark.parametrize(("cls", "options"), CONFIGS, ids=IDS)
def test_state_is_keyed_by_identity(cls, options):
    # Two parameters with equal values (and equal-looking shapes) keep separate state.
    a = LoudTensor(np.ones(3), requires_grad=True)
    b = LoudTensor(np.ones(3), requires_grad=True)
    opt = cls([a, b], **options)
    for k in range(3):
        a.grad = cr.tensor(np.full(3, 1.0 + k))
        b.grad = cr.tensor(np.full(3, -2.0))
        opt.step()
    assert not np.array_equal(a.data, b.data)
    assert opt.state[a] is not opt.state[b]
    state_dict = opt.state_dict()
    twin = cls([LoudTensor(np.ones(3), requires_grad=True) for _ in range(2)], **options)
    twin.load_state_dict(state_dict)
    assert twin.state_dict()["param_groups"] == state_dict["param_groups"]
    if cls is not SGD:  # an error about the second parameter names it by position
        del state_dict["state"][1][sorted(state_dict["state"][1])[-1]]
        with pytest.raises(ValueError, match="state of parameter 1 lacks"):
            twin.load_state_dict(state_dict)


# ----- state dicts -----


@pytest.mark.parametrize(("cls", "options"), CONFIGS, ids=IDS)
def test_state_dict_refers_to_parameters_by_index(cls, options):
    params = make_params()
    opt = optimizer_with_groups(cls, options, params)
    train(opt, params, 2)
    state_dict = opt.state_dict()
    assert [g["params"] for g in state_dict["param_groups"]] == [[0, 1], [2]]
    stateless = cls is SGD and not options.get("momentum")
    assert sorted(state_dict["state"]) == ([] if stateless else [0, 1, 2])
    for i, state in state_dict["state"].items():
        for key, value in state.items():
            if key == "step":
                assert type(value) is int and value == 2
            else:
                assert isinstance(value, np.ndarray) and value.shape == params[i].shape
    for group in state_dict["param_groups"]:
        for key, value in group.items():
            assert isinstance(value, (int, float, bool, tuple, list)), key


@pytest.mark.parametrize(("cls", "options"), CONFIGS, ids=IDS)
def test_state_dict_is_a_snapshot(cls, options):
    params = make_params()
    opt = cls(params, **options)
    train(opt, params, 2)
    state_dict = opt.state_dict()
    saved = {i: {k: np.copy(v) for k, v in s.items()} for i, s in state_dict["state"].items()}
    train(opt, params, 2)
    for i, state in saved.items():
        for key, value in state.items():
            np.testing.assert_array_equal(state_dict["state"][i][key], value)


def json_round_trip(state_dict):
    text = json.dumps(state_dict, default=lambda a: a.tolist())
    return json.loads(text)  # int keys become strings, tuples lists, arrays lists


def npz_round_trip(state_dict):
    """Arrays to an .npz file, the rest to JSON, as a checkpoint writer might do."""
    arrays, buffer = {}, io.BytesIO()

    def stash(value):
        arrays[f"a{len(arrays)}"] = value
        return f"@a{len(arrays) - 1}"

    text = json.dumps(state_dict, default=stash)
    np.savez(buffer, **arrays)
    buffer.seek(0)
    with np.load(buffer, allow_pickle=False) as loaded:

        def unstash(value):
            if isinstance(value, str) and value.startswith("@"):
                return loaded[value[1:]]
            if isinstance(value, dict):
                return {k: unstash(v) for k, v in value.items()}
            return value

        return unstash(json.loads(text))


@pytest.mark.parametrize("round_trip", [lambda sd: sd, json_round_trip, npz_round_trip])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(("cls", "options"), CONFIGS, ids=IDS)
def test_resumed_optimizer_continues_exactly(cls, options, dtype, round_trip):
    uninterrupted = make_params(dtype)
    opt = optimizer_with_groups(cls, options, uninterrupted)
    train(opt, uninterrupted, 6)

    first = make_params(dtype)
    opt = optimizer_with_groups(cls, options, first)
    train(opt, first, 3)
    checkpoint = round_trip(opt.state_dict())
    values = [p.data.copy() for p in first]
    train(opt, first, 2)  # the old run goes on: the checkpoint must not follow it

    resumed = [cr.tensor(v, requires_grad=True) for v in values]
    opt = optimizer_with_groups(cls, {**options, "lr": 123.0}, resumed)
    opt.load_state_dict(checkpoint)
    assert opt.param_groups[0]["lr"] == options["lr"]  # the saved hyper-parameters win
    train(opt, resumed, 3)
    for p, q in zip(resumed, uninterrupted):
        assert p.dtype == dtype
        np.testing.assert_array_equal(p.data, q.data)
    for p in resumed:
        for value in opt.state[p].values():
            assert not isinstance(value, np.ndarray) or value.dtype == dtype


def test_load_state_dict_restores_a_tuple_of_betas_from_json():
    params = make_params()
    opt = Adam(params, betas=(0.8, 0.9))
    train(opt, params, 1)
    opt.load_state_dict(json_round_trip(opt.state_dict()))
    assert opt.param_groups[0]["betas"] == (0.8, 0.9)


def test_load_state_dict_before_any_step():
    params = make_params()
    opt = Adam(params, lr=0.01)
    other = Adam(make_params(), lr=0.5)
    other.load_state_dict(opt.state_dict())
    assert other.param_groups[0]["lr"] == 0.01 and not other.state


def test_adamw_stays_decoupled_after_loading_an_adam_state():
    params = make_params()
    adam = Adam(params, lr=0.01, weight_decay=0.1)
    train(adam, params, 1)
    adamw = AdamW(make_params(), lr=0.01)
    adamw.load_state_dict(adam.state_dict())
    assert adamw.param_groups[0]["decoupled_weight_decay"] is True


def loaded_error(opt, state_dict, match):
    with pytest.raises(ValueError, match=match):
        opt.load_state_dict(state_dict)


def test_load_state_dict_mismatches_are_clear_errors():
    params = make_params()
    opt = optimizer_with_groups(Adam, {"lr": 0.01}, params)
    train(opt, params, 1)
    good = opt.state_dict()

    fresh = optimizer_with_groups(Adam, {"lr": 0.01}, make_params())
    loaded_error(fresh, {"state": {}}, "expected a dict with 'state' and 'param_groups'")
    loaded_error(Adam(make_params()), good, "has 2 param group.*this optimizer 1")
    two_groups = Adam([{"params": params[:1]}, {"params": params[1:]}])
    loaded_error(two_groups, good, "param group 0 has 2 parameter.*1 in this optimizer")

    bad_shape = json_round_trip(good)
    bad_shape["state"]["1"]["exp_avg"] = [1.0, 2.0, 3.0]
    loaded_error(fresh, bad_shape, r"state 'exp_avg' of parameter 1 has shape \(3,\), the param")

    bad_index = json_round_trip(good)
    bad_index["state"]["7"] = bad_index["state"].pop("0")
    loaded_error(fresh, bad_index, "state for parameter 7, but the optimizer has 3")
    not_numeric = json_round_trip(good)
    not_numeric["state"]["0"]["exp_avg"] = {"a": 1}
    loaded_error(fresh, not_numeric, "state 'exp_avg' of parameter 0 is not numeric")
    bad_key = json_round_trip(good)
    bad_key["state"]["w"] = bad_key["state"].pop("0")
    loaded_error(fresh, bad_key, "state key 'w' is not a parameter index")

    bad_value = json_round_trip(good)
    bad_value["param_groups"][1]["lr"] = -1.0
    loaded_error(fresh, bad_value, r"Adam: invalid learning rate lr=-1.0 .*\(param group 1\)")

    amsgrad = optimizer_with_groups(Adam, {"lr": 0.01, "amsgrad": True}, make_params())
    no_max = json_round_trip(good)
    no_max["param_groups"][1]["amsgrad"] = True
    loaded_error(amsgrad, no_max, r"parameter 2 lacks \['max_exp_avg_sq'\]")
    # The failed loads changed nothing.
    assert fresh.param_groups[1]["lr"] == 0.02 and not fresh.state


def test_load_state_dict_from_another_optimizer_is_a_clear_error():
    params = make_params()
    adam = Adam(params, lr=0.01)
    train(adam, params, 1)
    rmsprop = RMSprop(make_params())
    with pytest.raises(ValueError, match=r"lacks \['square_avg'\].*another optimizer"):
        rmsprop.load_state_dict(adam.state_dict())


def test_optimizer_base_step_needs_an_update_rule():
    w = cr.tensor(np.ones(2), requires_grad=True)
    w.grad = cr.tensor(np.ones(2))
    with pytest.raises(NotImplementedError):
        Optimizer([w], {"lr": 0.1}).step()


@pytest.mark.parametrize(("cls", "options"), CONFIGS, ids=IDS)
def test_load_state_dict_copies_the_arrays(cls, options):
    params = make_params()
    opt = cls(params, **options)
    train(opt, params, 2)
    state_dict = opt.state_dict()
    before = json_round_trip(state_dict)
    other_params = make_params()
    other = cls(other_params, **options)
    other.load_state_dict(state_dict)
    train(other, other_params, 2)  # steps on the loaded state leave the dict as it was
    assert json_round_trip(state_dict) == before
