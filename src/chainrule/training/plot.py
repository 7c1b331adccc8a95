"""Loss and accuracy curves as a PNG, when matplotlib is installed (``chainrule[plot]``)."""

from __future__ import annotations

from pathlib import Path

from chainrule.training.trainer import History


def plot_history(history: History, path: str | Path) -> bool:
    """Save the curves to `path`; returns False (and writes nothing) without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")  # no display needed
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    epochs = range(1, len(history) + 1)
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(10, 4))
    loss_ax.plot(epochs, history.train_loss, label="train")
    loss_ax.plot(epochs, history.val_loss, label="validation")
    loss_ax.set(xlabel="epoch", ylabel="loss", title="Loss")
    acc_ax.plot(epochs, history.train_accuracy, label="train")
    acc_ax.plot(epochs, history.val_accuracy, label="validation")
    acc_ax.set(xlabel="epoch", ylabel="accuracy", title="Accuracy")
    for ax in (loss_ax, acc_ax):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True
