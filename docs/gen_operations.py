"""The API reference of the operations: every function `chainrule.gates` exports.

`chainrule.gates` builds its ``__all__`` at import time, which mkdocstrings (reading the
source, not running it) cannot follow, so it would show none of the functions. This
MkDocs hook (``hooks:`` in mkdocs.yml) imports the package instead and, at build time,
replaces the marker ``<!-- operations -->`` in ``reference/api/operations.md`` with one
mkdocstrings block per function, grouped by gate family: a function added to the
package appears with no change to the docs.
"""

from __future__ import annotations

import inspect
import sys

PAGE = "reference/api/operations.md"
MARKER = "<!-- operations -->"
# Each function under its family's heading, named as users call it (cr.add, not the path).
_OPTIONS = "    options:\n      heading_level: 3\n      show_root_full_path: false"


def operations_markdown() -> str:
    """Markdown with a heading per family and a ``:::`` block per exported function.

    The families come in the order of `chainrule.gates.ALL_GATES`, the functions in
    alphabetical order within each.

    >>> text = operations_markdown()
    >>> text.index("## arith") < text.index("::: chainrule.gates.arith.add")
    True
    """
    import chainrule.gates as gates

    order = list(dict.fromkeys(gate.__module__ for gate in gates.ALL_GATES))
    families: dict[str, list] = {}
    names_of: dict[int, list[str]] = {}  # the names a function is exported under
    for name in sorted(gates.__all__):
        function = getattr(gates, name)
        if not inspect.isfunction(function):
            continue
        if id(function) not in names_of:
            families.setdefault(function.__module__, []).append(function)
        names_of.setdefault(id(function), []).append(name)
    parts = []
    for module_name in sorted(families, key=lambda m: (order + [m]).index(m)):
        summary = (inspect.getdoc(sys.modules[module_name]) or "").split("\n", 1)[0]
        parts += [f"## {module_name.rsplit('.', 1)[-1]}", summary]
        for function in families[module_name]:
            parts.append(f"::: {module_name}.{function.__name__}\n{_OPTIONS}")
            others = [n for n in names_of[id(function)] if n != function.__name__]
            if others:
                parts.append("Also exported as " + ", ".join(f"`{n}`" for n in others) + ".")
    return "\n\n".join(parts) + "\n"


def on_page_markdown(markdown: str, page, **kwargs) -> str:
    """MkDocs hook: put the operations in place of the marker on their page."""
    if page.file.src_uri != PAGE:
        return markdown
    if MARKER not in markdown:
        raise ValueError(f"{PAGE} lost its marker {MARKER}: the operations have nowhere to go")
    return markdown.replace(MARKER, operations_markdown())


if __name__ == "__main__":
    print(operations_markdown())
