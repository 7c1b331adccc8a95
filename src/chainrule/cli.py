"""The `chainrule` command: train, evaluate, predict, graph, explore and data download."""

from __future__ import annotations

import argparse
import os
import sys

from chainrule._version import __version__


def build_parser() -> argparse.ArgumentParser:
    from chainrule.data import commands as data_commands
    from chainrule.explorer import command as explore_command
    from chainrule.graph import command as graph_command
    from chainrule.training import commands

    parser = argparse.ArgumentParser(
        prog="chainrule",
        description="Computational graphs and backpropagation on NumPy.",
        epilog="Start with `chainrule train` (the lecture's 2-layer net on the bundled digits).",
    )
    parser.add_argument("--version", action="version", version=f"chainrule {__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    commands.build_parsers(subparsers)
    graph_command.build_parser(subparsers)
    explore_command.build_parser(subparsers)
    data_commands.build_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 0
    try:
        return args.run(args)
    except (OSError, ValueError, RuntimeError) as error:
        # Bad files, data and checkpoints get one clear line; CHAINRULE_DEBUG=1 shows
        # the traceback as well.
        if os.environ.get("CHAINRULE_DEBUG"):
            raise
        print(f"chainrule: error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
