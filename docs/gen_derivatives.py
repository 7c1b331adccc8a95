"""The derivatives reference: one table of every built-in gate, made from its docstring.

House style (STYLE.md) gives every gate a docstring of one line of math, the shapes and
a ``Backward:`` line. This module reads those docstrings for every gate of
`chainrule.gates.ALL_GATES` and writes them as one Markdown table, so the reference
cannot drift from the code: a new gate appears as soon as it is registered, and a gate
whose docstring has no ``Backward:`` line stops the build with its name.

It is a MkDocs hook (``hooks:`` in mkdocs.yml): at build time the marker
``<!-- derivatives-table -->`` in ``reference/derivatives.md`` is replaced by the table.
Run as a script, it prints the table::

    python docs/gen_derivatives.py
"""

from __future__ import annotations

import html
import inspect
import re
from dataclasses import dataclass

PAGE = "reference/derivatives.md"
MARKER = "<!-- derivatives-table -->"

# The labelled parts of a gate docstring, after its leading formula ("Shape:" is
# accepted as well as the house "Shapes:").
_LABEL = re.compile(r"\b(Shapes?|Backward):\s*")
_CODE_SPAN = re.compile(r"`([^`]+)`")
_MARKDOWN_SPECIALS = re.compile(r"([\\*_\[\]|`])")


@dataclass(frozen=True)
class GateDoc:
    """What a gate's docstring says: its forward formula, shapes and backward formula."""

    name: str
    family: str
    forward: str
    shapes: str
    backward: str


def parse_gate_doc(gate: type) -> GateDoc:
    """Read the forward formula, the shapes and the ``Backward:`` formula of a gate class.

    The docstring's paragraphs are read up to the one holding ``Backward:`` (anything
    after it, such as examples, is not part of the formula), with line breaks joined.

    >>> from chainrule.gates import Add
    >>> doc = parse_gate_doc(Add)
    >>> doc.forward, doc.shapes, doc.backward
    ('out = x + y.', 'broadcast.', 'dx = g, dy = g (the add gate distributes).')
    """
    where = f"gate {gate.__name__} ({gate.__module__})"
    text = inspect.getdoc(gate) if "__doc__" in vars(gate) else None
    if not text:
        raise ValueError(f"{where} has no docstring; it needs its math and a 'Backward:' line")
    head = []
    for paragraph in text.split("\n\n"):
        head.append(paragraph)
        if "Backward:" in paragraph:
            break
    else:
        raise ValueError(
            f"{where}: its docstring has no 'Backward:' line (house style: one line of "
            f"math, the shapes, and 'Backward: <formula>'); it reads {text!r}"
        )
    parts = _LABEL.split(" ".join(" ".join(head).split()))
    sections = {"forward": parts[0].strip()}
    for label, body in zip(parts[1::2], parts[2::2]):
        key = "backward" if label == "Backward" else "shapes"
        if key in sections:
            raise ValueError(f"{where}: its docstring has two '{label}:' parts")
        sections[key] = body.strip()
    if not sections["forward"]:
        raise ValueError(f"{where}: its docstring starts with no forward formula")
    return GateDoc(
        name=gate.__name__,
        family=gate.__module__.rsplit(".", 1)[-1],
        forward=sections["forward"],
        shapes=sections.get("shapes", ""),
        backward=sections["backward"],
    )


def to_cell(text: str) -> str:
    """Docstring text as a Markdown table cell: `code` kept as code, the rest escaped.

    >>> to_cell("out = |x|, `axis` of x * y")
    'out = \\\\|x\\\\|, <code>axis</code> of x \\\\* y'
    """
    pieces = []
    for i, piece in enumerate(_CODE_SPAN.split(text)):
        if i % 2:  # inside backticks: raw HTML, so that a pipe cannot split the cell
            pieces.append(f"<code>{html.escape(piece).replace('|', '&#124;')}</code>")
        else:
            pieces.append(html.escape(_MARKDOWN_SPECIALS.sub(r"\\\1", piece), quote=False))
    return "".join(pieces)


def derivatives_table(gates=None) -> str:
    """The Markdown table of `gates` (default: every gate of `chainrule.gates.ALL_GATES`).

    >>> from chainrule.gates import Exp
    >>> print(derivatives_table([Exp]))
    | gate | family | forward | backward | shapes |
    | --- | --- | --- | --- | --- |
    | `Exp` | elementwise | out = exp(x). | dx = g \\* out. |  |
    """
    if gates is None:
        from chainrule.gates import ALL_GATES

        gates = ALL_GATES
    rows = ["| gate | family | forward | backward | shapes |", "| --- | --- | --- | --- | --- |"]
    for doc in map(parse_gate_doc, gates):
        cells = (doc.forward, doc.backward, doc.shapes)
        rows.append(f"| `{doc.name}` | {doc.family} | " + " | ".join(map(to_cell, cells)) + " |")
    return "\n".join(rows)


def on_page_markdown(markdown: str, page, **kwargs) -> str:
    """MkDocs hook: put the table in place of the marker on the derivatives page."""
    if page.file.src_uri != PAGE:
        return markdown
    if MARKER not in markdown:
        raise ValueError(f"{PAGE} lost its marker {MARKER}: the table has nowhere to go")
    return markdown.replace(MARKER, derivatives_table())


if __name__ == "__main__":
    print(derivatives_table())
