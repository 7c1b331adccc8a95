"""Trainer: fitting the digits, evaluation, keep-best, early stopping and exact resume."""

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import creation, nn, optim
from chainrule.data import DataLoader, TensorDataset, digits_split
from chainrule.io import CheckpointError
from chainrule.nn import functional as F
from chainrule.training import History, Trainer, accuracy, load_checkpoint


@pytest.fixture(scope="module")
def digits():
    x_train, y_train, x_test, y_test = digits_split()
    # 300 training images at random validate; the test split stays untouched.
    order = np.random.default_rng(0).permutation(len(x_train))
    train, val = order[300:], order[:300]
    return (x_train[train], y_train[train]), (x_train[val], y_train[val]), (x_test, y_test)


def loaders(digits, batch_size=64):
    """A shuffling training loader on chainrule's global generator, and a validation loader."""
    (x, y), (x_val, y_val), _ = digits
    train = DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=True)
    val = DataLoader(TensorDataset(x_val, y_val), batch_size=128)
    return train, val


def make_trainer(seed, *, lr=1e-2, dropout=0.0, schedule=False, **options):
    """A two-layer net on the digits with Adam; `seed` fixes its initialisation."""
    cr.seed(seed)
    layers = [nn.Linear(64, 32), nn.ReLU()]
    if dropout:
        layers.append(nn.Dropout(dropout))
    model = nn.Sequential(*layers, nn.Linear(32, 10))
    optimizer = optim.Adam(model.parameters(), lr=lr)
    scheduler = optim.StepLR(optimizer, step_size=2, gamma=0.5) if schedule else None
    options.setdefault("progress", False)
    return Trainer(model, F.cross_entropy, optimizer, scheduler, **options)


def assert_same(a, b, where="state"):
    """Nested dicts, lists and arrays equal exactly (dtypes included, NaN equal to NaN)."""
    if isinstance(a, dict):
        assert isinstance(b, dict), where
        assert list(a) == list(b), where
        for key in a:
            assert_same(a[key], b[key], f"{where}[{key!r}]")
    elif isinstance(a, (list, tuple)):
        assert isinstance(b, (list, tuple)) and len(a) == len(b), where
        for i, (u, v) in enumerate(zip(a, b)):
            assert_same(u, v, f"{where}[{i}]")
    elif isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.dtype == b.dtype, where
        np.testing.assert_array_equal(a, b, err_msg=where, strict=True)
    elif isinstance(a, float) and math.isnan(a):
        assert isinstance(b, float) and math.isnan(b), where
    else:
        assert type(a) is type(b) and a == b, f"{where}: {a!r} != {b!r}"


def without_seconds(history: dict) -> dict:
    return {key: values for key, values in history.items() if key != "seconds"}


# ----- fit and evaluate -----


def test_fit_learns_the_digits(digits):
    train, val = loaders(digits)
    trainer = make_trainer(0)
    history = trainer.fit(train, epochs=5, val_loader=val)
    assert history is trainer.history and len(history) == 5
    assert all(len(values) == 5 for values in history.as_dict().values())
    assert history.train_loss[-1] < 0.3 * history.train_loss[0]
    assert history.val_loss[-1] < history.val_loss[0]
    assert history.train_accuracy[-1] > 0.9 and history.val_accuracy[-1] > 0.9
    assert history.lr == [0.01] * 5
    assert all(s > 0 for s in history.seconds)
    # The best epoch is the first one with the highest validation accuracy.
    assert trainer.best_epoch == int(np.argmax(history.val_accuracy))
    assert trainer.best_accuracy == max(history.val_accuracy)
    test_loss, test_accuracy = trainer.evaluate(DataLoader(TensorDataset(*digits[2]), 100))
    assert test_accuracy > 0.9 and test_loss < 0.5


def test_history_round_trips_through_a_dict():
    history = History([1.0, 0.5], [0.5, 0.75], [math.nan, 0.25], [0.0, 1.0], [0.1, 0.1], [1.5, 2.0])
    back = History.from_dict(history.as_dict())
    assert_same(back.as_dict(), history.as_dict())
    assert len(back) == 2 and len(History()) == 0


def test_fit_without_validation_watches_the_training_accuracy(digits):
    train, _ = loaders(digits)
    trainer = make_trainer(1)
    history = trainer.fit(train, epochs=2)
    assert all(math.isnan(v) for v in history.val_loss + history.val_accuracy)
    assert trainer.best_accuracy == max(history.train_accuracy)
    assert trainer.best_epoch == int(np.argmax(history.train_accuracy))


def test_a_schedule_is_stepped_once_per_epoch(digits):
    train, _ = loaders(digits, batch_size=256)
    trainer = make_trainer(2, lr=0.04, schedule=True)
    history = trainer.fit(train, epochs=5)
    assert history.lr == [0.04, 0.04, 0.02, 0.02, 0.01]  # the lr each epoch trained with
    assert trainer.optimizer.param_groups[0]["lr"] == 0.01


def test_evaluate_runs_in_eval_mode_without_recording_gates(digits):
    _, val = loaders(digits)
    trainer = make_trainer(3, dropout=0.5)
    seen = []

    def loss_fn(logits, targets):
        seen.append((logits, cr.is_grad_enabled()))
        return F.cross_entropy(logits, targets)

    trainer.loss_fn = loss_fn
    trainer.model.train()
    state = creation.generator().bit_generator.state
    loss, acc = trainer.evaluate(val)
    assert len(seen) == len(val)
    assert all(not enabled for _, enabled in seen)
    assert all(logits.is_leaf and not logits.requires_grad for logits, _ in seen)
    assert all(not m.training for m in trainer.model.modules())
    assert all(p.grad is None for p in trainer.model.parameters())
    # Dropout is off: no random numbers drawn, and the same numbers again.
    assert creation.generator().bit_generator.state == state
    assert trainer.evaluate(val) == (loss, acc)
    # The means are over examples, not batches (the last batch is smaller).
    x_val, y_val = digits[1]
    with cr.no_grad():
        logits = trainer.model(cr.tensor(x_val))
        expected = F.cross_entropy(logits, y_val).item()
    assert acc == accuracy(logits, y_val)
    assert loss == pytest.approx(expected, rel=1e-5)


def test_training_switches_back_to_train_mode(digits):
    train, val = loaders(digits)
    trainer = make_trainer(4, dropout=0.5)
    modes = []
    forward = trainer.model.forward

    def spy(x):
        modes.append(trainer.model.training)
        return forward(x)

    trainer.model.forward = spy
    trainer.fit(train, epochs=2, val_loader=val)
    assert modes == ([True] * len(train) + [False] * len(val)) * 2


def test_accuracy_of_logits():
    logits = np.array([[0.1, 2.0, -1.0], [3.0, 0.0, 0.0], [0.0, 0.0, 5.0], [1.0, 2.0, 0.0]])
    assert accuracy(logits, np.array([1, 0, 1, 0])) == 0.5
    assert accuracy(cr.tensor(logits), cr.tensor(np.array([1, 0, 2, 1]))) == 1.0


def test_an_empty_loader_is_an_error():
    empty = DataLoader(TensorDataset(np.zeros((0, 64), np.float32), np.zeros(0, np.int64)))
    trainer = make_trainer(5)
    with pytest.raises(ValueError, match="yielded no batch"):
        trainer.fit(empty, epochs=1)
    with pytest.raises(ValueError, match="yielded no batch"):
        trainer.evaluate(empty)


def test_the_progress_bar_shows_loss_and_accuracy_on_a_terminal():
    """A real pseudo-terminal as stderr, as a user's shell has."""
    import fcntl
    import os
    import pty
    import struct
    import subprocess
    import sys
    import termios

    master, slave = pty.openpty()
    # A fresh pty is 0 columns wide, and tqdm fits its bar to the width.
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 200, 0, 0))
    code = "from chainrule.cli import main; main(['train', '--epochs', '2'])"
    subprocess.run([sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=slave,
                   timeout=120, check=True)  # fmt: skip
    os.close(slave)
    shown = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the terminal has no writer left
            break
        if not chunk:
            break
        shown += chunk
    os.close(master)
    text = shown.decode(errors="replace")
    assert "epoch 1" in text and "loss=" in text and "acc=" in text


def test_no_progress_bar_when_stderr_is_not_a_terminal(digits, capsys):
    train, _ = loaders(digits, batch_size=256)
    make_trainer(6, progress=True).fit(train, epochs=1)
    assert capsys.readouterr().err == ""


# ----- keep-best and early stopping -----


class SnapshotLoader:
    """A validation loader that notes the parameters each time the Trainer validates.

    It holds the true labels only at epoch `good`, labels shifted by one elsewhere, so
    that the best validation epoch is `good` whatever the training does.
    """

    def __init__(self, model, x, y, good):
        self.model, self.x, self.y, self.good = model, x, y, good
        self.snapshots = []

    def __len__(self):
        return 1

    def __iter__(self):
        epoch = len(self.snapshots)
        self.snapshots.append(self.model.state_dict())
        y = self.y if epoch == self.good else (self.y + 1) % 10
        return iter([(cr.tensor(self.x), cr.tensor(y))])


@pytest.mark.parametrize("restore_best", [True, False])
def test_restore_best_loads_the_best_validation_epoch(digits, restore_best):
    train, _ = loaders(digits)
    trainer = make_trainer(7, restore_best=restore_best)
    val = SnapshotLoader(trainer.model, *digits[1], good=2)
    history = trainer.fit(train, epochs=5, val_loader=val)
    assert trainer.best_epoch == 2 and int(np.argmax(history.val_accuracy)) == 2
    assert history.val_accuracy[2] > 0.8 > max(history.val_accuracy[3:])
    assert len(val.snapshots) == 5
    final = trainer.model.state_dict()
    assert_same(trainer.best_state, val.snapshots[2])
    expected, other = (2, 4) if restore_best else (4, 2)
    assert_same(final, val.snapshots[expected])
    assert not np.array_equal(final["0.weight"], val.snapshots[other]["0.weight"])


def test_early_stopping_when_nothing_improves(digits, capsys):
    train, val = loaders(digits, batch_size=256)
    trainer = make_trainer(8, lr=0.0, patience=2)
    before = trainer.model.state_dict()
    history = trainer.fit(train, epochs=20, val_loader=val)
    # Epoch 1 is the best; epochs 2 and 3 do not improve on it: stop after epoch 3.
    assert len(history) == 3 and trainer.best_epoch == 0
    assert len(set(history.val_accuracy)) == 1
    assert "early stopping after epoch 3" in capsys.readouterr().err
    assert_same(trainer.model.state_dict(), before)


def test_without_patience_all_epochs_run(digits):
    train, val = loaders(digits, batch_size=256)
    history = make_trainer(9, lr=0.0).fit(train, epochs=4, val_loader=val)
    assert len(history) == 4


def test_patience_counts_across_a_resume(digits, tmp_path, capsys):
    train, val = loaders(digits, batch_size=256)
    make_trainer(10, lr=0.0, patience=3, out_dir=tmp_path).fit(train, 2, val)
    checkpoint = tmp_path / "checkpoint.npz"
    # One epoch without improvement so far: two more and the resumed run stops (at 4 epochs
    # in all, as an uninterrupted run would), not after three more.
    resumed = make_trainer(11, lr=0.0, patience=3, out_dir=tmp_path)
    assert len(resumed.fit(train, 20, val, resume=checkpoint)) == 4
    assert "early stopping after epoch 4" in capsys.readouterr().err
    # A run that stopped early stays stopped when resumed.
    again = make_trainer(12, lr=0.0, patience=3)
    assert len(again.fit(train, 20, val, resume=checkpoint)) == 4


# ----- checkpoints and resume -----


def test_resume_gives_exactly_the_uninterrupted_run(digits, tmp_path):
    """N epochs in one go, or k epochs, a new process's worth of objects, then the rest."""
    n, k = 5, 2
    train, val = loaders(digits)
    options = {"dropout": 0.2, "schedule": True, "restore_best": False}

    whole = make_trainer(0, out_dir=tmp_path / "whole", **options)
    whole.fit(train, n, val)
    end_state = creation.generator().bit_generator.state

    make_trainer(0, out_dir=tmp_path / "part", **options).fit(train, k, val)
    part = load_checkpoint(tmp_path / "part" / "checkpoint.npz")
    assert len(part["history"]["train_loss"]) == k

    # Fresh model, optimizer and schedule, built from another seed: a different start.
    resumed = make_trainer(123, out_dir=tmp_path / "resumed", **options)
    assert not np.array_equal(resumed.model[0].weight.data, whole.model[0].weight.data)
    creation.generator().random(1000)  # and the global generator somewhere else
    history = resumed.fit(train, n, val, resume=tmp_path / "part" / "checkpoint.npz")

    assert len(history) == n
    assert_same(resumed.model.state_dict(), whole.model.state_dict(), "model")
    assert_same(resumed.optimizer.state_dict(), whole.optimizer.state_dict(), "optimizer")
    assert_same(resumed.scheduler.state_dict(), whole.scheduler.state_dict(), "scheduler")
    assert_same(without_seconds(history.as_dict()), without_seconds(whole.history.as_dict()))
    assert (resumed.best_epoch, resumed.best_accuracy) == (whole.best_epoch, whole.best_accuracy)
    assert_same(resumed.best_state, whole.best_state, "best")
    assert creation.generator().bit_generator.state == end_state
    assert resumed.optimizer.param_groups[0]["lr"] == 0.01 * 0.5 ** (n // 2)

    # The two final checkpoints hold the same things.
    a = load_checkpoint(tmp_path / "whole" / "checkpoint.npz")
    b = load_checkpoint(tmp_path / "resumed" / "checkpoint.npz")
    for state in (a, b):
        del state["history"]["seconds"]
    assert_same(a, b, "checkpoint")


def test_resume_continues_the_same_trainer(digits, tmp_path):
    train, val = loaders(digits)
    whole = make_trainer(0, restore_best=False)
    whole.fit(train, 4, val)
    trainer = make_trainer(0, restore_best=False, out_dir=tmp_path)
    trainer.fit(train, 3, val)
    trainer.fit(train, 4, val, resume=tmp_path / "checkpoint.npz")
    assert_same(trainer.model.state_dict(), whole.model.state_dict())
    history = without_seconds(trainer.history.as_dict())
    assert_same(history, without_seconds(whole.history.as_dict()))


def test_the_checkpoint_holds_the_last_epoch_even_with_restore_best(digits, tmp_path):
    train, _ = loaders(digits)
    trainer = make_trainer(13, out_dir=tmp_path)
    val = SnapshotLoader(trainer.model, *digits[1], good=0)
    trainer.fit(train, 3, val)
    assert trainer.best_epoch == 0
    saved = load_checkpoint(tmp_path / "checkpoint.npz")
    assert_same(saved["model"], val.snapshots[2])  # resumable: the last epoch's parameters
    assert_same(saved["best"]["model"], val.snapshots[0])
    assert saved["best"]["epoch"] == 0
    assert_same(trainer.model.state_dict(), val.snapshots[0])  # restored after the save


def test_a_finished_run_resumed_trains_no_more_and_still_saves(digits, tmp_path):
    train, val = loaders(digits, batch_size=256)
    make_trainer(14, out_dir=tmp_path / "a").fit(train, 2, val)
    first = load_checkpoint(tmp_path / "a" / "checkpoint.npz")
    trainer = make_trainer(15, out_dir=tmp_path / "b", restore_best=False)
    history = trainer.fit(train, 2, val, resume=tmp_path / "a" / "checkpoint.npz")
    assert len(history) == 2
    assert_same(trainer.model.state_dict(), first["model"])
    assert_same(load_checkpoint(tmp_path / "b" / "checkpoint.npz"), first)


def test_loading_a_file_that_is_not_a_checkpoint(tmp_path):
    cr.save({"a": 1}, tmp_path / "other.npz")
    with pytest.raises(CheckpointError, match="not a chainrule training checkpoint"):
        make_trainer(16).load(tmp_path / "other.npz")


def test_loading_a_checkpoint_of_another_model_names_the_mismatch(digits, tmp_path):
    train, _ = loaders(digits, batch_size=256)
    make_trainer(17, out_dir=tmp_path).fit(train, 1)
    cr.seed(0)
    model = nn.Sequential(nn.Linear(64, 16), nn.ReLU(), nn.Linear(16, 10))
    other = Trainer(model, F.cross_entropy, optim.Adam(model.parameters()), progress=False)
    with pytest.raises(RuntimeError, match="size mismatch for '0.weight'"):
        other.fit(train, 2, resume=tmp_path / "checkpoint.npz")
