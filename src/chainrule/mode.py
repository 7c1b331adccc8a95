"""Global switches: gradient recording, anomaly detection, the default float dtype.

They live in one small object so that the hot path (`Gate.apply`) reads a single
attribute instead of calling a function.
"""

from __future__ import annotations

import contextlib

import numpy as np


class _State:
    __slots__ = ("grad_enabled", "anomaly", "default_dtype")

    def __init__(self) -> None:
        self.grad_enabled = True
        self.anomaly = False
        self.default_dtype = np.dtype(np.float32)


STATE = _State()


class _GradMode(contextlib.ContextDecorator):
    """Sets gradient recording on or off inside a `with` block or a decorated function."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._previous: list[bool] = []

    def __enter__(self) -> None:
        self._previous.append(STATE.grad_enabled)
        STATE.grad_enabled = self.enabled

    def __exit__(self, *exc) -> None:
        STATE.grad_enabled = self._previous.pop()


def no_grad() -> _GradMode:
    """Stop recording gates: results of operations inside do not require grad.

    Use it as a context manager or a decorator, as in PyTorch::

        >>> import chainrule as cr
        >>> w = cr.ones(3, requires_grad=True)
        >>> with cr.no_grad():
        ...     y = w * 2
        >>> y.requires_grad
        False
    """
    return _GradMode(False)


def enable_grad() -> _GradMode:
    """Record gates again inside a `no_grad` region (context manager or decorator).

    >>> import chainrule as cr
    >>> w = cr.ones(3, requires_grad=True)
    >>> with cr.no_grad(), cr.enable_grad():
    ...     y = w * 2
    >>> y.requires_grad
    True
    """
    return _GradMode(True)


def is_grad_enabled() -> bool:
    """True when operations on tensors that require grad are being recorded.

    >>> import chainrule as cr
    >>> cr.is_grad_enabled()
    True
    >>> with cr.no_grad():
    ...     print(cr.is_grad_enabled())
    False
    """
    return STATE.grad_enabled


class detect_anomaly(contextlib.ContextDecorator):  # noqa: N801  (PyTorch's name)
    """Raise at the first gate whose forward or backward produces NaN or inf.

    Inside the block every gate also remembers where it was created, and the error
    names the gate and that place. It costs a finiteness check per gate and a stack
    capture per gate, so use it to debug, not to train::

        >>> import chainrule as cr, numpy as np
        >>> x = cr.tensor([0.0, 1.0], requires_grad=True)
        >>> with cr.detect_anomaly(), np.errstate(divide="ignore"):
        ...     y = cr.log(x)   # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        chainrule.errors.AnomalyError: Log forward produced inf ...
    """

    def __init__(self) -> None:
        self._previous: list[bool] = []

    def __enter__(self) -> None:
        self._previous.append(STATE.anomaly)
        STATE.anomaly = True

    def __exit__(self, *exc) -> None:
        STATE.anomaly = self._previous.pop()


def set_default_dtype(dtype) -> None:
    """Set the dtype that Python floats and lists become (float32 unless changed).

    >>> import chainrule as cr
    >>> cr.set_default_dtype("float64"); cr.tensor(1.5).dtype
    dtype('float64')
    >>> cr.set_default_dtype("float32")
    """
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"set_default_dtype: expected a floating dtype, got {dtype}")
    STATE.default_dtype = dtype


def get_default_dtype() -> np.dtype:
    """The dtype that Python floats and lists become when no dtype is given.

    >>> import chainrule as cr
    >>> cr.get_default_dtype()
    dtype('float32')
    >>> cr.get_default_dtype() == cr.tensor([0.5]).dtype
    True
    """
    return STATE.default_dtype
