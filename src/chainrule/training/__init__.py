"""Training loops: the Trainer, checkpoints, history plots, and the CLI's jobs."""

from chainrule.training.checkpoint import load_checkpoint, save_checkpoint
from chainrule.training.trainer import History, Trainer, accuracy

__all__ = ["History", "Trainer", "accuracy", "load_checkpoint", "save_checkpoint"]
