"""One SGD step of an MLP 784-256-256-10 (ReLU, batch 128, float32, softmax cross-entropy).

Forward, backward and the parameter update, from the same initial weights in every
implementation: chainrule (`nn.Sequential`, `F.cross_entropy`, `optim.SGD`), the same
network written by hand in NumPy (the floor: what a NumPy engine cannot beat), and
PyTorch eager. Each returns the loss and the updated first-layer weights, which must
agree before anything is timed.
"""

from __future__ import annotations

from functools import partial

import numpy as np
from common import (
    Row,
    chainrule_sgd_step,
    optional,
    rows_against_chainrule,
    time_training_steps,
    torch_sgd_step,
)

from chainrule import nn

NAME = "mlp"
SIZES = (784, 256, 256, 10)
BATCH = 128
LR = 0.01


def inputs(sizes=SIZES, batch: int = BATCH):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, sizes[0])).astype(np.float32)
    y = rng.integers(0, sizes[-1], batch)
    weights = []
    for fan_in, fan_out in zip(sizes, sizes[1:]):
        bound = 1 / np.sqrt(fan_in)
        weights.append(rng.uniform(-bound, bound, (fan_out, fan_in)).astype(np.float32))
        weights.append(rng.uniform(-bound, bound, fan_out).astype(np.float32))
    return x, y, weights


def make_numpy(x, y, weights):
    params = [w.copy() for w in weights]

    def step():
        w1, b1, w2, b2, w3, b3 = params
        h1 = np.maximum(x @ w1.T + b1, 0)
        h2 = np.maximum(h1 @ w2.T + b2, 0)
        scores = h2 @ w3.T + b3
        shifted = scores - scores.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        probs = exp / exp.sum(axis=1, keepdims=True)
        loss = -np.mean(np.log(probs[np.arange(BATCH), y]))
        dscores = probs
        dscores[np.arange(BATCH), y] -= 1
        dscores /= BATCH
        dw3, db3 = dscores.T @ h2, dscores.sum(axis=0)
        dh2 = (dscores @ w3) * (h2 > 0)
        dw2, db2 = dh2.T @ h1, dh2.sum(axis=0)
        dh1 = (dh2 @ w2) * (h1 > 0)
        dw1, db1 = dh1.T @ x, dh1.sum(axis=0)
        for p, g in zip(params, (dw1, db1, dw2, db2, dw3, db3)):
            p -= LR * g
        return loss, params[0]

    return step


def chainrule_model(sizes=SIZES):
    layers = [nn.Linear(a, b) for a, b in zip(sizes, sizes[1:])]
    return nn.Sequential(layers[0], nn.ReLU(), layers[1], nn.ReLU(), layers[2])


def make_chainrule(x, y, weights):
    return chainrule_sgd_step(chainrule_model(), weights, x, y, LR)


def make_torch(torch, x, y, weights):
    torch.set_num_threads(2)
    tnn = torch.nn
    layers = [tnn.Linear(a, b) for a, b in zip(SIZES, SIZES[1:])]
    model = tnn.Sequential(layers[0], tnn.ReLU(), layers[1], tnn.ReLU(), layers[2])
    return torch_sgd_step(torch, model, weights, x, y, LR)


def run(quick: bool) -> list[Row]:
    x, y, weights = inputs()
    makers = {"numpy (hand-written)": make_numpy, "chainrule": make_chainrule}
    if (torch := optional("torch")) is not None:
        makers[f"torch {torch.__version__} eager"] = partial(make_torch, torch)

    seconds = time_training_steps(NAME, makers, x, y, weights, quick, atol=1e-6)
    workload = f"{NAME}: SGD step 784-256-256-10, batch {BATCH}, f32"
    rows = rows_against_chainrule(workload, {k: t * 1e3 for k, t in seconds.items()}, "ms")
    return rows
