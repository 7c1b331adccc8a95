"""Workload 4: import time and installed size, per library.

Import time: `benchmarks/import_time.py`'s method. The import statement is timed inside
fresh interpreters (start-up left out), interleaved across libraries, with a private,
warmed bytecode cache (PYTHONPYCACHEPREFIX) so that no library pays for compiling its
sources, whatever PYTHONDONTWRITEBYTECODE says.

Installed size: the bytes on disk of the distribution's files as its installer recorded
them (``importlib.metadata`` RECORD: packages, bundled shared libraries such as
numpy.libs or torch/lib, data), without ``__pycache__`` (bytecode depends on how it was
installed) and without the .dist-info metadata; for an editable install (chainrule in a
checkout) the package directory instead. "With dependencies" adds the distributions
named by ``Requires-Dist`` (without extras), recursively, each counted once: what
``pip install <library>`` puts into an empty environment.
"""

from __future__ import annotations

import importlib.util
import os
import re
import tempfile
from importlib import metadata
from pathlib import Path

import import_time

from perfsuite import spec


def distribution_bytes(name: str) -> int:
    """Bytes of one installed distribution's files (see the module docstring)."""
    dist = metadata.distribution(name)
    total, saw_package = 0, False
    for file in dist.files or ():
        parts = file.parts
        if "__pycache__" in parts or parts[0].endswith(".dist-info") or parts[0] == "..":
            continue
        path = Path(dist.locate_file(file))
        if path.is_file():
            total += path.stat().st_size
            saw_package = saw_package or file.suffix in (".py", ".so")
    if not saw_package:  # editable: the RECORD holds only a .pth or a finder
        package = Path(importlib.util.find_spec(name).submodule_search_locations[0])
        total += sum(
            p.stat().st_size
            for p in package.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts
        )
    return total


def _requirements(name: str) -> list[str]:
    names = []
    for requirement in metadata.requires(name) or ():
        if "extra ==" in requirement:
            continue
        names.append(re.split(r"[\s;<>=!~\[(]", requirement, maxsplit=1)[0])
    return names


def with_dependencies_bytes(name: str) -> int:
    """Bytes of `name` and its installed runtime dependencies, each counted once."""
    seen, todo, total = set(), [name], 0
    while todo:
        current = todo.pop()
        key = current.lower().replace("_", "-")
        if key in seen:
            continue
        seen.add(key)
        try:
            total += distribution_bytes(current)
        except metadata.PackageNotFoundError:
            continue  # an environment marker left it out here
        todo += _requirements(current)
    return total


def measure(libraries: list[str], runs: int) -> dict[str, dict]:
    """Import milliseconds (median of `runs`) and MiB on disk for each library."""
    modules = tuple(dict.fromkeys(spec.LIBRARIES[lib] for lib in libraries))
    with tempfile.TemporaryDirectory() as cache:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = cache
        import_time.import_ms(modules, 1, env)  # fills the bytecode cache
        ms = import_time.import_ms(modules, runs, env)
    report = {}
    for library in libraries:
        module = spec.LIBRARIES[library]
        report[library] = {
            "import_ms": ms[module],
            "own_mib": distribution_bytes(module) / 2**20,
            "with_deps_mib": with_dependencies_bytes(module) / 2**20,
        }
    return report
