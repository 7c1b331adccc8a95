"""Downloading MNIST and CIFAR-10 into a directory that the loaders read: `download_dataset`.

The sources (`SOURCES`), with the checksums their publishers give:

- ``mnist``: ``train-images-idx3-ubyte.gz`` (md5 f68b3c2dcbeaaa9fbdd348bbdeb94873),
  ``train-labels-idx1-ubyte.gz`` (d53e105ee54ea40749a09fcbcd1e9432),
  ``t10k-images-idx3-ubyte.gz`` (9fb629c4189551a2d022fa330f9573f3) and
  ``t10k-labels-idx1-ubyte.gz`` (ec29112dd5afa0611ce80d1b7f02629c), from
  https://ossci-datasets.s3.amazonaws.com/mnist/ (the mirror torchvision uses), falling back
  to the original http://yann.lecun.com/exdb/mnist/. `load_mnist` reads the ``.gz`` files
  as they are.
- ``cifar10``: ``cifar-10-binary.tar.gz`` (md5 c32a1d4ab5d03f1284b67883e8d87530) from
  https://www.cs.toronto.edu/~kriz/. The *binary* version, not the Python one
  (``cifar-10-python.tar.gz``): that one is a pickle, which chainrule never loads, and
  `load_cifar10` reads the binary batches. The archive is kept, so that a second run can
  verify it and skip, and its ``cifar-10-batches-bin/`` folder is extracted beside it
  (regular files of that folder only: no other path in the archive is written).

Either way the directory then goes to the loader as it is (``load_mnist(PATH)``,
``chainrule train --dataset cifar10 --data-dir PATH``).

How one file is fetched, so that a file under its final name is always whole and verified:

1. Already present with the right md5: skipped (and said so). Present with another md5:
   downloaded again; the file is replaced only once the new copy checks out.
2. The bytes stream into ``<name>.part``. When a ``.part`` is there from an earlier run,
   the request asks for the rest (``Range: bytes=N-``); a server that ignores Range answers
   200 with the whole file, and the part starts over; 416 means the part is already whole.
3. A transfer that ends early (the connection closes before Content-Length bytes, a read
   times out) keeps the ``.part`` and raises `IncompleteDownloadError`: run again to resume.
   A Ctrl-C keeps the ``.part`` too.
4. The md5 of the whole part is checked. A mismatch deletes the part and raises
   `ChecksumMismatchError`, naming the file, the expected and the actual md5.
5. Only then is the part flushed to disk and renamed to its final name (atomic).

The mirrors are tried in order while a file cannot be fetched from one (unreachable, an HTTP
error); ``mirrors=`` (``--mirror URL`` on the command line) replaces them, e.g. with a local
copy served over HTTP. When none answers, `SourceUnreachableError` says so in one line that
names each URL and why. Every connection and every read times out after ``timeout`` seconds.
Two downloads into the same directory at once are not supported (they share the ``.part``).

Progress goes to ``stream`` (standard error): a tqdm bar when it is a terminal, otherwise a
line at each quarter of a file, never one per chunk.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TextIO

from chainrule._version import __version__
from chainrule.data.progress import Log, size_text
from chainrule.io import fsync

CHUNK = 1 << 16  # the most bytes taken per read


@dataclass(frozen=True)
class RemoteFile:
    """One file of a dataset: its name (on the server and on disk) and its md5.

    `extract` names the folder of a ``.tar.gz`` to extract beside it (None: use as is).
    """

    name: str
    md5: str
    extract: str | None = None


@dataclass(frozen=True)
class Source:
    """A dataset to download: its name, the base URLs that serve its files, and the files."""

    name: str
    mirrors: tuple[str, ...]
    files: tuple[RemoteFile, ...]


SOURCES = {
    "mnist": Source(
        "mnist",
        ("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"),
        (
            RemoteFile("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
            RemoteFile("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
            RemoteFile("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
            RemoteFile("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"),
        ),
    ),
    "cifar10": Source(
        "cifar10",
        ("https://www.cs.toronto.edu/~kriz/",),
        (
            RemoteFile(
                "cifar-10-binary.tar.gz",
                "c32a1d4ab5d03f1284b67883e8d87530",
                extract="cifar-10-batches-bin",
            ),
        ),
    ),
}


class DownloadError(OSError):
    """A dataset could not be downloaded (the message says which file and why)."""


class SourceUnreachableError(DownloadError):
    """No mirror answered for a file: offline, refused, timed out, or an HTTP error."""


class IncompleteDownloadError(DownloadError):
    """A transfer ended early; the ``.part`` file is kept so that the next run resumes."""


class ChecksumMismatchError(DownloadError):
    """A downloaded file has the wrong md5; the part file was deleted."""


def download_dataset(
    dataset: str | Source,
    directory: str | os.PathLike,
    *,
    mirrors: Sequence[str] | None = None,
    timeout: float = 30.0,
    progress: bool = True,
    stream: TextIO | None = None,
) -> Path:
    """Download `dataset` (``'mnist'``, ``'cifar10'`` or a `Source`) into `directory`.

    Files already there with the right md5 are skipped, an interrupted download resumes,
    and every file is verified before it takes its final name (see the module docstring).

    Parameters
    ----------
    dataset
        A name in `SOURCES`, or a `Source` of your own (other files, checksums, mirrors).
    directory
        Where the files go (created if needed); pass it to the loader afterwards.
    mirrors
        Base URLs (http or https) tried in order instead of the source's own; a file's
        URL is the base URL, a ``/`` and its name.
    timeout
        Seconds to wait for a connection and for each read.
    progress
        Show progress (a tqdm bar when `stream` is a terminal, else a line per quarter).
    stream
        Where progress and the lines about each file go (default: standard error).

    Returns
    -------
    The directory, as a `Path`.

    Example
    -------
    A file already present with the right checksum is not downloaded again (no network):

    >>> import hashlib, io, pathlib, tempfile
    >>> from chainrule.data.download import RemoteFile, Source, download_dataset
    >>> md5 = hashlib.md5(b"hello").hexdigest()
    >>> source = Source("notes", ("http://127.0.0.1:9/",), (RemoteFile("notes.txt", md5),))
    >>> log = io.StringIO()
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     _ = (pathlib.Path(folder) / "notes.txt").write_bytes(b"hello")
    ...     print(download_dataset(source, folder, stream=log) == pathlib.Path(folder))
    True
    >>> print(log.getvalue().strip())
    notes: notes.txt is already there (md5 ok): skipped
    """
    source = _source(dataset, mirrors)
    if not timeout > 0:
        raise ValueError(
            f"download_dataset: timeout must be a positive number of seconds, got {timeout!r}"
        )
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise NotADirectoryError(f"download_dataset: {str(directory)!r} is not a directory")
    directory.mkdir(parents=True, exist_ok=True)
    log = Log(source.name, sys.stderr if stream is None else stream, progress)
    for remote in source.files:
        _fetch(source, remote, directory, timeout, log)
        if remote.extract is not None:
            _extract(directory / remote.name, directory, remote.extract, log)
    return directory


def _source(dataset: str | Source, mirrors: Sequence[str] | None) -> Source:
    if isinstance(dataset, Source):
        source = dataset
    elif dataset in SOURCES:
        source = SOURCES[dataset]
    else:
        raise ValueError(
            f"download_dataset: unknown dataset {dataset!r}; expected one of "
            f"{', '.join(sorted(SOURCES))} or a Source"
        )
    if mirrors is not None:
        if isinstance(mirrors, str) or not mirrors:
            raise ValueError(
                f"download_dataset: mirrors must be a non-empty sequence of base URLs, "
                f"got {mirrors!r}"
            )
        source = dataclasses.replace(source, mirrors=tuple(mirrors))
    for mirror in source.mirrors:
        if not mirror.startswith(("http://", "https://")):
            raise ValueError(
                f"download_dataset: mirror {mirror!r} is not an http:// or https:// URL"
            )
    return source


# ----- one file: skip, transfer (resuming), verify, rename -----


def _fetch(source: Source, remote: RemoteFile, directory: Path, timeout: float, log: Log) -> None:
    path = directory / remote.name
    if path.is_file():
        actual = md5sum(path)
        if actual == remote.md5:
            log.say(f"{remote.name} is already there (md5 ok): skipped")
            return
        log.say(
            f"{remote.name} is there but its md5 is {actual}, not {remote.md5}: "
            "downloading it again"
        )
    part = path.with_name(path.name + ".part")
    failures = []
    for mirror in source.mirrors:
        url = mirror.rstrip("/") + "/" + remote.name
        try:
            _transfer(url, part, timeout, log)
            break
        except _Unreachable as error:
            failures.append(f"{url} ({error})")
    else:
        raise SourceUnreachableError(
            f"download {source.name}: cannot fetch {' nor '.join(failures)}; check the network, "
            f"try another mirror (--mirror URL) or download {remote.name} by hand into "
            f"{str(directory)!r}"
        )
    actual = md5sum(part)
    if actual != remote.md5:
        part.unlink()
        raise ChecksumMismatchError(
            f"download {source.name}: {remote.name} from {url} has md5 {actual}, expected "
            f"{remote.md5}; the download was deleted: run again, or try another mirror"
        )
    fsync(part)
    os.replace(part, path)
    fsync(directory)  # makes the rename itself durable
    log.say(f"{remote.name}: md5 ok, saved")


class _Unreachable(Exception):
    """This URL gave nothing (no connection, an HTTP error): the next mirror may."""


def _transfer(url: str, part: Path, timeout: float, log: Log) -> None:
    """Append the rest of `url` to `part`, or write it all when the server will not resume."""
    import http.client  # the HTTP stack is imported only by a download
    import urllib.error
    import urllib.request

    offset = part.stat().st_size if part.is_file() else 0
    headers = {"User-Agent": f"chainrule/{__version__}"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    try:
        response = urllib.request.urlopen(
            urllib.request.Request(url, headers=headers), timeout=timeout
        )
    except urllib.error.HTTPError as error:
        error.close()
        if error.code == 416 and offset:  # nothing left after `offset`: verify the part
            log.say(f"{part.name} already holds the whole file ({size_text(offset)})")
            return
        raise _Unreachable(f"HTTP {error.code} {error.reason}") from None
    except (OSError, http.client.HTTPException) as error:
        raise _Unreachable(_reason(error)) from None
    with response:
        if offset and response.status != 206:
            log.say(f"{url} ignores resume requests: starting {part.name} over")
            offset = 0
        length = response.headers.get("Content-Length")
        expected = int(length) if length is not None and length.isdigit() else None
        total = None if expected is None else offset + expected
        size = (
            ""
            if total is None
            else f" of {size_text(total)}"
            if offset
            else f" ({size_text(total)})"
        )
        start = f"resuming {url} at {size_text(offset)}" if offset else f"downloading {url}"
        log.say(start + size)
        received = 0
        with (
            open(part, "ab" if offset else "wb") as f,
            log.progress(part.stem, total, offset) as bar,
        ):
            try:
                # read1: what has arrived, so a stall loses none of it (read waits for CHUNK).
                while chunk := response.read1(CHUNK):
                    f.write(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
            except (OSError, http.client.HTTPException) as error:
                stopped = f"was interrupted ({_reason(error)})"
            else:
                stopped = None if expected is None or received >= expected else "ended early"
    if stopped is not None:
        raise IncompleteDownloadError(
            f"download {log.name}: {url} {stopped} after {size_text(offset + received)}"
            + ("" if total is None else f" of {size_text(total)}")
            + f"; what arrived is kept in {str(part)!r}: run the same command again to resume"
        )


def _reason(error: BaseException) -> str:
    reason = getattr(error, "reason", None) or error  # URLError wraps the socket's error
    return str(reason) or type(reason).__name__


def md5sum(path: str | os.PathLike) -> str:
    """The md5 of a file as 32 hex digits, read in chunks (a 170 MB archive is fine).

    >>> import os, tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     open(os.path.join(folder, "empty"), "wb").close()
    ...     print(md5sum(os.path.join(folder, "empty")))
    d41d8cd98f00b204e9800998ecf8427e
    """
    digest = hashlib.md5(usedforsecurity=False)  # a checksum against corruption, not a MAC
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


# ----- extracting an archive's folder -----


def _extract(archive: Path, directory: Path, folder: str, log: Log) -> None:
    """Extract the regular files of `folder` in `archive` into ``directory/folder``, atomically."""
    import shutil
    import tempfile

    target = directory / folder
    if target.is_dir():
        log.say(f"{folder}/ is already extracted: skipped")
        return
    # Into a hidden folder first, renamed when whole: `target` is never half extracted.
    staging = Path(tempfile.mkdtemp(prefix=f".{folder}.", dir=directory))
    try:
        count = _copy_folder(archive, folder, staging, log)
        os.rename(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    log.say(f"extracted {count} files into {folder}/")


def _copy_folder(archive: Path, folder: str, destination: Path, log: Log) -> int:
    """Copy the files directly inside `folder` of a ``.tar.gz`` to `destination`; how many."""
    import shutil
    import tarfile

    count = 0
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:
                # Regular files only (no links), and no path outside `destination`.
                parts = PurePosixPath(member.name).parts
                if member.isfile() and len(parts) == 2 and parts[0] == folder and parts[1] != "..":
                    with tar.extractfile(member) as src, open(destination / parts[1], "wb") as dst:
                        shutil.copyfileobj(src, dst)
                    count += 1
    except (tarfile.TarError, EOFError) as error:
        raise DownloadError(
            f"download {log.name}: cannot extract {str(archive)!r} ({error}); delete it and "
            "run again"
        ) from None
    if count == 0:
        raise DownloadError(
            f"download {log.name}: {str(archive)!r} holds no files in a folder {folder}/"
        )
    return count
