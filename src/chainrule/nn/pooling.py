"""Pooling layers: MaxPool2d, AvgPool2d and AdaptiveAvgPool2d, with PyTorch's arguments.

Thin modules around `F.max_pool2d`, `F.avg_pool2d` and `F.adaptive_avg_pool2d`; they
have no parameters. A stride of None means the kernel size (non-overlapping windows).
"""

from __future__ import annotations

from chainrule.nn import functional as F
from chainrule.nn.module import Module


class MaxPool2d(Module):
    """Max pooling: each output is the maximum of its window (`F.max_pool2d`).

    On a tie the gradient goes to the first maximal element of the window in row-major
    order (as PyTorch). x: (N, C, H, W) or (C, H, W) -> (N, C, Ho, Wo).

        >>> import chainrule as cr
        >>> pool = cr.nn.MaxPool2d(2)
        >>> pool
        MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)
        >>> pool(cr.randn(8, 16, 32, 32)).shape
        (8, 16, 16, 16)
    """

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding
        self.dilation = dilation
        self.ceil_mode = ceil_mode

    def forward(self, x):
        return F.max_pool2d(
            x, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode
        )

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
            f"dilation={self.dilation}, ceil_mode={self.ceil_mode}"
        )


class AvgPool2d(Module):
    """Average pooling: each output is the mean of its window (`F.avg_pool2d`).

    Zero padding counts in the mean by default (``count_include_pad=True``, PyTorch's
    default). x: (N, C, H, W) or (C, H, W) -> (N, C, Ho, Wo).

        >>> import chainrule as cr
        >>> cr.nn.AvgPool2d(3, stride=2, padding=1)(cr.randn(2, 4, 9, 9)).shape
        (2, 4, 5, 5)
    """

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True, divisor_override=None):  # fmt: skip
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def forward(self, x):
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)  # fmt: skip

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool2d(Module):
    """Average pooling to a fixed output size, whatever the input size
    (`F.adaptive_avg_pool2d`); ``AdaptiveAvgPool2d(1)`` is global average pooling.

        >>> import chainrule as cr
        >>> gap = cr.nn.AdaptiveAvgPool2d(1)
        >>> gap(cr.randn(2, 64, 7, 7)).shape, gap(cr.randn(2, 64, 5, 9)).shape
        ((2, 64, 1, 1), (2, 64, 1, 1))
    """

    def __init__(self, output_size) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, x):
        return F.adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"
