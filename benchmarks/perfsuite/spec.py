"""The suite's workloads, libraries and settings, and the seeded inputs every library gets.

Inputs (data and initial weights) are generated once, in the parent, from fixed seeds,
and handed to every library through the same .npz, so that all of them do the same work
from the same numbers.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

import chain
import cnn
import numpy as np

# The library modules, in table order, and the Python module each needs installed.
LIBRARIES = {
    "numpy": "numpy",
    "chainrule": "chainrule",
    "chainrule_graph": "chainrule",
    "torch": "torch",
    "autograd": "autograd",
    "mygrad": "mygrad",
    "micrograd": "micrograd",
}
LABELS = {
    "numpy": "numpy (hand-written)",
    "chainrule": "chainrule",
    "chainrule_graph": "chainrule Graph replay",
    "torch": "PyTorch eager",
    "autograd": "HIPS autograd",
    "mygrad": "MyGrad",
    "micrograd": "micrograd",
}
INSTALL = {"torch": "pip install torch==2.13.0", "numpy": "pip install numpy"}
MLP_SIZES = (784, 256, 256, 10)
MLP_BATCH = 128


def installed(library: str) -> bool:
    return importlib.util.find_spec(LIBRARIES[library]) is not None


def not_installed_reason(library: str) -> str:
    command = INSTALL.get(library, "pip install 'chainrule[bench]'")
    return f"{LIBRARIES[library]} is not installed ({command})"


@dataclass(frozen=True)
class Settings:
    """How long to measure: `repeats` timed steps in all, split over `rounds` processes
    per library that the parent interleaves, after `warmup` steps in each; a process
    stops early once its timed steps passed `budget_s`."""

    repeats: int
    warmup: int
    rounds: int
    budget_s: float


@dataclass(frozen=True)
class Workload:
    name: str
    title: str
    unit: str
    per_second: float  # seconds of one step -> `unit`
    rtol: float
    atol: float
    full: Settings
    quick: Settings
    memory: bool = False  # measure the peak and held memory of one step


def mlp_inputs(sizes=MLP_SIZES, batch: int = MLP_BATCH, seed: int = 0) -> dict:
    """A batch and PyTorch-default initial weights (uniform in +-1/sqrt(fan_in))."""
    rng = np.random.default_rng(seed)
    arrays = {
        "x": rng.standard_normal((batch, sizes[0])).astype(np.float32),
        "y": rng.integers(0, sizes[-1], batch),
    }
    for i, (fan_in, fan_out) in enumerate(zip(sizes, sizes[1:])):
        bound = 1 / np.sqrt(fan_in)
        arrays[f"w{2 * i}"] = rng.uniform(-bound, bound, (fan_out, fan_in)).astype(np.float32)
        arrays[f"w{2 * i + 1}"] = rng.uniform(-bound, bound, fan_out).astype(np.float32)
    arrays["n_weights"] = np.array(2 * (len(sizes) - 1))
    return arrays


def cnn_inputs() -> dict:
    x, y, weights = cnn.inputs()
    arrays = {"x": x, "y": y, "n_weights": np.array(len(weights))}
    arrays.update({f"w{i}": w for i, w in enumerate(weights)})
    return arrays


def chain_inputs() -> dict:
    return dict(zip("xab", chain.inputs()))


def deep_chain_inputs(n: int) -> dict:
    x = np.random.default_rng(0).uniform(-1, 1, 16).astype(np.float32)
    return {"x": x, "n": np.array(n)}


DEEP_CHAIN_OPS = {False: 100_000, True: 3_000}  # by quick


def workloads(quick: bool) -> dict[str, Workload]:
    deep = DEEP_CHAIN_OPS[quick]
    fast = Settings(repeats=3, warmup=1, rounds=1, budget_s=2)
    return {
        "mlp": Workload(
            "mlp", f"MLP {'-'.join(map(str, MLP_SIZES))} SGD step, batch {MLP_BATCH}, f32",
            "ms", 1e3, 1e-4, 1e-6, Settings(90, 3, 6, 10), fast, memory=True,
        ),
        "chain": Workload(
            "chain", f"per-op chain: {chain.N_OPS:,} ops fwd+bwd on 16 f32",
            "us/op", 1e6 / chain.N_OPS, 1e-4, 1e-6, Settings(60, 2, 6, 10), fast,
        ),
        "cnn": Workload(
            "cnn", f"CNN SGD step (benchmarks/cnn.py), batch {cnn.BATCH}, f32",
            "ms", 1e3, 1e-4, 1e-5, Settings(60, 3, 3, 15), fast, memory=True,
        ),
        "deep_chain": Workload(
            "deep_chain", f"deep chain: {deep:,} ops build+bwd on 16 f32",
            "us/op", 1e6 / deep, 1e-3, 1e-6, Settings(5, 1, 1, 30), fast,
        ),
    }  # fmt: skip


def workload_inputs(name: str, quick: bool) -> dict:
    if name == "mlp":
        return mlp_inputs()
    if name == "cnn":
        return cnn_inputs()
    if name == "chain":
        return chain_inputs()
    return deep_chain_inputs(DEEP_CHAIN_OPS[quick])
