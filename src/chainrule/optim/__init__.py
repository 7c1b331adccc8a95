"""Optimizers, learning-rate schedules and gradient clipping, as in ``torch.optim``.

    >>> import chainrule as cr
    >>> from chainrule import optim
    >>> w = cr.tensor([3.0, -1.0], requires_grad=True)
    >>> opt = optim.Adam([w], lr=0.1)
    >>> for _ in range(200):
    ...     opt.zero_grad()
    ...     loss = (w * w).sum()
    ...     loss.backward()
    ...     opt.step()
    >>> bool(loss.item() < 1e-2)
    True

Schedules live in `chainrule.optim.lr_scheduler` (as in PyTorch) and are also exported
here (``optim.StepLR``). The gradient-clipping functions, which PyTorch keeps in
``torch.nn.utils``, are here too: `clip_grad_norm_`, `clip_grad_value_`.
"""

from chainrule.optim import lr_scheduler
from chainrule.optim.adagrad import Adagrad
from chainrule.optim.adam import Adam, AdamW
from chainrule.optim.clip import clip_grad_norm_, clip_grad_value_
from chainrule.optim.lr_scheduler import (
    CosineAnnealingLR,
    ExponentialLR,
    LinearLR,
    LRScheduler,
    SequentialLR,
    StepLR,
)
from chainrule.optim.optimizer import Optimizer
from chainrule.optim.rmsprop import RMSprop
from chainrule.optim.sgd import SGD

__all__ = [
    "Optimizer", "SGD", "RMSprop", "Adagrad", "Adam", "AdamW",
    "lr_scheduler", "LRScheduler", "StepLR", "ExponentialLR", "CosineAnnealingLR", "LinearLR",
    "SequentialLR",
    "clip_grad_norm_", "clip_grad_value_",
]  # fmt: skip
