"""Where the time of a step goes: chainrule's phases against the hand-written NumPy's.

python benchmarks/phases.py            # medians of 300 steps (about a minute)
python benchmarks/phases.py --quick    # a few steps, to check that it runs
python benchmarks/phases.py --sizes 8-8-8-4 --batch 4 --warm
                                       # a network whose products cost next to
                                       # nothing, without collecting between steps

The suite (`benchmarks/suite.py`) times whole steps; this splits them, in one process
with the implementations interleaved and a collected heap before each step, as the
suite times them (one BLAS thread: set OPENBLAS_NUM_THREADS=1 for the suite's setting):

- the MLP SGD step of `benchmarks/mlp.py`: ``zero_grad``, the model's forward, the
  loss, backward and the optimizer's step, against the same parts of the NumPy step
  (which has no gradients to clear: its gradients are locals);
- the per-op chain of `benchmarks/chain.py`, forward and backward apart, in µs per op:
  NumPy, chainrule eager and `cr.Graph` replay.

Medians per phase; a phase's difference is what chainrule adds to it. `--warm` leaves
the heap alone between steps: a collection walks every object of the process and
leaves the caches cold for the next step, which costs Python code (chainrule's) more
than NumPy's matrix products.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time

import chain
import mlp
import numpy as np
from common import check_same

import chainrule as cr
from chainrule import optim
from chainrule.nn import functional as F

clock = time.perf_counter


def mlp_chainrule(x, y, weights):
    """The suite's chainrule MLP step, timing each phase into `times` (name: seconds);
    it returns the loss and the first layer's new weights."""
    model = mlp.chainrule_model([x.shape[1]] + [w.shape[0] for w in weights[::2]])
    for p, w in zip(model.parameters(), weights, strict=True):
        p.data[...] = w
    optimizer = optim.SGD(model.parameters(), lr=mlp.LR)
    xt, first = cr.tensor(x), next(iter(model.parameters()))

    def step(times: dict) -> tuple:
        t0 = clock()
        optimizer.zero_grad()
        t1 = clock()
        scores = model(xt)
        t2 = clock()
        loss = F.cross_entropy(scores, y)
        t3 = clock()
        loss.backward()
        t4 = clock()
        optimizer.step()
        t5 = clock()
        _record(times, (t0, t1, t2, t3, t4, t5))
        return loss.item(), first.data

    return step


def mlp_numpy(x, y, weights):
    """`benchmarks/mlp.py`'s NumPy step, phase by phase."""
    params = [w.copy() for w in weights]
    rows = np.arange(len(x))

    def step(times: dict) -> tuple:
        w1, b1, w2, b2, w3, b3 = params
        t0 = t1 = clock()
        h1 = np.maximum(x @ w1.T + b1, 0)
        h2 = np.maximum(h1 @ w2.T + b2, 0)
        scores = h2 @ w3.T + b3
        t2 = clock()
        shifted = scores - scores.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        probs = exp / exp.sum(axis=1, keepdims=True)
        loss = -np.mean(np.log(probs[rows, y]))
        t3 = clock()
        dscores = probs
        dscores[rows, y] -= 1
        dscores /= len(x)
        dw3, db3 = dscores.T @ h2, dscores.sum(axis=0)
        dh2 = (dscores @ w3) * (h2 > 0)
        dw2, db2 = dh2.T @ h1, dh2.sum(axis=0)
        dh1 = (dh2 @ w2) * (h1 > 0)
        dw1, db1 = dh1.T @ x, dh1.sum(axis=0)
        t4 = clock()
        for p, g in zip(params, (dw1, db1, dw2, db2, dw3, db3)):
            p -= mlp.LR * g
        t5 = clock()
        _record(times, (t0, t1, t2, t3, t4, t5))
        return loss, params[0]

    return step


MLP_PHASES = ("zero_grad", "forward", "loss", "backward", "step")


def _record(times: dict, stamps: tuple) -> None:
    for name, start, end in zip(MLP_PHASES, stamps, stamps[1:]):
        times.setdefault(name, []).append(end - start)


def chain_phases(x, a, b):
    """(forward, backward) pairs per implementation: forward returns what backward needs."""
    f = chain.chain_function(a, b)
    graph = cr.Graph(f)
    graph.forward(cr.tensor(x, requires_grad=True))  # the trace, before timing
    return {
        "numpy (hand-written)": (
            lambda: chain.numpy_forward(x, a, b),
            lambda kept: chain.numpy_backward(x, a, kept[1]),
        ),
        "chainrule eager": (
            lambda: f(cr.tensor(x, requires_grad=True)),
            lambda value: value.backward(),
        ),
        "chainrule Graph replay": (
            lambda: graph.forward(cr.tensor(x, requires_grad=True)),
            lambda _: graph.backward(),
        ),
    }


def time_interleaved(
    steps: dict, repeats: int, warmup: int = 5, collect: bool = True
) -> dict[str, dict]:
    """{implementation: {phase: median seconds}}; `steps` map a name to step(times).
    With `collect`, each step starts from a collected heap, as the suite times steps."""
    times: dict[str, dict] = {name: {} for name in steps}
    for _ in range(warmup):
        for step in steps.values():
            step({})
    for _ in range(repeats):
        for name, step in steps.items():
            if collect:
                gc.collect()
            step(times[name])
    return {
        name: {phase: statistics.median(v) for phase, v in phases.items()}
        for name, phases in times.items()
    }


def chain_steps(pairs: dict) -> dict:
    def timed(forward, backward):
        def step(times: dict) -> None:
            t0 = clock()
            kept = forward()
            t1 = clock()
            backward(kept)
            t2 = clock()
            times.setdefault("forward", []).append(t1 - t0)
            times.setdefault("backward", []).append(t2 - t1)

        return step

    return {name: timed(*pair) for name, pair in pairs.items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few steps (a smoke test)")
    parser.add_argument(
        "--sizes", default="-".join(map(str, mlp.SIZES)),
        help="the MLP's layer sizes, three layers (default %(default)s)",
    )  # fmt: skip
    parser.add_argument("--batch", type=int, default=mlp.BATCH, help="default %(default)s")
    parser.add_argument(
        "--warm", action="store_true",
        help="no collection of the heap before each step (the suite collects)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    repeats = 3 if args.quick else 300
    sizes = tuple(int(n) for n in args.sizes.split("-"))
    if len(sizes) != 4:
        parser.error(f"--sizes: four layer sizes (three layers), got {args.sizes!r}")

    x, y, weights = mlp.inputs(sizes, args.batch)
    steps = {"chainrule": mlp_chainrule(x, y, weights), "numpy": mlp_numpy(x, y, weights)}
    check_same("MLP: numpy", steps["chainrule"]({}), steps["numpy"]({}))  # the same work
    collect = not args.warm
    medians = time_interleaved(steps, repeats, collect=collect)
    heap = "a collected heap before each step" if collect else "no collection between steps"
    print(f"MLP {args.sizes} SGD step, batch {args.batch}, {heap}: median µs per phase")
    print(f"{'phase':<10} {'chainrule':>10} {'numpy':>10} {'difference':>11}")
    total = {"chainrule": 0.0, "numpy": 0.0}
    for phase in MLP_PHASES:
        ours, floor = medians["chainrule"][phase] * 1e6, medians["numpy"][phase] * 1e6
        total["chainrule"] += ours
        total["numpy"] += floor
        print(f"{phase:<10} {ours:>10.1f} {floor:>10.1f} {ours - floor:>+11.1f}")
    ours, floor = total["chainrule"], total["numpy"]
    print(f"{'sum':<10} {ours:>10.1f} {floor:>10.1f} {ours - floor:>+11.1f}")

    steps = chain_steps(chain_phases(*chain.inputs()))
    medians = time_interleaved(steps, repeats // 2, collect=collect)
    print(f"\nPer-op chain ({chain.N_OPS:,} ops on 16 floats): median µs per op")
    print(f"{'':<24} {'forward':>8} {'backward':>9}")
    for name, phases in medians.items():
        fwd, bwd = (phases[p] * 1e6 / chain.N_OPS for p in ("forward", "backward"))
        print(f"{name:<24} {fwd:>8.3f} {bwd:>9.3f}")


if __name__ == "__main__":
    main()
