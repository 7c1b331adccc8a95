"""LRScheduler: the base class of the learning-rate schedules in `chainrule.optim.lr_scheduler`.

It counts steps and writes each new learning rate into the optimizer's
``group['lr']``; a schedule only says what the next rate is.
"""

from __future__ import annotations

from typing import Any

from chainrule.optim.optimizer import Optimizer

# Keys a state dict saved by torch's schedulers carries that have no meaning here.
_TORCH_ONLY_KEYS = {"_is_initial", "_get_lr_called_within_step", "verbose"}


class LRScheduler:
    """Base class of the schedules: the step counter and the writing of ``group['lr']``.

    A subclass lists its hyper-parameters in ``_hyperparameters`` (they go into the
    state dict) and implements `get_lr` (the next lrs from the current ones) and
    ``_get_closed_form_lr`` (the lrs at ``last_epoch`` from ``base_lrs``).

    Parameters
    ----------
    optimizer : Optimizer
        The optimizer whose learning rates are scheduled.
    last_epoch : int, default -1
        The index of the last step taken; -1 starts a new schedule. Pass another value
        only to resume, with ``'initial_lr'`` already in the param groups.

    Attributes
    ----------
    base_lrs : list of float
        Each group's ``'initial_lr'`` (set to its lr when the first schedule is made).
    last_epoch : int
        How many times `step` has been called (0 right after construction).

    Examples
    --------
    A schedule of one's own: halve the lr every step after the first.

    >>> import chainrule as cr
    >>> from chainrule import optim
    >>> class Halve(optim.LRScheduler):
    ...     def get_lr(self):
    ...         if self.last_epoch == 0:
    ...             return [group["lr"] for group in self.optimizer.param_groups]
    ...         return [group["lr"] / 2 for group in self.optimizer.param_groups]
    >>> opt = optim.SGD([cr.zeros(2, requires_grad=True)], lr=1.0)
    >>> schedule = Halve(opt)
    >>> for _ in range(3):
    ...     opt.step()
    ...     schedule.step()
    >>> schedule.get_last_lr()
    [0.125]
    """

    _hyperparameters: tuple[str, ...] = ()
    _is_initial = False

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(
                f"{type(self).__name__}: expected a chainrule Optimizer, got "
                f"{type(optimizer).__name__}"
            )
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(
                        f"{type(self).__name__}: param group {i} has no 'initial_lr', which "
                        f"resuming with last_epoch={last_epoch} needs (load the optimizer's "
                        "state dict first, or start from last_epoch=-1)"
                    )
        self.base_lrs: list[float] = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._initial_step()

    def _initial_step(self) -> None:
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def step(self) -> None:
        """Advance the schedule by one and write the new lr into each param group."""
        self._step_count += 1
        self._update_lr()

    def _update_lr(self, epoch: int | None = None) -> None:
        if epoch is None:
            self.last_epoch += 1
            values = self.get_lr()
        else:  # SequentialLR restarting a schedule at a milestone
            self.last_epoch = epoch
            values = self._get_closed_form_lr()
        for group, lr in zip(self.optimizer.param_groups, values, strict=True):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_lr(self) -> list[float]:
        """The lrs for the step just counted, from the groups' current lrs (used by `step`).

        To read the learning rates, call `get_last_lr`.
        """
        raise NotImplementedError

    def _get_closed_form_lr(self) -> list[float]:
        raise NotImplementedError

    def _current_lrs(self) -> list[float]:
        return [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        """The learning rates the last `step` (or the construction) set, one per group."""
        return list(self._last_lr)

    def state_dict(self) -> dict[str, Any]:
        """The schedule's state as plain numbers and lists (the optimizer is not included)."""
        state = {key: getattr(self, key) for key in self._hyperparameters}
        state.update(
            base_lrs=list(self.base_lrs),
            last_epoch=self.last_epoch,
            _step_count=self._step_count,
            _last_lr=list(self._last_lr),
        )
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore the state saved by `state_dict` (unknown or missing keys are a ValueError)."""
        name = type(self).__name__
        expected = {"base_lrs", "last_epoch", "_step_count", "_last_lr"}
        expected.update(self._hyperparameters)
        keys = set(state_dict) - _TORCH_ONLY_KEYS
        if keys != expected:
            parts = []
            if expected - keys:
                parts.append(f"missing {sorted(expected - keys)}")
            if keys - expected:
                parts.append(f"unexpected {sorted(keys - expected)}")
            raise ValueError(
                f"{name}.load_state_dict: {' and '.join(parts)} (was it saved from "
                "another kind of schedule?)"
            )
        groups = len(self.optimizer.param_groups)
        for key in ("base_lrs", "_last_lr"):
            if len(state_dict[key]) != groups:
                raise ValueError(
                    f"{name}.load_state_dict: {key} has {len(state_dict[key])} entries, the "
                    f"optimizer {groups} param group(s)"
                )
        for key in expected:
            value = state_dict[key]
            setattr(self, key, list(value) if isinstance(value, (list, tuple)) else value)
