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
