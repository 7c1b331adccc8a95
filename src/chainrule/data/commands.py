"""`chainrule data download mnist|cifar10 --dir PATH`: fetch a dataset that the loaders read."""

from __future__ import annotations

import argparse
import dataclasses
import re
from pathlib import Path

from chainrule.data.download import SOURCES, Source, download_dataset

MD5SUM_LINE = re.compile(r"([0-9a-fA-F]{32}) [ *](.+)")  # what `md5sum FILES` prints


def _sources_text() -> str:
    lines = []
    for source in SOURCES.values():
        lines.append(f"{source.name}, from {', else '.join(source.mirrors)}:")
        lines += [f"  {remote.name:28} md5 {remote.md5}" for remote in source.files]
    return "\n".join(lines)


DESCRIPTION = f"""\
Download MNIST or CIFAR-10 into --dir, ready for `chainrule train --dataset NAME
--data-dir DIR`. MNIST is four gzipped IDX files, read as they are; CIFAR-10 is the binary
version (chainrule never loads the pickled Python version), extracted into
DIR/cifar-10-batches-bin beside the archive it came from.

Each file streams into DIR/<file>.part and takes its name only once its md5 checks out. A
file already there with the right md5 is skipped; an interrupted download resumes from its
.part on the next run (HTTP Range); a wrong md5 deletes the .part. The mirrors are tried in
order, --mirror URL replaces them. Progress: a bar on a terminal, else a line per quarter.

{_sources_text()}"""


def _with_md5sums(source: Source, path: Path) -> Source:
    """`source` with the checksums listed in `path` (the output of ``md5sum FILES``)."""
    table = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        match = MD5SUM_LINE.fullmatch(line.strip())
        if match is None:
            raise ValueError(
                f"chainrule data download: {str(path)!r} line {number} is {line!r}; expected "
                "'<32 hex digits>  <file name>' as md5sum prints it"
            )
        table[match.group(2)] = match.group(1).lower()
    missing = [remote.name for remote in source.files if remote.name not in table]
    if missing:
        raise ValueError(
            f"chainrule data download: {str(path)!r} lists no md5 for {', '.join(missing)} "
            f"(the files of {source.name})"
        )
    files = tuple(dataclasses.replace(r, md5=table[r.name]) for r in source.files)
    return dataclasses.replace(source, files=files)


def _run_download(args: argparse.Namespace) -> int:
    source = SOURCES[args.dataset]
    if args.md5sums is not None:
        source = _with_md5sums(source, args.md5sums)
    directory = download_dataset(
        source,
        args.dir,
        mirrors=args.mirror,
        timeout=args.timeout,
        progress=not args.no_progress,
    )
    print(
        f"{args.dataset} is ready in {directory}; train on it with: chainrule train "
        f"--dataset {args.dataset} --data-dir {directory}"
    )
    return 0


def build_parser(subparsers) -> None:
    """Add ``data`` (with its ``download`` command) to the `chainrule` command's subparsers.

    >>> import argparse
    >>> parser = argparse.ArgumentParser(prog="chainrule")
    >>> build_parser(parser.add_subparsers())
    >>> args = parser.parse_args(["data", "download", "mnist", "--dir", "data/mnist"])
    >>> args.dataset, str(args.dir), args.mirror, args.timeout
    ('mnist', 'data/mnist', None, 30.0)
    """
    data = subparsers.add_parser(
        "data",
        help="download MNIST or CIFAR-10",
        description="The datasets that do not ship with chainrule.",
    )
    commands = data.add_subparsers(
        title="commands", metavar="COMMAND", dest="data_command", required=True
    )
    download = commands.add_parser(
        "download",
        help="download a dataset, verified and resumable",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    download.add_argument("dataset", choices=sorted(SOURCES), help="the dataset")
    download.add_argument(
        "--dir", type=Path, required=True, help="folder for the files (created if needed)"
    )
    download.add_argument(
        "--mirror",
        action="append",
        metavar="URL",
        help="base URL serving the files under their names, instead of the official "
        "mirrors (repeat to try several in order)",
    )
    download.add_argument(
        "--md5sums",
        type=Path,
        metavar="FILE",
        help="checksums to verify instead of the official ones, as `md5sum` prints them "
        "(for a mirror of other files under the same names, such as Fashion-MNIST)",
    )
    download.add_argument(
        "--timeout",
        type=float,
        default=30.0,
        help="seconds to wait for a connection or a read (default 30)",
    )
    download.add_argument("--no-progress", action="store_true", help="no progress display")
    download.set_defaults(run=_run_download)
