"""Convolution as matrix products on arrays: the first-order kernels of the conv gates.

A batch runs a chunk of samples at a time (`Windows.batches`). For each chunk, im2col
copies the windows of x once into a (C * kh * kw, chunk * Ho * row) matrix, and each
product below is one BLAS call for the chunk (per group):

    correlate    out  = w @ cols(x)                        conv2d
    conv_grads   dx   = col2im(w^T @ g),  dw = g @ cols(x)^T   its two gradients

Why this layout: the product for a whole chunk is one large GEMM rather than one small
GEMM per sample, and the weight gradient is then a plain sum over the chunks, with no
per-sample stack of products. Why chunks: the matrix of a chunk (about 1 MiB) stays in
cache between its copy and its product, and a training step never holds the windows of
the whole batch, which is nine times the input for a 3x3 kernel. Backward copies the
windows again rather than keeping them from the forward pass, for the same reason.
"""

from __future__ import annotations

import numpy as np

from chainrule.gates.windows import Windows


def _grouped(w: np.ndarray, groups: int) -> np.ndarray:
    """(O, C / groups, kh, kw) -> (groups, O / groups, C / groups * kh * kw), a view."""
    return w.reshape(groups, w.shape[0] // groups, -1)


def _by_group(a: np.ndarray, groups: int) -> np.ndarray:
    """A (K, L) matrix as (groups, K / groups, L), a view."""
    return a.reshape(groups, a.shape[0] // groups, -1)


def correlate(win: Windows, x: np.ndarray, w: np.ndarray, groups: int, b=None) -> np.ndarray:
    """conv2d of x (N, C, H, W) with w (O, C / groups, kh, kw), plus b: (N, O, Ho, Wo)."""
    n, o = x.shape[0], w.shape[0]
    out = np.empty((n, o, win.ho, win.wo), np.result_type(x, w, *([] if b is None else [b])))
    wg = _grouped(w, groups)
    bias = 0 if b is None else b.reshape(-1, 1, 1)
    for part in win.batches(n):
        chunk = x[part]
        # Cropping the product to (chunk, O, Ho, Wo) is a copy anyway: add the bias in it.
        # (The matrices are temporaries, not variables: each is freed as soon as used.)
        product = np.matmul(wg, _by_group(win.im2col(chunk), groups))
        np.add(win.unrows(product, len(chunk)), bias, out=out[part])
        del product
    return out


def conv_grads(win: Windows, x, g, w, groups: int, need_x: bool, need_w: bool, dtype):
    """conv2d's gradients for upstream g (N, O, Ho, Wo): (dx or None, dw or None).

    dx = col2im(w^T @ g), in `dtype`, and dw = the sum over chunks of g @ im2col(x)^T, in
    one pass over the chunks, which share g's matrix; x is needed for dw only, w for dx.
    """
    n, o = g.shape[:2]
    dxbuf = win.zeros(n, dtype) if need_x else None
    if need_w:  # dw transposed, (groups, C / groups * kh * kw, O / groups)
        dw_t = np.zeros((groups, win.c // groups * win.taps, o // groups), np.result_type(x, g))
    for part in win.batches(n):
        g_rows = _by_group(win.rows(g[part]), groups)  # (groups, O / groups, chunk pixels)
        chunk = part.stop - part.start
        # Each chunk matrix is freed before the next is made: at most one is alive, at
        # the peak of a training step's memory.
        if need_x:
            dcols = np.matmul(_grouped(w, groups).swapaxes(-1, -2), g_rows)
            win.col2im(dcols, dxbuf[part.start * win.image :], chunk)
            del dcols
        if need_w:
            # cols @ g^T, not g @ cols^T: the same sums, 1.3-1.5x faster in OpenBLAS for
            # these shapes (the long pixel axis is the inner dimension of both factors).
            cols = _by_group(win.im2col(x[part]), groups)
            dw_t += np.matmul(cols, g_rows.swapaxes(-1, -2))
            del cols
    dx = win.unpad(dxbuf, n) if need_x else None
    dw = dw_t.swapaxes(-1, -2).reshape(o, win.c // groups, *win.kernel) if need_w else None
    return dx, dw
