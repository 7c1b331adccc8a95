"""PyTorch eager on the CPU, with as many intra-op threads as the suite gives OpenBLAS.

The chain, deep chain and CNN step are those of `benchmarks/chain.py`,
`benchmarks/deep_chain.py` and `benchmarks/cnn.py`; the MLP takes any sizes and batch.
"""

from __future__ import annotations

import os

import chain
import cnn
import deep_chain
import torch
from common import torch_sgd_step

LR = 0.01
# One setting for every library in a run (the suite's --threads, default 1).
torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))


def version() -> str:
    return torch.__version__


def make_mlp(inputs: dict) -> callable:
    modules = []
    for i in range(0, inputs["n_weights"], 2):
        fan_out, fan_in = inputs[f"w{i}"].shape
        modules += [torch.nn.Linear(fan_in, fan_out), torch.nn.ReLU()]
    return _sgd_step(torch.nn.Sequential(*modules[:-1]), inputs)


def _sgd_step(model, inputs: dict) -> callable:
    """One SGD step of `model` from the inputs' weights (in `parameters()` order)."""
    weights = [inputs[f"w{i}"] for i in range(inputs["n_weights"])]
    return torch_sgd_step(torch, model, weights, inputs["x"], inputs["y"], LR)


def make_chain(inputs: dict) -> callable:
    x, a, b = inputs["x"], inputs["a"], inputs["b"]
    run = chain.make_torch(torch)
    return lambda: run(x, a, b)


def make_deep_chain(inputs: dict) -> callable:
    x, n = inputs["x"], inputs["n"]
    run = deep_chain.make_torch(torch)
    return lambda: run(x, n)


def make_cnn(inputs: dict) -> callable:
    return _sgd_step(cnn.network(torch.nn), inputs)


MAKERS = {"mlp": make_mlp, "chain": make_chain, "deep_chain": make_deep_chain, "cnn": make_cnn}
SKIPPED: dict[str, str] = {}
