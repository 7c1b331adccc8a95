"""A seeded tiny training run: every optimizer, with its usual settings, reduces the loss."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim


def spiral_data(n=60, seed=0):
    """Two interleaved half-moons-like classes in 2-D, as a regression target in {-1, 1}."""
    rng = np.random.default_rng(seed)
    t = rng.uniform(0, np.pi, n)
    label = rng.integers(0, 2, n)
    x = np.stack([np.cos(t) + label, np.sin(t) * (1 - 2 * label) + 0.5 * label], axis=1)
    x += 0.1 * rng.standard_normal(x.shape)
    return x.astype(np.float32), (2.0 * label - 1.0).astype(np.float32)[:, None]


def two_layer_net(seed=0, hidden=16):
    """f = W2 max(0, W1 x): the lecture's network, float32."""
    rng = np.random.default_rng(seed)
    return [
        cr.tensor((rng.standard_normal((hidden, 2)) * 0.5).astype(np.float32), requires_grad=True),
        cr.tensor(np.zeros(hidden, dtype=np.float32), requires_grad=True),
        cr.tensor((rng.standard_normal((1, hidden)) * 0.3).astype(np.float32), requires_grad=True),
        cr.tensor(np.zeros(1, dtype=np.float32), requires_grad=True),
    ]


def loss_of(params, x, y):
    w1, b1, w2, b2 = params
    scores = cr.relu(x @ w1.T + b1) @ w2.T + b2
    return ((scores - y) ** 2).mean()


@pytest.mark.parametrize(
    ("name", "options", "schedule"),
    [
        ("SGD", {"lr": 0.1}, None),
        ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True}, ("StepLR", {"step_size": 50})),
        ("RMSprop", {"lr": 0.01}, None),
        ("Adagrad", {"lr": 0.1}, None),
        ("Adam", {"lr": 0.01}, ("CosineAnnealingLR", {"T_max": 150})),
        ("AdamW", {"lr": 0.01}, ("LinearLR", {"total_iters": 10})),
    ],
    ids=["SGD", "SGD-nesterov-step", "RMSprop", "Adagrad", "Adam-cosine", "AdamW-warmup"],
)
def test_optimizer_reduces_the_loss(name, options, schedule):
    x_data, y_data = spiral_data()
    x, y = cr.tensor(x_data), cr.tensor(y_data)
    params = two_layer_net()
    opt = getattr(optim, name)(params, **options)
    scheduler = None
    if schedule is not None:
        scheduler = getattr(optim.lr_scheduler, schedule[0])(opt, **schedule[1])
    with cr.no_grad():
        initial = loss_of(params, x, y).item()
    for _ in range(150):
        opt.zero_grad()
        loss = loss_of(params, x, y)
        loss.backward()
        optim.clip_grad_norm_(params, max_norm=10.0)
        opt.step()
        if scheduler is not None:
            scheduler.step()
    with cr.no_grad():
        final = loss_of(params, x, y).item()
    assert all(p.dtype == np.float32 for p in params)
    assert final < 0.25 * initial, (initial, final)
