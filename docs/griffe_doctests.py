"""A griffe extension for the API reference: doctest examples rendered as examples.

chainrule's docstrings are NumPy-style, but many put their ``>>>`` example straight
after the summary or the parameters, indented as a literal block, with no
``Examples`` header. The NumPy parser then reads those lines as Markdown prose (the
brackets of ``[(3, 4), (3,)]`` become broken links) or as malformed parameters, and the
strict build stops. This extension gives such a docstring the ``Examples`` header it
lacks, just before its first ``>>>`` line, and aligns each example's lines with it, so
the example is shown as highlighted code. Docstrings that already have an ``Examples``
section are left as they are; the source files are never changed.

It is loaded by mkdocs.yml (``extensions:`` of the mkdocstrings python handler).
"""

from __future__ import annotations

import re

import griffe

_PROMPT = re.compile(r"^(\s*)>>>")
_EXAMPLES_HEADER = re.compile(r"^Examples\n-{3,}$", re.MULTILINE)


def with_examples_section(text: str) -> str:
    """`text` with an ``Examples`` header before its first doctest, and each doctest dedented.

    >>> with_examples_section("Add one.\\n\\n    >>> 1 + 1\\n    2\\n\\nThat is all.").splitlines()
    ['Add one.', '', 'Examples', '--------', '>>> 1 + 1', '2', '', 'That is all.']
    """
    lines = text.splitlines()
    first = next((i for i, line in enumerate(lines) if _PROMPT.match(line)), None)
    if first is None or _EXAMPLES_HEADER.search(text):
        return text
    out = lines[:first]
    if out and out[-1].strip():
        out.append("")
    out += ["Examples", "--------"]
    indent = None  # the indentation of the doctest being read, None between doctests
    for line in lines[first:]:
        prompt = _PROMPT.match(line)
        if prompt:
            indent = len(prompt.group(1))
        elif not line.strip():
            indent = None
        if indent and line[:indent].isspace():
            line = line[indent:]
        out.append(line)
    return "\n".join(out)


class DoctestsAsExamples(griffe.Extension):
    """Give every docstring with a doctest and no ``Examples`` section that section."""

    def on_instance(self, *, obj: griffe.Object, **kwargs) -> None:
        if obj.docstring is not None:
            obj.docstring.value = with_examples_section(obj.docstring.value)
