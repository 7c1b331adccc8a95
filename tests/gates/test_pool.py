"""Pooling and edge padding: naive loops, ties, overlapping windows, PyTorch, errors.

`cases.py` checks MaxPool2d, AvgPool2d and EdgePad on a few shapes (first and second
order, float32); this file covers the rules and the grid.
"""

import naive_conv
import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule.errors import ShapeError


def rand(seed, *shape):
    return np.random.default_rng(seed).standard_normal(shape)


def f64(a, requires_grad=True):
    return cr.tensor(np.asarray(a, dtype=np.float64), requires_grad=requires_grad)


# (input shape, kernel, stride, padding, dilation, ceil_mode): overlapping and gapped
# windows, padding, ceil mode with and without a partial last window, rectangular.
MAX_GRID = [
    ((2, 3, 6, 6), 2, None, 0, 1, False),
    ((1, 2, 7, 7), 3, 2, 1, 1, False),
    ((1, 2, 7, 7), 3, 2, 1, 1, True),
    ((1, 1, 5, 8), (2, 3), (1, 2), (1, 0), 1, True),
    ((1, 2, 9, 9), 3, 2, 1, 2, False),
    ((1, 1, 6, 6), 2, 3, 0, 1, False),
    ((1, 1, 5, 5), 5, 1, 2, 1, False),
    ((1, 1, 4, 4), 1, 2, 0, 1, True),
]


@pytest.mark.parametrize(("shape", "kernel", "stride", "padding", "dilation", "ceil"), MAX_GRID)
def test_max_pool2d_matches_naive_loops(shape, kernel, stride, padding, dilation, ceil):
    x = rand(0, *shape)
    xt = f64(x)
    out = F.max_pool2d(xt, kernel, stride, padding, dilation, ceil)
    out.sum().backward()
    expected, grad = naive_conv.max_pool2d(x, kernel, stride, padding, dilation, ceil)
    np.testing.assert_array_equal(out.data, expected)
    np.testing.assert_array_equal(xt.grad.data, grad)


def test_max_pool2d_tie_sends_the_gradient_to_the_first_maximum_in_row_major_order():
    x = f64([[[[1.0, 3.0, 3.0], [3.0, 0.0, 3.0], [2.0, 3.0, 1.0]]]])
    out = F.max_pool2d(x, 2, stride=1)  # four overlapping windows, each with tied 3s
    np.testing.assert_array_equal(out.data, [[[[3.0, 3.0], [3.0, 3.0]]]])
    out.backward(np.array([[[[1.0, 10.0], [100.0, 1000.0]]]]))
    # window (0, 0): 3 at (0, 1) and (1, 0), the first in row-major order is (0, 1);
    # window (0, 1): (0, 1), (0, 2), (1, 2) -> (0, 1); window (1, 0): (1, 0), (2, 1) ->
    # (1, 0); window (1, 1): (1, 2), (2, 1) -> (1, 2). Overlapping windows add.
    expected = [[[[0.0, 11.0, 0.0], [100.0, 0.0, 1000.0], [0.0, 0.0, 0.0]]]]
    np.testing.assert_array_equal(x.grad.data, expected)


def test_max_pool2d_tie_matches_torch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).integers(0, 3, (2, 3, 7, 7)).astype(np.float64)  # many ties
    xt, tx = f64(x), torch.tensor(x, requires_grad=True)
    for kernel, stride, padding in [(2, 2, 0), (3, 1, 1), (3, 2, 1)]:
        xt.grad, tx.grad = None, None
        g = rand(1, *F.max_pool2d(x, kernel, stride, padding).shape)
        F.max_pool2d(xt, kernel, stride, padding).backward(g)
        torch.nn.functional.max_pool2d(tx, kernel, stride, padding).backward(torch.tensor(g))
        # The same positions (the sums of overlapping windows may round differently).
        np.testing.assert_allclose(xt.grad.data, tx.grad.numpy(), rtol=1e-13, atol=0)


def test_max_pool2d_padding_never_wins():
    x = -np.ones((1, 1, 2, 2)) * 5
    out = F.max_pool2d(x, 3, stride=1, padding=1)
    np.testing.assert_array_equal(out.data, -5 * np.ones(x.shape))


def test_max_pool2d_nan_propagates_and_takes_the_gradient_as_in_torch():
    torch = pytest.importorskip("torch")
    x = rand(0, 1, 2, 4, 4)
    x[0, 0, 0, 1] = x[0, 0, 1, 0] = np.nan  # two NaNs in one window
    x[0, 1, 3, 3] = np.nan
    xt, tx = f64(x), torch.tensor(x, requires_grad=True)
    out = F.max_pool2d(xt, 2)
    expected = torch.nn.functional.max_pool2d(tx, 2)
    out.sum().backward()
    expected.sum().backward()
    np.testing.assert_array_equal(out.data, expected.detach().numpy())  # NaN where NaN
    np.testing.assert_array_equal(xt.grad.data, tx.grad.numpy())


@pytest.mark.parametrize(
    ("shape", "kernel", "stride", "padding", "dilation", "ceil"),
    MAX_GRID + [((4, 16, 32, 32), 2, 2, 0, 1, False), ((3, 5, 11, 13), 3, 2, 1, 1, True)],
)
def test_max_pool2d_matches_torch(shape, kernel, stride, padding, dilation, ceil):
    torch = pytest.importorskip("torch")
    x, xt = rand(0, *shape), None
    xt = f64(x)
    tx = torch.tensor(x, requires_grad=True)
    out = F.max_pool2d(xt, kernel, stride, padding, dilation, ceil)
    expected = torch.nn.functional.max_pool2d(tx, kernel, stride, padding, dilation, ceil)
    g = rand(1, *expected.shape)
    out.backward(g)
    expected.backward(torch.tensor(g))
    np.testing.assert_array_equal(out.data, expected.detach().numpy())
    np.testing.assert_allclose(xt.grad.data, tx.grad.numpy(), rtol=1e-13, atol=0)


def test_max_pool2d_float32_and_unbatched():
    x = cr.tensor(rand(0, 3, 6, 6).astype(np.float32), requires_grad=True)
    out = F.max_pool2d(x, 2)
    assert out.shape == (3, 3, 3) and out.dtype == np.float32
    out.sum().backward()
    assert x.grad.dtype == np.float32 and x.grad.data.sum() == 27


# (input shape, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override)
AVG_GRID = [
    ((2, 3, 6, 6), 2, None, 0, False, True, None),
    ((1, 2, 7, 7), 3, 2, 1, False, True, None),
    ((1, 2, 7, 7), 3, 2, 1, True, False, None),
    ((1, 1, 5, 5), 2, 2, 1, True, True, None),
    ((1, 1, 5, 8), (2, 3), (1, 2), (1, 0), True, False, None),
    ((1, 2, 6, 6), 3, 1, 1, False, True, 4),
]


@pytest.mark.parametrize(("shape", "kernel", "stride", "padding", "ceil", "include", "divisor"),
                         AVG_GRID)  # fmt: skip
def test_avg_pool2d_matches_naive_and_gradcheck(shape, kernel, stride, padding, ceil, include,
                                                divisor):  # fmt: skip
    x = rand(0, *shape)

    def f(x):
        return F.avg_pool2d(x, kernel, stride, padding, ceil, include, divisor)

    expected = naive_conv.avg_pool2d(x, kernel, stride, padding, ceil, include, divisor)
    np.testing.assert_allclose(f(f64(x)).data, expected, rtol=1e-13, atol=1e-15)
    assert cr.gradcheck(f, [f64(x)])


@pytest.mark.parametrize(("shape", "kernel", "stride", "padding", "ceil", "include", "divisor"),
                         AVG_GRID + [((4, 16, 32, 32), 2, None, 0, False, True, None)])  # fmt: skip
def test_avg_pool2d_matches_torch(shape, kernel, stride, padding, ceil, include, divisor):
    torch = pytest.importorskip("torch")
    x = rand(0, *shape)
    xt, tx = f64(x), torch.tensor(x, requires_grad=True)
    out = F.avg_pool2d(xt, kernel, stride, padding, ceil, include, divisor)
    expected = torch.nn.functional.avg_pool2d(tx, kernel, stride, padding, ceil, include, divisor)
    g = rand(1, *expected.shape)
    out.backward(g)
    expected.backward(torch.tensor(g))
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(xt.grad.data, tx.grad.numpy(), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize(
    ("shape", "size"),
    [((2, 3, 7, 9), (3, 4)), ((1, 2, 8, 8), 4), ((1, 2, 5, 5), 1), ((1, 1, 6, 10), (5, None)),
     ((2, 5, 5), (2, 3)), ((1, 1, 3, 3), (5, 4))],
)  # fmt: skip
def test_adaptive_avg_pool2d_matches_naive_torch_and_gradcheck(shape, size):
    x = rand(0, *shape)
    out = F.adaptive_avg_pool2d(f64(x), size)
    batched = x if x.ndim == 4 else x[None]
    full = tuple(n if s is None else s for s, n in zip(np.broadcast_to(size, 2), shape[-2:]))
    expected = naive_conv.adaptive_avg_pool2d(batched, full)
    np.testing.assert_allclose(out.data, expected if x.ndim == 4 else expected[0], rtol=1e-13)
    assert cr.gradcheck(lambda x: F.adaptive_avg_pool2d(x, size), [f64(x)])
    torch = pytest.importorskip("torch")
    torch_size = tuple(None if s is None else int(s) for s in np.broadcast_to(size, 2))
    reference = torch.nn.functional.adaptive_avg_pool2d(torch.tensor(x), torch_size)
    np.testing.assert_allclose(out.data, reference.numpy(), rtol=1e-13)


def test_adaptive_avg_pool2d_float32():
    x = cr.tensor(rand(0, 2, 3, 7, 5).astype(np.float32), requires_grad=True)
    out = F.adaptive_avg_pool2d(x, (3, 2))
    out.sum().backward()
    assert out.dtype == x.grad.dtype == np.float32


# ----- edge padding -----


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize(("shape", "pad"), [((2, 3, 4, 5), (1, 2, 3, 0)), ((1, 2, 6), (5, 4)),
                                            ((3, 3, 3), (2, 2, 1, 2))])  # fmt: skip
def test_pad_modes_match_torch_forward_and_backward(mode, shape, pad):
    torch = pytest.importorskip("torch")
    if mode == "reflect":
        pad = tuple(min(p, 2) for p in pad)  # reflect needs widths below the size
    x = rand(0, *shape)
    xt, tx = f64(x), torch.tensor(x, requires_grad=True)
    out = F.pad(xt, pad, mode=mode)
    expected = torch.nn.functional.pad(tx, pad, mode=mode)
    g = rand(1, *expected.shape)
    out.backward(g)
    expected.backward(torch.tensor(g))
    np.testing.assert_array_equal(out.data, expected.detach().numpy())
    np.testing.assert_allclose(xt.grad.data, tx.grad.numpy(), rtol=1e-13, atol=1e-15)


def test_pad_constant_with_a_value():
    out = F.pad(cr.ones(1, 2, 2), (0, 1, 1, 0), value=-1.0)
    np.testing.assert_array_equal(out.data[0], [[-1, -1, -1], [1, 1, -1], [1, 1, -1]])


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: F.pad(cr.ones(2, 3), (3, 0), mode="reflect"), ValueError,
         r"pad: reflect padding of axis 1 \(size 3\) by \(3, 0\); widths must be >= 0 and "
         r"at most 2 \(input shape \(2, 3\)\)"),
        (lambda: F.pad(cr.ones(2, 3), (0, 4), mode="circular"), ValueError,
         r"pad: circular padding of axis 1 \(size 3\) by \(0, 4\).* at most 3"),
        (lambda: F.pad(cr.ones(2, 3), (1, 1), mode="wrap"), ValueError,
         r"pad: mode must be one of \['circular', 'reflect', 'replicate'\] or 'constant'"),
        (lambda: F.pad(cr.ones(2, 3), (1, 1, 1)), ValueError,
         r"pad: expected an even number of widths"),
        (lambda: F.pad(cr.ones(2, 3), (-1, 1)), ValueError, r"cropping is not supported"),
        (lambda: F.pad(cr.ones(2, 3), (1, 1), mode="reflect", value=2.0), ValueError,
         r"pad: mode 'reflect' takes no value"),
    ],
)  # fmt: skip
def test_pad_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


# ----- pooling errors name the gate and the shapes -----


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: F.max_pool2d(np.zeros((1, 1, 4, 4)), 3, padding=2), ValueError,
         r"max_pool2d: padding \(2, 2\) must be at most half the kernel size \(3, 3\)"),
        (lambda: F.avg_pool2d(np.zeros((1, 1, 4, 4)), 2, padding=(0, 2)), ValueError,
         r"avg_pool2d: padding \(0, 2\) must be at most half the kernel size \(2, 2\)"),
        (lambda: F.max_pool2d(np.zeros((1, 1, 4, 4)), 5), ShapeError,
         r"max_pool2d: kernel \(5, 5\) .* does not fit the input of shape \(1, 1, 4, 4\): "
         r"the output would be \(0, 0\)"),
        (lambda: F.max_pool2d(np.zeros((1, 1, 1, 4, 4)), 2), ShapeError,
         r"max_pool2d: expected input \(N, C, H, W\), got shape \(1, 1, 1, 4, 4\)"),
        (lambda: F.max_pool2d(np.zeros((1, 1, 4, 4), np.int64), 2), TypeError,
         r"max_pool2d: input must be floating point, got dtype int64"),
        (lambda: F.max_pool2d(np.zeros((1, 1, 4, 4)), 0), ValueError,
         r"max_pool2d: kernel_size must be at least 1, got 0"),
        (lambda: F.avg_pool2d(np.zeros((1, 1, 4, 4)), 2, divisor_override=0), ValueError,
         r"avg_pool2d: divisor_override must be a positive int, got 0"),
        (lambda: F.adaptive_avg_pool2d(np.zeros((4, 4)), 2), ShapeError,
         r"adaptive_avg_pool2d: expected input \(N, C, H, W\) or \(C, H, W\), got shape \(4, 4\)"),
        (lambda: F.adaptive_avg_pool2d(np.zeros((1, 4, 4)), (2, 0)), ValueError,
         r"adaptive_avg_pool2d: output_size must be at least 1"),
    ],
)  # fmt: skip
def test_pool_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()
