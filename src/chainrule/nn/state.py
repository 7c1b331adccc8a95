"""The state of a module: its parameters and persistent buffers by dotted name.

`Module.state_dict` and `Module.load_state_dict` are built on the two functions here.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import NamedTuple

import numpy as np

from chainrule.tensor import Tensor


class IncompatibleKeys(NamedTuple):
    """What `Module.load_state_dict` did not match (only non-empty when strict=False).

    >>> import chainrule as cr
    >>> model = cr.nn.Linear(2, 1)
    >>> model.load_state_dict({"weight": cr.zeros(1, 2)}, strict=False)
    IncompatibleKeys(missing_keys=['bias'], unexpected_keys=[])
    """

    missing_keys: list[str]
    unexpected_keys: list[str]


def state_tensors(module) -> OrderedDict[str, Tensor]:
    """Dotted name -> the live parameter or persistent buffer, in PyTorch's order.

    Per module (pre-order) its parameters, then its persistent buffers; a shared module
    or parameter appears under each of its paths, as in PyTorch.
    """
    state = OrderedDict()
    for module_name, m in module.named_modules(remove_duplicate=False):
        dot = f"{module_name}." if module_name else ""
        for key, param in m._parameters.items():
            if param is not None:
                state[dot + key] = param
        for key, buffer in m._buffers.items():
            if buffer is not None and key not in m._non_persistent:
                state[dot + key] = buffer
    return state


def load_state(module, state_dict: Mapping, strict: bool = True) -> IncompatibleKeys:
    """Check every entry of `state_dict` first, then copy them in place (see load_state_dict)."""
    if not isinstance(state_dict, Mapping):
        raise TypeError(
            f"load_state_dict: expected a mapping of names to arrays, "
            f"got {type(state_dict).__name__}"
        )
    targets = state_tensors(module)
    missing = [key for key in targets if key not in state_dict]
    unexpected = [key for key in state_dict if key not in targets]
    values, problems = {}, []
    if strict and missing:
        problems.append("missing keys: " + ", ".join(map(repr, missing)))
    if strict and unexpected:
        problems.append("unexpected keys: " + ", ".join(map(repr, unexpected)))
    for key, target in targets.items():
        if key not in state_dict:
            continue
        value = state_dict[key]
        value = np.asarray(value.data if isinstance(value, Tensor) else value)
        if value.shape != target.shape:
            problems.append(
                f"size mismatch for {key!r}: expected shape {target.shape}, got {value.shape}"
            )
        elif not np.can_cast(value.dtype, target.dtype, casting="same_kind"):
            problems.append(
                f"dtype mismatch for {key!r}: cannot load {value.dtype} into {target.dtype}"
            )
        values[key] = value
    if problems:
        raise RuntimeError(
            f"Error(s) in loading state_dict for {type(module).__name__}:\n  "
            + "\n  ".join(problems)
        )
    for key, value in values.items():
        np.copyto(targets[key].data, value, casting="same_kind")
    return IncompatibleKeys(missing, unexpected)


def cast_floats(module, dtype) -> None:
    """Cast every floating parameter and buffer (and gradient) below `module` in place."""
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"to: expected a floating dtype, got {dtype}")
    for sub in module.modules():
        for t in (*sub._parameters.values(), *sub._buffers.values()):
            if t is None or t.dtype.kind != "f":
                continue
            t.data = t.data.astype(dtype, copy=False)
            if t.grad is not None:
                t.grad = Tensor._make(t.grad.data.astype(dtype, copy=False))


def as_buffer(value, name: str):
    """`value` as a Tensor buffer (arrays and numbers are wrapped; None stays None)."""
    if value is None or isinstance(value, Tensor):
        return value
    if isinstance(value, (np.ndarray, np.generic, int, float, bool, list, tuple)):
        return Tensor(value)
    raise TypeError(
        f"buffer {name!r}: expected a Tensor, an array or None, got {type(value).__name__}"
    )
