"""Pooling gates: max_pool2d and avg_pool2d (adaptive_avg_pool2d: `gates.adaptive_pool`).

Both gates walk the kernel taps (kh * kw strided views of the padded input, from
`chainrule.gates.windows`), never the pixels: the forward pass combines the taps
elementwise, the backward pass adds the gradient back into each tap's view, so windows
that overlap (stride < kernel) accumulate. When the windows tile the input exactly (the
common 2x2, stride 2), the backward writes each tap's view once into an uninitialised
array instead of adding into zeros.

Output sizes, padding and ``ceil_mode`` follow PyTorch: max pooling pads with -inf,
average pooling with zeros; with ``ceil_mode`` a last, partial window is kept if it
starts inside the input or its left padding.

Higher order. Both backward passes are linear in g. Under ``create_graph`` they are
built from differentiable gates: routing g to the winning tap (a constant mask) and a
transposed convolution with one-hot kernels for max pooling; a transposed convolution
with a box kernel for average pooling.
"""

from __future__ import annotations

import numpy as np

from chainrule.errors import ShapeError
from chainrule.gate import Gate
from chainrule.gates.conv import ConvTranspose2d
from chainrule.gates.conv_args import as_batch
from chainrule.gates.shape import reshape
from chainrule.gates.windows import Windows, pair
from chainrule.tensor import Tensor


def pool_windows(name: str, x_shape, kernel, stride, padding, dilation, ceil_mode) -> Windows:
    """The windows of a pooling layer (PyTorch's output size), checked."""
    if len(x_shape) != 4:
        raise ShapeError(f"{name}: expected input (N, C, H, W), got shape {tuple(x_shape)}")
    if any(p > k // 2 for p, k in zip(padding, kernel)):
        raise ValueError(f"{name}: padding {padding} must be at most half the kernel size {kernel}")
    out_hw, pads = [], []
    for size, k, s, p, d in zip(x_shape[2:], kernel, stride, padding, dilation):
        span = size + 2 * p - d * (k - 1) - 1
        n_out = (span + (s - 1 if ceil_mode else 0)) // s + 1
        if ceil_mode and (n_out - 1) * s >= size + p:  # the last window would start in padding
            n_out -= 1
        out_hw.append(n_out)
        # Rows after the input: the padding, or more for a partial window in ceil mode.
        needed = (n_out - 1) * s + d * (k - 1) + 1
        pads.append((p, max(p, needed - size - p)))
    if min(out_hw) < 1:
        raise ShapeError(
            f"{name}: kernel {kernel} (dilation {dilation}, padding {padding}) does not fit "
            f"the input of shape {tuple(x_shape)}: the output would be {tuple(out_hw)}"
        )
    return Windows(x_shape, kernel, stride, tuple(pads), dilation, out_hw, wide_rows=False)


def _scatter_taps(win: Windows, tap_grad, dtype) -> np.ndarray:
    """dx from the gradients per kernel tap, each added where its tap reads.

    ``tap_grad(k, out)`` gives tap k's (N, C, Ho, Wo) gradient, written into `out` when
    that is not None."""
    if win.tiles:  # every element is in one window: write each tap's view, no zeros to add to
        dx = np.empty((win.n, win.c, win.h, win.w), dtype)
        for k, view in enumerate(win.taps_views(dx.reshape(-1), win.n)):
            tap_grad(k, view)
        return dx
    buf = win.zeros(win.n, dtype)
    for k, view in enumerate(win.taps_views(buf, win.n)):
        view += tap_grad(k, None)
    return win.unpad(buf, win.n)


def _transposed_taps(win: Windows, routed, kernel: np.ndarray):
    """The gate form of `_scatter_taps`: a (N, C, K, Ho, Wo) tensor of per-tap gradients
    to (N, C, H, W), through a transposed convolution with one kernel per tap."""
    n, c = win.n, win.c
    routed = reshape(routed, (n * c, kernel.shape[0], win.ho, win.wo))
    dx = ConvTranspose2d.apply(
        routed, kernel, stride=win.stride, padding=win.padding, output_padding=win.leftover,
        dilation=win.dilation,
    )  # fmt: skip
    return reshape(dx, (n, c, win.h, win.w))


class MaxPool2d(Gate):
    """out[n, c, h, w] = max of x over the window at (s*h - p, s*w - p) (padding is -inf).
    Shapes: x (N, C, H, W); out (N, C, Ho, Wo).
    Backward: g goes to the window's maximum; on a tie, to the first maximal element in
    row-major order within the window (as PyTorch); overlapping windows add up."""

    def forward(self, x, kernel_size=(2, 2), stride=(2, 2), padding=(0, 0), dilation=(1, 1),
                ceil_mode=False):  # fmt: skip
        if x.dtype.kind != "f":
            raise TypeError(f"max_pool2d: input must be floating point, got dtype {x.dtype}")
        self.win = win = pool_windows(
            "max_pool2d", x.shape, kernel_size, stride, padding, dilation, ceil_mode
        )
        taps = win.taps_views(win.pad(x, -np.inf), win.n)
        out = next(taps).copy()
        if not self.needs_input_grad[0]:
            for tap in taps:
                np.maximum(out, tap, out=out)
            return out
        # Which tap won, for backward: a later tap must be strictly larger to take over,
        # so a tie stays with the first; as taps are numbered upwards, the winner's number
        # is the running maximum of k * larger (a masked assignment is many times slower).
        kind = np.uint8 if win.taps < 256 else np.int32
        self.argmax = argmax = np.zeros(out.shape, kind)
        larger = np.empty(out.shape, bool)
        for k, tap in enumerate(taps, 1):
            np.greater(tap, out, out=larger)
            np.maximum(argmax, larger.view(np.uint8) * kind(k), out=argmax)
            np.maximum(out, tap, out=out)  # keeps a NaN, as PyTorch
        if np.isnan(out.sum()):  # rare: one cheap check instead of one per tap
            # PyTorch's winner in a window with a NaN is its last NaN.
            for k, tap in enumerate(win.taps_views(win.pad(x, -np.inf), win.n)):
                np.copyto(argmax, k, where=np.isnan(tap))
        return out

    def backward(self, g):
        win, argmax = self.win, self.argmax
        if isinstance(g, Tensor):  # create_graph: route g by a constant mask, then spread
            taps = np.arange(win.taps).reshape(1, 1, -1, 1, 1)
            mask = (argmax[:, :, None] == taps).astype(g.dtype)
            routed = reshape(g, (win.n, win.c, 1, win.ho, win.wo)) * mask
            one_hot = np.eye(win.taps, dtype=g.dtype).reshape(win.taps, 1, *win.kernel)
            return (_transposed_taps(win, routed, one_hot),)
        hit = np.empty(argmax.shape, bool)

        def tap_grad(k, out):
            return np.multiply(g, np.equal(argmax, k, out=hit), out=out)

        return (_scatter_taps(win, tap_grad, g.dtype),)


def _divisors(x_shape, kernel, stride, padding, out_hw, count_include_pad):
    """How many elements each window averages, per axis (PyTorch's rule): a window is cut
    at the end of the padding; without count_include_pad, padding does not count."""
    per_axis = []
    for size, k, s, p, n_out in zip(x_shape[2:], kernel, stride, padding, out_hw):
        start = np.arange(n_out) * s - p
        end = np.minimum(start + k, size + p)
        if count_include_pad:
            per_axis.append(end - start)
        else:
            per_axis.append(np.minimum(end, size) - np.maximum(start, 0))
    return np.multiply.outer(*per_axis)


class AvgPool2d(Gate):
    """out[n, c, h, w] = mean of x over the window at (s*h - p, s*w - p) (padding is 0).
    Shapes: x (N, C, H, W); out (N, C, Ho, Wo).
    Backward: each window's g / divisor is spread over its elements; overlaps add up."""

    def forward(self, x, kernel_size=(2, 2), stride=(2, 2), padding=(0, 0), ceil_mode=False,
                count_include_pad=True, divisor_override=None):  # fmt: skip
        if x.dtype.kind != "f":
            raise TypeError(f"avg_pool2d: input must be floating point, got dtype {x.dtype}")
        self.win = win = pool_windows(
            "avg_pool2d", x.shape, kernel_size, stride, padding, (1, 1), ceil_mode
        )
        if divisor_override is not None:
            divisor = np.asarray(divisor_override)
        else:
            out_hw = (win.ho, win.wo)
            divisor = _divisors(x.shape, kernel_size, stride, padding, out_hw, count_include_pad)
            if (divisor == divisor.flat[0]).all():
                divisor = divisor.flat[0]
        self.scale = scale = (1 / np.asarray(divisor, np.float64)).astype(x.dtype)
        taps = win.taps_views(win.pad(x), win.n)
        out = next(taps).copy()
        for tap in taps:
            out += tap
        out *= scale
        return out

    def backward(self, g):
        win, scale = self.win, self.scale
        if isinstance(g, Tensor):  # create_graph: a transposed convolution with a box kernel
            spread = reshape(g * scale, (win.n, win.c, 1, win.ho, win.wo))
            box = np.ones((1, 1, *win.kernel), g.dtype)
            return (_transposed_taps(win, spread, box),)
        share = g * scale

        def tap_grad(k, out):
            return share if out is None else np.copyto(out, share)

        return (_scatter_taps(win, tap_grad, g.dtype),)


# ----- the functions users call -----


def _pool_args(name: str, kernel_size, stride, padding):
    kernel = pair(name, "kernel_size", kernel_size, 1)
    # PyTorch: no stride (None, or an empty list) means stride = kernel_size.
    stride = kernel if stride is None or stride == [] else pair(name, "stride", stride, 1)
    return kernel, stride, pair(name, "padding", padding, 0)


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False):
    """Max pooling over (kh, kw) windows, with PyTorch's arguments and output size.

    Padding is -inf (it never wins) and at most half the kernel. The gradient goes to
    each window's maximum; on a tie, to the first maximal element in row-major order
    within the window (as PyTorch), and where windows overlap the gradients add. A NaN
    beats every number: the window's output is NaN and its gradient goes to the last
    NaN in the window (as PyTorch).

    Parameters
    ----------
    x : Tensor, (N, C, H, W) or (C, H, W)
    kernel_size : int or (int, int)
    stride : int or (int, int), optional
        Defaults to kernel_size.
    padding, dilation : int or (int, int)
    ceil_mode : bool
        Round the output size up: keep a last, partial window if it starts inside the
        input or its left padding.

    Returns
    -------
    Tensor, (N, C, Ho, Wo) with ``Ho = (H + 2 * padding - dilation * (kh - 1) - 1) //
    stride + 1`` (rounded up in ceil_mode; likewise Wo).

    Examples
    --------
    >>> import chainrule as cr
    >>> x = cr.tensor([[[[1.0, 2.0, 5.0, 0.0], [3.0, 4.0, 0.0, 1.0]]]], requires_grad=True)
    >>> out = cr.gates.max_pool2d(x, 2)
    >>> out.data
    array([[[[4., 5.]]]], dtype=float32)
    >>> out.sum().backward()
    >>> x.grad
    Tensor([[[[0., 0., 1., 0.],
              [0., 1., 0., 0.]]]], dtype=float32)
    """
    name = "max_pool2d"
    kernel, stride, padding = _pool_args(name, kernel_size, stride, padding)
    dilation = pair(name, "dilation", dilation, 1)
    x, unbatched = as_batch(x)
    out = MaxPool2d.apply(
        x, kernel_size=kernel, stride=stride, padding=padding, dilation=dilation,
        ceil_mode=bool(ceil_mode),
    )  # fmt: skip
    return reshape(out, out.shape[1:]) if unbatched else out


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override=None):  # fmt: skip
    """Average pooling over (kh, kw) windows, with PyTorch's arguments and divisors.

    Padding is zeros, at most half the kernel. Each window's sum is divided by its size,
    counting the padding (``count_include_pad=True``, the default) or not; a window that
    ceil_mode cuts short at the end of the padding counts only what it covers. A
    `divisor_override` replaces every divisor.

    Parameters
    ----------
    x : Tensor, (N, C, H, W) or (C, H, W)
    kernel_size : int or (int, int)
    stride : int or (int, int), optional
        Defaults to kernel_size.
    padding : int or (int, int)
    ceil_mode, count_include_pad : bool
    divisor_override : int, optional

    Returns
    -------
    Tensor, (N, C, Ho, Wo), sized as `max_pool2d`'s (without dilation).

    Examples
    --------
    >>> import chainrule as cr
    >>> x = cr.tensor([[[[1.0, 2.0, 5.0, 0.0], [3.0, 4.0, 0.0, 1.0]]]])
    >>> cr.gates.avg_pool2d(x, 2)
    Tensor([[[[2.5, 1.5]]]], dtype=float32)
    >>> cr.gates.avg_pool2d(x, 2, padding=1, count_include_pad=False)
    Tensor([[[[1. , 3.5, 0. ],
              [3. , 2. , 1. ]]]], dtype=float32)
    """
    name = "avg_pool2d"
    kernel, stride, padding = _pool_args(name, kernel_size, stride, padding)
    if divisor_override is not None and (
        not isinstance(divisor_override, (int, np.integer)) or divisor_override < 1
    ):
        raise ValueError(
            f"{name}: divisor_override must be a positive int, got {divisor_override!r}"
        )
    x, unbatched = as_batch(x)
    out = AvgPool2d.apply(
        x, kernel_size=kernel, stride=stride, padding=padding, ceil_mode=bool(ceil_mode),
        count_include_pad=bool(count_include_pad), divisor_override=divisor_override,
    )  # fmt: skip
    return reshape(out, out.shape[1:]) if unbatched else out
