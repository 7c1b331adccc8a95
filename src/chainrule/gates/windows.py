"""Sliding windows over (N, C, H, W) arrays: the geometry shared by convolution and pooling.

A window of `kernel` taps, `dilation` apart, slides over the padded input with `stride`.
Everything here works on plain arrays, without copies where NumPy allows: the windows are
one strided view of the padded input (``as_strided``), and a gate that needs them as a
matrix (im2col) makes one copy, in the layout its matrix product wants.

Padding is given per side, ``((top, bottom), (left, right))``: the public functions take
PyTorch's symmetric ``padding`` (or ``'same'``), and pooling with ``ceil_mode`` adds rows
and columns at the bottom and right only.

Wide rows. For a stride of 1 along the width, each output row is computed over the whole
padded row (``Wp`` columns) instead of the ``Wo`` valid ones: the window rows of one
kernel tap then follow each other in memory, so the view copies in runs of ``Ho * Wp``
elements rather than ``Wo`` (3x faster for a 16x16 map). The extra ``Wp - Wo`` columns
of a row read on into the start of the next row. They are cropped from every product,
and the gradient matrix (`Windows.rows`) is zero there, so they add nothing to a weight
gradient, and the transposed products give them exact zeros to add back. (One
exception: an inf or NaN in the input there turns the zero into NaN, so a non-finite
input can spoil more weight-gradient entries than PyTorch's would.)
"""

from __future__ import annotations

import numbers

import numpy as np
from numpy.lib.stride_tricks import as_strided

from chainrule.errors import ShapeError

#: Wide rows pay for the columns they compute in vain; they are used while these are at
#: most this fraction of the valid columns.
_WIDE_WASTE = 0.25
#: Elements of im2col matrix per chunk of samples (1 MiB of float32).
_CHUNK = 1 << 18


def pair(name: str, what: str, value, minimum: int) -> tuple[int, int]:
    """An int or a pair of ints as a pair, each at least `minimum` (a clear error if not)."""
    items = (value, value) if isinstance(value, numbers.Integral) else tuple(value)
    if len(items) != 2 or not all(isinstance(v, numbers.Integral) for v in items):
        raise ValueError(f"{name}: {what} must be an int or a pair of ints, got {value!r}")
    if min(items) < minimum:
        raise ValueError(f"{name}: {what} must be at least {minimum}, got {value!r}")
    return int(items[0]), int(items[1])


def out_size(padded: int, kernel: int, stride: int, dilation: int) -> int:
    """The number of whole windows along one axis of `padded` elements (floor mode)."""
    return (padded - dilation * (kernel - 1) - 1) // stride + 1


def transposed_size(size: int, kernel: int, stride: int, pads, dilation: int, extra: int) -> int:
    """The length a transposed convolution gives an axis of `size` (PyTorch's formula)."""
    return (size - 1) * stride - pads[0] - pads[1] + dilation * (kernel - 1) + extra + 1


def check_fits(name: str, x_shape: tuple, kernel: tuple, padding: tuple, dilation: tuple) -> None:
    """Raise unless the (dilated) kernel fits inside the padded input."""
    for axis, (size, k, (before, after), d) in enumerate(
        zip(x_shape[2:], kernel, padding, dilation)
    ):
        extent = d * (k - 1) + 1
        if size + before + after < extent:
            dim = "height" if axis == 0 else "width"
            raise ShapeError(
                f"{name}: kernel {tuple(kernel)} (dilation {tuple(dilation)}, so {extent} "
                f"wide) is larger than the padded input: {dim} {size} + padding "
                f"{before + after} = {size + before + after}; input shape {tuple(x_shape)}"
            )


class Windows:
    """The windows of a (N, C, H, W) input and the (Ho, Wo) output they make.

    `out_hw` defaults to every whole window (floor mode); a caller may ask for fewer
    (the adjoint of a transposed convolution whose output padding left extra rows).
    `wide_rows=False` keeps to the valid columns (pooling reads one tap at a time, where
    wide rows gain nothing).
    """

    def __init__(
        self, x_shape, kernel, stride, padding, dilation, out_hw=None, wide_rows: bool = True
    ) -> None:
        self.n, self.c, self.h, self.w = x_shape
        self.kernel, self.stride, self.padding, self.dilation = kernel, stride, padding, dilation
        (top, bottom), (left, right) = padding
        self.hp, self.wp = self.h + top + bottom, self.w + left + right
        if out_hw is None:
            out_hw = tuple(
                out_size(p, k, s, d)
                for p, k, s, d in zip((self.hp, self.wp), kernel, stride, dilation)
            )
        self.ho, self.wo = tuple(out_hw)
        slack = dilation[1] * (kernel[1] - 1)  # how far the last wide row reads past the input
        self.wide = wide_rows and stride[1] == 1 and 0 < slack <= _WIDE_WASTE * self.wo
        self.row = self.wp if self.wide else self.wo  # columns per output row
        self.slack = slack if self.wide else 0

    @property
    def taps(self) -> int:
        return self.kernel[0] * self.kernel[1]

    @property
    def leftover(self) -> tuple[int, int]:
        """The input rows and columns past the last window (a stride rounded them away):
        the output padding of the adjoint, the transposed convolution."""
        return tuple(
            size - transposed_size(out, k, s, pads, d, 0)
            for size, out, k, s, pads, d in zip(
                (self.h, self.w), (self.ho, self.wo), self.kernel, self.stride, self.padding,
                self.dilation,
            )
        )  # fmt: skip

    @property
    def tiles(self) -> bool:
        """True when the windows cover the input exactly once (stride = kernel, no padding)."""
        return (
            self.stride == tuple(self.kernel)
            and self.dilation == (1, 1)
            and (self.hp, self.wp)
            == (self.h, self.w)
            == (self.ho * self.kernel[0], self.wo * self.kernel[1])
        )

    # ----- padding (any batch size: n comes from the array) -----

    @property
    def image(self) -> int:
        """The elements of one padded sample."""
        return self.c * self.hp * self.wp

    def pad(self, x: np.ndarray, value=0.0) -> np.ndarray:
        """x inside a flat buffer of the padded shape, plus the slack wide rows read past it."""
        if not self.slack and (self.hp, self.wp) == (self.h, self.w):
            return np.ascontiguousarray(x).reshape(-1)
        (top, _), (left, _) = self.padding
        n = x.shape[0]
        size = n * self.image
        if value == 0:
            buf = np.zeros(size + self.slack, x.dtype)
        else:
            buf = np.full(size + self.slack, value, x.dtype)
        padded = buf[:size].reshape(n, self.c, self.hp, self.wp)
        padded[:, :, top : top + self.h, left : left + self.w] = x
        return buf

    def zeros(self, n: int, dtype) -> np.ndarray:
        """A zero buffer shaped like `pad`'s, to add window gradients into."""
        return np.zeros(n * self.image + self.slack, dtype)

    def unpad(self, buf: np.ndarray, n: int) -> np.ndarray:
        """The (n, C, H, W) interior of a buffer made like `pad`'s (a view)."""
        (top, _), (left, _) = self.padding
        padded = buf[: n * self.image].reshape(n, self.c, self.hp, self.wp)
        return padded[:, :, top : top + self.h, left : left + self.w]

    # ----- windows as views -----

    def view(self, buf: np.ndarray, n: int) -> np.ndarray:
        """All windows of n padded samples: a (n, C, kh, kw, Ho, row) view, no copy."""
        item = buf.itemsize
        row = self.wp * item
        image = self.hp * row
        (sh, sw), (dh, dw) = self.stride, self.dilation
        return as_strided(
            buf,
            (n, self.c, *self.kernel, self.ho, self.row),
            (self.c * image, image, dh * row, dw * item, sh * row, sw * item),
            writeable=buf.flags.writeable,
        )

    def taps_views(self, buf: np.ndarray, n: int):
        """For each kernel tap in row-major order, the (n, C, Ho, Wo) inputs it sees."""
        windows = self.view(buf, n)[..., : self.wo]
        for i in range(self.kernel[0]):
            for j in range(self.kernel[1]):
                yield windows[:, :, i, j]

    # ----- im2col and its adjoint, on a chunk of samples -----

    def batches(self, n: int) -> list[slice]:
        """Samples in chunks whose im2col matrix holds about `_CHUNK` elements.

        Convolutions run a chunk at a time: the matrix then lives in cache between its
        copy and its product, and a step never holds the whole batch's windows (a
        fraction of the memory, so fewer fresh pages for the allocator to fault in).
        """
        per_sample = self.c * self.taps * self.ho * self.row
        size = max(1, min(n, _CHUNK // max(per_sample, 1)))
        return [slice(start, min(start + size, n)) for start in range(0, n, size)]

    def im2col(self, x: np.ndarray) -> np.ndarray:
        """The windows of x (n, C, H, W) copied into a (C * kh * kw, n * Ho * row) matrix.

        Rows are (channel, tap), columns (sample, output pixel): a convolution of the
        whole chunk is one matrix product, ``w (O, C * kh * kw) @ cols``.
        """
        n = x.shape[0]
        cols = np.empty((self.c, *self.kernel, n, self.ho, self.row), x.dtype)
        np.copyto(cols, self.view(self.pad(x), n).transpose(1, 2, 3, 0, 4, 5))
        return cols.reshape(self.c * self.taps, n * self.ho * self.row)

    def col2im(self, cols: np.ndarray, buf: np.ndarray, n: int) -> None:
        """The adjoint of `im2col`: add each window column of n samples back where it was
        read, into `buf` (made like `zeros`)."""
        cols = cols.reshape(self.c, *self.kernel, n, self.ho, self.row)
        windows = self.view(buf, n).transpose(1, 2, 3, 0, 4, 5)
        # One add per kernel tap (kh * kw of them), never a loop over pixels; windows
        # that overlap (stride < kernel) add up because the taps are added in turn.
        for i in range(self.kernel[0]):
            for j in range(self.kernel[1]):
                windows[:, i, j] += cols[:, i, j]

    def rows(self, g: np.ndarray) -> np.ndarray:
        """An output-shaped (n, K, Ho, Wo) array as the (K, n * Ho * row) matrix that
        `im2col`'s products make, zero in the wide rows' extra columns."""
        n, k = g.shape[:2]
        if not self.wide:
            return np.ascontiguousarray(g.transpose(1, 0, 2, 3)).reshape(k, -1)
        out = np.empty((k, n, self.ho, self.row), g.dtype)
        out[..., self.wo :] = 0
        out[..., : self.wo] = g.transpose(1, 0, 2, 3)
        return out.reshape(k, -1)

    def unrows(self, out: np.ndarray, n: int) -> np.ndarray:
        """The inverse of `rows`: a (K, n * Ho * row) product as (n, K, Ho, Wo), a view."""
        return out.reshape(-1, n, self.ho, self.row)[..., : self.wo].transpose(1, 0, 2, 3)
