"""The lecture's two-layer network, f = W2 max(0, W1 x), trained on the bundled digits.

Twice: first with the gates by hand (tensors, `@`, `relu`, a softmax cross-entropy and
a plain gradient-descent update: the whole of backprop is `loss.backward()`), then in a
few lines with `chainrule.nn` and `chainrule.optim`. Both reach about 97% test accuracy
in a few seconds.

    python examples/two_layer_net.py
"""

from __future__ import annotations

import numpy as np

import chainrule as cr
from chainrule import data, nn, optim
from chainrule.nn import functional as F

HIDDEN, EPOCHS, BATCH, LR = 128, 30, 64, 0.1


def by_hand(x_train, y_train, x_test, y_test) -> float:
    """W1, b1, W2, b2 as tensors; the update written out."""
    cr.seed(0)
    d, classes = x_train.shape[1], 10
    w1 = cr.tensor(cr.randn(HIDDEN, d).data * np.sqrt(2 / d), requires_grad=True)
    b1 = cr.zeros(HIDDEN, requires_grad=True)
    w2 = cr.tensor(cr.randn(classes, HIDDEN).data * np.sqrt(1 / HIDDEN), requires_grad=True)
    b2 = cr.zeros(classes, requires_grad=True)
    params = [w1, b1, w2, b2]

    def f(x):
        return cr.relu(x @ w1.T + b1) @ w2.T + b2  # f = W2 max(0, W1 x)

    loader = data.DataLoader(data.TensorDataset(x_train, y_train), batch_size=BATCH,
                             shuffle=True)  # fmt: skip
    for _ in range(EPOCHS):
        for x, y in loader:
            loss = F.cross_entropy(f(x), y)
            loss.backward()  # backprop: the chain rule, gate by gate
            for p in params:
                p.data -= LR * p.grad.data
                p.grad = None
    with cr.no_grad():
        return float(np.mean(np.argmax(f(cr.tensor(x_test)).data, axis=1) == y_test))


def with_nn(x_train, y_train, x_test, y_test) -> float:
    """The same network with modules, a loss and an optimizer."""
    cr.seed(0)
    model = nn.Sequential(nn.Linear(x_train.shape[1], HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, 10))
    optimizer = optim.SGD(model.parameters(), lr=LR)
    loader = data.DataLoader(data.TensorDataset(x_train, y_train), batch_size=BATCH,
                             shuffle=True)  # fmt: skip
    for _ in range(EPOCHS):
        for x, y in loader:
            optimizer.zero_grad()
            F.cross_entropy(model(x), y).backward()
            optimizer.step()
    model.eval()
    with cr.no_grad():
        return float(np.mean(np.argmax(model(cr.tensor(x_test)).data, axis=1) == y_test))


def main() -> None:
    x_train, y_train, x_test, y_test = data.digits_split()
    print(f"digits: {len(x_train)} training and {len(x_test)} test images of 8x8 pixels")
    split = (x_train, y_train, x_test, y_test)
    print(f"by hand (tensors and gates):  test accuracy {by_hand(*split):.4f}")
    print(f"with chainrule.nn and optim:  test accuracy {with_nn(*split):.4f}")


if __name__ == "__main__":
    main()
