"""Timing helpers shared by the benchmarks: medians after warmup, and the result table."""

from __future__ import annotations

import gc
import importlib
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


def median_seconds(
    fns: dict[str, Callable[[], object]], repeats: int, warmup: int = 1
) -> dict[str, float]:
    """The median wall time of each ``fn()`` over `repeats` calls, after `warmup` calls.

    The calls are interleaved (a, b, c, a, b, c, ...) so that a slow spell of a shared
    or throttled machine hits every implementation alike and the ratios stay fair. The
    garbage collector stays on (its cost is part of what a user pays), but each call
    starts from a collected heap so that it does not pay for the previous one's garbage.
    """
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            gc.collect()
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def optional(module: str):
    """The module, or None when it is not installed (its rows are then skipped)."""
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


def check_same(name: str, reference, other, rtol: float = 1e-4, atol: float = 1e-6) -> None:
    """Stop the run if two implementations disagree: timing different work is worthless."""
    for ref, got in zip(reference, other, strict=True):
        ref, got = np.asarray(ref, dtype=np.float64), np.asarray(got, dtype=np.float64)
        if ref.shape != got.shape or not np.allclose(ref, got, rtol=rtol, atol=atol):
            worst = np.max(np.abs(ref - got)) if ref.shape == got.shape else "shape"
            raise SystemExit(f"{name}: results differ from chainrule's (max diff {worst})")


@dataclass
class Row:
    workload: str
    implementation: str
    value: float  # the median, in `unit`
    unit: str
    note: str = ""  # e.g. "chainrule / numpy = 3.1x"


def time_training_steps(
    name: str, makers: dict, x, y, weights, quick: bool, atol: float
) -> dict[str, float]:
    """Median seconds of one training step per library, after checking that one step
    from the same weights gives every library the same loss and new weights.

    `makers` maps a library's name to ``make(x, y, weights) -> step``. NumPy and
    chainrule share OpenBLAS's threads and are interleaved; PyTorch's OpenMP threads keep
    spinning after each of its steps and would steal OpenBLAS's cores, so PyTorch is
    timed after them, on its own.
    """
    first = {lib: make(x, y, weights)() for lib, make in makers.items()}
    for lib, result in first.items():
        check_same(f"{name}: {lib}", first["chainrule"], result, rtol=1e-4, atol=atol)
    steps = {lib: make(x, y, weights) for lib, make in makers.items()}
    repeats = 5 if quick else 100
    torch_steps = {lib: steps.pop(lib) for lib in list(steps) if lib.startswith("torch")}
    seconds = median_seconds(steps, repeats, warmup=3)
    if torch_steps:
        seconds.update(median_seconds(torch_steps, repeats, warmup=3))
    return seconds


def chainrule_sgd_step(model, weights, x, y, lr: float) -> Callable[[], tuple]:
    """One SGD step of the chainrule `model` on the batch (x, y), from `weights` (in
    `parameters()` order), as users write it: ``step()`` returns the loss and the first
    parameter's array; ``step.release()`` clears the gradients (the memory measurement)."""
    import chainrule as cr
    from chainrule import optim
    from chainrule.nn import functional as F

    for p, w in zip(model.parameters(), weights, strict=True):
        p.data[...] = w
    optimizer = optim.SGD(model.parameters(), lr=lr)
    xt, first = cr.tensor(x), next(iter(model.parameters()))

    def step():
        optimizer.zero_grad()
        loss = F.cross_entropy(model(xt), y)
        loss.backward()
        optimizer.step()
        return loss.item(), first.data

    step.release = optimizer.zero_grad
    return step


def torch_sgd_step(torch, model, weights, x, y, lr: float) -> Callable[[], tuple]:
    """`chainrule_sgd_step` for a PyTorch `model`."""
    with torch.no_grad():
        for p, w in zip(model.parameters(), weights, strict=True):
            p.copy_(torch.from_numpy(w))
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    xt, yt, first = torch.from_numpy(x), torch.from_numpy(y), next(iter(model.parameters()))

    def step():
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(xt), yt)
        loss.backward()
        optimizer.step()
        return loss.item(), first.detach().numpy()

    step.release = optimizer.zero_grad
    return step


def rows_against_chainrule(workload: str, values: dict[str, float], unit: str) -> list[Row]:
    """One row per library, each with its ratio to chainrule's value."""
    ours = values["chainrule"]
    rows = []
    for lib, value in values.items():
        note = "" if lib == "chainrule" else ratio("chainrule", ours, lib.split()[0], value)
        rows.append(Row(workload, lib, value, unit, note))
    return rows


def ratio(numerator: str, a: float, denominator: str, b: float) -> str:
    return f"{numerator} / {denominator} = {a / b:.2f}x"


def print_table(rows: list[Row]) -> None:
    headers = ("workload", "implementation", "median", "ratio")
    cells = [(r.workload, r.implementation, f"{r.value:.2f} {r.unit}", r.note) for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    print(line.format(*headers).rstrip())
    print("  ".join("-" * w for w in widths))
    previous = None
    for cell in cells:
        shown = ("" if cell[0] == previous else cell[0], *cell[1:])
        previous = cell[0]
        print(line.format(*shown).rstrip())
