"""Trajectories, learning-rate sequences and clipping against torch, when torch is installed.

A small MLP regression (3 -> 4 -> 2, tanh) is trained for 20 steps by chainrule and by
torch from the same float64 start; every parameter must agree at every step to 1e-10
(relative), for each optimizer and each option. Schedules must give torch's learning
rates over 30 steps.
"""

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim
from chainrule.optim import lr_scheduler

torch = pytest.importorskip("torch")

STEPS = 20
RTOL, ATOL = 1e-10, 1e-12


def problem(dtype=np.float64):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((8, 3)).astype(dtype)
    y = rng.standard_normal((8, 2)).astype(dtype)
    params = [
        rng.standard_normal((4, 3)).astype(dtype) * 0.5,
        rng.standard_normal(4).astype(dtype) * 0.1,
        rng.standard_normal((2, 4)).astype(dtype) * 0.5,
        rng.standard_normal(2).astype(dtype) * 0.1,
    ]
    return x, y, params


def cr_loss(x, y, w1, b1, w2, b2):
    h = cr.tanh(x @ w1.T + b1)
    return ((h @ w2.T + b2 - y) ** 2).mean()


def torch_loss(x, y, w1, b1, w2, b2):
    h = torch.tanh(x @ w1.T + b1)
    return ((h @ w2.T + b2 - y) ** 2).mean()


def groups_of(params, groups):
    """`groups` as lists of parameter positions with options, or None for one group."""
    if groups is None:
        return params
    return [{**options, "params": [params[i] for i in idx]} for idx, options in groups]


def trajectories(name, options, groups=None, dtype=np.float64, schedule=None, steps=STEPS):
    """Parameter values after every step, (chainrule, torch)."""
    x, y, start = problem(dtype)
    ours = [cr.tensor(p.copy(), requires_grad=True) for p in start]
    theirs = [torch.tensor(p.copy(), requires_grad=True) for p in start]
    opt_ours = getattr(optim, name)(groups_of(ours, groups), **options)
    opt_theirs = getattr(torch.optim, name)(groups_of(theirs, groups), **options)
    sched_ours = sched_theirs = None
    if schedule is not None:
        kind, kwargs = schedule
        sched_ours = getattr(lr_scheduler, kind)(opt_ours, **kwargs)
        sched_theirs = getattr(torch.optim.lr_scheduler, kind)(opt_theirs, **kwargs)
    x_ours, y_ours = cr.tensor(x), cr.tensor(y)
    x_theirs, y_theirs = torch.tensor(x), torch.tensor(y)
    path_ours, path_theirs = [], []
    for _ in range(steps):
        opt_ours.zero_grad()
        cr_loss(x_ours, y_ours, *ours).backward()
        opt_ours.step()
        opt_theirs.zero_grad()
        torch_loss(x_theirs, y_theirs, *theirs).backward()
        opt_theirs.step()
        if schedule is not None:
            sched_ours.step()
            sched_theirs.step()
        path_ours.append([p.data.copy() for p in ours])
        path_theirs.append([p.detach().numpy().copy() for p in theirs])
    return path_ours, path_theirs


def assert_same_path(path_ours, path_theirs, rtol=RTOL, atol=ATOL):
    for step, (ours, theirs) in enumerate(zip(path_ours, path_theirs), start=1):
        for i, (a, b) in enumerate(zip(ours, theirs)):
            assert a.dtype == b.dtype
            np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=f"step {step}, p{i}")


CASES = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {}),
    ("SGD", {"lr": 0.1, "momentum": 0.9}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.3}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
    ("SGD", {"lr": 0.1, "weight_decay": 0.1}),
    ("SGD", {"lr": 0.1, "momentum": 0.8, "weight_decay": 0.05, "nesterov": True}),
    ("SGD", {"lr": 0.05, "maximize": True}),
    ("SGD", {"lr": 0.05, "momentum": 0.5, "dampening": 0.5, "maximize": True}),
    ("RMSprop", {}),
    ("RMSprop", {"lr": 0.01, "alpha": 0.9}),
    ("RMSprop", {"lr": 0.01, "centered": True}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.9}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.5, "centered": True, "weight_decay": 0.1}),
    ("RMSprop", {"lr": 0.01, "eps": 1e-3, "weight_decay": 0.01}),
    ("RMSprop", {"lr": 0.01, "maximize": True, "momentum": 0.3}),
    ("Adagrad", {}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.1}),
    ("Adagrad", {"lr": 0.1, "initial_accumulator_value": 0.5}),
    ("Adagrad", {"lr": 0.1, "weight_decay": 0.1, "eps": 1e-3}),
    ("Adagrad", {"lr": 0.1, "maximize": True, "lr_decay": 0.01}),
    ("Adam", {}),
    ("Adam", {"lr": 0.05}),
    ("Adam", {"lr": 0.05, "betas": (0.8, 0.9), "eps": 1e-6}),
    ("Adam", {"lr": 0.05, "amsgrad": True}),
    ("Adam", {"lr": 0.05, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.05, "weight_decay": 0.1, "amsgrad": True, "maximize": True}),
    ("Adam", {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("Adam", {"lr": 0.05, "betas": (0.0, 0.0)}),
    ("AdamW", {}),
    ("AdamW", {"lr": 0.05, "weight_decay": 0.1}),
    ("AdamW", {"lr": 0.05, "weight_decay": 0.1, "amsgrad": True}),
    ("AdamW", {"lr": 0.05, "maximize": True}),
]


def case_id(case):
    name, options = case
    return name + "-" + "-".join(f"{k}={v}" for k, v in options.items()) if options else name


@pytest.mark.parametrize(("name", "options"), CASES, ids=[case_id(c) for c in CASES])
def test_trajectory_matches_torch(name, options):
    assert_same_path(*trajectories(name, options))


@pytest.mark.parametrize("name", ["SGD", "RMSprop", "Adagrad", "Adam", "AdamW"])
def test_param_groups_match_torch(name):
    groups = [([0, 1], {}), ([2], {"lr": 0.003, "weight_decay": 0.1}), ([3], {"lr": 0.2})]
    options = {"lr": 0.05, "momentum": 0.9} if name == "SGD" else {"lr": 0.05}
    assert_same_path(*trajectories(name, options, groups=groups))


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
        ("RMSprop", {"lr": 0.01, "momentum": 0.5, "centered": True}),
        ("Adagrad", {"lr": 0.1, "lr_decay": 0.1}),
        ("Adam", {"lr": 0.05, "amsgrad": True, "weight_decay": 0.01}),
        ("AdamW", {"lr": 0.05}),
    ],
    ids=["SGD", "RMSprop", "Adagrad", "Adam", "AdamW"],
)
def test_float32_trajectory_matches_torch(name, options):
    # Both compute in float32; they differ by float32 rounding in the forward/backward.
    assert_same_path(*trajectories(name, options, dtype=np.float32), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(
    ("name", "schedule"),
    [
        ("SGD", ("StepLR", {"step_size": 3, "gamma": 0.5})),
        ("Adam", ("CosineAnnealingLR", {"T_max": 8, "eta_min": 1e-3})),
        ("RMSprop", ("LinearLR", {"start_factor": 0.1, "total_iters": 6})),
        ("Adagrad", ("ExponentialLR", {"gamma": 0.9})),
    ],
    ids=["SGD-StepLR", "Adam-Cosine", "RMSprop-Linear", "Adagrad-Exponential"],
)
def test_scheduled_trajectory_matches_torch(name, schedule):
    options = {"lr": 0.05, "momentum": 0.9} if name == "SGD" else {"lr": 0.05}
    assert_same_path(*trajectories(name, options, schedule=schedule))


# ----- learning-rate schedules -----

SCHEDULES = [
    [("StepLR", {"step_size": 3, "gamma": 0.5})],
    [("StepLR", {"step_size": 7})],
    [("ExponentialLR", {"gamma": 0.9})],
    [("CosineAnnealingLR", {"T_max": 10})],
    [("CosineAnnealingLR", {"T_max": 7, "eta_min": 0.01})],
    [("LinearLR", {})],
    [("LinearLR", {"start_factor": 0.1, "end_factor": 0.5, "total_iters": 4})],
    [("LinearLR", {"start_factor": 1.0, "end_factor": 0.0, "total_iters": 30})],
    [("StepLR", {"step_size": 4, "gamma": 0.5}), ("ExponentialLR", {"gamma": 0.95})],
    [("LinearLR", {"total_iters": 5}), ("CosineAnnealingLR", {"T_max": 12})],
]


def lr_sequences(schedules, sequential=None, steps=30):
    """The lrs of two param groups after construction and each step, (chainrule, torch)."""
    out = []
    for opt_mod, sched_mod, make in [
        (optim, lr_scheduler, cr.tensor),
        (torch.optim, torch.optim.lr_scheduler, torch.tensor),
    ]:
        a, b = make(np.ones(2), requires_grad=True), make(np.ones(2), requires_grad=True)
        opt = opt_mod.SGD([{"params": [a]}, {"params": [b], "lr": 0.3}], lr=0.1)
        made = [getattr(sched_mod, kind)(opt, **kwargs) for kind, kwargs in schedules]
        if sequential is not None:
            made = [sched_mod.SequentialLR(opt, made, milestones=sequential)]
        lrs = [[g["lr"] for g in opt.param_groups]]
        for _ in range(steps):
            opt.step()  # a no-op without gradients; torch warns if a schedule steps first
            for schedule in made:
                schedule.step()
            lrs.append([g["lr"] for g in opt.param_groups])
            assert made[-1].get_last_lr() == lrs[-1]
        out.append(lrs)
    return out


@pytest.mark.parametrize(
    "schedules", SCHEDULES, ids=["+".join(kind for kind, _ in s) for s in SCHEDULES]
)
def test_schedule_matches_torch(schedules):
    ours, theirs = lr_sequences(schedules)
    np.testing.assert_allclose(ours, theirs, rtol=1e-14, atol=0)


@pytest.mark.parametrize(
    ("schedules", "milestones"),
    [
        (
            [
                ("LinearLR", {"start_factor": 0.2, "total_iters": 5}),
                ("CosineAnnealingLR", {"T_max": 20}),
            ],
            [5],
        ),
        ([("LinearLR", {"total_iters": 3}), ("ExponentialLR", {"gamma": 0.8})], [3]),
        (
            [
                ("LinearLR", {"start_factor": 0.5, "total_iters": 2}),
                ("StepLR", {"step_size": 2, "gamma": 0.5}),
                ("CosineAnnealingLR", {"T_max": 6, "eta_min": 0.001}),
            ],
            [4, 12],
        ),
    ],
    ids=["warmup-cosine", "warmup-exponential", "three"],
)
def test_sequential_schedule_matches_torch(schedules, milestones):
    ours, theirs = lr_sequences(schedules, sequential=milestones)
    np.testing.assert_allclose(ours, theirs, rtol=1e-14, atol=0)


@pytest.mark.parametrize(
    "schedule",
    [
        ("StepLR", {"step_size": 3}),
        ("ExponentialLR", {"gamma": 0.8}),
        ("CosineAnnealingLR", {"T_max": 6}),
        ("LinearLR", {"total_iters": 8}),
    ],
    ids=lambda s: s[0],
)
def test_schedule_made_with_last_epoch_matches_torch(schedule):
    kind, kwargs = schedule
    out = []
    for opt_mod, sched_mod, make in [
        (optim, lr_scheduler, cr.tensor),
        (torch.optim, torch.optim.lr_scheduler, torch.tensor),
    ]:
        opt = opt_mod.SGD([make(np.ones(2), requires_grad=True)], lr=0.1)
        opt.param_groups[0]["initial_lr"] = 0.4
        made = getattr(sched_mod, kind)(opt, last_epoch=4, **kwargs)
        lrs = [opt.param_groups[0]["lr"]]
        for _ in range(12):
            opt.step()
            made.step()
            lrs.append(opt.param_groups[0]["lr"])
        out.append(lrs)
    np.testing.assert_allclose(out[0], out[1], rtol=1e-14, atol=0)


@pytest.mark.parametrize(
    "schedule",
    [
        ("StepLR", {"step_size": 3}),
        ("ExponentialLR", {"gamma": 0.8}),
        ("CosineAnnealingLR", {"T_max": 6}),
        ("LinearLR", {"total_iters": 8}),
    ],
    ids=lambda s: s[0],
)
def test_torch_schedule_state_dict_loads(schedule):
    kind, kwargs = schedule
    q = torch.ones(2, requires_grad=True)
    opt_theirs = torch.optim.SGD([q], lr=0.1)
    theirs = getattr(torch.optim.lr_scheduler, kind)(opt_theirs, **kwargs)
    for _ in range(4):
        opt_theirs.step()
        theirs.step()
    opt_ours = optim.SGD([cr.tensor(np.ones(2), requires_grad=True)], lr=0.1)
    ours = getattr(lr_scheduler, kind)(opt_ours, **kwargs)
    opt_ours.load_state_dict({"state": {}, "param_groups": opt_theirs.state_dict()["param_groups"]})
    ours.load_state_dict(theirs.state_dict())
    for _ in range(10):
        opt_theirs.step()
        theirs.step()
        opt_ours.step()
        ours.step()
        assert ours.get_last_lr() == pytest.approx(theirs.get_last_lr(), rel=1e-14)


# ----- clipping -----


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, 0.5, float("inf")])
@pytest.mark.parametrize("max_norm", [0.1, 1e3])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    rng = np.random.default_rng(0)
    grads = [rng.standard_normal(shape) for shape in [(3, 4), (4,), ()]]
    ours = [cr.tensor(np.zeros_like(g), requires_grad=True) for g in grads]
    theirs = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for p, q, g in zip(ours, theirs, grads):
        p.grad, q.grad = cr.tensor(g.copy()), torch.tensor(g.copy())
    total = optim.clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    assert isinstance(total, float)
    assert total == pytest.approx(expected.item(), rel=1e-12)
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(p.grad.data, q.grad.numpy(), rtol=1e-12)


def test_clip_grad_value_matches_torch():
    rng = np.random.default_rng(1)
    g = rng.standard_normal((5, 3))
    p = cr.tensor(np.zeros((5, 3)), requires_grad=True)
    q = torch.zeros((5, 3), dtype=torch.float64, requires_grad=True)
    p.grad, q.grad = cr.tensor(g.copy()), torch.tensor(g.copy())
    optim.clip_grad_value_([p], 0.5)
    torch.nn.utils.clip_grad_value_([q], 0.5)
    np.testing.assert_array_equal(p.grad.data, q.grad.numpy())


# ----- state -----


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("SGD", {"lr": 0.1, "momentum": 0.9}),
        ("RMSprop", {"momentum": 0.5, "centered": True}),
        ("Adagrad", {"lr_decay": 0.1}),
        ("Adam", {"amsgrad": True}),
    ],
    ids=["SGD", "RMSprop", "Adagrad", "Adam"],
)
def test_state_has_torchs_names_and_values(name, options):
    x, y, start = problem()
    ours = [cr.tensor(p.copy(), requires_grad=True) for p in start]
    theirs = [torch.tensor(p.copy(), requires_grad=True) for p in start]
    opt_ours = getattr(optim, name)(ours, **options)
    opt_theirs = getattr(torch.optim, name)(theirs, **options)
    for _ in range(3):
        cr_loss(cr.tensor(x), cr.tensor(y), *ours).backward()
        torch_loss(torch.tensor(x), torch.tensor(y), *theirs).backward()
        opt_ours.step()
        opt_theirs.step()
    sd_ours, sd_theirs = opt_ours.state_dict(), opt_theirs.state_dict()
    assert sd_ours["state"].keys() == sd_theirs["state"].keys()
    for i, state in sd_theirs["state"].items():
        assert sd_ours["state"][i].keys() == state.keys()
        for key, value in state.items():
            np.testing.assert_allclose(sd_ours["state"][i][key], value.numpy(), rtol=1e-10)
    for ours_group, theirs_group in zip(sd_ours["param_groups"], sd_theirs["param_groups"]):
        assert ours_group["params"] == theirs_group["params"]
        for key, value in ours_group.items():
            assert theirs_group[key] == value, key

    # A torch checkpoint loads as it is (tensors become arrays), and the run goes on alike.
    ported = [cr.tensor(p.detach().numpy().copy(), requires_grad=True) for p in theirs]
    opt_ported = getattr(optim, name)(ported, **options)
    opt_ported.load_state_dict(sd_theirs)
    for _ in range(3):
        opt_ported.zero_grad()
        opt_theirs.zero_grad()
        cr_loss(cr.tensor(x), cr.tensor(y), *ported).backward()
        torch_loss(torch.tensor(x), torch.tensor(y), *theirs).backward()
        opt_ported.step()
        opt_theirs.step()
    for p, q in zip(ported, theirs):
        np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=RTOL, atol=ATOL)
