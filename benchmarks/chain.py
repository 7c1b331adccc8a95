"""Per-op overhead: 1,000 elementwise ops on a 16-element float32 tensor, forward + backward.

The chain is 333 x (y = y * a; y = y + b; y = tanh(y)) and a final sum: 1,000 gates. Only
the input x requires grad (a and b are constants), and every implementation returns the
same two things, the value and d value / dx, so they all do the same work. The
"chainrule Graph replay" row runs the same function captured once by `cr.Graph` (traced
before timing), forward and backward, and must return the same bits as eager chainrule.
"""

from __future__ import annotations

from functools import partial

import numpy as np
from common import Row, check_same, median_seconds, optional, ratio

import chainrule as cr

NAME = "chain"
GRAPH = "chainrule Graph replay"
REPEATS = 333
N_OPS = 3 * REPEATS + 1


def inputs():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, 16).astype(np.float32)
    a = (1 + 0.01 * rng.standard_normal(16)).astype(np.float32)
    b = (0.01 * rng.standard_normal(16)).astype(np.float32)
    return x, a, b


def numpy_forward(x, a, b):
    """The floor's forward: the value, and the tanh outputs kept for the backward."""
    outs = []
    y = x
    for _ in range(REPEATS):
        y = np.tanh(y * a + b)
        outs.append(y)
    return y.sum(), outs


def numpy_backward(x, a, outs):
    """The floor's backward, written by hand: d value / dx."""
    g = np.ones_like(x)
    for out in reversed(outs):
        g = g * (1 - out * out) * a
    return g


def run_numpy(x, a, b):
    """The floor: the forward keeping the tanh outputs, then the backward by hand."""
    value, outs = numpy_forward(x, a, b)
    return value, numpy_backward(x, a, outs)


def chain_function(a, b):
    """The chain as a function of a tensor, in chainrule's ops: f(x) = value."""

    def f(xt):
        y = xt
        for _ in range(REPEATS):
            y = y * a
            y = y + b
            y = cr.tanh(y)
        return y.sum()

    return f


def run_chainrule(x, a, b):
    xt = cr.tensor(x, requires_grad=True)
    value = chain_function(a, b)(xt)
    value.backward()
    return value.data, xt.grad.data


def make_graph_replay(x, a, b):
    """The same chain captured once by `cr.Graph` (the trace happens here, not in the
    timed calls), then replayed forward and backward on each call."""
    graph = cr.Graph(chain_function(a, b))
    graph.forward(cr.tensor(x, requires_grad=True))

    def run_graph_replay(x, a, b):
        value = graph.forward(cr.tensor(x, requires_grad=True))
        (dx,) = graph.backward()
        return value.data, dx.data

    return run_graph_replay


def make_torch(torch):
    def run_torch(x, a, b):
        xt = torch.tensor(x, requires_grad=True)
        at, bt = torch.from_numpy(a), torch.from_numpy(b)
        y = xt
        for _ in range(REPEATS):
            y = y * at
            y = y + bt
            y = torch.tanh(y)
        value = y.sum()
        value.backward()
        return value.detach().numpy(), xt.grad.numpy()

    return run_torch


def make_autograd(autograd):
    import autograd.numpy as anp

    def f(x, a, b):
        y = x
        for _ in range(REPEATS):
            y = y * a
            y = y + b
            y = anp.tanh(y)
        return anp.sum(y)

    value_and_grad = autograd.value_and_grad(f)

    def run_autograd(x, a, b):
        return value_and_grad(x, a, b)

    return run_autograd


def run(quick: bool) -> list[Row]:
    args = inputs()
    impls = {"numpy (hand-written)": run_numpy, "chainrule": run_chainrule}
    if (torch := optional("torch")) is not None:
        impls[f"torch {torch.__version__} eager"] = make_torch(torch)
    if (autograd := optional("autograd")) is not None:
        impls["HIPS autograd"] = make_autograd(autograd)

    reference = run_chainrule(*args)
    for name, fn in impls.items():
        check_same(f"{NAME}: {name}", reference, fn(*args))

    repeats = 5 if quick else 50
    seconds = median_seconds(
        {name: partial(fn, *args) for name, fn in impls.items()}, repeats, warmup=2
    )
    # The captured graph is made and timed after the others: while one lives in the
    # process (its records, the last step's values), eager chainrule measured ~10%
    # slower interleaved with it, which is not the per-op cost this row compares.
    replay = make_graph_replay(*args)
    # Replay promises more than agreement: the very same bits as eager mode.
    if not all(np.array_equal(r, g) for r, g in zip(reference, replay(*args))):
        raise SystemExit(f"{NAME}: Graph replay differs from eager chainrule")
    seconds.update(median_seconds({GRAPH: partial(replay, *args)}, repeats, warmup=2))
    us_per_op = {name: t / N_OPS * 1e6 for name, t in seconds.items()}
    ours = us_per_op["chainrule"]
    workload = f"{NAME}: {N_OPS:,} ops fwd+bwd, 16 f32"
    rows = []
    for name, value in us_per_op.items():
        short = name.split()[0]
        if name == GRAPH:
            note = ratio("Graph", value, "eager", ours)
        else:
            note = "" if name == "chainrule" else ratio("chainrule", ours, short, value)
        rows.append(Row(workload, name, value, "us/op", note))
    return rows
