"""Training checkpoints: round trip, clear errors for other files, and atomic saving."""

import math
import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections import OrderedDict

import numpy as np
import pytest

import chainrule as cr
from chainrule.io import CheckpointError
from chainrule.training import load_checkpoint, save_checkpoint
from chainrule.training.checkpoint import FORMAT, VERSION


def parts():
    rng = np.random.default_rng(5)
    return {
        "model": OrderedDict(
            [("0.weight", rng.standard_normal((4, 3)).astype(np.float32)),
             ("0.bias", np.zeros(4, np.float32)),
             ("1.num_batches_tracked", np.array(7, np.int64))]
        ),
        "optimizer": {
            "state": {0: {"step": 3, "exp_avg": np.ones((4, 3))}},
            "param_groups": [{"lr": 0.001, "betas": (0.9, 0.999), "params": [0, 1]}],
        },
        "scheduler": None,
        "history": {"train_loss": [0.5, 0.25], "val_loss": [math.nan, math.nan]},
        "best": {"epoch": -1, "accuracy": -math.inf, "model": None},
        "rng": np.random.default_rng(1).bit_generator.state,  # 128-bit integers inside
    }  # fmt: skip


def test_round_trip(tmp_path):
    path = tmp_path / "deeper" / "run" / "checkpoint.npz"  # missing folders are made
    save_checkpoint(path, **parts())
    back = load_checkpoint(path)
    expected = parts()
    assert list(back) == list(expected)  # no format tag or version in what comes back
    assert list(back["model"]) == list(expected["model"])
    for key, value in expected["model"].items():
        assert back["model"][key].dtype == value.dtype
        np.testing.assert_array_equal(back["model"][key], value)
    state = back["optimizer"]["state"][0]
    assert state["step"] == 3 and type(state["step"]) is int
    np.testing.assert_array_equal(state["exp_avg"], np.ones((4, 3)))
    assert back["optimizer"]["param_groups"] == expected["optimizer"]["param_groups"]
    assert back["scheduler"] is None
    assert back["history"]["train_loss"] == [0.5, 0.25]
    assert all(math.isnan(v) for v in back["history"]["val_loss"])
    assert back["best"] == {"epoch": -1, "accuracy": -math.inf, "model": None}
    assert back["rng"] == expected["rng"]
    generator = np.random.default_rng()
    generator.bit_generator.state = back["rng"]
    assert generator.random() == np.random.default_rng(1).random()


def test_saving_again_replaces_the_file(tmp_path):
    path = tmp_path / "checkpoint.npz"
    save_checkpoint(path, step=1)
    save_checkpoint(path, step=2)
    assert load_checkpoint(path) == {"step": 2}
    assert os.listdir(tmp_path) == ["checkpoint.npz"]  # no temporary file left behind


def test_a_state_dict_saved_with_cr_save_is_not_a_checkpoint(tmp_path):
    path = tmp_path / "other.npz"
    cr.save({"a": 1}, path)
    with pytest.raises(CheckpointError, match="not a chainrule training checkpoint") as info:
        load_checkpoint(path)
    assert str(path) in str(info.value)


def test_another_checkpoint_version_is_refused(tmp_path):
    path = tmp_path / "future.npz"
    cr.save({"format": FORMAT, "version": VERSION + 1, "model": {}}, path)
    with pytest.raises(CheckpointError, match=f"version {VERSION + 1}"):
        load_checkpoint(path)


def test_a_plain_npz_file_is_refused(tmp_path):
    path = tmp_path / "plain.npz"
    np.savez(path, a=np.arange(3))
    with pytest.raises(CheckpointError, match="plain.npz"):
        load_checkpoint(path)


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda b: b[: len(b) // 2], id="truncated"),
        pytest.param(lambda b: b[:-30], id="end-cut-off"),
        pytest.param(lambda b: b[:100] + bytes(200) + b[300:], id="zeroed-middle"),
        pytest.param(lambda b: b"", id="empty"),
        pytest.param(lambda b: b"model weights\n" * 10, id="text"),
    ],
)
def test_a_damaged_file_is_a_clear_error(tmp_path, damage):
    path = tmp_path / "checkpoint.npz"
    save_checkpoint(path, model={"w": np.arange(200, dtype=np.float64)}, epoch=3)
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(CheckpointError, match="checkpoint|corrupt|truncated") as info:
        load_checkpoint(path)
    assert str(path) in str(info.value)


def test_a_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "nothing.npz")


# ----- a kill while saving -----

SAVER = textwrap.dedent(
    """
    import sys
    import numpy as np
    import chainrule as cr
    from chainrule import nn, optim
    from chainrule.nn import functional as F
    from chainrule.training import Trainer

    cr.seed(0)
    model = nn.Sequential(nn.Linear(256, 1024), nn.ReLU(), nn.Linear(1024, 10))
    optimizer = optim.Adam(model.parameters())
    trainer = Trainer(model, F.cross_entropy, optimizer, progress=False)
    x, y = cr.randn(4, 256), np.arange(4)
    step = 0
    while True:
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        trainer.history.train_loss.append(loss.item())
        trainer.save(sys.argv[1])
        print(step, flush=True)
        step += 1
    """
)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")
def test_a_kill_while_saving_leaves_the_previous_checkpoint(tmp_path):
    """SIGKILL a process that trains and saves in a loop: the checkpoint always loads.

    About half the kills land inside a save (its temporary file is left behind); the test
    goes on until two have, or ten kills.
    """
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    script = tmp_path / "saver.py"
    script.write_text(SAVER)
    folder = tmp_path / "run"
    inside_a_save = 0
    for attempt in range(10):
        folder.mkdir()
        path = folder / "checkpoint.npz"
        delay = rng.choice([0.0, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1])
        process = subprocess.Popen(
            [sys.executable, str(script), str(path)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            first = process.stdout.readline()  # one checkpoint is on disk from here on
            assert first, process.stderr.read()
            time.sleep(delay)
            process.send_signal(signal.SIGKILL)
            out, _ = process.communicate(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        assert process.returncode == -signal.SIGKILL
        printed = [int(line) for line in (first + out).split()]
        where = f"random seed {seed}, attempt {attempt}, delay {delay}, step {printed[-1]}"
        state = load_checkpoint(path)  # never a half-written file
        steps = len(state["history"]["train_loss"])
        # The last save whose step was printed, or the one after it (killed before print).
        assert printed[-1] + 1 <= steps <= printed[-1] + 2, where
        # One consistent snapshot: the optimizer's step count matches the history.
        assert all(s["step"] == steps for s in state["optimizer"]["state"].values()), where
        assert state["model"]["0.weight"].shape == (1024, 256), where
        inside_a_save += any(name.endswith(".tmp") for name in os.listdir(folder))
        shutil.rmtree(folder)
        if inside_a_save >= 2 and attempt >= 2:
            break
