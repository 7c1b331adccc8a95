"""chainrule, eager: `nn.Sequential`, `F.cross_entropy` and `optim.SGD`, as users write it.

The chain, deep chain and CNN step are the ones of `benchmarks/chain.py`,
`benchmarks/deep_chain.py` and `benchmarks/cnn.py`; the MLP takes any sizes and batch.
"""

from __future__ import annotations

import chain
import cnn
import deep_chain
from common import chainrule_sgd_step

import chainrule as cr
from chainrule import nn

LR = 0.01


def version() -> str:
    return cr.__version__


def make_mlp(inputs: dict) -> callable:
    modules = []
    for i in range(0, inputs["n_weights"], 2):
        fan_out, fan_in = inputs[f"w{i}"].shape
        modules += [nn.Linear(fan_in, fan_out), nn.ReLU()]
    return _sgd_step(nn.Sequential(*modules[:-1]), inputs)


def _sgd_step(model, inputs: dict) -> callable:
    """One SGD step of `model` from the inputs' weights (in `parameters()` order)."""
    weights = [inputs[f"w{i}"] for i in range(inputs["n_weights"])]
    return chainrule_sgd_step(model, weights, inputs["x"], inputs["y"], LR)


def make_chain(inputs: dict) -> callable:
    x, a, b = inputs["x"], inputs["a"], inputs["b"]
    return lambda: chain.run_chainrule(x, a, b)


def make_deep_chain(inputs: dict) -> callable:
    x, n = inputs["x"], inputs["n"]
    return lambda: deep_chain.run_chainrule(x, n)


def make_cnn(inputs: dict) -> callable:
    return _sgd_step(cnn.network(nn), inputs)


MAKERS = {"mlp": make_mlp, "chain": make_chain, "deep_chain": make_deep_chain, "cnn": make_cnn}
SKIPPED: dict[str, str] = {}
