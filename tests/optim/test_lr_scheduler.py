"""Learning-rate schedules by value (tolerance 1e-12), their state dicts and their errors."""

import json
import math

import numpy as np
import pytest
from pytest import approx

import chainrule as cr
from chainrule.optim import SGD, Adam
from chainrule.optim.lr_scheduler import (
    CosineAnnealingLR,
    ExponentialLR,
    LinearLR,
    LRScheduler,
    SequentialLR,
    StepLR,
)


def optimizer(lr=1.0, second_lr=None):
    params = [cr.tensor(np.ones(2), requires_grad=True), cr.tensor(np.ones(2), requires_grad=True)]
    if second_lr is None:
        return SGD(params, lr=lr)
    return SGD([{"params": params[:1]}, {"params": params[1:], "lr": second_lr}], lr=lr)


def lrs(schedule, steps, group=0):
    """The lr at construction and after each of `steps` steps."""
    values = [schedule.optimizer.param_groups[group]["lr"]]
    for _ in range(steps):
        schedule.optimizer.step()
        schedule.step()
        values.append(schedule.optimizer.param_groups[group]["lr"])
    return values


def test_step_lr_by_value():
    # 0.5 * 0.1 ** (t // 3)
    expected = [0.5 * 0.1 ** (t // 3) for t in range(10)]
    assert lrs(StepLR(optimizer(0.5), step_size=3), 9) == approx(expected, rel=1e-12)


def test_exponential_lr_by_value():
    expected = [0.2 * 0.9**t for t in range(11)]
    assert lrs(ExponentialLR(optimizer(0.2), gamma=0.9), 10) == approx(expected, rel=1e-12)


def test_cosine_annealing_lr_by_value():
    # eta_min + (base - eta_min) (1 + cos(pi t / T_max)) / 2, and it rises again past T_max
    base, eta_min, t_max = 0.1, 0.01, 6
    expected = [
        eta_min + (base - eta_min) * (1 + math.cos(math.pi * t / t_max)) / 2 for t in range(19)
    ]
    got = lrs(CosineAnnealingLR(optimizer(base), T_max=t_max, eta_min=eta_min), 18)
    assert got == approx(expected, rel=1e-12)
    assert got[6] == approx(eta_min) and got[12] == approx(base) and got[18] == approx(eta_min)


def test_linear_lr_by_value():
    # base * (start + (end - start) * min(t, total) / total): 1/3, then up to 1 at t = 5
    expected = [1 / 3 + (2 / 3) * min(t, 5) / 5 for t in range(9)]
    assert lrs(LinearLR(optimizer(1.0)), 8) == approx(expected, rel=1e-12)
    # decay: 0.5 -> 0.1 over 4 steps
    got = lrs(LinearLR(optimizer(1.0), start_factor=0.5, end_factor=0.1, total_iters=4), 6)
    assert got == approx([0.5, 0.4, 0.3, 0.2, 0.1, 0.1, 0.1], rel=1e-12)


def test_schedules_change_every_group():
    schedule = StepLR(optimizer(1.0, second_lr=0.1), step_size=1, gamma=0.5)
    lrs(schedule, 2)
    assert schedule.get_last_lr() == approx([0.25, 0.025])
    assert schedule.base_lrs == [1.0, 0.1]
    assert [g["initial_lr"] for g in schedule.optimizer.param_groups] == [1.0, 0.1]


def test_get_last_lr_is_a_copy():
    schedule = ExponentialLR(optimizer(1.0), gamma=0.5)
    schedule.get_last_lr()[0] = 123.0
    assert schedule.get_last_lr() == [1.0]


def test_two_schedules_on_one_optimizer_multiply():
    opt = optimizer(1.0)
    step, exponential = StepLR(opt, step_size=2, gamma=0.1), ExponentialLR(opt, gamma=0.5)
    values = []
    for _ in range(4):
        opt.step()
        step.step()
        exponential.step()
        values.append(opt.param_groups[0]["lr"])
    assert values == approx([0.5, 0.1 * 0.25, 0.1 * 0.125, 0.01 * 0.0625], rel=1e-12)


def test_sequential_warmup_then_cosine_by_value():
    opt = optimizer(1.0)
    warmup = LinearLR(opt, start_factor=0.2, total_iters=4)
    cosine = CosineAnnealingLR(opt, T_max=5)
    schedule = SequentialLR(opt, [warmup, cosine], milestones=[4])
    got = lrs(schedule, 9)
    warm = [0.2, 0.4, 0.6, 0.8]
    cool = [(1 + math.cos(math.pi * t / 5)) / 2 for t in range(6)]
    assert got == approx(warm + cool, rel=1e-12, abs=1e-15)
    assert schedule.get_last_lr() == approx([cool[-1]], abs=1e-15)


def test_the_schedule_drives_the_optimizer():
    w = cr.tensor(np.array([0.0]), requires_grad=True)
    opt = SGD([w], lr=1.0)
    schedule = StepLR(opt, step_size=1, gamma=0.5)
    for _ in range(3):
        w.grad = cr.tensor(np.array([-1.0]))
        opt.step()
        schedule.step()
    assert w.data.item() == approx(1.0 + 0.5 + 0.25)


# ----- state dicts -----

SCHEDULES = [
    lambda opt: StepLR(opt, step_size=3, gamma=0.5),
    lambda opt: ExponentialLR(opt, gamma=0.9),
    lambda opt: CosineAnnealingLR(opt, T_max=7, eta_min=0.001),
    lambda opt: LinearLR(opt, start_factor=0.1, total_iters=6),
    lambda opt: SequentialLR(
        opt, [LinearLR(opt, total_iters=3), CosineAnnealingLR(opt, T_max=8)], milestones=[3]
    ),
]
NAMES = ["StepLR", "ExponentialLR", "CosineAnnealingLR", "LinearLR", "SequentialLR"]


@pytest.mark.parametrize("make", SCHEDULES, ids=NAMES)
def test_resumed_schedule_continues_exactly(make):
    uninterrupted = lrs(make(optimizer(0.1, second_lr=0.3)), 20)

    opt = optimizer(0.1, second_lr=0.3)
    schedule = make(opt)
    first = lrs(schedule, 8)
    saved = json.loads(
        json.dumps({"optimizer": opt.state_dict(), "schedule": schedule.state_dict()})
    )

    opt = optimizer(0.1, second_lr=0.3)
    schedule = make(opt)  # made before loading, as in PyTorch: construction writes the lr
    opt.load_state_dict(saved["optimizer"])
    schedule.load_state_dict(saved["schedule"])
    assert schedule.get_last_lr() == [first[-1], opt.param_groups[1]["lr"]]
    assert first + lrs(schedule, 12)[1:] == uninterrupted


def test_resume_with_last_epoch_needs_initial_lr():
    opt = optimizer(0.5)
    with pytest.raises(KeyError, match="param group 0 has no 'initial_lr'"):
        StepLR(opt, step_size=2, last_epoch=3)
    state = opt.state_dict()
    state["param_groups"][0]["initial_lr"] = 0.5
    state["param_groups"][0]["lr"] = 0.25
    opt.load_state_dict(state)
    # As torch: construction takes the step to epoch 4, a multiple of step_size, so it decays.
    schedule = StepLR(opt, step_size=2, last_epoch=3)
    assert lrs(schedule, 2) == approx([0.025, 0.025, 0.0025], rel=1e-12)


def test_schedule_state_dict_is_plain_data():
    schedule = CosineAnnealingLR(optimizer(0.1), T_max=5)
    lrs(schedule, 2)
    state = schedule.state_dict()
    assert state == json.loads(json.dumps(state))
    assert set(state) == {"T_max", "eta_min", "base_lrs", "last_epoch", "_step_count", "_last_lr"}


def test_schedule_load_state_dict_errors():
    schedule = StepLR(optimizer(0.1), step_size=2)
    other = ExponentialLR(optimizer(0.1), gamma=0.5).state_dict()
    with pytest.raises(ValueError, match=r"missing \['step_size'\] and unexpected \[\]|missing"):
        schedule.load_state_dict(other)
    two_groups = StepLR(optimizer(0.1, second_lr=0.2), step_size=2).state_dict()
    with pytest.raises(ValueError, match="base_lrs has 2 entries, the optimizer 1 param group"):
        schedule.load_state_dict(two_groups)
    sequential = SCHEDULES[-1](optimizer(0.1))
    with pytest.raises(ValueError, match="SequentialLR.load_state_dict: expected keys"):
        sequential.load_state_dict(schedule.state_dict())


# ----- errors -----


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda opt: StepLR(opt, step_size=0), ValueError, "StepLR: step_size must be an int >= 1"),
        (lambda opt: StepLR(opt, step_size=2.5), ValueError, "step_size must be an int"),
        (lambda opt: StepLR(opt, 2, gamma=-0.1), ValueError, "StepLR: gamma must be a number >= 0"),
        (lambda opt: ExponentialLR(opt, gamma="x"), ValueError, "ExponentialLR: gamma must"),
        (lambda opt: CosineAnnealingLR(opt, T_max=0), ValueError, "T_max must be a number > 0"),
        (lambda opt: CosineAnnealingLR(opt, 5, eta_min=-1), ValueError, "eta_min must be"),
        (
            lambda opt: LinearLR(opt, start_factor=0),
            ValueError,
            r"start_factor must be in \(0, 1\]",
        ),
        (lambda opt: LinearLR(opt, end_factor=1.5), ValueError, r"end_factor must be in \[0, 1\]"),
        (lambda opt: LinearLR(opt, total_iters=0), ValueError, "total_iters must be an int >= 1"),
        (lambda opt: StepLR("sgd", step_size=1), TypeError, "expected a chainrule Optimizer"),
        (lambda opt: SequentialLR(opt, [], []), ValueError, "at least one scheduler"),
        (
            lambda opt: SequentialLR(opt, [StepLR(opt, 2), StepLR(opt, 3)], milestones=[]),
            ValueError,
            "2 schedulers need 1 milestone",
        ),
        (
            lambda opt: SequentialLR(opt, [StepLR(opt, 2), StepLR(optimizer(), 3)], [4]),
            ValueError,
            r"schedulers\[1\] \(StepLR\) belongs to another optimizer",
        ),
        (
            lambda opt: SequentialLR(opt, [StepLR(opt, 2), StepLR(opt, 2), StepLR(opt, 2)], [5, 3]),
            ValueError,
            "milestones must be increasing",
        ),
        (lambda opt: SequentialLR(opt, [opt], []), TypeError, r"schedulers\[0\] is a SGD"),
    ],
)
def test_schedule_invalid_arguments(make, error, message):
    with pytest.raises(error, match=message):
        make(optimizer())


def test_lr_scheduler_base_needs_get_lr():
    with pytest.raises(NotImplementedError):
        LRScheduler(Adam([cr.tensor(np.ones(1), requires_grad=True)]))
