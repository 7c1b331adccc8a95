"""``chainrule explore``: write the backprop explorer of an expression or a small network.

- ``chainrule explore EXPR NAME=VALUE... [-o PAGE]``: the expression language of
  ``chainrule graph`` (`chainrule.expression`), float64 values;
- ``chainrule explore --model mlp [--hidden H] [--batch N] [-o PAGE]``: the lecture's
  two-layer net f = W2 max(0, W1 x) (``chainrule train``'s mlp, small: 8 hidden units by
  default), untrained (seeded), with its cross-entropy loss on the first N bundled digits
  (4 by default). ``deep-mlp`` has three hidden layers.

The page is written to ``backprop.html`` unless ``-o`` says otherwise.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

import chainrule as cr
from chainrule.expression import parse, parse_assignments

MODELS = ("mlp", "deep-mlp")  # the flat-input networks of `chainrule train`

_EPILOG = """\
examples:
  chainrule explore "(x + y) * z" x=-2 y=5 z=-4
  chainrule explore "1 / (1 + exp(-(w0*x0 + w1*x1 + w2)))" w0=2 x0=-1 w1=-3 x1=-2 w2=-3 \\
      -o sigmoid.html --large
  chainrule explore "sum(relu(W @ x))" W=[[1,-2],[3,4]] x=1,2
  chainrule explore --model mlp --hidden 8 --batch 4 -o mlp.html

the expression language is the one of `chainrule graph` (see chainrule graph --help).
open the page in a browser: -> and <- step, space plays, Home and End jump.
"""


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def build_parser(subparsers) -> None:
    """Add the ``explore`` command to the subparsers of ``chainrule``.

    >>> import argparse
    >>> parser = argparse.ArgumentParser(prog="chainrule")
    >>> build_parser(parser.add_subparsers())
    >>> args = parser.parse_args(["explore", "x * y", "x=2", "y=3", "-o", "p.html"])
    >>> args.expression, args.values, str(args.output), args.run is run
    ('x * y', ['x=2', 'y=3'], 'p.html', True)
    """
    parser = subparsers.add_parser(
        "explore",
        help="write a page that steps through forward and backward, gate by gate",
        description="Write the backprop explorer: one self-contained HTML page that steps "
        "through the forward and backward pass of an expression or a small network, one "
        "gate at a time, with every gate's upstream x local = downstream in numbers.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("expression", nargs="?", metavar="EXPR", help='as "(x + y) * z"')
    parser.add_argument("values", nargs="*", metavar="NAME=VALUE", help="each variable's value")
    parser.add_argument("--model", choices=MODELS, help="a small network instead of EXPR")
    parser.add_argument(
        "--hidden", type=_positive, default=8, help="hidden units of --model (default 8)"
    )
    parser.add_argument(
        "--batch", type=_positive, default=4, help="digits in the batch of --model (default 4)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of --model's weights")
    parser.add_argument(
        "-o", "--output", type=Path, default=Path("backprop.html"), metavar="PAGE",
        help="the page to write (default backprop.html)",
    )  # fmt: skip
    parser.add_argument("--title", help="the page's heading (default: the expression)")
    parser.add_argument("--large", action="store_true", help="start with large fonts")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run ``chainrule explore``: write the page, say where; 0 on success."""
    if args.model is not None and (args.expression is not None or args.values):
        raise ValueError("explore: give an expression or --model, not both")
    if args.model is None and args.expression is None:
        raise ValueError('explore: give an expression (as "(x + y) * z" x=-2 y=5 z=-4) or --model')
    if args.model is not None:
        graph = model_graph(args.model, args.hidden, args.batch, args.seed)
        title = args.title or f"{args.model} ({args.hidden} hidden units) on {args.batch} digits"
    else:
        expression = parse(args.expression)
        with np.errstate(all="ignore"):  # inf and nan are shown as they are
            graph = expression.graph(parse_assignments(args.values))
        title = args.title or expression.text
    with np.errstate(all="ignore"):
        path = cr.explore(graph, args.output, title=title, large=args.large)
    print(f"wrote {path} ({os.path.getsize(path):,} bytes): open it in a browser")
    return 0


def model_graph(name: str, hidden: int = 8, batch: int = 4, seed: int = 0) -> cr.Graph:
    """The loss of a small untrained network on `batch` bundled digits, as a graph that ran
    forward (the explorer runs its backward, leaving the parameters' ``.grad`` alone).

    >>> graph = model_graph("mlp", hidden=8, batch=4)
    >>> [node.op for node in graph.nodes]
    ['Linear', 'ReLU', 'Linear', 'SoftmaxCrossEntropy']
    """
    from chainrule.training.models import build_model

    if name not in MODELS:
        raise ValueError(f"explore: unknown model {name!r}; choose one of {', '.join(MODELS)}")
    images, labels, _, _ = cr.data.digits_split()
    if batch > len(images):
        raise ValueError(f"explore: --batch is at most {len(images)} digits, got {batch}")
    cr.seed(seed)
    model = build_model(name, images.shape[1], 10, hidden)
    loss_fn = cr.nn.CrossEntropyLoss()

    def loss(images, labels):
        return loss_fn(model(images), labels)

    graph = cr.Graph(loss)
    graph.forward(cr.tensor(images[:batch]), cr.tensor(labels[:batch]))
    return graph
