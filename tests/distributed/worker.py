"""Scenarios run under ``mpiexec -n N python worker.py OUT NAME...`` by the MPI tests.

Each scenario runs on every rank; rank 0 writes what the tests check to OUT/NAME.json.
Floats go through JSON exactly (repr round-trips float64).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

import chainrule as cr
from chainrule import distributed as dist
from chainrule import nn, optim
from chainrule.data import DataLoader, TensorDataset
from chainrule.nn import functional as F
from chainrule.training import Trainer

GLOBAL_BATCH = 12
SAMPLES = 100  # 8 global batches of 12 and a last one of 4: uneven over 3 ranks
EPOCHS = 2


def dataset():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((SAMPLES, 6))
    y = (x[:, 0] + x[:, 1] * x[:, 2] > 0).astype(np.int64) + 2 * (x[:, 3] > 0.5)
    return TensorDataset(x, y)


def mlp(batchnorm: bool):
    cr.seed(0)
    layers = [nn.Linear(6, 16)]
    if batchnorm:
        layers.append(nn.BatchNorm1d(16))
    layers += [nn.Tanh(), nn.Linear(16, 4)]
    return nn.Sequential(*layers).double()


def flat_state(module) -> np.ndarray:
    return np.concatenate([v.ravel().astype(np.float64) for v in module.state_dict().values()])


def train(comm, batchnorm: bool, sync_batchnorm: bool, drop_last: bool = False):
    """Train the MLP for EPOCHS over the global batches: (the wrapped model, the losses)."""
    model = dist.DistributedDataParallel(
        mlp(batchnorm), sync_batchnorm=sync_batchnorm, bucket_cap_mb=0.001
    )
    opt = optim.Adam(model.parameters(), lr=0.01)
    data = dataset()
    sampler = dist.DistributedSampler(
        data, batch_size=GLOBAL_BATCH // comm.size, seed=3, drop_last=drop_last
    )
    losses = []
    for epoch in range(EPOCHS):
        sampler.set_epoch(epoch)
        for x, y in DataLoader(data, batch_sampler=sampler):
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            losses.append(dist.reduce_mean({"loss": loss.item()}, len(y), comm)["loss"])
    return model, losses


def replicas_identical(comm, model) -> bool:
    states = comm.all_gather_object(flat_state(model).tobytes())
    return all(s == states[0] for s in states)


def scenario_equivalence(comm):
    out = {}
    # Local BatchNorm needs 2 samples per rank: no uneven last batch for it.
    runs = (
        ("plain", False, False, False),
        ("syncbn", True, True, False),
        ("bn", True, False, True),
    )
    for name, bn, sync, drop_last in runs:
        model, losses = train(comm, bn, sync, drop_last)
        out[name] = {
            "state": flat_state(model).tolist(),
            "losses": losses,
            "identical": replicas_identical(comm, model),
            "buckets": len(model.reducer.buckets),
        }
    return out


def scenario_sampler(comm):
    out = {}
    for n, batch, drop_last in ((100, 4, False), (23, 5, False), (13, 4, False), (50, 3, True)):
        if n < comm.size:
            continue
        sampler = dist.DistributedSampler(n, batch_size=batch, seed=11, drop_last=drop_last)
        epochs = []
        for epoch in range(3):
            sampler.set_epoch(epoch)
            mine = [b.tolist() for b in sampler]
            epochs.append(comm.all_gather_object(mine))
        out[f"{n}/{batch}/{drop_last}"] = epochs
    return out


def scenario_gradients(comm):
    """Unused parameters, no_sync accumulation, and the batch weights, checked by hand."""
    cr.seed(0)
    used, branch, unused = (nn.Parameter(np.ones(3)), nn.Parameter(np.ones(3)),
                            nn.Parameter(np.ones(3)))  # fmt: skip
    holder = nn.Module()
    holder.used, holder.branch, holder.unused = used, branch, unused
    model = dist.DistributedDataParallel(holder)
    rank = comm.rank
    x = np.arange(3.0) + rank  # a different batch on every rank

    # The branch is used on rank 0 only; the batch weight is rank + 1.
    model.reducer.weight = float(rank + 1)
    loss = (cr.tensor(x) * used).sum()
    if rank == 0:
        loss = loss + (cr.tensor(x) * branch).sum() * 2
    loss.backward()
    first = {"used": used.grad.numpy().tolist(),
             "branch": None if branch.grad is None else branch.grad.numpy().tolist(),
             "unused": None if unused.grad is None else unused.grad.numpy().tolist()}  # fmt: skip

    # Two micro-batches under no_sync, a third outside: the sum of all three, averaged.
    model.reducer.weight = 1.0
    holder.zero_grad()
    with model.no_sync():
        for k in range(2):
            (cr.tensor(x * (k + 1)) * used).sum().backward()
    local_after_no_sync = used.grad.numpy().tolist()
    (cr.tensor(x * 3) * used).sum().backward()
    accumulated = used.grad.numpy().tolist()

    # Gradients the engine did not compute (set by hand): averaged on request.
    holder.zero_grad()
    used.grad = cr.tensor(x * 10)
    model.average_gradients()
    return {"first": first, "local_after_no_sync": local_after_no_sync,
            "accumulated": accumulated, "explicit": used.grad.numpy().tolist(),
            "explicit_unused": unused.grad is None}  # fmt: skip


def scenario_trainer(comm, out_dir: Path):
    """Trainer metrics over all ranks, checkpoints by rank 0 only, and an exact resume."""
    data = dataset()

    def make(rank_dir):
        model = dist.DistributedDataParallel(mlp(False))
        trainer = Trainer(model, F.cross_entropy, optim.Adam(model.parameters(), lr=0.01),
                          out_dir=rank_dir, progress=False, comm=comm)  # fmt: skip
        sampler = dist.DistributedSampler(data, batch_size=GLOBAL_BATCH // comm.size, seed=3)
        val = dist.DistributedSampler(data, batch_size=32, shuffle=False)
        return trainer, DataLoader(data, batch_sampler=sampler), DataLoader(data, batch_sampler=val)

    base = out_dir / f"trainer-{comm.size}"
    trainer, train_loader, val_loader = make(base / f"rank{comm.rank}")
    history = trainer.fit(train_loader, 3, val_loader).as_dict()
    del history["seconds"]
    resumed, train_loader, val_loader = make(base / f"resumed{comm.rank}")
    first = Trainer(resumed.model, F.cross_entropy, resumed.optimizer, progress=False,
                    out_dir=base / "half", comm=comm)  # fmt: skip
    first.fit(train_loader, 2, val_loader)
    resumed.fit(train_loader, 3, val_loader, resume=base / "half" / "checkpoint.npz")
    again = resumed.history.as_dict()
    del again["seconds"]
    histories = comm.all_gather_object(history)
    return {
        "history": history,
        "same_on_every_rank": all(h == history for h in histories),
        "resumed_history": again,
        "resume_identical": replicas_identical(comm, resumed.model)
        and bool(np.array_equal(flat_state(resumed.model), flat_state(trainer.model))),
        "written": sorted(p.name for p in base.iterdir()),
    }


def scenario_raise(comm):
    """Rank 1 raises while the others wait in a collective."""
    comm.barrier()
    if comm.rank == 1:
        time.sleep(0.2)
        raise RuntimeError("boom on purpose")
    comm.barrier()
    time.sleep(30)  # never reached: the abort ends this process first


def scenario_exit(comm):
    """Rank 2 exits with status 3 inside abort_on_error."""
    with dist.abort_on_error():
        if comm.rank == comm.size - 1:
            sys.exit(3)
        comm.barrier()
    time.sleep(30)


SCENARIOS = {
    "equivalence": scenario_equivalence,
    "sampler": scenario_sampler,
    "gradients": scenario_gradients,
    "trainer": scenario_trainer,
    "raise": scenario_raise,
    "exit": scenario_exit,
}


def main() -> None:
    out_dir, names = Path(sys.argv[1]), sys.argv[2:]
    comm = dist.init()
    for name in names:
        fn = SCENARIOS[name]
        result = fn(comm, out_dir) if name == "trainer" else fn(comm)
        if comm.is_main:
            (out_dir / f"{name}-{comm.size}.json").write_text(json.dumps(result))


if __name__ == "__main__":
    main()
