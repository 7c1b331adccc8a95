"""One SGD step of a small CNN (issue 5): time and peak memory, against NumPy and PyTorch.

conv3x3(3->16, pad 1), ReLU, maxpool 2x2, conv3x3(16->32, pad 1), ReLU, maxpool 2x2,
flatten, linear(2048->10), softmax cross-entropy; batch 32 of 3x32x32, float32. Forward,
backward and the update, from the same initial weights in chainrule (`nn.Sequential`,
`F.cross_entropy`, `optim.SGD`), in a straightforward hand-written NumPy im2col step
(the baseline a NumPy user would write first), and in PyTorch eager. Each returns the
loss and the updated first-layer weights, which must agree before anything is timed.

Threads: PyTorch gets as many as OpenBLAS (``OPENBLAS_NUM_THREADS``, 2 unless set).
On a shared machine, two threads stall whenever another process holds one of the cores
(every BLAS call or OpenMP region waits for its second thread), for all three libraries
alike; ``OPENBLAS_NUM_THREADS=1`` then gives steadier numbers.

Peak memory: each library runs in a subprocess of its own, with glibc's malloc told to
map every block of 128 KiB or more on its own and unmap it when freed
(``MALLOC_MMAP_THRESHOLD_``, which also stops glibc from raising that threshold and
keeping freed blocks for reuse), so that the resident set follows the arrays alive.
After two warm-up steps and the gradients released, the peak of the resident set is reset
(``/proc/self/clear_refs``), one step runs, and the peak (``VmHWM``) minus the resident
set before the step is that step's peak memory: activations, saved values, gradients and
temporaries, not the parameters and the batch that exist before it (the suite's method,
`perfsuite.worker.measure_memory`). Linux only.

    python benchmarks/cnn.py                          # this workload alone
    OPENBLAS_NUM_THREADS=1 python benchmarks/cnn.py   # one thread for NumPy and PyTorch
    python benchmarks/cnn.py --peak-memory chainrule  # one library's peak, in KiB
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from functools import partial

import numpy as np
from common import (
    Row,
    chainrule_sgd_step,
    optional,
    print_table,
    rows_against_chainrule,
    time_training_steps,
    torch_sgd_step,
)
from numpy.lib.stride_tricks import sliding_window_view
from perfsuite.worker import MEMORY_MALLOC, measure_memory

from chainrule import nn

NAME = "cnn"
BATCH, CLASSES, LR = 32, 10, 0.01
# (out_channels, in_channels) of the two 3x3 convolutions, and the linear layer's input.
CONVS = ((16, 3), (32, 16))
FLAT = 32 * 8 * 8


def inputs():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((BATCH, 3, 32, 32)).astype(np.float32)
    y = rng.integers(0, CLASSES, BATCH)
    weights = []
    for shape in [(o, c, 3, 3) for o, c in CONVS] + [(CLASSES, FLAT)]:
        bound = 1 / np.sqrt(np.prod(shape[1:]))  # PyTorch's default bounds
        weights.append(rng.uniform(-bound, bound, shape).astype(np.float32))
        weights.append(rng.uniform(-bound, bound, shape[0]).astype(np.float32))
    return x, y, weights


# ----- straightforward NumPy: im2col by reshape, col2im and pooling as a student writes them


def _conv_forward(x, w, b):
    n, c, h, width = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    windows = sliding_window_view(xp, (3, 3), axis=(2, 3))  # (N, C, H, W, 3, 3)
    cols = windows.transpose(0, 2, 3, 1, 4, 5).reshape(n * h * width, c * 9)
    out = cols @ w.reshape(len(w), -1).T + b
    return out.reshape(n, h, width, -1).transpose(0, 3, 1, 2), cols


def _conv_backward(dout, cols, x_shape, w):
    n, c, h, width = x_shape
    d2 = dout.transpose(0, 2, 3, 1).reshape(n * h * width, -1)
    dw = (d2.T @ cols).reshape(w.shape)
    dcols = (d2 @ w.reshape(len(w), -1)).reshape(n, h, width, c, 3, 3)
    dxp = np.zeros((n, c, h + 2, width + 2), dout.dtype)
    for i in range(3):
        for j in range(3):
            dxp[:, :, i : i + h, j : j + width] += dcols[..., i, j].transpose(0, 3, 1, 2)
    return dxp[:, :, 1:-1, 1:-1], dw, d2.sum(axis=0)


def _pool_forward(x):
    n, c, h, width = x.shape
    blocks = x.reshape(n, c, h // 2, 2, width // 2, 2)
    out = blocks.max(axis=(3, 5))
    return out, blocks == out[:, :, :, None, :, None]


def _pool_backward(dout, mask):
    n, c, h, _, width, _ = mask.shape
    return (mask * dout[:, :, :, None, :, None]).reshape(n, c, 2 * h, 2 * width)


def make_numpy(x, y, weights):
    params = [w.copy() for w in weights]

    def step():
        w1, b1, w2, b2, w3, b3 = params
        z1, cols1 = _conv_forward(x, w1, b1)
        a1 = np.maximum(z1, 0)
        p1, mask1 = _pool_forward(a1)
        z2, cols2 = _conv_forward(p1, w2, b2)
        a2 = np.maximum(z2, 0)
        p2, mask2 = _pool_forward(a2)
        flat = p2.reshape(BATCH, -1)
        scores = flat @ w3.T + b3
        shifted = scores - scores.max(axis=1, keepdims=True)
        probs = np.exp(shifted)
        probs /= probs.sum(axis=1, keepdims=True)
        loss = -np.mean(np.log(probs[np.arange(BATCH), y]))
        dscores = probs
        dscores[np.arange(BATCH), y] -= 1
        dscores /= BATCH
        dw3, db3 = dscores.T @ flat, dscores.sum(axis=0)
        dp2 = (dscores @ w3).reshape(p2.shape)
        dz2 = _pool_backward(dp2, mask2) * (z2 > 0)
        dp1, dw2, db2 = _conv_backward(dz2, cols2, p1.shape, w2)
        dz1 = _pool_backward(dp1, mask1) * (z1 > 0)
        _, dw1, db1 = _conv_backward(dz1, cols1, x.shape, w1)
        for p, g in zip(params, (dw1, db1, dw2, db2, dw3, db3)):
            p -= LR * g
        return loss, params[0]

    return step


# ----- chainrule and PyTorch: the same network from their layers


def network(layers):
    """The network from `layers`: ``chainrule.nn`` or ``torch.nn`` (the same names and
    arguments)."""
    (c1_out, c1_in), (c2_out, c2_in) = CONVS
    return layers.Sequential(
        layers.Conv2d(c1_in, c1_out, 3, padding=1), layers.ReLU(), layers.MaxPool2d(2),
        layers.Conv2d(c2_in, c2_out, 3, padding=1), layers.ReLU(), layers.MaxPool2d(2),
        layers.Flatten(), layers.Linear(FLAT, CLASSES),
    )  # fmt: skip


def make_chainrule(x, y, weights):
    return chainrule_sgd_step(network(nn), weights, x, y, LR)


def make_torch(torch, x, y, weights):
    # As many threads as OpenBLAS has (NumPy's matrix products), 2 unless set.
    torch.set_num_threads(int(os.environ.get("OPENBLAS_NUM_THREADS", "2")))
    return torch_sgd_step(torch, network(torch.nn), weights, x, y, LR)


def makers(with_torch: bool = True) -> dict:
    found = {"numpy (hand-written)": make_numpy, "chainrule": make_chainrule}
    if with_torch and (torch := optional("torch")) is not None:
        found[f"torch {torch.__version__} eager"] = partial(make_torch, torch)
    return found


# ----- peak memory, one library per process


def peak_memory_kib(name: str) -> int:
    """The peak resident memory one warm step of `name` adds, in KiB: the suite's method
    (`perfsuite.worker.measure_memory`, see the docstring)."""
    step = makers(with_torch=name.startswith("torch"))[name](*inputs())
    return measure_memory(step)["peak_kib"]


def measure_peaks(names) -> dict[str, float]:
    """Each library's step peak in MiB, measured in a fresh subprocess per library."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("MALLOC_")}
    env.update(MEMORY_MALLOC)
    peaks = {}
    for name in names:
        result = subprocess.run(
            [sys.executable, os.path.abspath(__file__), "--peak-memory", name],
            capture_output=True, text=True, env=env, check=True, timeout=300,
        )  # fmt: skip
        peaks[name] = int(result.stdout.split()[-1]) / 1024
    return peaks


def run(quick: bool) -> list[Row]:
    x, y, weights = inputs()
    found = makers()
    seconds = time_training_steps(NAME, found, x, y, weights, quick, atol=1e-5)
    workload = f"{NAME}: SGD step conv-pool x2 + linear, batch {BATCH}, f32"
    rows = rows_against_chainrule(workload, {k: t * 1e3 for k, t in seconds.items()}, "ms")
    if sys.platform.startswith("linux"):
        peaks = measure_peaks(found)
        rows += rows_against_chainrule(f"{NAME}: peak memory of one step", peaks, "MiB")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few repeats (a smoke test)")
    parser.add_argument("--peak-memory", metavar="NAME", help="print one library's peak (KiB)")
    args = parser.parse_args()
    if args.peak_memory:
        print(peak_memory_kib(args.peak_memory))
        return
    print_table(run(args.quick))


if __name__ == "__main__":
    main()
