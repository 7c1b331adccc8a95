"""HIPS autograd: functions of NumPy arrays differentiated by `value_and_grad`.

The SGD update is written on the arrays, as autograd users do (it has no optimizer
objects). The chain is `benchmarks/chain.py`'s.
"""

from __future__ import annotations

from importlib.metadata import version as dist_version

import autograd
import autograd.numpy as anp
import chain
import deep_chain

LR = 0.01


def version() -> str:
    return dist_version("autograd")


def make_mlp(inputs: dict) -> callable:
    x, y = inputs["x"], inputs["y"]
    params = [inputs[f"w{i}"].copy() for i in range(inputs["n_weights"])]
    rows = anp.arange(len(x))

    def loss_fn(params):
        h = x
        for w, b in zip(params[0:-2:2], params[1:-2:2]):
            h = anp.maximum(h @ w.T + b, 0)
        scores = h @ params[-2].T + params[-1]
        shifted = scores - anp.max(scores, axis=1, keepdims=True)
        log_probs = shifted - anp.log(anp.sum(anp.exp(shifted), axis=1, keepdims=True))
        return -anp.mean(log_probs[rows, y])

    value_and_grad = autograd.value_and_grad(loss_fn)

    def step():
        loss, grads = value_and_grad(params)
        for p, g in zip(params, grads):
            p -= LR * g
        return loss, params[0]

    return step


def make_chain(inputs: dict) -> callable:
    x, a, b = inputs["x"], inputs["a"], inputs["b"]
    run = chain.make_autograd(autograd)
    return lambda: run(x, a, b)


def make_deep_chain(inputs: dict) -> callable:
    x, n = inputs["x"], inputs["n"]
    value_and_grad = autograd.value_and_grad(
        lambda x: anp.sum(deep_chain.chain(x, n - 1, anp.tanh))
    )
    return lambda: value_and_grad(x)


MAKERS = {"mlp": make_mlp, "chain": make_chain, "deep_chain": make_deep_chain}
SKIPPED = {
    "cnn": "autograd.numpy has no convolution and no stride-trick window view to build "
    "one from (its scipy.signal.convolve is a different algorithm, not the same work)"
}
