"""SGD against hand-computed steps, option by option (float64, tolerance 1e-12)."""

import numpy as np
import pytest
from pytest import approx

import chainrule as cr
from chainrule.optim import SGD

GRADS = [1.0, 2.0, -1.0]  # the gradient fed at steps 1, 2, 3 (set by hand, no backward)


def run(grads, p0=1.0, **options):
    """The parameter's value after each step of SGD fed `grads` in turn."""
    p = cr.tensor(np.array([p0]), requires_grad=True)
    opt = SGD([p], **options)
    values = []
    for g in grads:
        p.grad = cr.tensor(np.array([g]))
        opt.step()
        values.append(p.data.item())
    return values


def test_sgd_plain_hand_computed():
    # p = p - lr g, lr = 0.1: 1 - 0.1 = 0.9; 0.9 - 0.2 = 0.7; 0.7 + 0.1 = 0.8
    assert run(GRADS, lr=0.1) == approx([0.9, 0.7, 0.8], rel=1e-12)


def test_sgd_default_lr_is_pytorchs():
    # lr = 1e-3: 1 - 1e-3 = 0.999
    assert run([1.0]) == approx([0.999], rel=1e-12)


def test_sgd_weight_decay_hand_computed():
    # g' = g + 0.5 p, lr = 0.1
    # t=1: g' = 1 + 0.5 * 1 = 1.5                 p = 1 - 0.15 = 0.85
    # t=2: g' = 2 + 0.5 * 0.85 = 2.425            p = 0.85 - 0.2425 = 0.6075
    # t=3: g' = -1 + 0.5 * 0.6075 = -0.69625      p = 0.6075 + 0.069625 = 0.677125
    expected = [0.85, 0.6075, 0.677125]
    assert run(GRADS, lr=0.1, weight_decay=0.5) == approx(expected, rel=1e-12)


def test_sgd_momentum_hand_computed():
    # b = g at t=1, then b = 0.9 b + g; p = p - 0.1 b
    # t=1: b = 1                       p = 1 - 0.1 = 0.9
    # t=2: b = 0.9 * 1 + 2 = 2.9       p = 0.9 - 0.29 = 0.61
    # t=3: b = 0.9 * 2.9 - 1 = 1.61    p = 0.61 - 0.161 = 0.449
    assert run(GRADS, lr=0.1, momentum=0.9) == approx([0.9, 0.61, 0.449], rel=1e-12)


def test_sgd_dampening_hand_computed():
    # b = g at t=1 (no dampening on the first step), then b = 0.9 b + (1 - 0.5) g
    # t=1: b = 1                             p = 0.9
    # t=2: b = 0.9 * 1 + 0.5 * 2 = 1.9       p = 0.9 - 0.19 = 0.71
    # t=3: b = 0.9 * 1.9 - 0.5 = 1.21        p = 0.71 - 0.121 = 0.589
    expected = [0.9, 0.71, 0.589]
    assert run(GRADS, lr=0.1, momentum=0.9, dampening=0.5) == approx(expected, rel=1e-12)


def test_sgd_nesterov_hand_computed():
    # b as with momentum; the step uses g + 0.9 b
    # t=1: b = 1;     d = 1 + 0.9 * 1 = 1.9         p = 1 - 0.19 = 0.81
    # t=2: b = 2.9;   d = 2 + 0.9 * 2.9 = 4.61      p = 0.81 - 0.461 = 0.349
    # t=3: b = 1.61;  d = -1 + 0.9 * 1.61 = 0.449   p = 0.349 - 0.0449 = 0.3041
    expected = [0.81, 0.349, 0.3041]
    assert run(GRADS, lr=0.1, momentum=0.9, nesterov=True) == approx(expected, rel=1e-12)


def test_sgd_maximize_hand_computed():
    # the gradient is negated: 1 + 0.1 = 1.1; 1.1 + 0.2 = 1.3; 1.3 - 0.1 = 1.2
    assert run(GRADS, lr=0.1, maximize=True) == approx([1.1, 1.3, 1.2], rel=1e-12)


def test_sgd_maximize_with_momentum_hand_computed():
    # b = -1 -> p = 1.1; b = -0.9 - 2 = -2.9 -> p = 1.39; b = -2.61 + 1 = -1.61 -> p = 1.551
    expected = [1.1, 1.39, 1.551]
    assert run(GRADS, lr=0.1, momentum=0.9, maximize=True) == approx(expected, rel=1e-12)


def test_sgd_momentum_with_weight_decay_hand_computed():
    # g' = g + 0.1 p enters the buffer; lr = 0.1, momentum = 0.5
    # t=1: g' = 1 + 0.1 = 1.1;  b = 1.1                           p = 1 - 0.11 = 0.89
    # t=2: g' = 2 + 0.089 = 2.089;  b = 0.55 + 2.089 = 2.639      p = 0.89 - 0.2639 = 0.6261
    expected = [0.89, 0.6261]
    got = run(GRADS[:2], lr=0.1, momentum=0.5, weight_decay=0.1)
    assert got == approx(expected, rel=1e-12)


def test_sgd_momentum_buffer_is_not_the_grad_array():
    p = cr.tensor(np.array([1.0]), requires_grad=True)
    opt = SGD([p], lr=0.1, momentum=0.9)
    p.grad = cr.tensor(np.array([1.0]))
    grad_array = p.grad.data
    opt.step()
    p.grad.data[...] = 5.0  # a caller reusing its gradient array must not touch the state
    assert opt.state[p]["momentum_buffer"] == approx([1.0])
    assert not np.shares_memory(opt.state[p]["momentum_buffer"], grad_array)


def test_sgd_never_modifies_the_gradient():
    p = cr.tensor(np.array([1.0, 2.0]), requires_grad=True)
    opt = SGD([p], lr=0.1, momentum=0.9, weight_decay=0.1, nesterov=True, maximize=True)
    p.grad = cr.tensor(np.array([0.5, -0.5]))
    for _ in range(3):
        opt.step()
    np.testing.assert_array_equal(p.grad.data, [0.5, -0.5])


def test_sgd_float32_stays_float32():
    p = cr.tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    opt = SGD([p], lr=0.1, momentum=0.9, weight_decay=0.01, nesterov=True)
    for _ in range(3):
        p.grad = cr.tensor(np.full(3, 0.5, dtype=np.float32))
        opt.step()
    assert p.data.dtype == np.float32
    assert opt.state[p]["momentum_buffer"].dtype == np.float32


def test_sgd_updates_the_data_array_in_place():
    p = cr.tensor(np.array([1.0, 2.0]), requires_grad=True)
    data = p.data
    p.grad = cr.tensor(np.array([1.0, 1.0]))
    SGD([p], lr=0.5).step()
    assert p.data is data
    np.testing.assert_array_equal(data, [0.5, 1.5])


def test_sgd_skips_params_without_grad():
    a = cr.tensor(np.array([1.0]), requires_grad=True)
    b = cr.tensor(np.array([1.0]), requires_grad=True)
    opt = SGD([a, b], lr=0.1, momentum=0.9)
    a.grad = cr.tensor(np.array([1.0]))
    opt.step()
    assert a.data.item() == approx(0.9)
    assert b.data.item() == 1.0
    assert b not in opt.state


def test_sgd_param_groups_have_their_own_lr():
    a = cr.tensor(np.array([1.0]), requires_grad=True)
    b = cr.tensor(np.array([1.0]), requires_grad=True)
    opt = SGD([{"params": [a]}, {"params": [b], "lr": 1.0, "momentum": 0.5}], lr=0.1)
    assert opt.param_groups[0]["momentum"] == 0 and opt.param_groups[1]["momentum"] == 0.5
    for _ in range(2):
        a.grad, b.grad = cr.tensor(np.array([1.0])), cr.tensor(np.array([1.0]))
        opt.step()
    assert a.data.item() == approx(1 - 0.1 - 0.1)
    assert b.data.item() == approx(1 - 1.0 - 1.5)  # b: 1, then 0.5 * 1 + 1


def test_sgd_follows_the_engines_gradient():
    # f(w) = sum(w**2), gradient 2 w: w <- w - 0.25 * 2 w = w / 2
    w = cr.tensor(np.array([4.0, -2.0]), requires_grad=True)
    opt = SGD([w], lr=0.25)
    for _ in range(3):
        opt.zero_grad()
        (w * w).sum().backward()
        opt.step()
    np.testing.assert_allclose(w.data, [0.5, -0.25], rtol=1e-12)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"lr": -0.1}, "SGD: invalid learning rate lr=-0.1"),
        ({"momentum": -0.5}, "SGD: invalid momentum=-0.5"),
        ({"weight_decay": -1e-4}, "SGD: invalid weight_decay=-0.0001"),
        ({"nesterov": True}, "SGD: Nesterov momentum requires momentum > 0"),
        ({"nesterov": True, "momentum": 0.9, "dampening": 0.1}, "dampening=0.1"),
    ],
)
def test_sgd_invalid_hyperparameters(options, message):
    p = cr.tensor(np.ones(2), requires_grad=True)
    with pytest.raises(ValueError, match=message):
        SGD([p], **options)


def test_sgd_invalid_group_hyperparameter_names_the_group():
    a = cr.tensor(np.ones(2), requires_grad=True)
    b = cr.tensor(np.ones(2), requires_grad=True)
    with pytest.raises(ValueError, match=r"lr=-1.*\(param group 1\)"):
        SGD([{"params": [a]}, {"params": [b], "lr": -1}], lr=0.1)


def test_sgd_non_number_lr_is_a_type_error():
    p = cr.tensor(np.ones(2), requires_grad=True)
    with pytest.raises(TypeError, match="SGD: lr must be a number, got '0.1'"):
        SGD([p], lr="0.1")
