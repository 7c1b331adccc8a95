"""Hand-written NumPy: the floor a NumPy engine cannot beat.

The chain and the CNN step are `benchmarks/chain.py`'s and `benchmarks/cnn.py`'s
baselines; the MLP step below takes any layer sizes and batch (for the scaling sweeps).
Every maker takes the inputs the parent wrote and returns a step: a function of no
arguments returning the arrays the parent compares across libraries.
"""

from __future__ import annotations

import chain
import cnn
import numpy as np

LR = 0.01


def version() -> str:
    return np.__version__


def make_mlp(inputs: dict) -> callable:
    """One SGD step of a ReLU MLP with softmax cross-entropy, backward written by hand."""
    x, y = inputs["x"], inputs["y"]
    params = [inputs[f"w{i}"].copy() for i in range(inputs["n_weights"])]
    rows = np.arange(len(x))

    def step():
        hidden = [x]
        for w, b in zip(params[0:-2:2], params[1:-2:2]):
            hidden.append(np.maximum(hidden[-1] @ w.T + b, 0))
        scores = hidden[-1] @ params[-2].T + params[-1]
        shifted = scores - scores.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        probs = exp / exp.sum(axis=1, keepdims=True)
        loss = -np.mean(np.log(probs[rows, y]))
        g = probs
        g[rows, y] -= 1
        g /= len(x)
        grads = []
        for layer in range(len(params) // 2 - 1, -1, -1):
            w, h = params[2 * layer], hidden[layer]
            grads[:0] = [g.T @ h, g.sum(axis=0)]
            if layer:
                g = (g @ w) * (h > 0)
        for p, dp in zip(params, grads):
            p -= LR * dp
        return loss, params[0]

    return step


def make_chain(inputs: dict) -> callable:
    x, a, b = inputs["x"], inputs["a"], inputs["b"]
    return lambda: chain.run_numpy(x, a, b)


def make_deep_chain(inputs: dict) -> callable:
    """`benchmarks/deep_chain.py`'s ops (x 1.0001, + 0.0001, tanh in turn) by hand,
    keeping the tanh outputs for the backward pass as an engine would."""
    x, n = inputs["x"], inputs["n"]

    def step():
        tanh_outs = {}
        y = x
        for i in range(n - 1):
            if i % 3 == 0:
                y = y * 1.0001
            elif i % 3 == 1:
                y = y + 0.0001
            else:
                y = tanh_outs[i] = np.tanh(y)
        value = y.sum()
        g = np.ones_like(x)
        for i in range(n - 2, -1, -1):
            if i % 3 == 0:
                g = g * 1.0001
            elif i % 3 == 2:
                g = g * (1 - tanh_outs[i] * tanh_outs[i])
        return value, g

    return step


def make_cnn(inputs: dict) -> callable:
    return cnn.make_numpy(inputs["x"], inputs["y"], _weights(inputs))


def _weights(inputs: dict) -> list:
    return [inputs[f"w{i}"] for i in range(inputs["n_weights"])]


MAKERS = {"mlp": make_mlp, "chain": make_chain, "deep_chain": make_deep_chain, "cnn": make_cnn}
SKIPPED: dict[str, str] = {}
