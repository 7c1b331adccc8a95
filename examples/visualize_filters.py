"""The pictures a CNN course shows: learned first-layer filters and activation maps.

Trains the small CNN of `examples/cnn_digits.py` on the bundled digits, then saves
``filters.png`` (the 16 learned 3x3 filters of the first convolution) and
``activations.png`` (a few digits and the 16 feature maps the first conv-ReLU makes of
each). Needs matplotlib (``pip install '.[plot]'``).

    python examples/visualize_filters.py [OUT_DIR] [--epochs N]
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

import chainrule as cr

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cnn_digits import digits, train  # noqa: E402


def save_filters(weight: np.ndarray, path: str, plt) -> None:
    """One square per filter of a (out, 1, k, k) weight, blue negative, red positive."""
    n = weight.shape[0]
    fig, axes = plt.subplots(2, (n + 1) // 2, figsize=(n / 2 * 1.1, 2.4))
    for ax, w in zip(axes.flat, weight[:, 0]):
        limit = np.abs(w).max()
        ax.imshow(w, cmap="RdBu_r", vmin=-limit, vmax=limit)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle("first-layer filters (3x3): red positive, blue negative")
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)


def save_activations(model, images: np.ndarray, path: str, plt) -> None:
    """Each image, then the first conv-ReLU's feature maps of it."""
    conv, relu = model[0], model[1]
    model.eval()
    with cr.no_grad():
        maps = relu(conv(cr.tensor(images))).data
    rows, n_maps = len(images), maps.shape[1]
    fig, axes = plt.subplots(rows, n_maps + 1, figsize=((n_maps + 1) * 0.7, rows * 0.8))
    for r in range(rows):
        axes[r, 0].imshow(images[r, 0], cmap="gray_r")
        for c in range(n_maps):
            axes[r, c + 1].imshow(maps[r, c], cmap="viridis")
        for ax in axes[r]:
            ax.set_xticks([])
            ax.set_yticks([])
    axes[0, 0].set_title("input", fontsize=8)
    fig.suptitle("activation maps of the first conv + ReLU")
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", default=".", help="folder for the PNG files")
    parser.add_argument("--epochs", type=int, default=10)
    args = parser.parse_args(argv)
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        message = "visualize_filters needs matplotlib: pip install 'chainrule[plot]'"
        raise SystemExit(message) from None
    x_train, y_train, x_test, y_test = digits()
    model = train(x_train, y_train, x_test, y_test, epochs=args.epochs)
    os.makedirs(args.out, exist_ok=True)
    save_filters(model[0].weight.data, os.path.join(args.out, "filters.png"), plt)
    save_activations(model, x_test[:4], os.path.join(args.out, "activations.png"), plt)
    print(f"wrote {os.path.join(args.out, 'filters.png')} and activations.png")


if __name__ == "__main__":
    main()
