"""The one engine hook of chainrule.distributed, shared by every wrapped model.

`register` adds a reducer to a list of weak references and puts `dispatch` into
`chainrule.engine.BACKWARD_HOOKS`; when the last registered reducer is garbage
collected, `dispatch` takes itself out again, so that a process which no longer wraps
a model pays nothing in `backward()`. The list keeps registration order, which is the
same on every rank, so that two wrapped models reached by one backward reduce in the
same order everywhere (a different order would mismatch the collectives).
"""

from __future__ import annotations

import weakref

from chainrule import engine

_REDUCERS: list[weakref.ref] = []


def register(reducer) -> None:
    """Call ``reducer.on_backward(leaves)`` after every backward while `reducer` lives."""
    _REDUCERS.append(weakref.ref(reducer, _forget))
    if dispatch not in engine.BACKWARD_HOOKS:
        engine.BACKWARD_HOOKS.append(dispatch)


def dispatch(leaves: dict) -> None:
    """The engine hook: every live reducer, in registration order."""
    for ref in list(_REDUCERS):
        reducer = ref()
        if reducer is not None:
            reducer.on_backward(leaves)


def _forget(ref: weakref.ref) -> None:
    if ref in _REDUCERS:
        _REDUCERS.remove(ref)
    if not _REDUCERS and dispatch in engine.BACKWARD_HOOKS:
        engine.BACKWARD_HOOKS.remove(dispatch)
