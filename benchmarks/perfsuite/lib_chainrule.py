"""chainrule, eager: `nn.Sequential`, `F.cross_entropy` and `optim.SGD`, as users write it.

The chain, deep chain and CNN step are the ones of `benchmarks/chain.py`,
`benchmarks/deep_chain.py` and `benchmarks/cnn.py`; the MLP takes any sizes and batch.
"""

from __future__ import annotations

import chain
import cnn
import deep_chain

import chainrule as cr
from chainrule import nn, optim
from chainrule.nn import functional as F

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
    for p, w in zip(model.parameters(), weights, strict=True):
        p.data[...] = w
    optimizer = optim.SGD(model.parameters(), lr=LR)
    x, y = cr.tensor(inputs["x"]), inputs["y"]
    first = model[0].weight

    def step():
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        return loss.item(), first.data

    step.release = optimizer.zero_grad
    return step


def make_chain(inputs: dict) -> callable:
    x, a, b = inputs["x"], inputs["a"], inputs["b"]
    return lambda: chain.run_chainrule(x, a, b)


def make_deep_chain(inputs: dict) -> callable:
    x, n = inputs["x"], inputs["n"]
    return lambda: deep_chain.run_chainrule(x, n)


def make_cnn(inputs: dict) -> callable:
    """`benchmarks/cnn.py`'s network and step, built here to hand the optimizer's
    `zero_grad` to the memory measurement."""
    (c1_out, c1_in), (c2_out, c2_in) = cnn.CONVS
    model = nn.Sequential(
        nn.Conv2d(c1_in, c1_out, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(c2_in, c2_out, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(cnn.FLAT, cnn.CLASSES),
    )  # fmt: skip
    return _sgd_step(model, inputs)


MAKERS = {"mlp": make_mlp, "chain": make_chain, "deep_chain": make_deep_chain, "cnn": make_cnn}
SKIPPED: dict[str, str] = {}
