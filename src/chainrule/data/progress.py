"""What a download shows: lines about each file, prefixed with the dataset's name, and
its progress (a tqdm bar on a terminal, otherwise a line per quarter, for logs)."""

from __future__ import annotations

from typing import TextIO


def size_text(n: int) -> str:
    return f"{n:,} bytes" if n < 1_000_000 else f"{n / 1e6:.1f} MB"


class Log:
    """Lines about each file, prefixed with the dataset's name, and the progress display."""

    def __init__(self, name: str, stream: TextIO, progress: bool):
        self.name, self.stream, self.show_progress = name, stream, progress

    def say(self, line: str) -> None:
        print(f"{self.name}: {line}", file=self.stream, flush=True)

    def progress(self, label: str, total: int | None, initial: int):
        if self.show_progress and self.stream.isatty():
            from tqdm import tqdm

            return tqdm(
                total=total,
                initial=initial,
                desc=label,
                unit="B",
                unit_scale=True,
                leave=False,
                file=self.stream,
            )
        return _QuarterLines(self if self.show_progress else None, label, total, initial)


class _QuarterLines:
    """Progress as plain lines: one when a file passes 25%, 50% or 75% (for logs, not TTYs)."""

    def __init__(self, log: Log | None, label: str, total: int | None, initial: int):
        self.log, self.label, self.total, self.done = log, label, total, initial
        self.quarter = self._quarter()

    def _quarter(self) -> int:
        return 4 * self.done // self.total if self.total else 0

    def update(self, n: int) -> None:
        self.done += n
        quarter = self._quarter()
        if quarter > self.quarter:
            self.quarter = quarter
            if self.log is not None and quarter < 4:  # the end has its own line
                self.log.say(f"{self.label}: {25 * quarter}% ({size_text(self.done)})")

    def __enter__(self) -> _QuarterLines:
        return self

    def __exit__(self, *exc) -> None:
        return None
