"""Convolution gates: conv2d, its adjoint conv_transpose2d, and conv2d's weight gradient.

The three are one machinery: the windows of `chainrule.gates.windows` and the matrix
products of `chainrule.gates.im2col`, where im2col copies the windows of a chunk of
samples once into a (C * kh * kw, samples * Ho * Wo) matrix and each product is one BLAS
call (``np.matmul``):

    Conv2d            out = w @ cols(x)             (O, samples * Ho * Wo)
    ConvTranspose2d   out = col2im(w^T @ x)         conv2d's gradient in its input
    Conv2dWeightGrad  out = g @ cols(x)^T           conv2d's gradient in its weight

col2im adds the columns back with one strided add per kernel tap (kh * kw of them, never a
loop over pixels), so overlapping windows (stride < kernel) accumulate. Each gate is linear
in each input and its backward is made of the other two, so every order of derivative
exists: under ``create_graph`` the backward applies these gates to Tensors instead of
calling the array kernels.

Groups split the channels into `groups` blocks; output block k sees input block k only:
the weight is (O, C / groups, kh, kw) and the products get a groups axis.
"""

from __future__ import annotations

import numpy as np

from chainrule.errors import ShapeError
from chainrule.gate import Gate
from chainrule.gates.conv_args import as_batch, check_conv, conv_padding
from chainrule.gates.im2col import conv_grads, correlate
from chainrule.gates.shape import reshape
from chainrule.gates.windows import Windows, check_fits, pair, transposed_size
from chainrule.tensor import Tensor


def _add_bias(out: np.ndarray, b) -> np.ndarray:
    if b is not None:
        out += b.reshape(-1, 1, 1)
    return out


def _geometry(win: Windows, groups: int) -> dict:
    """The keyword arguments that make a gate slide the same windows as `win`."""
    return {
        "stride": win.stride,
        "padding": win.padding,
        "dilation": win.dilation,
        "groups": groups,
    }


def _crop(out, win: Windows):
    """A conv2d output cut to the window count of `win` (an output padding >= stride
    leaves rows that the transposed convolution's adjoint does not see)."""
    if tuple(out.shape[2:]) != (win.ho, win.wo):
        out = out[:, :, : win.ho, : win.wo]
    return out


# ----- the gates -----


class Conv2d(Gate):
    """out[n, o] = sum_{c,i,j} w[o, c, i, j] * xpad[n, c, s*h + d*i, s*w + d*j] + b[o]
    (c over the group of o; xpad: x zero-padded).
    Shapes: x (N, C, H, W), w (O, C/groups, kh, kw), b (O,); out (N, O, Ho, Wo).
    Backward: dx = conv_transpose2d(g, w), dw = Conv2dWeightGrad(x, g), db = sum of g
    over (N, Ho, Wo)."""

    def forward(self, x, w, b=None, stride=(1, 1), padding=((0, 0), (0, 0)), dilation=(1, 1),
                groups=1):  # fmt: skip
        check_conv("conv2d", x, w, b, groups)
        check_fits("conv2d", x.shape, w.shape[2:], padding, dilation)
        self.win = win = Windows(x.shape, w.shape[2:], stride, padding, dilation)
        self.groups, self.x_dtype = groups, x.dtype
        need_x, need_w = self.needs_input_grad[:2]
        # Backward copies the windows of x again rather than keeping them: a little time
        # for a lot of memory (the windows of a 3x3 convolution are 9 copies of x).
        self.save(x if need_w else None, w if need_x else None)
        return correlate(win, x, w, groups, b)

    def backward(self, g):
        x, w = self.saved
        need_x, need_w, *need_b = self.needs_input_grad
        win, groups = self.win, self.groups
        if isinstance(g, Tensor):  # create_graph: the same products, as gates
            geometry = _geometry(win, groups)
            dx = dw = None
            if need_x:
                dx = ConvTranspose2d.apply(g, w, output_padding=win.leftover, **geometry)
            if need_w:
                dw = Conv2dWeightGrad.apply(x, g, kernel_size=win.kernel, **geometry)
        else:
            dx, dw = conv_grads(win, x, g, w, groups, need_x, need_w, self.x_dtype)
        if not need_b:  # called without a bias
            return dx, dw
        return dx, dw, (g.sum(axis=(0, 2, 3)) if need_b[0] else None)


class ConvTranspose2d(Gate):
    """out = conv2d's gradient in its input, applied to x: each x[n, c, h, w] adds
    x * w[c, o] into out at (s*h - p + d*i, s*w - p + d*j), plus b[o].
    Shapes: x (N, C, H, W), w (C, O/groups, kh, kw), b (O,); out (N, O, Hout, Wout),
    Hout = (H - 1) * s - p_top - p_bottom + d * (kh - 1) + output_padding + 1.
    Backward: dx = conv2d(g, w), dw = Conv2dWeightGrad(g, x), db = sum of g over (N, H, W)."""

    def forward(self, x, w, b=None, stride=(1, 1), padding=((0, 0), (0, 0)),
                output_padding=(0, 0), dilation=(1, 1), groups=1):  # fmt: skip
        out_channels = check_conv("conv_transpose2d", x, w, b, groups, transposed=True)
        kernel = w.shape[2:]
        size = tuple(
            transposed_size(*args)
            for args in zip(x.shape[2:], kernel, stride, padding, dilation, output_padding)
        )
        if min(size) < 1:
            raise ShapeError(
                f"conv_transpose2d: the output would have size {size} for input of shape "
                f"{x.shape}, weight {w.shape}, stride {stride} and padding {padding}"
            )
        # The convolution this gate is the adjoint of, from its output back to its input.
        out_shape = (x.shape[0], out_channels, *size)
        self.win = win = Windows(out_shape, kernel, stride, padding, dilation, x.shape[2:])
        self.groups = groups
        need_x, need_w = self.needs_input_grad[:2]
        self.save(x if need_w else None, w if need_x else None)
        dtype = np.result_type(x, w)
        out, _ = conv_grads(win, None, x, w, groups, True, False, dtype)
        return _add_bias(np.ascontiguousarray(out), b)

    def backward(self, g):
        x, w = self.saved
        need_x, need_w, *need_b = self.needs_input_grad
        win, groups = self.win, self.groups
        dx = dw = None
        if isinstance(g, Tensor):  # create_graph: the same products, as gates
            geometry = _geometry(win, groups)
            if need_x:
                dx = _crop(Conv2d.apply(g, w, **geometry), win)
            if need_w:
                dw = Conv2dWeightGrad.apply(g, x, kernel_size=win.kernel, **geometry)
        else:
            if need_x:
                dx = correlate(win, g, w, groups)
            if need_w:
                _, dw = conv_grads(win, g, x, None, groups, False, True, g.dtype)
        if not need_b:
            return dx, dw
        return dx, dw, (g.sum(axis=(0, 2, 3)) if need_b[0] else None)


class Conv2dWeightGrad(Gate):
    """out = conv2d's gradient in its weight: out[o, c, i, j] = sum_{n,h,w} gy[n, o, h, w]
    * xpad[n, c, s*h + d*i, s*w + d*j] (c over the group of o).
    Shapes: x (N, C, H, W), gy (N, O, Ho, Wo); out (O, C/groups, kh, kw).
    Backward: dx = conv_transpose2d(gy, g), dgy = conv2d(x, g)."""

    def forward(self, x, gy, kernel_size=(1, 1), stride=(1, 1), padding=((0, 0), (0, 0)),
                dilation=(1, 1), groups=1):  # fmt: skip
        self.win = win = Windows(x.shape, kernel_size, stride, padding, dilation, gy.shape[2:])
        self.groups = groups
        self.save(x, gy)
        return conv_grads(win, x, gy, None, groups, False, True, x.dtype)[1]

    def backward(self, g):
        x, gy = self.saved
        need_x, need_gy = self.needs_input_grad
        win, groups = self.win, self.groups
        dx = dgy = None
        if isinstance(g, Tensor):  # create_graph: the same products, as gates
            geometry = _geometry(win, groups)
            if need_x:
                dx = ConvTranspose2d.apply(gy, g, output_padding=win.leftover, **geometry)
            if need_gy:
                dgy = _crop(Conv2d.apply(x, g, **geometry), win)
        else:
            if need_x:
                dx, _ = conv_grads(win, None, gy, g, groups, True, False, x.dtype)
            if need_gy:
                dgy = correlate(win, x, g, groups)
        return dx, dgy


# ----- the functions users call -----


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups: int = 1) -> Tensor:
    """2-D convolution (a cross-correlation, as in PyTorch and CS231n), with its arguments.

    ``out[n, o, h, w] = bias[o] + sum over c, i, j of weight[o, c, i, j] *
    xpad[n, c, stride * h + dilation * i, stride * w + dilation * j]``, c running over
    the input channels of o's group; ``xpad`` is x with `padding` zeros on each side.
    One im2col copy of the windows and one batched matrix product (`Conv2d`).

    Parameters
    ----------
    x : Tensor, (N, C, H, W) or (C, H, W)
    weight : Tensor, (O, C / groups, kh, kw)
    bias : Tensor, (O,), optional
    stride, dilation : int or (int, int)
    padding : int, (int, int), 'valid' or 'same'
        Zeros added on both sides; 'same' (stride 1 only) keeps the size, putting an odd
        extra row and column at the bottom and right, as PyTorch.
    groups : int
        Splits the channels into blocks that do not see each other; must divide C and O.

    Returns
    -------
    Tensor, (N, O, Ho, Wo) with ``Ho = (H + 2 * padding - dilation * (kh - 1) - 1) //
    stride + 1`` (likewise Wo).

    Examples
    --------
    >>> import chainrule as cr
    >>> x = cr.arange(16.0).reshape(1, 1, 4, 4)
    >>> cr.gates.conv2d(x, cr.ones(1, 1, 2, 2), stride=2)  # sums of 2x2 blocks
    Tensor([[[[10., 18.],
              [42., 50.]]]], dtype=float32)
    >>> cr.gates.conv2d(x, cr.ones(3, 1, 3, 3), padding=1).shape
    (1, 3, 4, 4)
    """
    name = "conv2d"
    stride = pair(name, "stride", stride, 1)
    dilation = pair(name, "dilation", dilation, 1)
    kernel = tuple(np.shape(weight)[2:])
    padding = conv_padding(name, padding, kernel, stride, dilation)
    x, unbatched = as_batch(x)
    params = {"stride": stride, "padding": padding, "dilation": dilation, "groups": int(groups)}
    if bias is None:
        out = Conv2d.apply(x, weight, **params)
    else:
        out = Conv2d.apply(x, weight, bias, **params)
    return reshape(out, out.shape[1:]) if unbatched else out


def conv_transpose2d(x, weight, bias=None, stride=1, padding=0, output_padding=0,
                     groups: int = 1, dilation=1) -> Tensor:  # fmt: skip
    """The transposed convolution: conv2d's gradient in its input, as a layer (PyTorch's).

    Each input pixel adds ``x[n, c, h, w] * weight[c, o]`` into the output around
    ``(stride * h - padding, stride * w - padding)``: it upsamples by `stride`.
    ``conv_transpose2d(g, w)`` is the gradient of ``conv2d(x, w)`` for upstream g (same
    stride, padding, dilation, groups), so the two are adjoint; `output_padding` adds
    rows and columns at the bottom and right, to reach input sizes that conv2d's stride
    rounded away.

    Parameters
    ----------
    x : Tensor, (N, C, H, W) or (C, H, W)
    weight : Tensor, (C, O / groups, kh, kw)  (conv2d's layout, read the other way)
    bias : Tensor, (O,), optional
    stride, padding, output_padding, dilation : int or (int, int)
        output_padding must be smaller than stride or dilation.
    groups : int

    Returns
    -------
    Tensor, (N, O, Hout, Wout) with ``Hout = (H - 1) * stride - 2 * padding +
    dilation * (kh - 1) + output_padding + 1`` (likewise Wout).

    Examples
    --------
    >>> import chainrule as cr
    >>> x = cr.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
    >>> cr.gates.conv_transpose2d(x, cr.ones(1, 1, 2, 2), stride=2)  # each pixel to 2x2
    Tensor([[[[1., 1., 2., 2.],
              [1., 1., 2., 2.],
              [3., 3., 4., 4.],
              [3., 3., 4., 4.]]]], dtype=float32)
    """
    name = "conv_transpose2d"
    stride = pair(name, "stride", stride, 1)
    dilation = pair(name, "dilation", dilation, 1)
    ph, pw = pair(name, "padding", padding, 0)
    extra = pair(name, "output_padding", output_padding, 0)
    if any(e >= max(s, d) for e, s, d in zip(extra, stride, dilation)):
        raise ValueError(
            f"{name}: output_padding {extra} must be smaller than stride {stride} or "
            f"dilation {dilation}"
        )
    x, unbatched = as_batch(x)
    params = {
        "stride": stride, "padding": ((ph, ph), (pw, pw)), "output_padding": extra,
        "dilation": dilation, "groups": int(groups),
    }  # fmt: skip
    if bias is None:
        out = ConvTranspose2d.apply(x, weight, **params)
    else:
        out = ConvTranspose2d.apply(x, weight, bias, **params)
    return reshape(out, out.shape[1:]) if unbatched else out
