"""Reading dataset files from disk: the errors, finding a file, reading it (gzipped or not).

Every problem with a file on disk is a `DataFormatError` (a `ValueError`) whose message
names the file and what was expected; a missing file is a `DatasetNotFoundError`, which is
both a `DataFormatError` and a `FileNotFoundError`, so either ``except`` catches it.
"""

from __future__ import annotations

import os
from pathlib import Path


class DataFormatError(ValueError):
    """A dataset file is malformed or truncated (the message names the file)."""


class DatasetNotFoundError(DataFormatError, FileNotFoundError):
    """A dataset file is missing (the message names where it was looked for)."""


def find_file(directory: str | os.PathLike, names: list[str], what: str) -> Path:
    """The first of `names` that exists in `directory`, else a `DatasetNotFoundError`."""
    directory = Path(directory)
    if not directory.is_dir():
        raise DatasetNotFoundError(f"{what}: {str(directory)!r} is not a directory")
    for name in names:
        candidate = directory / name
        if candidate.is_file():
            return candidate
    raise DatasetNotFoundError(f"{what}: none of {', '.join(names)} found in {str(directory)!r}")


def read_bytes(path: Path, what: str) -> bytes:
    """The contents of `path`, decompressed when its name ends in ``.gz``."""
    try:
        if path.suffix == ".gz":
            import gzip  # only gzipped files pay for the import
            import zlib

            try:
                with gzip.open(path, "rb") as f:
                    return f.read()
            except (EOFError, gzip.BadGzipFile, zlib.error) as error:
                raise DataFormatError(
                    f"{what}: {str(path)!r} is not a valid gzip file or is truncated ({error})"
                ) from None
        return path.read_bytes()
    except FileNotFoundError:
        raise DatasetNotFoundError(f"{what}: {str(path)!r} does not exist") from None
