"""The code blocks of the docs pages: found, run in page order, their output checked.

tests/test_docs.py runs every page's code this way, so the docs never show broken code,
and docs/make_images.py keeps the pictures a page's code draws. A page's fenced blocks
run top to bottom in one namespace (a later block uses the names of an earlier one),
in the current working directory, by their language:

- ``python``: executed;
- ``pycon``: an interactive session, run by doctest: each ``>>>`` line's output must
  match what follows it (``...`` matches anything, as doctest's ELLIPSIS);
- ``console``: each ``$ chainrule ...`` or ``$ python ...`` line is run (without a
  shell) and the lines after it, up to the next ``$``, are its expected output.

Blocks in any other language (``bash`` for installation commands, ``text``) are shown,
not run.
"""

from __future__ import annotations

import doctest
import io
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

RUN_LANGUAGES = ("python", "pycon", "console")
_FENCE = re.compile(
    r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*\{?\.?(?P<language>[\w-]*)[^\n]*\n"
    r"(?P<body>.*?)^(?P=indent)(?P=fence)[ \t]*$",
    re.MULTILINE | re.DOTALL,
)
_FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
# What a console block may run: the chainrule command and python, both run by this
# interpreter (so the chainrule under test, whichever `chainrule` PATH would find).
_CHAINRULE_MAIN = "import sys; from chainrule.cli import main; sys.exit(main())"
_COMMANDS = {"chainrule": [sys.executable, "-c", _CHAINRULE_MAIN], "python": [sys.executable]}


class DocsCodeError(AssertionError):
    """A code block of a docs page failed: its page and line, and what went wrong."""


@dataclass(frozen=True)
class Block:
    """One fenced code block: its language, its text, and where it is."""

    page: str
    line: int  # of the block's first line of code, counting from 1
    language: str
    code: str

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"


def code_blocks(text: str, page: str = "<page>") -> list[Block]:
    """The fenced code blocks of Markdown `text`, in order (an indented block dedented).

    >>> [(b.line, b.language, b.code) for b in code_blocks("Hi\\n\\n```python\\nx = 1\\n```\\n")]
    [(4, 'python', 'x = 1\\n')]
    """
    blocks = []
    for match in _FENCE.finditer(text):
        indent = len(match.group("indent"))
        lines = [line[indent:] for line in match.group("body").splitlines(keepends=True)]
        first_line = text.count("\n", 0, match.start("body")) + 1
        blocks.append(Block(page, first_line, match.group("language").lower(), "".join(lines)))
    return blocks


def run_python(block: Block, namespace: dict) -> None:
    """Execute a ``python`` block; a traceback points at the page's own line numbers."""
    padded = "\n" * (block.line - 1) + block.code
    exec(compile(padded, block.page, "exec"), namespace)  # noqa: S102  (the docs' own code)


def run_pycon(block: Block, namespace: dict) -> None:
    """Run a ``pycon`` block as a doctest in `namespace` (which keeps its new names)."""
    test = doctest.DocTestParser().get_doctest(
        block.code, namespace, block.where, block.page, block.line - 1
    )
    report = io.StringIO()
    runner = doctest.DocTestRunner(optionflags=_FLAGS, verbose=False)
    result = runner.run(test, out=report.write, clear_globs=False)
    namespace.update(test.globs)  # doctest ran on a copy of the namespace
    if result.failed:
        raise DocsCodeError(f"{block.where}: the session's output differs\n{report.getvalue()}")


def run_console(block: Block) -> None:
    """Run each ``$ command`` of a ``console`` block and compare its output."""
    checker = doctest.OutputChecker()
    for number, command, expected in _commands(block):
        argv = shlex.split(command)
        if argv[0] not in _COMMANDS:
            raise DocsCodeError(
                f"{block.page}:{number}: a console block runs only {sorted(_COMMANDS)}, "
                f"got {argv[0]!r}"
            )
        result = subprocess.run(
            _COMMANDS[argv[0]] + argv[1:], capture_output=True, text=True, timeout=120
        )
        got = result.stdout + result.stderr
        if result.returncode != 0 or not checker.check_output(expected, got, _FLAGS):
            raise DocsCodeError(
                f"{block.page}:{number}: $ {command}\nexit status {result.returncode}\n"
                f"expected:\n{expected}\ngot:\n{got}"
            )


def _commands(block: Block):
    """(line number, command, expected output) for each ``$`` line of a console block."""
    found = []
    for offset, line in enumerate(block.code.splitlines()):
        if line.startswith("$ "):
            found.append([block.line + offset, line[2:], []])
        elif found:
            found[-1][2].append(line)
        elif line.strip():
            raise DocsCodeError(f"{block.page}:{block.line + offset}: output before any '$ '")
    return [(number, command, "\n".join(out).rstrip() + "\n") for number, command, out in found]


def run_page(path: Path, page: str) -> dict:
    """Run every block of the page at `path` (named `page` in messages), in order.

    Returns the namespace the page's Python code leaves. Raises `DocsCodeError` naming
    the page and line of the first block that fails.
    """
    namespace = {"__name__": "__docs__"}
    for block in code_blocks(path.read_text(encoding="utf-8"), page):
        if block.language == "python":
            run_python(block, namespace)
        elif block.language == "pycon":
            run_pycon(block, namespace)
        elif block.language == "console":
            run_console(block)
    return namespace
