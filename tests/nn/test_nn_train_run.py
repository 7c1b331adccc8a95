"""A seeded tiny training run: the lecture's two-layer net learns a separable problem."""

import numpy as np

import chainrule as cr
from chainrule import nn


def blobs(n_per_class=40, seed=0):
    """Three well-separated Gaussian clusters in 2-d, labels 0, 1, 2."""
    r = np.random.default_rng(seed)
    centers = np.array([[0.0, 3.0], [3.0, -2.0], [-3.0, -2.0]])
    x = np.concatenate([c + 0.6 * r.standard_normal((n_per_class, 2)) for c in centers])
    y = np.repeat(np.arange(3), n_per_class)
    return x.astype(np.float32), y


def test_two_layer_net_training_reduces_the_loss():
    cr.seed(0)
    x, y = blobs()
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 3))
    loss_fn = nn.CrossEntropyLoss()
    inputs = cr.tensor(x)
    losses = []
    for _ in range(100):
        loss = loss_fn(model(inputs), y)
        model.zero_grad()
        loss.backward()
        for p in model.parameters():  # plain gradient descent
            p.data -= 0.5 * p.grad.data
        losses.append(loss.item())
    assert losses[-1] < 0.1 * losses[0]
    assert all(b <= a * 1.05 for a, b in zip(losses, losses[1:]))  # no blow-up on the way
    model.eval()
    accuracy = (model(inputs).data.argmax(axis=1) == y).mean()
    assert accuracy == 1.0
    assert all(p.dtype == np.float32 for p in model.parameters())


def test_training_run_is_reproducible():
    def run():
        cr.seed(3)
        x, y = blobs(10)
        model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Dropout(0.2), nn.Linear(8, 3))
        for _ in range(5):
            loss = nn.CrossEntropyLoss()(model(cr.tensor(x)), y)
            model.zero_grad()
            loss.backward()
            for p in model.parameters():
                p.data -= 0.1 * p.grad.data
        return model.state_dict()

    a, b = run(), run()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
