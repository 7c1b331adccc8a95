"""Saving and loading state dicts without pickle: `save(obj, path)` and `load(path)`.

A checkpoint is an uncompressed ``.npz`` (a zip of ``.npy`` files) with one entry per array
and a JSON manifest, the entry ``__chainrule__``, that holds the structure and every Python
value. What can be saved, nested in any way:

- dicts with str or int keys (in order), lists and tuples;
- NumPy arrays of numbers, bools or strings, and Tensors (saved as their arrays);
- NumPy scalars (``np.float32(0.5)``); None, bool, int (any size), float, str.

`load` gives back the same structure: dtypes, shapes, ints and tuples unchanged, Tensors as
ndarrays. It never unpickles: it reads only what `save` writes, checks every entry's header
(dtype, shape, size) before it allocates anything, and raises `CheckpointError` for a
corrupt, truncated or hostile file. Any ``np.load(path, allow_pickle=False)`` can read a
checkpoint too.

`save` is atomic: it writes a temporary file in the same directory, flushes it to disk and
renames it over `path`, so a crash or a kill leaves either the previous file or the new
one, never a mix (a killed save may leave a hidden ``.<name>.*.tmp`` file behind).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
from typing import Any

import numpy as np

from chainrule.tensor import Tensor

FORMAT, VERSION = "chainrule-checkpoint", 1
MANIFEST = "__chainrule__"
_ARRAY_KINDS = "biufcUS"  # bool, integers, floats, complex, str, bytes: no objects


class CheckpointError(ValueError):
    """A file is not a valid chainrule checkpoint (corrupt, truncated or hostile)."""


# ----- save -----


def save(obj: Any, path: str | os.PathLike) -> None:
    """Write `obj` (a state dict: nested dicts of arrays, Tensors and numbers) to `path`.

    The file is written at exactly `path` (no suffix is added; ``.npz`` is the convention)
    and replaces any file there atomically.

        >>> import os, tempfile, numpy as np, chainrule as cr
        >>> from chainrule.io import save, load
        >>> state = {"fc1": {"weight": cr.ones(2, 3), "bias": np.zeros(2)}, "epoch": 3}
        >>> with tempfile.TemporaryDirectory() as d:
        ...     save(state, os.path.join(d, "model.npz"))
        ...     back = load(os.path.join(d, "model.npz"))
        >>> back["fc1"]["weight"].dtype, back["fc1"]["bias"].shape, back["epoch"]
        (dtype('float32'), (2,), 3)
    """
    arrays: dict[str, np.ndarray] = {}
    tree = _encode(obj, arrays, "obj", set())
    manifest = json.dumps({"format": FORMAT, "version": VERSION, "tree": tree}).encode("utf-8")
    entries = {MANIFEST: np.frombuffer(manifest, np.uint8), **arrays}

    write_atomically(path, lambda f: np.savez(f, **entries))


def write_atomically(path: str | os.PathLike, write) -> None:
    """Call ``write(file)`` on a new temporary file beside `path`, then rename it to
    `path`: an interrupted write leaves the old file (or none), never half a file.

    `write` is a function of a binary file object, or the bytes to write.

        >>> import os, tempfile
        >>> from pathlib import Path
        >>> from chainrule.io import write_atomically
        >>> with tempfile.TemporaryDirectory() as d:
        ...     write_atomically(Path(d, "notes.txt"), b"first")
        ...     write_atomically(Path(d, "notes.txt"), lambda f: f.write(b"second"))
        ...     Path(d, "notes.txt").read_bytes(), os.listdir(d)  # no temporary file left
        (b'second', ['notes.txt'])
    """
    if isinstance(write, (bytes, bytearray)):
        data = write
        write = lambda f: f.write(data)  # noqa: E731
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(
        directory, f".{os.path.basename(path)}.{os.getpid()}.{os.urandom(4).hex()}.tmp"
    )
    # os.open with mode 0o666 lets the umask set the permissions, as open() would.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync(directory)  # makes the rename itself durable


def fsync(path: str | os.PathLike) -> None:
    """Flush a file's or a directory's data to disk; a no-op where that is unsupported
    (directories cannot be opened on Windows). After a rename, syncing the directory
    makes the rename itself durable.

    >>> import tempfile
    >>> from chainrule.io import fsync
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     fsync(folder)
    """
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _add_array(array: np.ndarray, arrays: dict, where: str) -> str:
    if array.dtype.kind not in _ARRAY_KINDS or array.dtype.hasobject or array.dtype.itemsize == 0:
        raise TypeError(
            f"save: {where} is an array of dtype {array.dtype}; only numbers, bools and "
            "strings can be saved (no object arrays)"
        )
    name = f"a{len(arrays)}"
    arrays[name] = array
    return name


def _encode(x, arrays: dict, where: str, active: set):
    """The JSON node for `x`; arrays go into `arrays`. `where` names x in error messages."""
    if isinstance(x, Tensor):
        return {"array": _add_array(x.data, arrays, where)}
    if isinstance(x, np.ndarray):
        return {"array": _add_array(np.asarray(x), arrays, where)}
    if isinstance(x, np.generic):  # before float: np.float64 is a float
        return {"scalar": _add_array(np.asarray(x), arrays, where)}
    if x is None or isinstance(x, bool):
        return x
    if isinstance(x, int):
        return int(x)
    if isinstance(x, float):
        return float(x)
    if isinstance(x, str):
        return str(x)
    if not isinstance(x, (dict, list, tuple)):
        raise TypeError(
            f"save: {where} has type {type(x).__name__}; a state dict holds dicts, lists, "
            "tuples, arrays, Tensors, numbers, str and None"
        )
    if id(x) in active:
        raise ValueError(f"save: {where} contains itself")
    active.add(id(x))
    if isinstance(x, dict):
        items = []
        for key, value in x.items():
            if not isinstance(key, (str, int)) or isinstance(key, bool):
                raise TypeError(f"save: {where} has key {key!r}; keys must be str or int")
            items.append([key, _encode(value, arrays, f"{where}[{key!r}]", active)])
        node = {"dict": items}
    else:
        values = [_encode(v, arrays, f"{where}[{i}]", active) for i, v in enumerate(x)]
        node = {"tuple": values} if isinstance(x, tuple) else values
    active.discard(id(x))
    return node


# ----- load -----


def load(path: str | os.PathLike) -> Any:
    """Read back what `save` wrote at `path` (Tensors come back as NumPy arrays).

    Raises `CheckpointError` (a `ValueError`) when the file is not a valid checkpoint and
    `FileNotFoundError` when there is no file.

        >>> import os, tempfile, chainrule as cr
        >>> from chainrule.io import save, load
        >>> with tempfile.TemporaryDirectory() as d:
        ...     save({"w": cr.ones(2), "step": 10}, os.path.join(d, "state.npz"))
        ...     load(os.path.join(d, "state.npz"))
        {'w': array([1., 1.], dtype=float32), 'step': 10}
    """
    import zipfile

    path = os.fspath(path)
    with open(path, "rb") as f:
        start = f.read(4)
        if start not in (b"PK\x03\x04", b"PK\x05\x06"):
            kind = "a pickle" if start[:1] == b"\x80" else "not a zip (.npz) file"
            raise CheckpointError(f"load: {path!r} is not a chainrule checkpoint: it is {kind}")
        f.seek(0)
        try:
            with zipfile.ZipFile(f) as archive:
                return _load(archive, path)
        except CheckpointError:
            raise
        except Exception as error:  # anything a damaged file can make zipfile, numpy or json raise
            raise CheckpointError(
                f"load: {path!r} is corrupt or truncated ({type(error).__name__}: {error})"
            ) from error


def _load(archive, path: str):
    members = {info.filename: info for info in archive.infolist()}

    def read(name: str) -> np.ndarray:
        info = members.get(f"{name}.npy") if isinstance(name, str) else None
        if info is None:
            raise CheckpointError(f"load: {path!r} has no entry {name!r}")
        return _read_entry(archive, info, path)

    manifest = read(MANIFEST)
    if manifest.dtype != np.uint8 or manifest.ndim != 1:
        raise CheckpointError(f"load: {path!r} has a malformed manifest")
    try:
        manifest = json.loads(manifest.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CheckpointError(f"load: {path!r} has a malformed manifest ({error})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise CheckpointError(f"load: {path!r} is an .npz file but not a chainrule checkpoint")
    if manifest.get("version") != VERSION:
        raise CheckpointError(
            f"load: {path!r} is a version {manifest.get('version')!r} checkpoint; this chainrule "
            f"reads version {VERSION}"
        )
    return _decode(manifest.get("tree"), read, path)


def _read_entry(archive, info, path: str) -> np.ndarray:
    """One ``.npy`` entry, its header checked before anything is allocated or read."""
    import zipfile

    where = f"load: {path!r} entry {info.filename!r}"
    if info.compress_type != zipfile.ZIP_STORED:
        raise CheckpointError(f"{where} is compressed; checkpoints store entries uncompressed")
    with archive.open(info) as f:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(f)
        elif version == (2, 0):
            shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(f)
        else:
            raise CheckpointError(f"{where} has .npy format version {version}, expected 1.0 or 2.0")
        if dtype.hasobject or dtype.kind not in _ARRAY_KINDS or dtype.itemsize == 0:
            raise CheckpointError(
                f"{where} has dtype {dtype}: Python objects are never loaded (that would unpickle)"
            )
        if any(d < 0 for d in shape):
            raise CheckpointError(f"{where} has a negative dimension in its shape {shape}")
        nbytes = math.prod(shape) * dtype.itemsize
        if f.tell() + nbytes != info.file_size:
            raise CheckpointError(
                f"{where}: its header describes {shape} {dtype} ({nbytes} bytes) but it holds "
                f"{info.file_size - f.tell()} bytes"
            )
        buffer = bytearray(nbytes)
        view, filled = memoryview(buffer), 0
        while filled < nbytes:
            n = f.readinto(view[filled:])
            if not n:
                raise CheckpointError(f"{where} is truncated")
            filled += n
        f.read(1)  # reaches the end of the entry, where zipfile checks its CRC
    array = np.frombuffer(buffer, dtype) if nbytes else np.empty(0, dtype)
    return array.reshape(shape, order="F" if fortran_order else "C")


def _decode(node, read, path: str):
    if node is None or isinstance(node, (bool, int, float, str)):
        return node
    if isinstance(node, list):
        return [_decode(v, read, path) for v in node]
    if isinstance(node, dict) and len(node) == 1:
        ((tag, value),) = node.items()
        if tag == "array":
            return read(value)
        if tag == "scalar":
            array = read(value)
            if array.shape == ():
                return array[()]
        elif tag == "tuple" and isinstance(value, list):
            return tuple(_decode(v, read, path) for v in value)
        elif tag == "dict" and isinstance(value, list):
            result = {}
            for item in value:
                if not (isinstance(item, list) and len(item) == 2):
                    break
                key, v = item
                if not isinstance(key, (str, int)) or isinstance(key, bool):
                    break
                result[key] = _decode(v, read, path)
            else:
                return result
    raise CheckpointError(f"load: {path!r} has a malformed manifest (at {str(node)[:80]})")
