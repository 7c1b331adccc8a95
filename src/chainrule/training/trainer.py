"""Trainer: epochs over a DataLoader, validation, history, keep-best, early stopping, resume.

The CS231n Solver's job, with PyTorch's pieces: a `Module`, a loss function, an
optimizer and (optionally) a learning-rate schedule. Checkpoints are written atomically
after every epoch when `out_dir` is given, and `resume` continues a run exactly where
it stopped: model, optimizer, schedule, history and the random generator's state.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from chainrule import creation
from chainrule.mode import no_grad
from chainrule.training.checkpoint import load_checkpoint, save_checkpoint


@dataclass
class History:
    """Per-epoch metrics: lists indexed by epoch (validation entries NaN without a loader).

    >>> from chainrule.training import History
    >>> history = History()
    >>> history.train_loss.append(0.5)
    >>> history.as_dict()["train_loss"], len(history)
    ([0.5], 1)
    """

    train_loss: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    def as_dict(self) -> dict[str, list[float]]:
        return {name: list(values) for name, values in self.__dict__.items()}

    @classmethod
    def from_dict(cls, data: dict) -> History:
        return cls(**{name: [float(v) for v in data[name]] for name in cls().__dict__})

    def __len__(self) -> int:
        return len(self.train_loss)


def accuracy(logits, targets) -> float:
    """Fraction of rows whose largest logit is the target class.

    >>> from chainrule.training import accuracy
    >>> accuracy([[2.0, 1.0], [0.0, 3.0], [5.0, 4.0]], [0, 1, 1])
    0.6666666666666666
    """
    scores = logits.data if hasattr(logits, "data") else np.asarray(logits)
    labels = targets.data if hasattr(targets, "data") else np.asarray(targets)
    return float(np.mean(np.argmax(scores, axis=-1) == labels))


class Trainer:
    """Train `model` with `loss_fn(model(x), y)` and `optimizer`, epoch by epoch.

    Parameters
    ----------
    model, loss_fn, optimizer
        A `chainrule.nn.Module`, a loss such as `F.cross_entropy`, and a
        `chainrule.optim` optimizer over the model's parameters.
    scheduler
        An optional learning-rate schedule, stepped once per epoch.
    out_dir
        Where `checkpoint.npz` (after every epoch, written atomically) and
        `best.npz` go; nothing is written when None.
    patience
        Stop when the validation accuracy has not improved for this many epochs.
    restore_best
        Load the parameters of the best validation epoch back at the end.
    progress
        Show a tqdm progress bar per epoch (on standard error, when it is a terminal).
    on_epoch_end
        Called as ``on_epoch_end(epoch, history)`` after each epoch (to log it).
    comm
        A `chainrule.distributed` communicator for data-parallel training: losses and
        accuracies are summed over its ranks (every rank then sees the same metrics and
        stops at the same epoch), only rank 0 writes checkpoints, and `load` reads the
        checkpoint on rank 0 and sends it to the others. A training loader's
        `DistributedSampler` is told each epoch (``set_epoch``), so a resumed run
        shuffles as the uninterrupted one.

    Example
    -------
    >>> import chainrule as cr
    >>> from chainrule.nn import functional as F
    >>> x, y = cr.data.load_digits()
    >>> cr.seed(0)
    >>> model = cr.nn.Sequential(cr.nn.Linear(64, 32), cr.nn.ReLU(), cr.nn.Linear(32, 10))
    >>> loader = cr.data.DataLoader(cr.data.TensorDataset(x, y), batch_size=64, shuffle=True)
    >>> trainer = Trainer(model, F.cross_entropy, cr.optim.Adam(model.parameters()),
    ...                   progress=False)
    >>> history = trainer.fit(loader, epochs=2)
    >>> len(history)
    2
    """

    def __init__(
        self,
        model,
        loss_fn,
        optimizer,
        scheduler=None,
        out_dir: str | Path | None = None,
        patience: int | None = None,
        restore_best: bool = True,
        progress: bool = True,
        on_epoch_end=None,
        comm=None,
    ) -> None:
        self.model = model
        self.loss_fn = loss_fn
        self.optimizer = optimizer
        self.scheduler = scheduler
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.patience = patience
        self.restore_best = restore_best
        self.progress = progress
        self.on_epoch_end = on_epoch_end
        self.comm = comm
        self.history = History()
        self.best_accuracy = -math.inf
        self.best_epoch = -1
        self.best_state: dict | None = None

    # ----- one pass -----

    def train_epoch(self, loader, epoch: int) -> tuple[float, float]:
        """One pass over `loader` with parameter updates; returns (mean loss, accuracy)."""
        self.model.train()
        total_loss = total_correct = total = 0.0
        bar = self._progress(len(loader), f"epoch {epoch + 1}")
        for x, y in loader:
            self.optimizer.zero_grad()
            logits = self.model(x)
            loss = self.loss_fn(logits, y)
            loss.backward()
            self.optimizer.step()
            n = len(y)
            total_loss += loss.item() * n
            total_correct += accuracy(logits, y) * n
            total += n
            if bar is not None:  # redrawn at tqdm's pace, not once per batch
                bar.set_postfix(self._metrics(total_loss, total_correct, total), refresh=False)
                bar.update()
        total_loss, total_correct, total = self._over_ranks(total_loss, total_correct, total)
        if bar is not None:
            if total:  # the epoch's final numbers, whatever tqdm's pace
                bar.set_postfix(self._metrics(total_loss, total_correct, total))
            bar.close()
        if total == 0:
            raise ValueError("Trainer: the training loader yielded no batch")
        return total_loss / total, total_correct / total

    def _over_ranks(self, *totals: float) -> tuple[float, ...]:
        """The totals summed over the ranks (as they are without a communicator)."""
        if self.comm is None:
            return totals
        return tuple(float(t) for t in self.comm.sum(totals))

    @staticmethod
    def _metrics(total_loss: float, total_correct: float, total: float) -> dict[str, str]:
        return {"loss": f"{total_loss / total:.4f}", "acc": f"{total_correct / total:.4f}"}

    def evaluate(self, loader) -> tuple[float, float]:
        """Mean loss and accuracy over `loader`, in eval mode and without recording gates."""
        self.model.eval()
        total_loss = total_correct = total = 0.0
        with no_grad():
            for x, y in loader:
                logits = self.model(x)
                n = len(y)
                total_loss += self.loss_fn(logits, y).item() * n
                total_correct += accuracy(logits, y) * n
                total += n
        total_loss, total_correct, total = self._over_ranks(total_loss, total_correct, total)
        if total == 0:
            raise ValueError("Trainer.evaluate: the loader yielded no batch")
        return total_loss / total, total_correct / total

    # ----- the loop -----

    def fit(self, train_loader, epochs: int, val_loader=None, resume: str | Path | None = None):
        """Train for `epochs` epochs in all (a resumed run counts the epochs already done)."""
        if resume is not None:
            self.load(resume)
        done = len(self.history)
        # Epochs since the best one: a resumed run goes on counting towards `patience`.
        stale = done - 1 - self.best_epoch if self.best_epoch >= 0 else 0
        for epoch in range(done, epochs):
            if self.patience is not None and stale >= self.patience:
                break  # a resumed run that had already stopped early
            start = time.perf_counter()
            lr = float(self.optimizer.param_groups[0]["lr"])
            set_epoch = getattr(getattr(train_loader, "batch_sampler", None), "set_epoch", None)
            if set_epoch is not None:
                set_epoch(epoch)
            train_loss, train_acc = self.train_epoch(train_loader, epoch)
            val_loss, val_acc = (
                self.evaluate(val_loader) if val_loader is not None else (math.nan, math.nan)
            )
            if self.scheduler is not None:
                self.scheduler.step()
            self._record(train_loss, train_acc, val_loss, val_acc, lr, start)
            if self.on_epoch_end is not None:
                self.on_epoch_end(epoch, self.history)
            watched = val_acc if val_loader is not None else train_acc
            if watched > self.best_accuracy:
                self.best_accuracy, self.best_epoch = watched, epoch
                self.best_state = self.model.state_dict()
                stale = 0
            else:
                stale += 1
            if self.out_dir is not None:
                self.save(self.out_dir / "checkpoint.npz")
            if self.patience is not None and stale >= self.patience:
                if self.comm is None or self.comm.is_main:
                    print(f"early stopping after epoch {epoch + 1}", file=sys.stderr)
                break
        if self.out_dir is not None and len(self.history) == done:
            self.save(self.out_dir / "checkpoint.npz")  # nothing left to train: still resumable
        if self.restore_best and self.best_state is not None:
            self.model.load_state_dict(self.best_state)
        return self.history

    def _record(self, train_loss, train_acc, val_loss, val_acc, lr, start) -> None:
        h = self.history
        h.train_loss.append(train_loss)
        h.train_accuracy.append(train_acc)
        h.val_loss.append(val_loss)
        h.val_accuracy.append(val_acc)
        h.lr.append(lr)
        h.seconds.append(time.perf_counter() - start)

    def _progress(self, batches: int, description: str):
        """A tqdm bar on standard error, or None (no bar asked for, or not a terminal)."""
        if not self.progress or not sys.stderr.isatty():
            return None
        from tqdm import tqdm

        return tqdm(total=batches, desc=description, leave=False, file=sys.stderr)

    # ----- checkpoints -----

    def save(self, path: str | Path) -> None:
        """Write everything needed to resume (atomically: a crash never corrupts `path`).

        With a communicator, only rank 0 writes (the ranks hold the same state).
        """
        if self.comm is not None and not self.comm.is_main:
            return
        save_checkpoint(
            path,
            model=self.model.state_dict(),
            optimizer=self.optimizer.state_dict(),
            scheduler=self.scheduler.state_dict() if self.scheduler is not None else None,
            history=self.history.as_dict(),
            best={"epoch": self.best_epoch, "accuracy": self.best_accuracy,
                  "model": self.best_state},
            rng=creation.generator().bit_generator.state,
        )  # fmt: skip

    def load(self, path: str | Path) -> None:
        """Restore a checkpoint written by `save` into this trainer's objects."""
        if self.comm is None:
            state = load_checkpoint(path)
        else:  # one reader, and no file system shared between the machines needed
            state = self.comm.broadcast_object(load_checkpoint(path) if self.comm.is_main else None)
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler is not None and state.get("scheduler") is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        self.history = History.from_dict(state["history"])
        best = state["best"]
        self.best_epoch, self.best_accuracy = int(best["epoch"]), float(best["accuracy"])
        self.best_state = best["model"]
        creation.generator().bit_generator.state = state["rng"]
