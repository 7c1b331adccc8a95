"""Deep chain: 10k, 30k and 100k ops (mul, add, tanh in turn) built and backpropagated.

Time per op should not grow with the length (a linear-time, non-recursive engine). Each
timed call builds the chain on a 16-element float32 tensor, backpropagates, and returns
only the gradient, so freeing the graph is part of the time too. The row with Python's
cyclic garbage collector switched off shows how much of chainrule's time is the
collector scanning the graph's objects (torch keeps its graph in C++, out of its sight).
"""

from __future__ import annotations

import gc
from functools import partial

import numpy as np
from common import Row, check_same, median_seconds, optional, ratio

import chainrule as cr

NAME = "deep_chain"
LENGTHS = (10_000, 30_000, 100_000)
GC_OFF = "chainrule, gc disabled"


def chain(y, n: int, tanh):
    for i in range(n):
        step = i % 3
        if step == 0:
            y = y * 1.0001
        elif step == 1:
            y = y + 0.0001
        else:
            y = tanh(y)
    return y


def run_chainrule(x: np.ndarray, n: int):
    xt = cr.tensor(x, requires_grad=True)
    y = chain(xt, n - 1, cr.tanh).sum()
    y.backward()
    return y.data, xt.grad.data


def run_chainrule_gc_off(x: np.ndarray, n: int):
    gc.disable()
    try:
        return run_chainrule(x, n)
    finally:
        gc.enable()


def make_torch(torch):
    def run_torch(x: np.ndarray, n: int):
        xt = torch.tensor(x, requires_grad=True)
        y = chain(xt, n - 1, torch.tanh).sum()
        y.backward()
        return y.detach().numpy(), xt.grad.numpy()

    return run_torch


def run(quick: bool) -> list[Row]:
    x = np.random.default_rng(0).uniform(-1, 1, 16).astype(np.float32)
    impls = {"chainrule": run_chainrule, GC_OFF: run_chainrule_gc_off}
    if (torch := optional("torch")) is not None:
        impls[f"torch {torch.__version__} eager"] = make_torch(torch)

    reference = run_chainrule(x, LENGTHS[-1])
    for name, fn in impls.items():
        check_same(f"{NAME}: {name}", reference, fn(x, LENGTHS[-1]), rtol=1e-3)

    repeats, warmup = (1, 0) if quick else (5, 1)
    us_per_op = {}
    for n in LENGTHS:
        seconds = median_seconds(
            {name: partial(fn, x, n) for name, fn in impls.items()}, repeats, warmup
        )
        us_per_op[n] = {name: t / n * 1e6 for name, t in seconds.items()}

    rows = []
    for n, results in us_per_op.items():
        ours = results["chainrule"]
        for name, value in results.items():
            note = "" if name == "chainrule" else ratio("chainrule", ours, name.split()[0], value)
            if name == GC_OFF:
                note = ""
            rows.append(Row(f"{NAME}: {n:,} ops build+bwd", name, value, "us/op", note))
    short, long = LENGTHS[0], LENGTHS[-1]
    for name in impls:
        growth = us_per_op[long][name] / us_per_op[short][name]
        rows.append(
            Row(f"{NAME}: linearity", name, growth, "x", f"us/op at {long:,} / us/op at {short:,}")
        )
    return rows
