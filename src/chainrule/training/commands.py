"""`chainrule train`, `evaluate` and `predict`: the command line's training jobs."""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import sys
import time
from pathlib import Path

import numpy as np

from chainrule import creation, data, optim
from chainrule.mode import no_grad
from chainrule.nn import functional as F
from chainrule.tensor import Tensor
from chainrule.training.checkpoint import load_checkpoint, save_checkpoint
from chainrule.training.models import IMAGE_SHAPES, MODELS, build_model
from chainrule.training.plot import plot_history
from chainrule.training.trainer import Trainer

DATASETS = ("digits", "mnist", "cifar10")
OPTIMIZERS = {
    "sgd": lambda params, lr: optim.SGD(params, lr=lr, momentum=0.9),
    "adam": lambda params, lr: optim.Adam(params, lr=lr),
    "adamw": lambda params, lr: optim.AdamW(params, lr=lr),
    "rmsprop": lambda params, lr: optim.RMSprop(params, lr=lr),
    "adagrad": lambda params, lr: optim.Adagrad(params, lr=lr),
}
VALIDATION_FRACTION = 0.1


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model",
        choices=MODELS,
        default="mlp",
        help="mlp: the lecture's 2-layer net (default); deep-mlp: 3 hidden layers; "
        "cnn: two conv-relu-pool blocks and a linear layer",
    )
    parser.add_argument("--hidden", type=int, default=256, help="hidden units (default 256)")
    parser.add_argument("--epochs", type=int, default=40, help="epochs (default 40)")
    parser.add_argument("--batch-size", type=int, default=64, help="batch size (default 64)")
    parser.add_argument("--lr", type=float, default=3e-3, help="learning rate (default 3e-3)")
    parser.add_argument("--optimizer", choices=sorted(OPTIMIZERS), default="adam")
    parser.add_argument(
        "--schedule",
        choices=("none", "cosine", "step"),
        default="none",
        help="learning-rate schedule over the epochs (default none)",
    )
    parser.add_argument(
        "--patience",
        type=int,
        default=None,
        help="stop after this many epochs without validation improvement",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument(
        "--dataset",
        choices=DATASETS,
        default="digits",
        help="digits ships with chainrule; mnist and cifar10 need --data-dir",
    )
    parser.add_argument("--data-dir", type=Path, help="folder with the MNIST or CIFAR-10 files")
    parser.add_argument(
        "--out", type=Path, help="write checkpoint.npz, history.json/.csv and history.png here"
    )
    parser.add_argument("--resume", type=Path, help="continue from this checkpoint (or --out dir)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")  # fmt: skip
    parser.add_argument(
        "--distributed",
        action="store_true",
        help="data-parallel over MPI: run as `mpiexec -n N chainrule train --distributed` "
        "(needs the mpi extra); --batch-size is per process",
    )


def load_dataset(name: str, data_dir: Path | None):
    """(x_train, y_train, x_test, y_test) with images flattened to rows for the MLPs."""
    if name == "digits":
        x_train, y_train, x_test, y_test = data.digits_split()
    else:
        if data_dir is None:
            raise SystemExit(f"chainrule: --dataset {name} needs --data-dir PATH")
        loader = data.load_mnist if name == "mnist" else data.load_cifar10
        x_train, y_train = loader(data_dir, kind="train")
        x_test, y_test = loader(data_dir, kind="test")
    flatten = lambda x: np.asarray(x, dtype=np.float32).reshape(len(x), -1)  # noqa: E731
    return flatten(x_train), np.asarray(y_train), flatten(x_test), np.asarray(y_test)


def _split_validation(x, y):
    order = creation.generator().permutation(len(x))
    n_val = max(1, int(round(VALIDATION_FRACTION * len(x))))
    val, train = order[:n_val], order[n_val:]
    return x[train], y[train], x[val], y[val]


def _print_epoch(epoch: int, history) -> None:
    print(
        f"epoch {epoch + 1:3d}  train loss {history.train_loss[epoch]:.4f} "
        f"acc {history.train_accuracy[epoch]:.4f}  val loss {history.val_loss[epoch]:.4f} "
        f"acc {history.val_accuracy[epoch]:.4f}  lr {history.lr[epoch]:.2e}",
        flush=True,
    )


def _schedule(name: str, optimizer, epochs: int):
    if name == "cosine":
        return optim.CosineAnnealingLR(optimizer, T_max=epochs)
    if name == "step":
        return optim.StepLR(optimizer, step_size=max(1, epochs // 3), gamma=0.1)
    return None


def run_train(args: argparse.Namespace) -> int:
    if not args.distributed:
        return _train(args, None)
    from chainrule import distributed

    comm = distributed.init()
    # Only rank 0 prints and writes; an error on any rank ends every rank (see distributed).
    quiet = contextlib.nullcontext() if comm.is_main else contextlib.redirect_stdout(io.StringIO())
    with distributed.abort_on_error(), quiet:
        print(
            f"distributed: {comm.size} processes, batch {args.batch_size} per process "
            f"(global batch {comm.size * args.batch_size})"
        )
        return _train(args, comm)


def _train(args: argparse.Namespace, comm) -> int:
    started = time.perf_counter()
    creation.seed(args.seed)
    x_train, y_train, x_test, y_test = load_dataset(args.dataset, args.data_dir)
    x_train, y_train, x_val, y_val = _split_validation(x_train, y_train)
    classes = int(max(y_train.max(), y_test.max())) + 1
    config = {"model": args.model, "hidden": args.hidden, "dataset": args.dataset,
              "in_features": int(x_train.shape[1]), "classes": classes,
              "image_shape": list(IMAGE_SHAPES[args.dataset])}  # fmt: skip
    model = build_model(
        args.model, config["in_features"], classes, args.hidden, IMAGE_SHAPES[args.dataset]
    )
    if comm is not None:
        from chainrule.distributed import DistributedDataParallel

        model = DistributedDataParallel(model, comm)
    optimizer = OPTIMIZERS[args.optimizer](model.parameters(), args.lr)
    trainer = Trainer(
        model, F.cross_entropy, optimizer, _schedule(args.schedule, optimizer, args.epochs),
        out_dir=args.out, patience=args.patience, progress=not args.no_progress,
        on_epoch_end=_print_epoch, comm=comm,
    )  # fmt: skip
    train_loader = _loader(x_train, y_train, args.batch_size, comm, shuffle=True, seed=args.seed)
    val_loader = _loader(x_val, y_val, 512, comm)
    test_loader = _loader(x_test, y_test, 512, comm)
    print(
        f"{args.dataset}: {len(x_train)} train, {len(x_val)} validation, {len(x_test)} test; "
        f"model {args.model} ({sum(p.size for p in model.parameters()):,} parameters)"
    )

    resume = args.resume
    if resume is not None and resume.is_dir():
        resume = resume / "checkpoint.npz"
    if resume is not None:
        trainer.load(resume)
        for epoch in range(len(trainer.history)):  # the epochs the checkpoint already holds
            _print_epoch(epoch, trainer.history)
    trainer.fit(train_loader, args.epochs, val_loader)
    test_loss, test_accuracy = trainer.evaluate(test_loader)
    if args.out is not None and (comm is None or comm.is_main):
        _write_outputs(args.out, trainer, config, test_accuracy)
    print(
        f"best epoch {trainer.best_epoch + 1}; test loss {test_loss:.4f}; "
        f"{time.perf_counter() - started:.1f} s"
    )
    print(f"test accuracy: {test_accuracy:.4f}")
    return 0


def _loader(x, y, batch_size: int, comm, shuffle: bool = False, seed: int = 0):
    """A loader of (x, y); under a communicator, of this rank's part of every batch."""
    dataset = data.TensorDataset(x, y)
    if comm is None:
        return data.DataLoader(dataset, batch_size=batch_size, shuffle=shuffle)
    from chainrule.distributed import DistributedSampler

    sampler = DistributedSampler(
        dataset, batch_size, shuffle=shuffle, seed=seed, num_replicas=comm.size, rank=comm.rank
    )
    return data.DataLoader(dataset, batch_sampler=sampler)


def _write_outputs(out: Path, trainer: Trainer, config: dict, test_accuracy: float) -> None:
    # checkpoint.npz is the Trainer's, saved after the last epoch: the model here may hold
    # the best epoch's parameters instead, and resuming from those would not continue the run.
    out.mkdir(parents=True, exist_ok=True)
    save_checkpoint(out / "model.npz", model=trainer.model.state_dict(), config=config)
    history = trainer.history.as_dict()
    (out / "history.json").write_text(
        json.dumps({"config": config, "test_accuracy": test_accuracy, "history": history}, indent=2)
    )
    with open(out / "history.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["epoch", *history])
        for epoch, row in enumerate(zip(*history.values()), start=1):
            writer.writerow([epoch, *row])
    if not plot_history(trainer.history, out / "history.png"):
        print(
            "matplotlib is not installed: no history.png (pip install 'chainrule[plot]')",
            file=sys.stderr,
        )


def _load_model(path: Path):
    state = load_checkpoint(path)
    if "config" not in state:
        raise SystemExit(f"chainrule: {path} has no model config; pass the model.npz of a run")
    config = state["config"]
    model = build_model(
        config["model"], config["in_features"], config["classes"], config["hidden"],
        config.get("image_shape"),
    )  # fmt: skip
    model.load_state_dict(state["model"])
    model.eval()
    return model, config


def run_evaluate(args: argparse.Namespace) -> int:
    model, config = _load_model(args.checkpoint)
    _, _, x_test, y_test = load_dataset(config["dataset"], args.data_dir)
    with no_grad():
        logits = model(Tensor(x_test))
        loss = F.cross_entropy(logits, y_test).item()
    accuracy = float(np.mean(np.argmax(logits.data, axis=1) == y_test))
    print(f"{config['dataset']} test set: {len(x_test)} examples, loss {loss:.4f}")
    print(f"test accuracy: {accuracy:.4f}")
    return 0


def run_predict(args: argparse.Namespace) -> int:
    model, config = _load_model(args.checkpoint)
    if args.input is not None:
        x = np.load(args.input, allow_pickle=False).astype(np.float32)
        x = x.reshape(-1, config["in_features"])
        labels = [None] * len(x)
    else:
        _, _, x_test, y_test = load_dataset(config["dataset"], args.data_dir)
        bad = [i for i in args.index if not -len(x_test) <= i < len(x_test)]
        if bad:
            raise SystemExit(
                f"chainrule predict: --index {bad[0]} is out of range for the "
                f"{len(x_test)} test examples"
            )
        x, labels = x_test[args.index], [int(y_test[i]) for i in args.index]
    with no_grad():
        probabilities = F.softmax(model(Tensor(x)), axis=-1).data
    for row, (p, label) in enumerate(zip(probabilities, labels)):
        best = int(np.argmax(p))
        known = "" if label is None else f"  (label {label})"
        print(f"{row}: predicted {best} with probability {p[best]:.3f}{known}")
    return 0


def add_checkpoint_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", type=Path, help="model.npz written by chainrule train --out")
    parser.add_argument("--data-dir", type=Path, help="folder with the MNIST or CIFAR-10 files")


def build_parsers(subparsers) -> None:
    train = subparsers.add_parser("train", help="train a network (on the bundled digits)")
    add_train_arguments(train)
    train.set_defaults(run=run_train)
    evaluate = subparsers.add_parser("evaluate", help="test accuracy of a saved model")
    add_checkpoint_arguments(evaluate)
    evaluate.set_defaults(run=run_evaluate)
    predict = subparsers.add_parser("predict", help="class probabilities from a saved model")
    add_checkpoint_arguments(predict)
    predict.add_argument(
        "--index",
        type=int,
        nargs="+",
        default=[0],
        help="rows of the test set to predict (default 0)",
    )
    predict.add_argument("--input", type=Path, help="a .npy file of inputs instead")
    predict.set_defaults(run=run_predict)
