"""Convolution layers: Conv2d and ConvTranspose2d, with PyTorch's arguments and defaults.

Both initialise as PyTorch does: the weight from ``kaiming_uniform_(a=sqrt(5))``, which
is U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with ``fan_in = weight.shape[1] * kh * kw``, and
the bias from the same bound. (For ConvTranspose2d, whose weight is (in, out / groups,
kh, kw), that fan_in is ``out_channels / groups * kh * kw``, as in PyTorch.)
"""

from __future__ import annotations

import math

import numpy as np

from chainrule.errors import ShapeError
from chainrule.gates.conv_args import conv_padding
from chainrule.gates.windows import pair
from chainrule.mode import STATE
from chainrule.nn import functional as F
from chainrule.nn import init
from chainrule.nn.module import Module
from chainrule.nn.parameter import Parameter

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _reset(weight: Parameter, bias: Parameter | None) -> None:
    init.kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        fan_in, _ = init.calculate_fan_in_and_fan_out(weight)
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
        init.uniform_(bias, -bound, bound)


def _channels(name: str, in_channels: int, out_channels: int, groups: int) -> None:
    if groups < 1 or in_channels % groups or out_channels % groups:
        raise ValueError(
            f"{name}: groups={groups} must divide in_channels={in_channels} and "
            f"out_channels={out_channels}"
        )


def _check_input(layer: Module, x, in_channels: int) -> None:
    shape = tuple(x.shape)
    if len(shape) not in (3, 4) or shape[-3] != in_channels:
        raise ShapeError(
            f"{layer!r}: expected input (N, {in_channels}, H, W) or ({in_channels}, H, W), "
            f"got shape {shape}"
        )


class _ConvNd(Module):
    """The parameters and settings both convolution layers share."""

    def __init__(self, name, in_channels, out_channels, kernel_size, stride, padding,
                 dilation, groups, bias, weight_shape, dtype):  # fmt: skip
        super().__init__()
        _channels(name, in_channels, out_channels, groups)
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = pair(name, "kernel_size", kernel_size, 1)
        self.stride = pair(name, "stride", stride, 1)
        self.dilation = pair(name, "dilation", dilation, 1)
        self.padding = padding if isinstance(padding, str) else pair(name, "padding", padding, 0)
        dtype = STATE.default_dtype if dtype is None else np.dtype(dtype)
        self.weight = Parameter(np.empty(weight_shape + self.kernel_size, dtype))
        if bias:
            self.bias = Parameter(np.empty(out_channels, dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw fresh weights with PyTorch's default initialisation."""
        _reset(self.weight, self.bias)

    def extra_repr(self) -> str:
        text = (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}"
        )
        if self.padding != (0, 0):
            text += f", padding={self.padding}"
        if self.dilation != (1, 1):
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        return text


class Conv2d(_ConvNd):
    """A 2-D convolution layer: ``out = conv2d(x, weight, bias)`` (`F.conv2d`).

    x: (N, in_channels, H, W) or (in_channels, H, W) -> (N, out_channels, Ho, Wo).
    ``weight`` is (out_channels, in_channels / groups, kh, kw), ``bias`` (out_channels,).
    `padding` is an int, a pair, 'valid' or 'same'; `padding_mode` 'zeros' (default),
    'reflect', 'replicate' or 'circular' (then the input is padded by `F.pad` first).

        >>> import chainrule as cr
        >>> conv = cr.nn.Conv2d(3, 16, 3, padding=1)
        >>> conv
        Conv2d(3, 16, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))
        >>> conv.weight.shape, conv(cr.randn(8, 3, 32, 32)).shape
        ((16, 3, 3, 3), (8, 16, 32, 32))
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 dtype=None):  # fmt: skip
        if padding_mode not in _PADDING_MODES:
            raise ValueError(
                f"Conv2d: padding_mode must be one of {_PADDING_MODES}, got {padding_mode!r}"
            )
        weight_shape = (out_channels, in_channels // max(groups, 1))
        super().__init__("Conv2d", in_channels, out_channels, kernel_size, stride, padding,
                         dilation, groups, bias, weight_shape, dtype)  # fmt: skip
        self.padding_mode = padding_mode
        # Checked now rather than at the first call (padding='same' needs stride 1).
        self._pads = conv_padding("Conv2d", padding, self.kernel_size, self.stride, self.dilation)

    def forward(self, x):
        _check_input(self, x, self.in_channels)
        padding = self.padding
        if self.padding_mode != "zeros":
            (top, bottom), (left, right) = self._pads
            x = F.pad(x, (left, right, top, bottom), mode=self.padding_mode)
            padding = 0
        return F.conv2d(x, self.weight, self.bias, self.stride, padding, self.dilation, self.groups)

    def extra_repr(self) -> str:
        text = super().extra_repr()
        if self.padding_mode != "zeros":
            text += f", padding_mode={self.padding_mode}"
        return text


class ConvTranspose2d(_ConvNd):
    """A transposed convolution layer (`F.conv_transpose2d`): upsamples by `stride`.

    x: (N, in_channels, H, W) or (in_channels, H, W) -> (N, out_channels, Hout, Wout),
    ``Hout = (H - 1) * stride - 2 * padding + dilation * (kh - 1) + output_padding + 1``.
    ``weight`` is (in_channels, out_channels / groups, kh, kw). ``forward(x,
    output_size=(Hout, Wout))`` picks the output padding that reaches that size.

        >>> import chainrule as cr
        >>> up = cr.nn.ConvTranspose2d(16, 8, 2, stride=2)
        >>> up.weight.shape, up(cr.randn(4, 16, 7, 7)).shape
        ((16, 8, 2, 2), (4, 8, 14, 14))
        >>> up(cr.randn(4, 16, 7, 7), output_size=(15, 15)).shape
        (4, 8, 15, 15)
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 output_padding=0, groups: int = 1, bias: bool = True, dilation=1,
                 dtype=None):  # fmt: skip
        weight_shape = (in_channels, out_channels // max(groups, 1))
        padding = pair("ConvTranspose2d", "padding", padding, 0)  # no 'same' here
        super().__init__("ConvTranspose2d", in_channels, out_channels, kernel_size, stride,
                         padding, dilation, groups, bias, weight_shape, dtype)  # fmt: skip
        self.output_padding = pair("ConvTranspose2d", "output_padding", output_padding, 0)

    def forward(self, x, output_size=None):
        _check_input(self, x, self.in_channels)
        extra = self.output_padding
        if output_size is not None:
            extra = self._output_padding(tuple(x.shape[-2:]), tuple(output_size)[-2:])
        return F.conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding, extra,
                                  self.groups, self.dilation)  # fmt: skip

    def _output_padding(self, in_hw: tuple, out_hw: tuple) -> tuple[int, int]:
        base = tuple(
            (n - 1) * s - 2 * p + d * (k - 1) + 1
            for n, s, p, d, k in zip(in_hw, self.stride, self.padding, self.dilation,
                                     self.kernel_size)
        )  # fmt: skip
        extra = tuple(o - b for o, b in zip(out_hw, base))
        if len(out_hw) != 2 or any(
            not 0 <= e < max(s, d) for e, s, d in zip(extra, self.stride, self.dilation)
        ):
            reachable = [
                (b, b + max(s, d) - 1) for b, s, d in zip(base, self.stride, self.dilation)
            ]
            raise ValueError(
                f"{self!r}: output_size {out_hw} cannot be reached from input size {in_hw}; "
                f"height and width must lie in {reachable[0]} and {reachable[1]}"
            )
        return extra

    def extra_repr(self) -> str:
        text = super().extra_repr()
        if self.output_padding != (0, 0):
            text += f", output_padding={self.output_padding}"
        return text
