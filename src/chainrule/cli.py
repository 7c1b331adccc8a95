"""The `chainrule` command. Its subcommands arrive with the issues that need them."""

from __future__ import annotations

import argparse
import sys

from chainrule._version import __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chainrule",
        description="Computational graphs and backpropagation on NumPy.",
        epilog="Start with the lecture's worked examples: python examples/lecture4.py",
    )
    parser.add_argument("--version", action="version", version=f"chainrule {__version__}")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    parser.parse_args(argv)
    parser.print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())
