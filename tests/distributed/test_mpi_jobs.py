"""Real MPI jobs: ``mpiexec -n 1, 2, 3`` on this machine, launched from pytest.

One job per world size runs the worker's scenarios (tests/distributed/worker.py) and
the tests compare the results across world sizes: N ranks with batch B each must
train the very parameters that 1 rank with batch N * B trains. Then a raising rank
must end its job within seconds, and `chainrule train --distributed` must work.
"""

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from mpi_jobs import WORKER, mpirun, needs_mpi4py, needs_mpiexec, run_worker

pytestmark = [needs_mpi4py, needs_mpiexec]

WORLDS = (1, 2, 3)
SCENARIOS = ("equivalence", "sampler", "gradients", "trainer")


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """{world size: {scenario: what rank 0 wrote}} from one job per world size."""
    out = tmp_path_factory.mktemp("mpi")
    found = {}
    for n in WORLDS:
        run_worker(n, out, *SCENARIOS)
        found[n] = {name: json.loads((out / f"{name}-{n}.json").read_text()) for name in SCENARIOS}
    return found


@pytest.mark.parametrize("world", [2, 3])
@pytest.mark.parametrize("model", ["plain", "syncbn"])
def test_n_ranks_train_the_parameters_of_one_rank_with_n_times_the_batch(results, world, model):
    # 100 samples, global batch 12: over 3 ranks the last step is uneven (2, 1, 1), and
    # batch-size weights (and SyncBatchNorm's global statistics) keep it exact.
    one = results[1]["equivalence"][model]
    many = results[world]["equivalence"][model]
    np.testing.assert_allclose(many["state"], one["state"], rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(many["losses"], one["losses"], rtol=1e-9)
    assert len(one["state"]) > 100 and many["buckets"] > 1  # several messages per step


@pytest.mark.parametrize("world", WORLDS)
def test_replicas_stay_identical_to_the_bit(results, world):
    for model in ("plain", "syncbn", "bn"):
        assert results[world]["equivalence"][model]["identical"], model


@pytest.mark.parametrize("world", WORLDS)
def test_sampler_covers_the_dataset_exactly_once_per_epoch(results, world):
    for key, epochs in results[world]["sampler"].items():
        n, _, drop_last = key.split("/")
        orders = []
        for ranks in epochs:  # [rank][step] -> indices
            assert len({len(steps) for steps in ranks}) == 1, key  # equal steps
            seen = sorted(i for steps in ranks for batch in steps for i in batch)
            if drop_last == "False":
                assert seen == list(range(int(n))), key
            else:
                assert len(seen) == len(set(seen)), key
            orders.append([i for steps in ranks for batch in steps for i in batch])
        assert orders[0] != orders[1], key  # a new order each epoch


@pytest.mark.parametrize("world", [2, 3])
def test_gradients_are_batch_weighted_means_over_the_ranks(results, world):
    got = results[world]["gradients"]
    x = [np.arange(3.0) + r for r in range(world)]
    weights = np.arange(1, world + 1.0)
    used = sum(w * xr for w, xr in zip(weights, x)) / weights.sum()
    branch = 2 * x[0] / weights.sum()  # used on rank 0 only
    np.testing.assert_allclose(got["first"]["used"], used, rtol=1e-15)
    np.testing.assert_allclose(got["first"]["branch"], branch, rtol=1e-15)
    assert got["first"]["unused"] is None  # no rank had a gradient: none, as in one process
    np.testing.assert_array_equal(got["local_after_no_sync"], 3 * x[0])  # not averaged yet
    np.testing.assert_allclose(got["accumulated"], np.mean([6 * xr for xr in x], axis=0))
    np.testing.assert_allclose(got["explicit"], np.mean([10 * xr for xr in x], axis=0))
    assert got["explicit_unused"]


@pytest.mark.parametrize("world", [2, 3])
def test_trainer_metrics_checkpoints_and_resume_over_ranks(results, world):
    got, one = results[world]["trainer"], results[1]["trainer"]
    assert got["same_on_every_rank"]
    for name, values in got["history"].items():
        np.testing.assert_allclose(values, one["history"][name], rtol=1e-9, err_msg=name)
    assert got["resumed_history"] == got["history"] and got["resume_identical"]
    assert got["written"] == ["half", "rank0", "resumed0"]  # rank 0's folders only


def test_a_raising_rank_ends_the_job_within_seconds(tmp_path):
    start = time.perf_counter()
    mpirun(3, [sys.executable, "-c", "import chainrule.distributed"], timeout=60)
    launch = time.perf_counter() - start  # what starting the job costs, for comparison
    start = time.perf_counter()
    result = mpirun(3, [sys.executable, WORKER, tmp_path, "raise"], timeout=60)
    elapsed = time.perf_counter() - start
    assert result.returncode != 0
    assert "RuntimeError: boom on purpose" in result.stderr  # the traceback
    assert "rank 1 of 3 raised RuntimeError: boom on purpose; aborting all 3" in result.stderr
    assert elapsed < launch + 10, (elapsed, launch)  # the others sleep 30 s unless aborted


def test_a_non_zero_exit_inside_abort_on_error_ends_the_job(tmp_path):
    result = mpirun(3, [sys.executable, WORKER, tmp_path, "exit"], timeout=25)
    assert result.returncode != 0
    assert "rank 2 of 3 exited: status 3; aborting all 3 processes" in result.stderr


def train(n, *args):
    return mpirun(
        n, [sys.executable, "-m", "chainrule.cli", "train", "--distributed", "--hidden", 32,
            "--no-progress", *args],
    )  # fmt: skip


def history(out):
    data = json.loads((out / "history.json").read_text())["history"]
    del data["seconds"]
    return data


def test_cli_train_distributed_prints_once_writes_once_and_resumes(tmp_path):
    whole, half = tmp_path / "whole", tmp_path / "half"
    result = train(2, "--epochs", 3, "--out", whole)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "distributed: 2 processes, batch 64 per process (global batch 128)"
    assert [line[:9] for line in lines if line.startswith("epoch")] == [
        "epoch   1", "epoch   2", "epoch   3",
    ]  # fmt: skip
    assert float(lines[-1].removeprefix("test accuracy: ")) > 0.5  # 3 epochs; chance is 0.1
    one = train(1, "--epochs", 3, "--batch-size", 128)  # one process, the same global batch
    assert one.stdout.splitlines()[-1] == lines[-1]
    assert {"checkpoint.npz", "model.npz", "history.json", "history.csv"} <= {
        p.name for p in whole.iterdir()
    }

    assert train(2, "--epochs", 2, "--out", half).returncode == 0
    resumed = train(2, "--epochs", 3, "--resume", half, "--out", half)
    assert resumed.returncode == 0, resumed.stderr
    assert history(half) == history(whole)  # exactly the uninterrupted run
    assert resumed.stdout.splitlines()[-1] == lines[-1]

    evaluated = mpirun(1, [sys.executable, "-m", "chainrule.cli", "evaluate",
                           whole / "model.npz"])  # fmt: skip
    assert evaluated.stdout.splitlines()[-1] == lines[-1]  # a plain model loads it


def test_benchmark_quick_run_prints_its_table():
    script = Path(__file__).resolve().parents[2] / "benchmarks" / "distributed.py"
    result = subprocess.run(
        [sys.executable, str(script), "--quick"], capture_output=True, text=True, timeout=300,
        stdin=subprocess.DEVNULL, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    for row in ("2 processes: DDP step", "1 process: local step", "25 MB buckets (1)"):
        assert row in result.stdout
    assert "weak scaling efficiency" in result.stdout
