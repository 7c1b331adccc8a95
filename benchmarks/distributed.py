"""Data-parallel training over MPI on this machine: communication overhead and scaling.

python benchmarks/distributed.py           # about 10 seconds; needs the mpi extra
python benchmarks/distributed.py --quick   # few repeats, to check that it runs

The workload is the MLP of `chainrule train` (64-256-10, ReLU, Adam, float32) on the
bundled digits, batch 64 per process, and the MNIST-sized 784-256-256-10 of the `mlp`
benchmark (270,000 parameters, about 1 MB of gradients per step). The script starts
``mpiexec -n 1`` and ``mpiexec -n 2`` jobs of itself (``--worker``); in each job every
rank times, interleaved and in step (a barrier before each timed call):

- **local step**: forward, backward, Adam step of the plain model (no communication);
- **DDP step**: the same step through `DistributedDataParallel` (gradients averaged);
- **allreduce**: the gradient averaging alone, at several bucket sizes.

The overhead of data parallelism per step is DDP step minus local step. Each process
gets one BLAS thread (``OMP_NUM_THREADS=1``): two processes on two cores with two
threads each would fight over the cores. Weak scaling efficiency is the time of a step
on one process over that on N processes, the batch per process being the same (ideal:
1.0; N times the samples per second). The note at the end of docs/distributed.md says
what changes on a cluster.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np
from common import Row, print_table

WORKLOADS = {"digits MLP 64-256-10": (64, 256, 10), "MLP 784-256-256-10": (784, 256, 256, 10)}
BATCH = 64
BUCKET_CAPS_MB = (0.025, 0.25, 25.0)


def model(sizes):
    from chainrule import nn

    layers = []
    for fan_in, fan_out in zip(sizes, sizes[1:]):
        layers += [nn.Linear(fan_in, fan_out), nn.ReLU()]
    return nn.Sequential(*layers[:-1])


def timed(fns: dict, comm, repeats: int) -> dict[str, list[float]]:
    """[median, fastest] seconds of each fn, interleaved, every call started together.

    The slowest rank sets the pace of a synchronous step, so each figure is the largest
    over the ranks. On a shared machine a rank that loses its core for a moment makes
    its partner wait inside a collective: the fastest call shows the cost without that.
    The heap is not collected before each call (as the other benchmarks do): a rank
    collecting while its partner spins in the barrier skews the start of the next call.
    """
    for fn in fns.values():
        fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            comm.barrier()
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {
        name: [float(max(comm.all_gather_object(f(t)))) for f in (statistics.median, min)]
        for name, t in times.items()
    }


def measure(sizes, comm, repeats: int) -> dict:
    """Timings of one workload on this rank's own batch."""
    import chainrule as cr
    from chainrule import distributed as dist
    from chainrule import optim
    from chainrule.distributed.reducer import GradientReducer
    from chainrule.nn import functional as F

    rng = np.random.default_rng(comm.rank)
    x = cr.tensor(rng.standard_normal((BATCH, sizes[0])).astype(np.float32))
    y = rng.integers(0, sizes[-1], BATCH)
    cr.seed(0)
    plain = model(sizes)
    cr.seed(0)
    ddp = dist.DistributedDataParallel(model(sizes))
    plain_opt, ddp_opt = optim.Adam(plain.parameters()), optim.Adam(ddp.parameters())

    def step(net, opt):
        opt.zero_grad()
        F.cross_entropy(net(x), y).backward()
        opt.step()

    fns = {"local step": lambda: step(plain, plain_opt), "DDP step": lambda: step(ddp, ddp_opt)}
    F.cross_entropy(ddp(x), y).backward()  # gradients for the allreduce timings
    leaves = {id(p): (p, p.grad.data) for p in ddp.parameters()}
    for cap in BUCKET_CAPS_MB:
        reducer = GradientReducer(list(ddp.parameters()), comm, cap)
        label = f"allreduce, {cap:g} MB buckets ({len(reducer.buckets)})"
        fns[label] = lambda r=reducer: r.on_backward(dict(leaves))
    return {
        "parameters": sum(p.size for p in plain.parameters()),
        "seconds": timed(fns, comm, repeats),
    }


def worker(repeats: int) -> None:
    from chainrule import distributed as dist

    comm = dist.init()
    results = {name: measure(sizes, comm, repeats) for name, sizes in WORKLOADS.items()}
    if comm.is_main:
        print(json.dumps(results))


def launch(n: int, quick: bool) -> dict:
    from chainrule.distributed.launch import mpiexec_command

    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    args = [sys.executable, __file__, "--worker", "--repeats", "10" if quick else "300"]
    result = subprocess.run(
        mpiexec_command(n, args), capture_output=True, text=True, env=env, timeout=600,
        stdin=subprocess.DEVNULL, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        raise SystemExit(f"mpiexec -n {n} failed:\n{result.stdout}{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few repeats (a smoke test)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--repeats", type=int, default=300, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args.repeats)

    from mpi4py import MPI

    print(f"{MPI.Get_library_version().splitlines()[0]}; {os.cpu_count()} cores; "
          f"batch {BATCH} per process, one BLAS thread per process")  # fmt: skip
    one, two = launch(1, args.quick), launch(2, args.quick)
    rows = []
    for name in WORKLOADS:
        workload = f"{name} ({one[name]['parameters']:,} parameters)"
        t1, t2 = one[name]["seconds"], two[name]["seconds"]
        for label, (median, fastest) in t2.items():
            note = f"fastest {fastest * 1e3:.3f} ms"
            if label == "DDP step":
                local, local_fastest = t2["local step"]
                note += (f"; overhead {(median - local) * 1e3:.3f} ms/step "
                         f"(fastest: {(fastest - local_fastest) * 1e3:.3f}); weak scaling "
                         f"efficiency {t1['local step'][0] / median:.2f} "
                         f"(fastest: {t1['local step'][1] / fastest:.2f})")  # fmt: skip
            rows.append(Row(workload, f"2 processes: {label}", median * 1e3, "ms", note))
        median, fastest = t1["local step"]
        rows.append(Row(workload, "1 process: local step", median * 1e3, "ms",
                        f"fastest {fastest * 1e3:.3f} ms"))  # fmt: skip
    print()
    print_table(rows)


if __name__ == "__main__":
    main()
