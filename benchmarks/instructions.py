"""Instructions per op of the per-op chain, counted by valgrind's cachegrind.

python benchmarks/instructions.py                   # the chainrule that is imported
python benchmarks/instructions.py SRC_A SRC_B       # source trees (directories holding
                                                    # the chainrule package), compared
python benchmarks/instructions.py --gc-off          # without the cyclic collector

Wall-clock times on a shared machine move by several percent from one run to the next
(docs/performance.md), more than most single changes to the engine are worth. The count
of instructions the CPU executes for the same work hardly moves (by under 1% between
runs, where the collector runs at other moments; by a few tenths of a percent with
`--gc-off`), so it tells such changes apart: fewer
instructions per op is less Python per op. It is no stand-in for time (a cache miss
costs as much as a hundred instructions, and they are not counted here), which the
suite measures.

Each count is the difference between two runs under cachegrind, one making
`benchmarks/chain.py`'s chain (1,000 ops, forward and backward) `--runs` times and one
making it never, divided by the ops: the start-up and imports cancel out. Needs valgrind
(``apt-get install valgrind``) on Linux.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent

# The child: the chain `runs` times after two warm-up runs, from the chainrule of `src`.
CHILD = """
import gc, sys
src, runs, gc_off = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
if src:
    sys.path.insert(0, src)
import chain
import chainrule
assert not src or chainrule.__file__.startswith(src), chainrule.__file__
if gc_off:
    gc.disable()
x, a, b = chain.inputs()
for _ in range(2 + runs):
    chain.run_chainrule(x, a, b)
"""


def instructions(src: str, runs: int, gc_off: bool) -> int:
    """Instructions executed by the child making the chain `runs` times."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", PYTHONPATH=str(BENCHMARKS))
    command = [
        "valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
        sys.executable, "-c", CHILD, src, str(runs), "1" if gc_off else "0",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    found = re.search(r"I\s+refs:\s+([\d,]+)", done.stderr)
    if done.returncode or not found:
        raise SystemExit(f"instructions: the run under valgrind failed:\n{done.stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


def per_op(src: str, runs: int, gc_off: bool) -> float:
    import chain

    made = instructions(src, runs, gc_off) - instructions(src, 0, gc_off)
    return made / (runs * chain.N_OPS)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("sources", nargs="*", help="directories holding a chainrule package")
    parser.add_argument("--runs", type=int, default=12, help="chains counted (default 12)")
    parser.add_argument("--gc-off", action="store_true", help="switch the collector off")
    args = parser.parse_args(argv)
    if shutil.which("valgrind") is None:
        raise SystemExit("instructions: needs valgrind on the PATH (apt-get install valgrind)")
    sources = [str(Path(s).resolve()) for s in args.sources] or [""]
    counts = {src or "installed chainrule": per_op(src, args.runs, args.gc_off) for src in sources}
    first = next(iter(counts.values()))
    collector = "off" if args.gc_off else "on"
    print(f"per-op chain, instructions per op (collector {collector}, {args.runs} chains):")
    for name, count in counts.items():
        print(f"{count:10,.0f}  {count / first:6.3f}x  {name}")


if __name__ == "__main__":
    main()
