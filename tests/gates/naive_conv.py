"""Naive loop implementations of convolution and pooling, the references for the tests.

One output element at a time, straight from the definitions (PyTorch's documentation):
slow and obviously right. Shapes (N, C, H, W); int arguments may be pairs.
"""

import math

import numpy as np


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    (sh, sw), (ph, pw), (dh, dw) = _pair(stride), _pair(padding), _pair(dilation)
    n, c, h, width = x.shape
    o, cg, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    ho = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    wo = (width + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    og = o // groups
    out = np.zeros((n, o, ho, wo))
    for s in range(n):
        for k in range(o):
            first = (k // og) * cg
            for i in range(ho):
                for j in range(wo):
                    total = 0.0 if b is None else b[k]
                    for ci in range(cg):
                        for a in range(kh):
                            for e in range(kw):
                                total += (
                                    w[k, ci, a, e]
                                    * xp[s, first + ci, i * sh + a * dh, j * sw + e * dw]
                                )
                    out[s, k, i, j] = total
    return out


def conv_transpose2d(x, w, b=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """Each input element scatters x * w into the output (the definition of the adjoint)."""
    (sh, sw), (ph, pw), (dh, dw) = _pair(stride), _pair(padding), _pair(dilation)
    oph, opw = _pair(output_padding)
    n, c, h, width = x.shape
    _, og, kh, kw = w.shape
    cg = c // groups
    ho = (h - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1
    wo = (width - 1) * sw - 2 * pw + dw * (kw - 1) + opw + 1
    full = np.zeros((n, og * groups, ho + 2 * ph + sh + dh * kh, wo + 2 * pw + sw + dw * kw))
    for s in range(n):
        for ci in range(c):
            g = ci // cg
            for i in range(h):
                for j in range(width):
                    for ko in range(og):
                        for a in range(kh):
                            for e in range(kw):
                                full[s, g * og + ko, i * sh + a * dh, j * sw + e * dw] += (
                                    x[s, ci, i, j] * w[ci, ko, a, e]
                                )
    out = full[:, :, ph : ph + ho, pw : pw + wo]
    return out if b is None else out + b.reshape(1, -1, 1, 1)


def conv2d_weight_grad(x, gy, kernel, stride=1, padding=0, dilation=1, groups=1):
    """dw[o, c, a, e] = sum over n, i, j of gy[n, o, i, j] * xpad[n, c, i*s + a*d, j*s + e*d]."""
    (sh, sw), (ph, pw), (dh, dw) = _pair(stride), _pair(padding), _pair(dilation)
    kh, kw = _pair(kernel)
    n, c, _, _ = x.shape
    _, o, ho, wo = gy.shape
    cg, og = c // groups, o // groups
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    out = np.zeros((o, cg, kh, kw))
    for k in range(o):
        first = (k // og) * cg
        for ci in range(cg):
            for a in range(kh):
                for e in range(kw):
                    for s in range(n):
                        for i in range(ho):
                            for j in range(wo):
                                out[k, ci, a, e] += (
                                    gy[s, k, i, j]
                                    * xp[s, first + ci, i * sh + a * dh, j * sw + e * dw]
                                )
    return out


def pool_size(size, k, s, p, d, ceil_mode):
    """PyTorch's pooled size: the last window must start inside the input or left padding."""
    span = size + 2 * p - d * (k - 1) - 1
    out = (math.ceil(span / s) if ceil_mode else span // s) + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


def max_pool2d(x, kernel, stride=None, padding=0, dilation=1, ceil_mode=False):
    """(out, grad_of_sum): the max of each window, and the gradient of sum(out) with each
    window's gradient on its first maximal element in row-major order."""
    (kh, kw) = _pair(kernel)
    (sh, sw) = _pair(kernel if stride is None else stride)
    (ph, pw), (dh, dw) = _pair(padding), _pair(dilation)
    n, c, h, width = x.shape
    ho, wo = pool_size(h, kh, sh, ph, dh, ceil_mode), pool_size(width, kw, sw, pw, dw, ceil_mode)
    out = np.zeros((n, c, ho, wo))
    grad = np.zeros(x.shape)
    for s in range(n):
        for ch in range(c):
            for i in range(ho):
                for j in range(wo):
                    best, where = -np.inf, None
                    for a in range(kh):
                        for e in range(kw):
                            r, q = i * sh - ph + a * dh, j * sw - pw + e * dw
                            if 0 <= r < h and 0 <= q < width and x[s, ch, r, q] > best:
                                best, where = x[s, ch, r, q], (r, q)
                    out[s, ch, i, j] = best
                    grad[s, ch][where] += 1
    return out, grad


def avg_pool2d(x, kernel, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):  # fmt: skip
    (kh, kw) = _pair(kernel)
    (sh, sw) = _pair(kernel if stride is None else stride)
    (ph, pw) = _pair(padding)
    n, c, h, width = x.shape
    ho, wo = pool_size(h, kh, sh, ph, 1, ceil_mode), pool_size(width, kw, sw, pw, 1, ceil_mode)
    out = np.zeros((n, c, ho, wo))
    for i in range(ho):
        for j in range(wo):
            r0, q0 = i * sh - ph, j * sw - pw
            # A window reaches at most to the end of the padding (ceil mode cuts it there).
            r1, q1 = min(r0 + kh, h + ph), min(q0 + kw, width + pw)
            rows = range(max(r0, 0), min(r1, h))
            cols = range(max(q0, 0), min(q1, width))
            total = sum(x[:, :, r, q] for r in rows for q in cols)
            if divisor_override:
                divisor = divisor_override
            elif count_include_pad:
                divisor = (r1 - r0) * (q1 - q0)
            else:
                divisor = len(rows) * len(cols)
            out[:, :, i, j] = total / divisor
    return out


def adaptive_avg_pool2d(x, output_size):
    oh, ow = _pair(output_size)
    n, c, h, width = x.shape
    out = np.zeros((n, c, oh, ow))
    for i in range(oh):
        for j in range(ow):
            r0, r1 = (i * h) // oh, -(-((i + 1) * h) // oh)
            q0, q1 = (j * width) // ow, -(-((j + 1) * width) // ow)
            out[:, :, i, j] = x[:, :, r0:r1, q0:q1].mean(axis=(2, 3))
    return out
