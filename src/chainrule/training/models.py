"""The models `chainrule train --model NAME` builds."""

from __future__ import annotations

from chainrule import nn

MODELS = ("mlp", "deep-mlp")


def build_model(name: str, in_features: int, classes: int, hidden: int) -> nn.Module:
    """``mlp`` is the lecture's two-layer net f = W2 max(0, W1 x) (with biases);
    ``deep-mlp`` has three hidden layers of `hidden` units."""
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
