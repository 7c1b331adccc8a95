"""Learning-rate schedules: change each param group's ``'lr'`` as training goes on.

A schedule wraps an optimizer and, on each ``step()`` (once per epoch, or per batch,
after ``optimizer.step()``), writes the new learning rate into every
``group['lr']``, as PyTorch's ``torch.optim.lr_scheduler`` does. Construction already
performs step 0 (and may change the lr: `LinearLR` starts at ``start_factor * lr``).

The values follow PyTorch's recurrences, each step computed from the group's current
lr, so that schedules compose (two schedules on one optimizer multiply) and a
PyTorch script ported here sees the same learning rates.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from typing import Any

from chainrule.optim.optimizer import Optimizer, _is_number
from chainrule.optim.scheduler import _TORCH_ONLY_KEYS, LRScheduler

__all__ = [
    "LRScheduler", "StepLR", "ExponentialLR", "CosineAnnealingLR", "LinearLR", "SequentialLR",
]  # fmt: skip


def _check_gamma(name: str, gamma: Any) -> None:
    if not _is_number(gamma) or gamma < 0:
        raise ValueError(f"{name}: gamma must be a number >= 0, got {gamma!r}")


class StepLR(LRScheduler):
    """Multiply the lr by `gamma` every `step_size` steps.

    ``lr_t = base_lr * gamma ** (t // step_size)`` (computed as PyTorch does: the
    current lr times gamma whenever t is a non-zero multiple of step_size).

    Parameters
    ----------
    optimizer : Optimizer
    step_size : int
        Period of the decay, in steps (>= 1).
    gamma : float, default 0.1
        Multiplicative factor of the decay.
    last_epoch : int, default -1

    Examples
    --------
    >>> import chainrule as cr
    >>> from chainrule import optim
    >>> opt = optim.SGD([cr.zeros(3, requires_grad=True)], lr=1.0)
    >>> schedule = optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    >>> lrs = []
    >>> for epoch in range(5):
    ...     lrs.append(schedule.get_last_lr()[0])
    ...     opt.step()
    ...     schedule.step()
    >>> lrs
    [1.0, 1.0, 0.5, 0.5, 0.25]
    """

    _hyperparameters = ("step_size", "gamma")

    def __init__(
        self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1
    ) -> None:
        if not isinstance(step_size, int) or isinstance(step_size, bool) or step_size < 1:
            raise ValueError(f"StepLR: step_size must be an int >= 1, got {step_size!r}")
        _check_gamma("StepLR", gamma)
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]

    def _get_closed_form_lr(self) -> list[float]:
        return [base * self.gamma ** (self.last_epoch // self.step_size) for base in self.base_lrs]


class ExponentialLR(LRScheduler):
    """Multiply the lr by `gamma` every step: ``lr_t = base_lr * gamma ** t``.

    Parameters
    ----------
    optimizer : Optimizer
    gamma : float
        Multiplicative factor of the decay, per step.
    last_epoch : int, default -1

    Examples
    --------
    >>> import chainrule as cr
    >>> from chainrule import optim
    >>> opt = optim.SGD([cr.zeros(3, requires_grad=True)], lr=1.0)
    >>> schedule = optim.lr_scheduler.ExponentialLR(opt, gamma=0.5)
    >>> opt.step(); schedule.step(); opt.step(); schedule.step()
    >>> schedule.get_last_lr()
    [0.25]
    """

    _hyperparameters = ("gamma",)

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        _check_gamma("ExponentialLR", gamma)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self._is_initial:  # resuming: the initial step must not decay once more
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]

    def _get_closed_form_lr(self) -> list[float]:
        return [base * self.gamma**self.last_epoch for base in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    r"""Anneal the lr from its initial value to `eta_min` along half a cosine in `T_max` steps.

    ``lr_t = eta_min + (base_lr - eta_min) * (1 + cos(pi * t / T_max)) / 2``
    (SGDR without restarts). As in PyTorch, it is computed by the recurrence::

        lr_t = eta_min + (lr_{t-1} - eta_min) * (1 + cos(pi t / T)) / (1 + cos(pi (t-1) / T))

    (T = T_max), which equals the closed form when nothing else changes the lr, and past `T_max`
    the lr rises again along the cosine.

    Parameters
    ----------
    optimizer : Optimizer
    T_max : int
        Number of steps of the half period (> 0).
    eta_min : float, default 0
        The lowest learning rate.
    last_epoch : int, default -1

    Examples
    --------
    >>> import chainrule as cr
    >>> from chainrule import optim
    >>> opt = optim.SGD([cr.zeros(3, requires_grad=True)], lr=1.0)
    >>> schedule = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=4)
    >>> lrs = []
    >>> for epoch in range(5):
    ...     lrs.append(round(schedule.get_last_lr()[0], 4))
    ...     opt.step()
    ...     schedule.step()
    >>> lrs
    [1.0, 0.8536, 0.5, 0.1464, 0.0]
    """

    _hyperparameters = ("T_max", "eta_min")

    def __init__(
        self,
        optimizer: Optimizer,
        T_max: int,
        eta_min: float = 0.0,
        last_epoch: int = -1,  # noqa: N803
    ) -> None:
        if not _is_number(T_max) or T_max <= 0:
            raise ValueError(f"CosineAnnealingLR: T_max must be a number > 0, got {T_max!r}")
        if not _is_number(eta_min) or eta_min < 0:
            raise ValueError(f"CosineAnnealingLR: eta_min must be a number >= 0, got {eta_min!r}")
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        t, t_max, eta_min = self.last_epoch, self.T_max, self.eta_min
        if self._is_initial:
            return self._current_lrs()
        if self._step_count == 1 and t > 0:
            return [
                eta_min + (base - eta_min) * (1 + math.cos(t * math.pi / t_max)) / 2
                for base in self.base_lrs
            ]
        if (t - 1 - t_max) % (2 * t_max) == 0:  # at the trough the ratio below is 0 / 0
            return [
                lr + (base - eta_min) * (1 - math.cos(math.pi / t_max)) / 2
                for base, lr in zip(self.base_lrs, self._current_lrs())
            ]
        return [
            (1 + math.cos(math.pi * t / t_max))
            / (1 + math.cos(math.pi * (t - 1) / t_max))
            * (lr - eta_min)
            + eta_min
            for lr in self._current_lrs()
        ]

    def _get_closed_form_lr(self) -> list[float]:
        t, t_max, eta_min = self.last_epoch, self.T_max, self.eta_min
        return [
            eta_min + (base - eta_min) * (1 + math.cos(math.pi * t / t_max)) / 2
            for base in self.base_lrs
        ]


class LinearLR(LRScheduler):
    """Scale the lr by a factor going linearly from `start_factor` to `end_factor`: warmup.

    ``lr_t = base_lr * (start_factor + (end_factor - start_factor) * min(t, total_iters)
    / total_iters)``, computed as PyTorch does, by a ratio of consecutive factors
    applied to the current lr. With the defaults the lr climbs from a third of its value
    to the full value over 5 steps, then stays.

    Parameters
    ----------
    optimizer : Optimizer
    start_factor : float, default 1/3
        Factor at step 0, in (0, 1].
    end_factor : float, default 1.0
        Factor from step `total_iters` on, in [0, 1].
    total_iters : int, default 5
        Number of steps of the ramp (>= 1).
    last_epoch : int, default -1

    Examples
    --------
    >>> import chainrule as cr
    >>> from chainrule import optim
    >>> opt = optim.SGD([cr.zeros(3, requires_grad=True)], lr=1.0)
    >>> warmup = optim.lr_scheduler.LinearLR(opt, start_factor=0.25, total_iters=3)
    >>> lrs = []
    >>> for epoch in range(5):
    ...     lrs.append(warmup.get_last_lr()[0])
    ...     opt.step()
    ...     warmup.step()
    >>> lrs
    [0.25, 0.5, 0.75, 1.0, 1.0]
    """

    _hyperparameters = ("start_factor", "end_factor", "total_iters")

    def __init__(
        self,
        optimizer: Optimizer,
        start_factor: float = 1.0 / 3,
        end_factor: float = 1.0,
        total_iters: int = 5,
        last_epoch: int = -1,
    ) -> None:
        if not _is_number(start_factor) or not 0 < start_factor <= 1:
            raise ValueError(f"LinearLR: start_factor must be in (0, 1], got {start_factor!r}")
        if not _is_number(end_factor) or not 0 <= end_factor <= 1:
            raise ValueError(f"LinearLR: end_factor must be in [0, 1], got {end_factor!r}")
        if not isinstance(total_iters, int) or isinstance(total_iters, bool) or total_iters < 1:
            raise ValueError(f"LinearLR: total_iters must be an int >= 1, got {total_iters!r}")
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        t, start, end = self.last_epoch, self.start_factor, self.end_factor
        if t == 0:
            return [lr * start for lr in self._current_lrs()]
        if self._is_initial or t > self.total_iters:
            return self._current_lrs()
        ratio = 1.0 + (end - start) / (self.total_iters * start + (t - 1) * (end - start))
        return [lr * ratio for lr in self._current_lrs()]

    def _get_closed_form_lr(self) -> list[float]:
        t, start, end = self.last_epoch, self.start_factor, self.end_factor
        factor = start + (end - start) * min(self.total_iters, t) / self.total_iters
        return [base * factor for base in self.base_lrs]


class SequentialLR(LRScheduler):
    """Run schedules one after another, switching at the `milestones`: warmup, then decay.

    Schedule ``i`` runs from milestone ``i - 1`` (or 0) on and restarts from its own
    step 0 there, as PyTorch's ``SequentialLR`` does. Make the schedules on the same
    optimizer first, then pass them here.

    Parameters
    ----------
    optimizer : Optimizer
    schedulers : list of LRScheduler
        The schedules, in order of use.
    milestones : list of int
        The steps at which the next schedule takes over (one fewer than schedules).
    last_epoch : int, default -1

    Examples
    --------
    Three steps of linear warmup, then cosine annealing over four:

    >>> import chainrule as cr
    >>> from chainrule import optim
    >>> from chainrule.optim.lr_scheduler import CosineAnnealingLR, LinearLR, SequentialLR
    >>> opt = optim.SGD([cr.zeros(3, requires_grad=True)], lr=1.0)
    >>> warmup = LinearLR(opt, start_factor=0.25, total_iters=3)
    >>> schedule = SequentialLR(opt, [warmup, CosineAnnealingLR(opt, T_max=4)], milestones=[3])
    >>> lrs = []
    >>> for epoch in range(8):
    ...     lrs.append(round(schedule.get_last_lr()[0], 4))
    ...     opt.step()
    ...     schedule.step()
    >>> lrs
    [0.25, 0.5, 0.75, 1.0, 0.8536, 0.5, 0.1464, 0.0]
    """

    def __init__(
        self,
        optimizer: Optimizer,
        schedulers: list[LRScheduler],
        milestones: list[int],
        last_epoch: int = -1,
    ) -> None:
        schedulers, milestones = list(schedulers), list(milestones)
        if not schedulers:
            raise ValueError("SequentialLR: expects at least one scheduler")
        for i, scheduler in enumerate(schedulers):
            if not isinstance(scheduler, LRScheduler) or isinstance(scheduler, SequentialLR):
                raise TypeError(
                    f"SequentialLR: schedulers[{i}] is a {type(scheduler).__name__}, not a "
                    "schedule of this module (SequentialLR does not nest)"
                )
            if scheduler.optimizer is not optimizer:
                raise ValueError(
                    f"SequentialLR: schedulers[{i}] ({type(scheduler).__name__}) belongs to "
                    "another optimizer"
                )
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(
                f"SequentialLR: {len(schedulers)} schedulers need {len(schedulers) - 1} "
                f"milestone(s), got {len(milestones)}"
            )
        if milestones != sorted(milestones):
            raise ValueError(f"SequentialLR: milestones must be increasing, got {milestones}")
        self.optimizer = optimizer
        self._schedulers = schedulers
        self._milestones = milestones
        self.last_epoch = last_epoch + 1
        # Undo the step 0 each schedule took when it was made, then start the first one.
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        for scheduler in schedulers:
            scheduler.last_epoch -= 1
        current = schedulers[bisect_right(milestones, 0)]
        current._initial_step()
        self._last_lr = current.get_last_lr()

    def step(self) -> None:
        self.last_epoch += 1
        i = bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[i]
        if i > 0 and self._milestones[i - 1] == self.last_epoch:
            scheduler._update_lr(0)  # the next schedule starts from its own step 0
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()

    def state_dict(self) -> dict[str, Any]:
        return {
            "last_epoch": self.last_epoch,
            "_milestones": list(self._milestones),
            "_last_lr": list(self._last_lr),
            "_schedulers": [scheduler.state_dict() for scheduler in self._schedulers],
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        expected = {"last_epoch", "_milestones", "_last_lr", "_schedulers"}
        keys = set(state_dict) - _TORCH_ONLY_KEYS
        if keys != expected:
            raise ValueError(
                f"SequentialLR.load_state_dict: expected keys {sorted(expected)}, "
                f"got {sorted(keys)}"
            )
        saved = state_dict["_schedulers"]
        if len(saved) != len(self._schedulers):
            raise ValueError(
                f"SequentialLR.load_state_dict: {len(saved)} saved schedules, "
                f"{len(self._schedulers)} here"
            )
        for scheduler, state in zip(self._schedulers, saved):
            scheduler.load_state_dict(state)
        self.last_epoch = state_dict["last_epoch"]
        self._milestones = list(state_dict["_milestones"])
        self._last_lr = list(state_dict["_last_lr"])
