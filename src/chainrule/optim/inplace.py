"""In-place optimizer updates whose temporaries are one block, not one parameter, in size.

An update written with NumPy operators, ``param -= lr * grad``, makes a temporary the
size of the parameter (``lr * grad``), and it does so during ``step()``, while every
gradient of the model is alive: for a 784x256 float32 layer, 784 KiB on top of the
training step's peak memory. PyTorch avoids it with fused kernels
(``param.add_(grad, alpha=-lr)``); NumPy has none, so `blockwise` runs the same NumPy
update on successive flat blocks of the arrays instead, which bounds every temporary
to one block.

The result is bitwise the update applied to the whole arrays: an optimizer update is
elementwise, so each element goes through the same ufuncs in the same order, whichever
block it falls in; and the ufuncs the updates use (``+ - * /``, ``sqrt``, ``maximum``,
negation) are correctly rounded, so NumPy's SIMD loops and their scalar tails agree
however a block's length splits between them.

The price is speed where the heap would have recycled the whole-array temporary anyway:
each block costs its ufunc calls' fixed overhead where the whole-array formula pays it
once (a few hundredths of a millisecond per step of the MLP of `benchmarks/suite.py`,
whose peak memory it brings down to PyTorch's). The scalars of an update are 0-d arrays
(`constant`), which wins part of that back. Where a parameter-sized temporary would be
mapped afresh on every step (above glibc's mmap threshold), blocking is faster too.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import repeat

import numpy as np

# Bytes per block and per temporary: 64 KiB, 16,384 float32 or 8,192 float64 elements.
# Under glibc's 128 KiB mmap threshold, so a temporary comes from (and goes back to) the
# heap, with no page faults. Bigger blocks are a little faster (fewer ufunc calls) but
# from 128 KiB each temporary is mapped on its own; 64 KiB also keeps an update that
# holds three temporaries at once (Adam's denominator, quotient and step) near that.
BLOCK_BYTES = 64 * 1024


def constant(value: float, like: np.ndarray) -> np.ndarray:
    """`value` as a 0-d array of `like`'s dtype, for the scalars of an update.

    A Python float in a ufunc call (``lr * grad``) costs NumPy about 0.3 us on every
    call to resolve (it is a "weak" scalar, converted to the array's dtype each time),
    more than the arithmetic on a small block; a 0-d array of the array's dtype holds
    the same converted value once, so the result is bitwise the same and every block
    saves that time.

    Examples
    --------
    >>> import numpy as np
    >>> from chainrule.optim.inplace import constant
    >>> grad = np.array([1.0, 2.0], np.float32)
    >>> lr = constant(0.1, grad)
    >>> lr.dtype, lr.shape
    (dtype('float32'), ())
    >>> bool(np.array_equal(lr * grad, 0.1 * grad))
    True
    """
    return np.array(value, like.dtype)


def blockwise(update: Callable[..., None], *arrays: np.ndarray | None) -> None:
    """Run the elementwise in-place `update` on `arrays`, one flat block at a time.

    ``update(*views)`` gets one view per array (``None`` stays ``None``: an optional
    state buffer) and must write its results into the views, e.g.
    ``def update(param, grad): param -= lr * grad``. Its temporaries then hold at most
    `BLOCK_BYTES` each. Arrays of up to one block, and arrays of which any is not
    C-contiguous (a parameter that is a view, a broadcast gradient), get a single call
    on the whole arrays: the plain formula, no loop.

    Parameters
    ----------
    update : callable
        An elementwise update: each output element depends only on the elements at
        the same position of the inputs, so that blocking cannot change the result.
    *arrays : ndarray or None
        Arrays of one shape, the first one (the parameter) an ndarray whose dtype sets
        the block's length, ``BLOCK_BYTES // itemsize`` elements.

    Examples
    --------
    >>> import numpy as np
    >>> from chainrule.optim.inplace import blockwise
    >>> param, grad = np.ones(40_000, np.float32), np.full(40_000, 2, np.float32)
    >>> def sgd(param, grad):
    ...     param -= 0.25 * grad
    >>> blockwise(sgd, param, grad)     # three blocks: 16,384 + 16,384 + 7,232
    >>> print(param[[0, -1]])
    [0.5 0.5]
    """
    param = arrays[0]
    block = BLOCK_BYTES // param.itemsize
    size = param.size
    if size <= block:  # one call, NumPy's broadcasting rules as in the plain formula
        update(*arrays)
        return
    contiguous = True
    for array in arrays:
        if array is None:
            continue
        if array.shape != param.shape:
            shapes = ", ".join("None" if a is None else str(a.shape) for a in arrays)
            raise ValueError(f"blockwise: the arrays must share one shape, got {shapes}")
        contiguous = contiguous and array.flags.c_contiguous
    if not contiguous:
        update(*arrays)
        return
    # The whole blocks as the rows of a 2-D view: iterating over the rows hands out
    # the block views from C, cheaper than slicing every array for every block.
    whole = size - size % block
    rows = [
        repeat(None) if array is None else array.reshape(-1)[:whole].reshape(-1, block)
        for array in arrays
    ]
    for views in zip(*rows):
        update(*views)
    if whole < size:
        update(*[None if array is None else array.reshape(-1)[whole:] for array in arrays])


def scaled_subtract(param: np.ndarray, scale: np.ndarray, grad: np.ndarray) -> None:
    """``param -= scale * grad`` in place, one block at a time: plain SGD's update.

    The update `blockwise` would run, without its per-block function call: plain SGD is
    the update of most training loops, and on a model's small parameters the calls, not
    the arithmetic, are its cost. Bitwise ``param -= scale * grad`` (see the module
    docstring), with temporaries of one block.

    Parameters
    ----------
    param : ndarray
        Updated in place.
    scale : ndarray
        A 0-d array of `param`'s dtype (`constant`): the learning rate.
    grad : ndarray
        The gradient, of `param`'s shape; never modified.

    Examples
    --------
    >>> import numpy as np
    >>> from chainrule.optim.inplace import constant, scaled_subtract
    >>> param, grad = np.ones(40_000, np.float32), np.full(40_000, 2, np.float32)
    >>> scaled_subtract(param, constant(0.25, param), grad)
    >>> print(param[[0, -1]])
    [0.5 0.5]
    """
    block = BLOCK_BYTES // param.itemsize
    size = param.size
    if grad.shape != param.shape:
        raise ValueError(
            f"scaled_subtract: grad of shape {grad.shape} for a parameter of shape {param.shape}"
        )
    if size <= block or not (param.flags.c_contiguous and grad.flags.c_contiguous):
        param -= scale * grad
        return
    flat_param, flat_grad = param.reshape(-1), grad.reshape(-1)
    whole = size - size % block
    for p, g in zip(flat_param[:whole].reshape(-1, block), flat_grad[:whole].reshape(-1, block)):
        p -= scale * g
    if whole < size:
        flat_param[whole:] -= scale * flat_grad[whole:]
