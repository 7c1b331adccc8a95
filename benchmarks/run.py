"""Run the benchmarks and print one table: medians, and ratios measured in this process.

python benchmarks/run.py            # the full run (about a minute)
python benchmarks/run.py --quick    # few repeats, to check that everything runs
python benchmarks/run.py --only chain
"""

from __future__ import annotations

import argparse
import platform

import chain
import cnn
import deep_chain
import digits_train
import import_time
import mlp
import numpy as np
from common import optional, print_table

import chainrule as cr

BENCHMARKS = {
    module.NAME: module for module in (chain, deep_chain, mlp, cnn, digits_train, import_time)
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few repeats (a smoke test)")
    parser.add_argument("--only", choices=sorted(BENCHMARKS), help="run one workload")
    args = parser.parse_args(argv)

    torch = optional("torch")
    print(
        f"Python {platform.python_version()}, NumPy {np.__version__}, chainrule "
        f"{cr.__version__}, torch {torch.__version__ if torch else 'not installed'}"
    )
    names = [args.only] if args.only else list(BENCHMARKS)
    rows = []
    for name in names:
        print(f"running {name}...", flush=True)
        rows += BENCHMARKS[name].run(args.quick)
    print()
    print_table(rows)


if __name__ == "__main__":
    main()
