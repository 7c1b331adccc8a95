"""MyGrad: NumPy-backed tensors with a define-by-run graph (its `nnet` layers and losses).

The SGD update is written on the arrays (`p.data -= lr * p.grad`): MyGrad has no
optimizer objects. The chain ops are those of `benchmarks/chain.py`.
"""

from __future__ import annotations

import chain
import deep_chain
import mygrad as mg
import numpy as np
from mygrad.nnet.activations import relu
from mygrad.nnet.layers import conv_nd, max_pool
from mygrad.nnet.losses import softmax_crossentropy

LR = 0.01


def version() -> str:
    return mg.__version__


def _sgd_step(params, loss_fn) -> tuple:
    loss = loss_fn()
    loss.backward()
    for p in params:
        p.data -= LR * p.grad
    return loss.item(), params[0].data


def _stepper(params, loss_fn) -> callable:
    def step():
        return _sgd_step(params, loss_fn)

    def release():
        for p in params:
            p.null_grad()

    step.release = release
    return step


def make_mlp(inputs: dict) -> callable:
    x, y = inputs["x"], inputs["y"]
    params = [mg.tensor(inputs[f"w{i}"]) for i in range(inputs["n_weights"])]

    def loss_fn():
        h = x
        for w, b in zip(params[0:-2:2], params[1:-2:2]):
            h = relu(mg.matmul(h, w.T) + b)
        return softmax_crossentropy(mg.matmul(h, params[-2].T) + params[-1], y)

    return _stepper(params, loss_fn)


def make_chain(inputs: dict) -> callable:
    x, a, b = inputs["x"], inputs["a"], inputs["b"]

    def step():
        y = xt = mg.tensor(x)
        for _ in range(chain.REPEATS):
            y = mg.tanh(y * a + b)
        value = y.sum()
        value.backward()
        return value.item(), xt.grad

    return step


def make_deep_chain(inputs: dict) -> callable:
    x, n = inputs["x"], inputs["n"]

    def step():
        xt = mg.tensor(x)
        value = deep_chain.chain(xt, n - 1, mg.tanh).sum()
        value.backward()
        return value.item(), xt.grad

    return step


def make_cnn(inputs: dict) -> callable:
    """`benchmarks/cnn.py`'s network: conv3x3 pad 1, ReLU, maxpool 2, twice, then linear."""
    x, y = inputs["x"], inputs["y"]
    params = [mg.tensor(inputs[f"w{i}"]) for i in range(inputs["n_weights"])]

    def loss_fn():
        h = x
        for w, b in zip(params[0:4:2], params[1:4:2]):
            h = relu(conv_nd(h, w, stride=1, padding=1) + b[:, np.newaxis, np.newaxis])
            h = max_pool(h, pool=(2, 2), stride=2)
        h = h.reshape(len(x), -1)
        return softmax_crossentropy(mg.matmul(h, params[4].T) + params[5], y)

    return _stepper(params, loss_fn)


MAKERS = {"mlp": make_mlp, "chain": make_chain, "deep_chain": make_deep_chain, "cnn": make_cnn}
SKIPPED: dict[str, str] = {}
