"""Redraw the pictures of the docs pages from the pages' own code.

A tutorial shows the code that draws a picture (``cr.draw(f, "add_mul.svg")``) and the
picture itself; this script runs each page's code blocks (docs/codeblocks.py) in a
fresh directory and keeps every SVG file the code writes as
``docs/images/<page name>/<file>``, which the page shows. So each picture is exactly
what its code draws, and tests/test_docs.py checks that it still is. Run it from the
repository root after changing a page or the drawing code (SVG needs the draw extra)::

    python docs/make_images.py
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import codeblocks  # beside this script, which Python puts first on sys.path

DOCS = Path(__file__).resolve().parent


def pages() -> list[Path]:
    """The docs pages that have code to run, in a stable order."""
    return [
        path
        for path in sorted(DOCS.rglob("*.md"))
        if any(
            block.language in codeblocks.RUN_LANGUAGES
            for block in codeblocks.code_blocks(path.read_text(encoding="utf-8"))
        )
    ]


def image_dir(page: Path) -> Path:
    """Where the pictures of `page` are kept: docs/images/<page name>/."""
    return DOCS / "images" / page.stem


def draw_page(page: Path, workdir: Path) -> list[Path]:
    """Run `page`'s code in `workdir`; return the SVG files it wrote there."""
    here = Path.cwd()
    os.chdir(workdir)
    try:
        codeblocks.run_page(page, str(page.relative_to(DOCS.parent)))
    finally:
        os.chdir(here)
    return sorted(workdir.glob("*.svg"))


def main() -> None:
    for page in pages():
        with tempfile.TemporaryDirectory() as tmp:
            pictures = draw_page(page, Path(tmp))
            if not pictures:
                continue
            target = image_dir(page)
            shutil.rmtree(target, ignore_errors=True)  # no picture the page stopped drawing
            target.mkdir(parents=True)
            for picture in pictures:
                shutil.copyfile(picture, target / picture.name)
            names = ", ".join(p.name for p in pictures)
            print(f"{target.relative_to(DOCS.parent)}: {names}")


if __name__ == "__main__":
    main()
