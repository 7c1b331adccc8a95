"""Optimizer: the base class of the update rules in `chainrule.optim`.

An optimizer holds parameter groups (lists of tensors with their own hyper-parameters)
and per-parameter state (momentum buffers, running averages). ``step()`` reads each
parameter's ``.grad`` and changes ``.data`` in place, outside the graph: an update is
not a gate and records nothing.

The layout follows PyTorch's ``torch.optim.Optimizer`` so that a ported training loop
reads the same: ``param_groups``, ``state``, ``zero_grad()``, ``step()``,
``state_dict()``, ``load_state_dict()``, ``add_param_group()``.

The built-in rules write their update once, as an elementwise NumPy function, and run
it with `chainrule.optim.inplace.blockwise`, one 64 KiB block of the arrays at a time:
the formula a reader sees is the one that runs, bitwise, but its temporaries never
reach the size of a parameter (``lr * grad`` alone would add a parameter's size to the
step's peak memory, while every gradient is alive).
"""

from __future__ import annotations

import numbers
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from chainrule.engine import clear_grad
from chainrule.mode import enable_grad
from chainrule.tensor import Tensor


class Optimizer:
    """Base class: parameter groups, per-parameter state, and the step loop.

    A subclass passes its hyper-parameters as `defaults`, checks them in `_validate`
    and implements the update of one parameter in `_update`.

    Parameters
    ----------
    params : iterable of Tensor or of dict
        The tensors to optimize, or parameter groups: dicts with a ``'params'`` list
        and any hyper-parameters that differ from the defaults for that group, e.g.
        ``[{'params': [w1]}, {'params': [w2], 'lr': 0.01}]``.
    defaults : dict
        The hyper-parameters a group gets when it does not set them.

    Attributes
    ----------
    param_groups : list of dict
        One dict per group: ``'params'`` (a list of tensors) and the hyper-parameters.
        Edit ``group['lr']`` to change a learning rate by hand (the schedules do).
    state : dict
        Per-parameter state, ``state[p]`` a dict such as ``{'step': 3, 'exp_avg': ...}``.
        Keyed by the tensor itself: ``Tensor.__hash__`` is identity, so a lookup never
        compares tensors elementwise.

    Examples
    --------
    >>> import chainrule as cr
    >>> from chainrule import optim
    >>> w, b = cr.tensor([1.0, 2.0], requires_grad=True), cr.tensor(0.0, requires_grad=True)
    >>> opt = optim.SGD([{'params': [w]}, {'params': [b], 'lr': 0.5}], lr=0.1)
    >>> [group['lr'] for group in opt.param_groups]
    [0.1, 0.5]
    """

    def __init__(self, params: Iterable[Tensor] | Iterable[dict], defaults: dict[str, Any]):
        self.defaults = dict(defaults)
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        name = type(self).__name__
        if isinstance(params, Tensor):
            raise TypeError(
                f"{name}: params should be an iterable of tensors or of dicts, got a single "
                "Tensor (wrap it in a list: [w])"
            )
        if isinstance(params, dict):
            raise TypeError(
                f"{name}: params should be an iterable of tensors or of dicts, got a dict "
                "(wrap the parameter group in a list: [{'params': ...}])"
            )
        groups = list(params)
        if not groups:
            raise ValueError(f"{name} got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    # ----- parameter groups -----

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters, with its own hyper-parameters, to `param_groups`.

        Hyper-parameters the group does not set take the optimizer's defaults.
        Useful when fine-tuning: unfreeze a layer and hand its parameters over.

        Parameters
        ----------
        param_group : dict
            ``{'params': [tensors...], 'lr': ..., ...}`` (the dict is copied).
        """
        name = type(self).__name__
        if not isinstance(param_group, dict):
            raise TypeError(f"{name}: a param group must be a dict, got {type(param_group)}")
        if "params" not in param_group:
            raise ValueError(f"{name}: a param group needs a 'params' entry")
        group = dict(param_group)
        params = group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(
                f"{name}: parameters must be in an ordered collection (a list), not a set: "
                "the order of a set changes between runs, and the state dict refers to "
                "parameters by position"
            )
        params = list(params)
        index = len(self.param_groups)
        for p in params:
            _check_param(name, p, index)
        group["params"] = params
        for key, default in self.defaults.items():
            group.setdefault(key, default)

        seen = set()
        for p in params:
            if id(p) in seen:
                raise ValueError(f"{name}: param group {index} lists a parameter twice")
            seen.add(id(p))
        for other in self.param_groups:
            if any(id(p) in seen for p in other["params"]):
                raise ValueError(f"{name}: some parameters appear in more than one param group")
        self._validate(group, index)
        self.param_groups.append(group)

    def _validate(self, group: dict[str, Any], index: int) -> None:
        """Raise ValueError for an invalid hyper-parameter in `group` (subclasses)."""

    def _check(self, ok: bool, message: str, index: int) -> None:
        """Raise the house ValueError ("Adam: invalid ...") unless `ok`."""
        if not ok:
            where = f" (param group {index})" if index else ""
            raise ValueError(f"{type(self).__name__}: {message}{where}")

    def _numbers(self, group: dict[str, Any], index: int, *keys: str) -> list[float]:
        """The hyper-parameters `keys` of `group`, checked to be real numbers."""
        values = []
        for key in keys:
            value = group[key]
            if not _is_number(value):
                where = f" (param group {index})" if index else ""
                raise TypeError(
                    f"{type(self).__name__}: {key} must be a number, got {value!r}{where}"
                )
            values.append(value)
        return values

    # ----- the step -----

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear the gradients of all optimized tensors.

        Parameters
        ----------
        set_to_none : bool, default True
            Set ``p.grad = None`` (PyTorch's default). ``False`` zeroes the arrays instead.
        """
        for group in self.param_groups:
            for p in group["params"]:
                clear_grad(p, set_to_none)

    def step(self, closure: Callable[[], Any] | None = None):
        """Update every parameter that has a gradient; parameters with ``grad=None`` are skipped.

        Parameters
        ----------
        closure : callable, optional
            Re-evaluates the model and returns the loss (it is called with gradient
            recording on, before the update).

        Returns
        -------
        The closure's loss, or None.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad.data
                if grad.shape != p.data.shape:
                    raise ValueError(
                        f"{type(self).__name__}.step: a parameter of shape {p.shape} has a "
                        f"gradient of shape {grad.shape}"
                    )
                if grad.dtype != p.data.dtype:
                    grad = grad.astype(p.data.dtype)
                self._update(p.data, grad, self.state[p], group)
        return loss

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict, group: dict) -> None:
        """Change `param` in place from `grad` (never modified) and this parameter's `state`."""
        raise NotImplementedError

    def _init_state(self, param: np.ndarray, group: dict) -> dict[str, Any]:
        """The state of a parameter before its first update (also: the keys a loaded one needs)."""
        return {}

    # ----- saving and loading -----

    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state as plain data, for saving (JSON and ``.npz`` friendly).

        As in PyTorch, parameters are referred to by their position across the groups
        (0, 1, 2, ...), never stored themselves:
        ``{'state': {0: {'step': 3, 'exp_avg': ndarray, ...}, ...},
        'param_groups': [{'lr': 0.001, ..., 'params': [0, 1]}, ...]}``.
        State arrays are NumPy copies, numbers are Python numbers.
        """
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: _plain(v) for k, v in group.items() if k != "params"}
            packed["params"] = [index.setdefault(id(p), len(index)) for p in group["params"]]
            groups.append(packed)
        state = {}
        for group in self.param_groups:
            for p in group["params"]:
                if self.state.get(p):
                    state[index[id(p)]] = {k: _plain(v) for k, v in self.state[p].items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore hyper-parameters and per-parameter state from `state_dict`.

        The parameters themselves are this optimizer's: the i-th parameter here takes the
        state saved for the i-th parameter there. The groups must match in number and
        size, and each state array must have its parameter's shape; a mismatch is a
        ValueError that says what differs. Keys may be ints or strings of ints (after a
        round trip through JSON). The loaded arrays are copied.
        """
        name = type(self).__name__
        if not isinstance(state_dict, dict) or not {"state", "param_groups"} <= state_dict.keys():
            raise ValueError(
                f"{name}.load_state_dict: expected a dict with 'state' and 'param_groups' "
                "(as made by Optimizer.state_dict())"
            )
        saved_groups = list(state_dict["param_groups"])
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"{name}.load_state_dict: the state dict has {len(saved_groups)} param "
                f"group(s), this optimizer {len(self.param_groups)}"
            )
        params: list[Tensor] = []
        owner: list[int] = []  # the group of each parameter, by position
        for i, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            n_saved, n_here = len(saved.get("params", ())), len(group["params"])
            if n_saved != n_here:
                raise ValueError(
                    f"{name}.load_state_dict: param group {i} has {n_saved} parameter(s) in "
                    f"the state dict, {n_here} in this optimizer"
                )
            params.extend(group["params"])
            owner.extend([i] * n_here)

        new_state: dict[Tensor, dict[str, Any]] = {}
        for key, saved in dict(state_dict["state"]).items():
            try:
                i = int(key)
            except (TypeError, ValueError):
                raise ValueError(
                    f"{name}.load_state_dict: state key {key!r} is not a parameter index"
                ) from None
            if not 0 <= i < len(params):
                raise ValueError(
                    f"{name}.load_state_dict: state for parameter {i}, but the optimizer has "
                    f"{len(params)} parameter(s)"
                )
            p = params[i]
            new_state[p] = self._load_param_state(saved, p, i)

        new_groups = []
        for i, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            restored = dict(group)
            for key, value in saved.items():
                if key == "params":
                    continue
                if isinstance(group.get(key), tuple) and isinstance(value, list):
                    value = tuple(value)  # betas come back from JSON as a list
                restored[key] = value
            self._validate(restored, i)
            new_groups.append(restored)

        for i, p in enumerate(params):
            state = new_state.get(p)
            if state:
                missing = self._init_state(p.data, new_groups[owner[i]]).keys() - state.keys()
                if missing:
                    raise ValueError(
                        f"{name}.load_state_dict: the state of parameter {i} lacks "
                        f"{sorted(missing)} (was the state dict saved from another optimizer, "
                        "or with other options?)"
                    )
        self.param_groups[:] = new_groups
        self.state = defaultdict(dict, new_state)

    def _load_param_state(self, saved: Any, p: Tensor, i: int) -> dict[str, Any]:
        name = type(self).__name__
        if not isinstance(saved, dict):
            raise ValueError(
                f"{name}.load_state_dict: the state of parameter {i} should be a dict, got "
                f"{type(saved).__name__}"
            )
        state = {}
        for key, value in saved.items():
            if key == "step":
                state[key] = int(value)
            elif value is None or isinstance(value, (str, bool)):
                state[key] = value
            else:
                # Arrays, Tensors, nested lists (JSON), a bare number for a 0-d
                # parameter, or anything with __array__ (a torch tensor).
                array = np.asarray(value.data if isinstance(value, Tensor) else value)
                if array.dtype.kind not in "fiu":
                    raise ValueError(
                        f"{name}.load_state_dict: state {key!r} of parameter {i} is not "
                        f"numeric (got {type(value).__name__})"
                    )
                if array.shape != p.data.shape:
                    raise ValueError(
                        f"{name}.load_state_dict: state {key!r} of parameter {i} has shape "
                        f"{array.shape}, the parameter {p.data.shape}"
                    )
                # A copy, in the parameter's dtype (where the state lives).
                state[key] = array.astype(p.data.dtype, copy=True)
        return state

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines.extend(f"    {k}: {group[k]}" for k in sorted(group) if k != "params")
        lines.append(")")
        return "\n".join(lines)


def _check_param(name: str, p: Any, group_index: int) -> None:
    if not isinstance(p, Tensor):
        hint = " (pass model.parameters(), not named_parameters())" if isinstance(p, tuple) else ""
        raise TypeError(
            f"{name} can only optimize Tensors, but param group {group_index} holds a "
            f"{type(p).__name__}{hint}"
        )
    if not p.is_leaf:
        raise ValueError(
            f"{name} can't optimize a non-leaf tensor (made by {type(p.gate).__name__}); "
            "optimize the leaves it was computed from, or .detach().requires_grad_()"
        )
    if not p.requires_grad:
        raise ValueError(
            f"{name}: a parameter of shape {p.shape} does not require grad, so it would never "
            "get a gradient; create it with requires_grad=True or leave it out"
        )


def _plain(value: Any) -> Any:
    """A copy of a state or group value as plain data: ndarray copies, Python numbers."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)
