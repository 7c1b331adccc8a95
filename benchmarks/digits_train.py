"""The full training of `chainrule train`'s default network on the bundled digits.

The lecture's 2-layer net 64-256-10 (ReLU), Adam with lr 3e-3, batch 64, 40 epochs,
from the same initial weights and over the same shuffled batches in chainrule and in
the same loop written with PyTorch; each returns its mean loss of the first epoch and
its final test accuracy, which must agree before anything is timed.
"""

from __future__ import annotations

from functools import partial

import numpy as np
from common import Row, check_same, median_seconds, optional, ratio

import chainrule as cr
from chainrule import data, nn, optim
from chainrule.nn import functional as F

NAME = "digits_train"
HIDDEN, EPOCHS, BATCH, LR = 256, 40, 64, 3e-3


def inputs(epochs: int):
    x_train, y_train, x_test, y_test = data.digits_split()
    rng = np.random.default_rng(0)
    bound1, bound2 = 1 / np.sqrt(64), 1 / np.sqrt(HIDDEN)
    weights = [
        rng.uniform(-bound1, bound1, (HIDDEN, 64)).astype(np.float32),
        rng.uniform(-bound1, bound1, HIDDEN).astype(np.float32),
        rng.uniform(-bound2, bound2, (10, HIDDEN)).astype(np.float32),
        rng.uniform(-bound2, bound2, 10).astype(np.float32),
    ]
    orders = [rng.permutation(len(x_train)) for _ in range(epochs)]
    return (x_train, y_train, x_test, y_test), weights, orders


def batches(order):
    return [order[i : i + BATCH] for i in range(0, len(order), BATCH)]


def run_chainrule(split, weights, orders):
    x_train, y_train, x_test, y_test = split
    model = nn.Sequential(nn.Linear(64, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, 10))
    for p, w in zip(model.parameters(), weights):
        p.data[...] = w
    optimizer = optim.Adam(model.parameters(), lr=LR)
    first_losses = []
    for epoch, order in enumerate(orders):
        for idx in batches(order):
            optimizer.zero_grad()
            loss = F.cross_entropy(model(cr.tensor(x_train[idx])), y_train[idx])
            loss.backward()
            optimizer.step()
            if epoch == 0:
                first_losses.append(loss.item())
    with cr.no_grad():
        predictions = np.argmax(model(cr.tensor(x_test)).data, axis=1)
    return np.mean(first_losses), np.mean(predictions == y_test)


def make_torch(torch):
    torch.set_num_threads(1)  # the network is small: threads only add overhead

    def run_torch(split, weights, orders):
        x_train, y_train, x_test, y_test = (torch.from_numpy(a) for a in split)
        model = torch.nn.Sequential(
            torch.nn.Linear(64, HIDDEN), torch.nn.ReLU(), torch.nn.Linear(HIDDEN, 10)
        )
        with torch.no_grad():
            for p, w in zip(model.parameters(), weights):
                p.copy_(torch.from_numpy(w))
        optimizer = torch.optim.Adam(model.parameters(), lr=LR)
        first_losses = []
        for epoch, order in enumerate(orders):
            for idx in batches(order):
                idx = torch.from_numpy(idx)
                optimizer.zero_grad()
                loss = torch.nn.functional.cross_entropy(model(x_train[idx]), y_train[idx])
                loss.backward()
                optimizer.step()
                if epoch == 0:
                    first_losses.append(loss.item())
        with torch.no_grad():
            predictions = model(x_test).argmax(dim=1)
        return np.mean(first_losses), (predictions == y_test).double().mean().item()

    return run_torch


def run(quick: bool) -> list[Row]:
    epochs = 2 if quick else EPOCHS
    split, weights, orders = inputs(epochs)
    impls = {"chainrule": run_chainrule}
    if (torch := optional("torch")) is not None:
        impls[f"torch {torch.__version__} eager"] = make_torch(torch)
    reference = run_chainrule(split, weights, orders)
    for name, fn in impls.items():
        # Float32 rounding differs between the libraries: the first epoch's mean loss
        # agrees closely; the final accuracy to within a few test images.
        got = fn(split, weights, orders)
        check_same(f"{NAME}: {name}", reference[:1], got[:1], rtol=1e-3)
        check_same(f"{NAME}: {name}", reference[1:], got[1:], rtol=0, atol=0.02)
    # One at a time: PyTorch's threads must not spin while chainrule's BLAS runs.
    seconds = {}
    for name, fn in impls.items():
        seconds.update(median_seconds({name: partial(fn, split, weights, orders)},
                                      1 if quick else 3, warmup=0))  # fmt: skip
    ours = seconds["chainrule"]
    workload = f"{NAME}: {epochs} epochs, 64-{HIDDEN}-10, Adam, batch {BATCH}"
    rows = []
    for name, t in seconds.items():
        note = "" if name == "chainrule" else ratio("chainrule", ours, name.split()[0], t)
        rows.append(Row(workload, name, t, "s", note))
    rows.append(Row(workload, "chainrule test accuracy", reference[1], "", ""))
    return rows
