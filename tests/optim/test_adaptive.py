"""RMSprop, Adagrad, Adam and AdamW against hand-computed steps (float64, tolerance 1e-12).

Each test feeds the gradients 1, 2, -1 (set by hand) to a scalar parameter starting at 1
and writes out the update rule with those numbers.
"""

from math import sqrt

import numpy as np
import pytest
from pytest import approx

import chainrule as cr
from chainrule.optim import SGD, Adagrad, Adam, AdamW, RMSprop

GRADS = [1.0, 2.0, -1.0]


def run(cls, grads, p0=1.0, **options):
    """The parameter's value after each step of `cls` fed `grads` in turn."""
    p = cr.tensor(np.array([p0]), requires_grad=True)
    opt = cls([p], **options)
    values = []
    for g in grads:
        p.grad = cr.tensor(np.array([g]))
        opt.step()
        values.append(p.data.item())
    return values


# ----- RMSprop -----


def test_rmsprop_hand_computed():
    # v = 0.9 v + 0.1 g^2;  p = p - 0.01 g / (sqrt(v) + 1e-8)
    # t=1: v = 0.1                      p = 1 - 0.01 / (sqrt(0.1) + eps)
    # t=2: v = 0.09 + 0.4 = 0.49        p -= 0.01 * 2 / (0.7 + eps)
    # t=3: v = 0.441 + 0.1 = 0.541      p -= 0.01 * -1 / (sqrt(0.541) + eps)
    eps = 1e-8
    p1 = 1 - 0.01 / (sqrt(0.1) + eps)
    p2 = p1 - 0.02 / (0.7 + eps)
    p3 = p2 + 0.01 / (sqrt(0.541) + eps)
    assert run(RMSprop, GRADS, lr=0.01, alpha=0.9) == approx([p1, p2, p3], rel=1e-12)


def test_rmsprop_defaults_are_pytorchs():
    # lr = 0.01, alpha = 0.99, eps = 1e-8: v = 0.01 * 4 = 0.04, p = 1 - 0.01 * 2 / (0.2 + eps)
    assert run(RMSprop, [2.0]) == approx([1 - 0.02 / (0.2 + 1e-8)], rel=1e-12)


def test_rmsprop_eps_is_outside_the_square_root():
    # eps = 0.1: t=1: v = 0.1 g^2 = 0.1;  p = 1 - 0.01 / (sqrt(0.1) + 0.1)
    got = run(RMSprop, [1.0], lr=0.01, alpha=0.9, eps=0.1)
    assert got == approx([1 - 0.01 / (sqrt(0.1) + 0.1)], rel=1e-12)


def test_rmsprop_centered_hand_computed():
    # m = 0.9 m + 0.1 g; denominator sqrt(v - m^2) + eps
    # t=1: v = 0.1,   m = 0.1;               d = sqrt(0.1 - 0.01) = 0.3
    # t=2: v = 0.49,  m = 0.09 + 0.2 = 0.29; d = sqrt(0.49 - 0.0841) = sqrt(0.4059)
    # t=3: v = 0.541, m = 0.261 - 0.1 = 0.161; d = sqrt(0.541 - 0.025921) = sqrt(0.515079)
    eps = 1e-8
    p1 = 1 - 0.01 / (0.3 + eps)
    p2 = p1 - 0.02 / (sqrt(0.4059) + eps)
    p3 = p2 + 0.01 / (sqrt(0.515079) + eps)
    got = run(RMSprop, GRADS, lr=0.01, alpha=0.9, centered=True)
    assert got == approx([p1, p2, p3], rel=1e-10)


def test_rmsprop_momentum_hand_computed():
    # b = 0.5 b + g / (sqrt(v) + eps);  p = p - 0.01 b
    eps = 1e-8
    b1 = 1 / (sqrt(0.1) + eps)
    b2 = 0.5 * b1 + 2 / (0.7 + eps)
    b3 = 0.5 * b2 - 1 / (sqrt(0.541) + eps)
    expected = [1 - 0.01 * b1, 1 - 0.01 * (b1 + b2), 1 - 0.01 * (b1 + b2 + b3)]
    got = run(RMSprop, GRADS, lr=0.01, alpha=0.9, momentum=0.5)
    assert got == approx(expected, rel=1e-12)


def test_rmsprop_weight_decay_hand_computed():
    # g' = g + 0.5 p
    # t=1: g' = 1.5;  v = 0.1 * 2.25 = 0.225;  p = 1 - 0.01 * 1.5 / (sqrt(0.225) + eps)
    # t=2: g' = 2 + 0.5 p1;  v = 0.9 * 0.225 + 0.1 g'^2
    eps = 1e-8
    p1 = 1 - 0.01 * 1.5 / (sqrt(0.225) + eps)
    g2 = 2 + 0.5 * p1
    v2 = 0.9 * 0.225 + 0.1 * g2**2
    p2 = p1 - 0.01 * g2 / (sqrt(v2) + eps)
    got = run(RMSprop, GRADS[:2], lr=0.01, alpha=0.9, weight_decay=0.5)
    assert got == approx([p1, p2], rel=1e-12)


def test_rmsprop_maximize_hand_computed():
    # the negated gradient: p = 1 + 0.01 / (sqrt(0.1) + eps)
    got = run(RMSprop, [1.0], lr=0.01, alpha=0.9, maximize=True)
    assert got == approx([1 + 0.01 / (sqrt(0.1) + 1e-8)], rel=1e-12)


# ----- Adagrad -----


def test_adagrad_hand_computed():
    # s = s + g^2;  p = p - 0.1 g / (sqrt(s) + 1e-10)
    # t=1: s = 1   p = 1 - 0.1 / (1 + eps)
    # t=2: s = 5   p -= 0.2 / (sqrt(5) + eps)
    # t=3: s = 6   p += 0.1 / (sqrt(6) + eps)
    eps = 1e-10
    p1 = 1 - 0.1 / (1 + eps)
    p2 = p1 - 0.2 / (sqrt(5) + eps)
    p3 = p2 + 0.1 / (sqrt(6) + eps)
    assert run(Adagrad, GRADS, lr=0.1) == approx([p1, p2, p3], rel=1e-12)


def test_adagrad_lr_decay_hand_computed():
    # clr = 0.1 / (1 + (t - 1) * 0.5): 0.1, 0.1 / 1.5, 0.1 / 2
    eps = 1e-10
    p1 = 1 - 0.1 / (1 + eps)
    p2 = p1 - (0.1 / 1.5) * 2 / (sqrt(5) + eps)
    p3 = p2 + (0.1 / 2) * 1 / (sqrt(6) + eps)
    assert run(Adagrad, GRADS, lr=0.1, lr_decay=0.5) == approx([p1, p2, p3], rel=1e-12)


def test_adagrad_initial_accumulator_hand_computed():
    # s starts at 1: s = 2, 6, 7
    eps = 1e-10
    p1 = 1 - 0.1 / (sqrt(2) + eps)
    p2 = p1 - 0.2 / (sqrt(6) + eps)
    p3 = p2 + 0.1 / (sqrt(7) + eps)
    got = run(Adagrad, GRADS, lr=0.1, initial_accumulator_value=1.0)
    assert got == approx([p1, p2, p3], rel=1e-12)


def test_adagrad_weight_decay_and_maximize_hand_computed():
    # g' = -g + 0.5 p: t=1: g' = -1 + 0.5 = -0.5, s = 0.25, p = 1 + 0.1 * 0.5 / (0.5 + eps)
    eps = 1e-10
    got = run(Adagrad, [1.0], lr=0.1, weight_decay=0.5, maximize=True)
    assert got == approx([1 + 0.05 / (0.5 + eps)], rel=1e-12)


# ----- Adam and AdamW -----


def adam_steps(grads, lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8, amsgrad=False, p0=1.0):
    """Adam written out on Python floats, as in the paper plus PyTorch's eps placement."""
    p, m, v, v_max, out = p0, 0.0, 0.0, 0.0, []
    for t, g in enumerate(grads, start=1):
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        v_max = max(v_max, v)
        v_used = v_max if amsgrad else v
        p -= lr / (1 - beta1**t) * m / (sqrt(v_used) / sqrt(1 - beta2**t) + eps)
        out.append(p)
    return out


def test_adam_hand_computed():
    # t=1: m = 0.1, v = 0.001; m/(1-0.9) = 1, v/(1-0.999) = 1     p = 1 - 0.1 / (1 + eps)
    # t=2: m = 0.09 + 0.2 = 0.29, v = 0.000999 + 0.004 = 0.004999
    #      p -= 0.1 / 0.19 * 0.29 / (sqrt(0.004999) / sqrt(0.001999) + eps)
    # t=3: m = 0.261 - 0.1 = 0.161, v = 0.004994001 + 0.001 = 0.005994001
    #      p -= 0.1 / 0.271 * 0.161 / (sqrt(0.005994001) / sqrt(0.002997001) + eps)
    eps = 1e-8
    p1 = 1 - 0.1 / (1 + eps)
    p2 = p1 - 0.1 / 0.19 * 0.29 / (sqrt(0.004999) / sqrt(0.001999) + eps)
    p3 = p2 - 0.1 / 0.271 * 0.161 / (sqrt(0.005994001) / sqrt(0.002997001) + eps)
    assert run(Adam, GRADS, lr=0.1) == approx([p1, p2, p3], rel=1e-10)
    assert run(Adam, GRADS, lr=0.1) == approx(adam_steps(GRADS), rel=1e-12)


def test_adam_defaults_are_pytorchs():
    # lr = 1e-3: the first step is lr * g / (|g| + eps)
    assert run(Adam, [4.0]) == approx([1 - 1e-3 * 4 / (4 + 1e-8)], rel=1e-12)


def test_adam_amsgrad_hand_computed():
    # betas (0.9, 0.5), gradients 2, 0.5, 0.5: v = 2, 1.125, 0.6875, so v_max stays 2
    # t=1: m = 0.2     p = 1 - 0.1 / 0.1 * 0.2 / (sqrt(2) / sqrt(0.5) + eps)
    # t=2: m = 0.23    p -= 0.1 / 0.19 * 0.23 / (sqrt(2) / sqrt(0.75) + eps)
    # t=3: m = 0.257   p -= 0.1 / 0.271 * 0.257 / (sqrt(2) / sqrt(0.875) + eps)
    eps = 1e-8
    p1 = 1 - 0.1 / 0.1 * 0.2 / (sqrt(2) / sqrt(0.5) + eps)
    p2 = p1 - 0.1 / 0.19 * 0.23 / (sqrt(2) / sqrt(0.75) + eps)
    p3 = p2 - 0.1 / 0.271 * 0.257 / (sqrt(2) / sqrt(0.875) + eps)
    grads = [2.0, 0.5, 0.5]
    got = run(Adam, grads, lr=0.1, betas=(0.9, 0.5), amsgrad=True)
    assert got == approx([p1, p2, p3], rel=1e-10)
    assert got == approx(adam_steps(grads, beta2=0.5, amsgrad=True), rel=1e-12)
    assert got[2] != approx(run(Adam, grads, lr=0.1, betas=(0.9, 0.5))[2], rel=1e-3)


def test_adam_weight_decay_is_l2_in_the_gradient():
    # g' = g + 0.5 p: t=1: g' = 1.5, and Adam's first step is lr * sign(g') = 0.1
    # t=2: g' = 2 + 0.5 * 0.9 = 2.45
    got = run(Adam, GRADS[:2], lr=0.1, weight_decay=0.5)
    assert got == approx(adam_steps([1.5, 2 + 0.5 * (1 - 0.1 * 1.5 / (1.5 + 1e-8))]), rel=1e-12)


def test_adamw_decays_the_weight_directly():
    # p = p * (1 - 0.1 * 0.5) first, then Adam's step on the raw gradient:
    # t=1: p = 0.95 - 0.1 / (1 + eps)
    eps = 1e-8
    got = run(AdamW, GRADS[:2], lr=0.1, weight_decay=0.5)
    p1 = 0.95 - 0.1 / (1 + eps)
    p2 = p1 * 0.95 - 0.1 / 0.19 * 0.29 / (sqrt(0.004999) / sqrt(0.001999) + eps)
    assert got == approx([p1, p2], rel=1e-10)


def test_adamw_default_weight_decay_is_pytorchs():
    p = cr.tensor(np.ones(1), requires_grad=True)
    assert AdamW([p]).param_groups[0]["weight_decay"] == 1e-2
    assert Adam([p]).param_groups[0]["weight_decay"] == 0


def test_adam_decoupled_weight_decay_equals_adamw():
    options = {"lr": 0.1, "weight_decay": 0.3, "betas": (0.8, 0.9)}
    got = run(Adam, GRADS, decoupled_weight_decay=True, **options)
    assert got == run(AdamW, GRADS, **options)


def test_adam_maximize_hand_computed():
    # the negated gradient: t=1: p = 1 + 0.1 / (1 + eps)
    assert run(Adam, [1.0], lr=0.1, maximize=True) == approx([1 + 0.1 / (1 + 1e-8)], rel=1e-12)
    assert run(AdamW, GRADS, lr=0.1, maximize=True, weight_decay=0) == approx(
        adam_steps([-g for g in GRADS]), rel=1e-12
    )


# ----- all of them -----

ADAPTIVE = [
    (RMSprop, {"momentum": 0.9, "centered": True, "weight_decay": 0.01}),
    (Adagrad, {"lr_decay": 0.1, "weight_decay": 0.01, "initial_accumulator_value": 0.1}),
    (Adam, {"amsgrad": True, "weight_decay": 0.01}),
    (AdamW, {"amsgrad": True}),
    (SGD, {"momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
]


@pytest.mark.parametrize(("cls", "options"), ADAPTIVE, ids=lambda x: getattr(x, "__name__", ""))
def test_optimizer_float32_stays_float32(cls, options):
    p = cr.tensor(np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3), requires_grad=True)
    opt = cls([p], lr=0.1, maximize=True, **options)
    for k in range(3):
        p.grad = cr.tensor(np.full((2, 3), 0.5 + k, dtype=np.float32))
        opt.step()
    assert p.data.dtype == np.float32
    for key, value in opt.state[p].items():
        if isinstance(value, np.ndarray):
            assert value.dtype == np.float32, key


@pytest.mark.parametrize(("cls", "options"), ADAPTIVE, ids=lambda x: getattr(x, "__name__", ""))
def test_optimizer_skips_params_without_grad(cls, options):
    a = cr.tensor(np.ones(2), requires_grad=True)
    b = cr.tensor(np.ones(2), requires_grad=True)
    opt = cls([a, b], lr=0.1, **options)
    for _ in range(2):
        a.grad = cr.tensor(np.array([0.5, -0.5]))
        opt.step()
    np.testing.assert_array_equal(b.data, [1.0, 1.0])
    assert b not in opt.state
    assert not np.array_equal(a.data, [1.0, 1.0])
    np.testing.assert_array_equal(a.grad.data, [0.5, -0.5])  # gradients are never modified


@pytest.mark.parametrize("cls", [RMSprop, Adagrad, Adam, AdamW])
def test_optimizer_param_groups_have_their_own_lr(cls):
    a = cr.tensor(np.array([1.0]), requires_grad=True)
    b = cr.tensor(np.array([1.0]), requires_grad=True)
    opt = cls([{"params": [a]}, {"params": [b], "lr": 0.2}], lr=0.1)
    for g in GRADS:
        a.grad, b.grad = cr.tensor(np.array([g])), cr.tensor(np.array([g]))
        opt.step()
    assert a.data.item() == approx(run(cls, GRADS, lr=0.1)[-1], rel=1e-12)
    assert b.data.item() == approx(run(cls, GRADS, lr=0.2)[-1], rel=1e-12)
    assert a.data.item() != approx(b.data.item(), rel=1e-3)


@pytest.mark.parametrize(
    ("cls", "options", "message"),
    [
        (Adam, {"lr": -1e-3}, r"Adam: invalid learning rate lr=-0.001"),
        (Adam, {"betas": (1.0, 0.999)}, r"Adam: invalid beta parameter at index 0: 1.0"),
        (Adam, {"betas": (0.9, -0.1)}, r"Adam: invalid beta parameter at index 1: -0.1"),
        (Adam, {"betas": (0.9,)}, r"Adam: betas must be a pair"),
        (AdamW, {"betas": (0.9, 1.5)}, r"AdamW: invalid beta parameter at index 1: 1.5"),
        (AdamW, {"eps": -1.0}, r"AdamW: invalid eps=-1.0"),
        (AdamW, {"weight_decay": -0.01}, r"AdamW: invalid weight_decay=-0.01"),
        (RMSprop, {"alpha": -0.5}, r"RMSprop: invalid alpha=-0.5"),
        (RMSprop, {"momentum": -0.5}, r"RMSprop: invalid momentum=-0.5"),
        (RMSprop, {"eps": -1e-8}, r"RMSprop: invalid eps=-1e-08"),
        (RMSprop, {"lr": -2}, r"RMSprop: invalid learning rate lr=-2"),
        (Adagrad, {"lr_decay": -0.1}, r"Adagrad: invalid lr_decay=-0.1"),
        (Adagrad, {"initial_accumulator_value": -1}, r"initial_accumulator_value=-1"),
        (Adagrad, {"eps": -1}, r"Adagrad: invalid eps=-1"),
    ],
)
def test_optimizer_invalid_hyperparameters(cls, options, message):
    p = cr.tensor(np.ones(2), requires_grad=True)
    with pytest.raises(ValueError, match=message):
        cls([p], **options)
