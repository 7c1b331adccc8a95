"""The models `chainrule train --model NAME` builds."""

from __future__ import annotations

from chainrule import nn

MODELS = ("mlp", "deep-mlp", "cnn")

#: The (channels, height, width) of each dataset's images, which arrive as flat rows.
IMAGE_SHAPES = {"digits": (1, 8, 8), "mnist": (1, 28, 28), "cifar10": (3, 32, 32)}


def build_model(
    name: str, in_features: int, classes: int, hidden: int, image_shape=None
) -> nn.Module:
    """``mlp`` is the lecture's two-layer net f = W2 max(0, W1 x) (with biases);
    ``deep-mlp`` has three hidden layers of `hidden` units; ``cnn`` is a small
    convolutional net on images of `image_shape` (C, H, W), fed as flat rows: (conv 3x3
    with padding 1, ReLU, 2x2 max-pool) twice, with 16 then 32 channels, then one linear
    layer (`hidden` is not used)."""
    if name == "cnn":
        if image_shape is None or len(image_shape) != 3:
            raise ValueError(f"model cnn needs an image shape (C, H, W), got {image_shape}")
        channels, height, width = image_shape
        return nn.Sequential(
            nn.Unflatten(1, image_shape),
            nn.Conv2d(channels, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(32 * (height // 4) * (width // 4), classes),
        )  # fmt: skip
    if name == "mlp":
        return nn.Sequential(nn.Linear(in_features, hidden), nn.ReLU(), nn.Linear(hidden, classes))
    if name == "deep-mlp":
        return nn.Sequential(
            nn.Linear(in_features, hidden), nn.ReLU(),
            nn.Linear(hidden, hidden), nn.ReLU(),
            nn.Linear(hidden, hidden), nn.ReLU(),
            nn.Linear(hidden, classes),
        )  # fmt: skip
    raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")
