"""Training checkpoints: one atomic `.npz` file written by `chainrule.io`, no pickle.

A checkpoint holds the model's and the optimizer's state dicts, the schedule's, the
history, the best parameters so far and the random generator's state, under a format
tag and a version so that any other file is refused with a clear error.
"""

from __future__ import annotations

from pathlib import Path

from chainrule import io

FORMAT = "chainrule-training"  # what a training checkpoint holds, inside io's format
VERSION = 1


def save_checkpoint(path: str | Path, **parts) -> None:
    """Write the named parts (state dicts, history, generator state...) to `path`.

    Missing parent directories are made; the file is replaced atomically.

    >>> import tempfile, chainrule as cr
    >>> from pathlib import Path
    >>> from chainrule.training import save_checkpoint
    >>> with tempfile.TemporaryDirectory() as d:
    ...     save_checkpoint(Path(d, "runs", "last.npz"), model=cr.nn.Linear(2, 1).state_dict())
    ...     sorted(p.name for p in Path(d, "runs").iterdir())
    ['last.npz']
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    io.save({"format": FORMAT, "version": VERSION, **parts}, path)


def load_checkpoint(path: str | Path) -> dict:
    """Read a checkpoint written by `save_checkpoint`, with a clear error for anything else.

    Returns the parts by name, their Tensors as NumPy arrays.

    >>> import tempfile, chainrule as cr
    >>> from pathlib import Path
    >>> from chainrule.training import load_checkpoint, save_checkpoint
    >>> with tempfile.TemporaryDirectory() as d:
    ...     save_checkpoint(Path(d, "last.npz"), model=cr.nn.Linear(2, 1).state_dict(), epoch=3)
    ...     parts = load_checkpoint(Path(d, "last.npz"))
    >>> sorted(parts), parts["model"]["weight"].shape, parts["epoch"]
    (['epoch', 'model'], (1, 2), 3)
    """
    content = io.load(path)
    if not isinstance(content, dict) or content.get("format") != FORMAT:
        raise io.CheckpointError(f"{path}: not a chainrule training checkpoint")
    if content.get("version") != VERSION:
        raise io.CheckpointError(
            f"{path}: checkpoint version {content.get('version')}, this chainrule reads {VERSION}"
        )
    return {key: value for key, value in content.items() if key not in ("format", "version")}
