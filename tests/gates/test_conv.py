"""conv2d and conv_transpose2d: naive loops, gradient checks over a grid of geometries,
PyTorch, adjointness, chunked batches, and errors that name the gate and the shapes.

`cases.py` checks each gate on a few shapes (forward, first and second order, float32);
this file covers the geometry grid and everything else.
"""

import naive_conv
import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule.engine import grad
from chainrule.errors import ShapeError
from chainrule.gates.windows import Windows


def rand(seed, *shape):
    return np.random.default_rng(seed).standard_normal(shape)


def f64(a, requires_grad=True):
    return cr.tensor(np.asarray(a, dtype=np.float64), requires_grad=requires_grad)


# (x shape, weight shape, stride, padding, dilation, groups): a covering set, not the
# product: 1x1 kernels, kernels as large as the (padded) input, odd and rectangular
# sizes, strides that leave rows unread, dilation, groups up to depthwise, wide rows.
GRID = [
    ((2, 3, 5, 5), (4, 3, 3, 3), 1, 1, 1, 1),
    ((1, 2, 7, 6), (3, 2, 3, 3), 2, 0, 1, 1),
    ((2, 2, 6, 9), (2, 2, 2, 3), (1, 2), (1, 0), 1, 1),
    ((1, 4, 5, 5), (4, 2, 3, 3), 1, 2, 2, 2),
    ((1, 4, 6, 6), (4, 1, 3, 3), 2, 1, 1, 4),
    ((2, 3, 4, 4), (2, 3, 1, 1), 1, 0, 1, 1),
    ((1, 2, 5, 5), (3, 2, 1, 1), 2, 1, 1, 1),
    ((1, 2, 3, 4), (2, 2, 3, 4), 1, 0, 1, 1),
    ((1, 1, 2, 3), (2, 1, 4, 5), 1, 1, 1, 1),
    ((1, 2, 7, 5), (2, 1, 3, 2), 3, (2, 1), (2, 1), 2),
    ((1, 1, 4, 12), (1, 1, 3, 3), 1, 1, 1, 1),
]
GRID_IDS = [f"x{x}-w{w}-s{s}-p{p}-d{d}-g{g}".replace(" ", "") for x, w, s, p, d, g in GRID]


@pytest.mark.parametrize(("x_shape", "w_shape", "stride", "padding", "dilation", "groups"), GRID,
                         ids=GRID_IDS)  # fmt: skip
def test_conv2d_matches_naive_loops(x_shape, w_shape, stride, padding, dilation, groups):
    x, w, b = rand(0, *x_shape), rand(1, *w_shape), rand(2, w_shape[0])
    out = F.conv2d(f64(x), f64(w), f64(b), stride, padding, dilation, groups)
    expected = naive_conv.conv2d(x, w, b, stride, padding, dilation, groups)
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("x_shape", "w_shape", "stride", "padding", "dilation", "groups"), GRID,
                         ids=GRID_IDS)  # fmt: skip
def test_conv2d_gradcheck(x_shape, w_shape, stride, padding, dilation, groups):
    args = [f64(rand(0, *x_shape)), f64(rand(1, *w_shape)), f64(rand(2, w_shape[0]))]

    def f(x, w, b):
        return F.conv2d(x, w, b, stride, padding, dilation, groups)

    assert cr.gradcheck(f, args)


# (x shape, weight shape, stride, padding, output_padding, dilation, groups)
TRANSPOSED = [
    ((2, 3, 3, 3), (3, 2, 3, 3), 1, 0, 0, 1, 1),
    ((1, 2, 3, 4), (2, 3, 3, 3), 2, 1, 1, 1, 1),
    ((1, 4, 2, 3), (4, 1, 2, 2), (2, 3), 0, (1, 2), 1, 2),
    ((1, 2, 3, 3), (2, 2, 2, 3), 1, 1, 1, 2, 1),
    ((2, 2, 4, 4), (2, 2, 1, 1), 1, 0, 0, 1, 1),
]


@pytest.mark.parametrize(("x_shape", "w_shape", "stride", "padding", "extra", "dilation",
                          "groups"), TRANSPOSED)  # fmt: skip
def test_conv_transpose2d_matches_naive_and_gradcheck(
    x_shape, w_shape, stride, padding, extra, dilation, groups
):
    x, w, b = rand(0, *x_shape), rand(1, *w_shape), rand(2, w_shape[1] * groups)
    args = [f64(x), f64(w), f64(b)]

    def f(x, w, b):
        return F.conv_transpose2d(x, w, b, stride, padding, extra, groups, dilation)

    expected = naive_conv.conv_transpose2d(x, w, b, stride, padding, extra, groups, dilation)
    np.testing.assert_allclose(f(*args).data, expected, rtol=1e-12, atol=1e-12)
    assert cr.gradcheck(f, args)


def test_conv_transpose2d_is_the_adjoint_of_conv2d():
    # <conv2d(x, w), y> == <x, conv_transpose2d(y, w)> for the same geometry.
    x, w = rand(0, 2, 4, 10, 10), rand(1, 6, 2, 3, 2)
    geometry = {"stride": (2, 3), "padding": (1, 2), "dilation": (1, 2), "groups": 2}
    out = F.conv2d(x, w, **geometry)
    y = rand(2, *out.shape)
    extra = (1, 2)  # the rows and columns conv2d's stride did not reach
    back = F.conv_transpose2d(y, w, output_padding=extra, **geometry)
    assert back.shape == x.shape
    np.testing.assert_allclose(np.sum(out.data * y), np.sum(x * back.data), rtol=1e-12)


def test_conv2d_of_a_multi_chunk_batch_is_the_batch_of_its_samples():
    # Batches run in chunks of samples (Windows.batches): results must not depend on it.
    x, w, b = rand(0, 13, 16, 16, 16), rand(1, 4, 16, 3, 3), rand(2, 4)
    assert len(Windows(x.shape, (3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1)).batches(13)) > 1
    g = rand(3, 13, 4, 16, 16)
    xt, wt, bt = f64(x), f64(w), f64(b)
    out = F.conv2d(xt, wt, bt, padding=1)
    out.backward(g)
    np.testing.assert_allclose(out.data[12:], naive_conv.conv2d(x[12:], w, b, padding=1), 1e-12)
    dw = np.zeros_like(w)
    for n in range(13):  # one sample at a time is a single chunk
        xn, wn = f64(x[n : n + 1]), f64(w)
        one = F.conv2d(xn, wn, bt.detach(), padding=1)
        one.backward(g[n : n + 1])
        np.testing.assert_allclose(out.data[n : n + 1], one.data, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(xt.grad.data[n : n + 1], xn.grad.data, rtol=1e-12, atol=1e-12)
        dw += wn.grad.data
    np.testing.assert_allclose(wt.grad.data, dw, rtol=1e-12)


def test_conv2d_gradients_when_only_some_inputs_require_grad():
    x, w, b = rand(0, 2, 3, 6, 6), rand(1, 4, 3, 3, 3), rand(2, 4)
    g = rand(3, 2, 4, 6, 6)
    full = [f64(x), f64(w), f64(b)]
    F.conv2d(*full, padding=1).backward(g)
    for needs in [(False, True, True), (True, False, False), (False, False, True)]:
        args = [f64(a, need) for a, need in zip((x, w, b), needs)]
        F.conv2d(*args, padding=1).backward(g)
        for arg, ref, need in zip(args, full, needs):
            assert (arg.grad is None) != need
            if need:
                np.testing.assert_allclose(arg.grad.data, ref.grad.data, rtol=1e-12)


def test_conv2d_retain_graph_backward_twice_doubles_the_gradients():
    x, w = f64(rand(0, 1, 2, 5, 5)), f64(rand(1, 3, 2, 3, 3))
    out = F.conv2d(x, w, stride=2).sum()
    out.backward(retain_graph=True)
    first = (x.grad.data.copy(), w.grad.data.copy())
    out.backward()
    np.testing.assert_allclose(x.grad.data, 2 * first[0])
    np.testing.assert_allclose(w.grad.data, 2 * first[1])


def test_conv2d_of_an_empty_batch_has_zero_gradients():
    x, w = f64(np.zeros((0, 2, 5, 5))), f64(rand(0, 3, 2, 3, 3))
    out = F.conv2d(x, w, padding=1)
    assert out.shape == (0, 3, 5, 5)
    out.sum().backward()
    assert x.grad.shape == x.shape
    np.testing.assert_array_equal(w.grad.data, np.zeros(w.shape))


def test_conv2d_padding_same_and_valid():
    x, w = rand(0, 1, 2, 7, 6), rand(1, 3, 2, 4, 3)
    same = F.conv2d(x, w, padding="same", dilation=(1, 2))
    assert same.shape == (1, 3, 7, 6)
    # PyTorch's rule: the odd extra row of an even kernel goes to the bottom.
    padded = np.pad(x, ((0, 0), (0, 0), (1, 2), (2, 2)))
    np.testing.assert_allclose(same.data, naive_conv.conv2d(padded, w, dilation=(1, 2)), 1e-12)
    np.testing.assert_allclose(F.conv2d(x, w, padding="valid").data, naive_conv.conv2d(x, w))


def test_conv2d_unbatched_input():
    x, w = rand(0, 2, 5, 5), rand(1, 3, 2, 3, 3)
    out = F.conv2d(x, w, padding=1)
    assert out.shape == (3, 5, 5)
    np.testing.assert_allclose(out.data, naive_conv.conv2d(x[None], w, padding=1)[0])
    assert F.conv_transpose2d(rand(2, 3, 2, 2), w).shape == (2, 4, 4)


def test_conv2d_float32_stays_float32():
    x = cr.tensor(rand(0, 2, 3, 8, 8).astype(np.float32), requires_grad=True)
    w = cr.tensor(rand(1, 4, 3, 3, 3).astype(np.float32), requires_grad=True)
    out = F.conv2d(x, w, padding=1)
    out.backward(np.ones(out.shape, np.float32))
    assert out.dtype == x.grad.dtype == w.grad.dtype == np.float32


@pytest.mark.parametrize(
    ("x_shape", "w_shape", "stride", "padding", "dilation", "groups"),
    [
        ((4, 3, 32, 32), (16, 3, 3, 3), 1, 1, 1, 1),
        ((13, 16, 16, 16), (32, 16, 3, 3), 1, 1, 1, 1),
        ((3, 8, 15, 17), (12, 4, 5, 3), (2, 1), (2, 0), (1, 3), 2),
        ((2, 6, 9, 9), (6, 1, 3, 3), 2, 1, 1, 6),
    ],
)
def test_conv2d_matches_torch_forward_and_backward(x_shape, w_shape, stride, padding, dilation,
                                                   groups):  # fmt: skip
    torch = pytest.importorskip("torch")
    x, w, b = rand(0, *x_shape), rand(1, *w_shape), rand(2, w_shape[0])
    ours = [f64(a) for a in (x, w, b)]
    theirs = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
    out = F.conv2d(*ours, stride, padding, dilation, groups)
    expected = torch.nn.functional.conv2d(*theirs, stride, padding, dilation, groups)
    g = rand(3, *expected.shape)
    out.backward(g)
    expected.backward(torch.tensor(g))
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-10, atol=1e-10)
    for a, t in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.data, t.grad.numpy(), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize(
    ("x_shape", "w_shape", "stride", "padding", "extra", "dilation", "groups"),
    [
        ((5, 16, 8, 8), (16, 8, 2, 2), 2, 0, 0, 1, 1),
        ((2, 6, 5, 4), (6, 2, 3, 3), (2, 3), (1, 0), (1, 2), 1, 3),
        ((2, 2, 4, 4), (2, 3, 3, 3), 1, 1, 1, 2, 1),
    ],
)
def test_conv_transpose2d_matches_torch(x_shape, w_shape, stride, padding, extra, dilation,
                                        groups):  # fmt: skip
    torch = pytest.importorskip("torch")
    x, w, b = rand(0, *x_shape), rand(1, *w_shape), rand(2, w_shape[1] * groups)
    ours = [f64(a) for a in (x, w, b)]
    theirs = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
    out = F.conv_transpose2d(*ours, stride, padding, extra, groups, dilation)
    expected = torch.nn.functional.conv_transpose2d(
        *theirs, stride, padding, extra, groups, dilation
    )
    g = rand(3, *expected.shape)
    out.backward(g)
    expected.backward(torch.tensor(g))
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-10, atol=1e-10)
    for a, t in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.data, t.grad.numpy(), rtol=1e-10, atol=1e-10)


def test_conv2d_second_order_matches_torch():
    torch = pytest.importorskip("torch")
    x, w = rand(0, 2, 2, 5, 5), rand(1, 3, 2, 3, 3)
    xt, wt = f64(x), f64(w)
    (dx,) = grad((F.conv2d(xt, wt, stride=2, padding=1) ** 2).sum(), [xt], create_graph=True)
    (dx * dx).sum().backward()
    tx, tw = (torch.tensor(a, requires_grad=True) for a in (x, w))
    out = (torch.nn.functional.conv2d(tx, tw, stride=2, padding=1) ** 2).sum()
    (tdx,) = torch.autograd.grad(out, [tx], create_graph=True)
    (tdx * tdx).sum().backward()
    np.testing.assert_allclose(wt.grad.data, tw.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(xt.grad.data, tx.grad.numpy(), rtol=1e-10)


def small_cnn(x, w, b):
    h = F.max_pool2d(F.relu(F.conv2d(x, w, b, padding=1)), 2)
    return F.avg_pool2d(F.pad(h, (1, 1, 1, 1), mode="reflect"), 3, stride=1).sum()


def test_conv_and_pool_gates_replay_bitwise_in_a_captured_graph():
    x, w, b = rand(0, 2, 3, 8, 8), rand(1, 4, 3, 3, 3), rand(2, 4)
    graph = cr.Graph(small_cnn)
    for step in range(2):
        out = graph.forward(f64(x + step), f64(w), f64(b))
        grads = graph.backward()
        eager = [f64(x + step), f64(w), f64(b)]
        expected = small_cnn(*eager)
        expected.backward()
        np.testing.assert_array_equal(out.data, expected.data)
        for got, leaf in zip(grads, eager):
            np.testing.assert_array_equal(got.data, leaf.grad.data)
    assert graph.trace_count == 1


# ----- errors name the gate and the shapes -----


@pytest.mark.parametrize(
    ("x_shape", "w_shape", "kwargs", "error", "message"),
    [
        ((1, 3, 5, 5), (4, 2, 3, 3), {}, ShapeError,
         r"conv2d: input has 3 channels \(shape \(1, 3, 5, 5\)\) but the weight of shape "
         r"\(4, 2, 3, 3\) with groups=1 expects 2"),
        ((1, 4, 5, 5), (4, 2, 3, 3), {"groups": 3}, ShapeError,
         r"conv2d: groups=3 must divide the 4 input channels"),
        ((1, 4, 5, 5), (3, 2, 3, 3), {"groups": 2}, ShapeError,
         r"conv2d: groups=2 must divide the 3 output channels \(weight shape \(3, 2, 3, 3\)\)"),
        ((1, 2, 3, 3), (1, 2, 5, 3), {"padding": (0, 1)}, ShapeError,
         r"conv2d: kernel \(5, 3\) .* is larger than the padded input: height 3 \+ padding 0"),
        ((1, 2, 3, 3), (1, 2, 3, 3), {"dilation": 3, "padding": 1}, ShapeError,
         r"conv2d: kernel \(3, 3\) \(dilation \(3, 3\), so 7 wide\) is larger than"),
        ((2, 5, 5), (1, 2, 3), {}, ShapeError,
         r"conv2d: expected input \(N, C, H, W\) and a 4-d weight, got input of shape "
         r"\(1, 2, 5, 5\) and weight of shape \(1, 2, 3\)"),
        ((1, 2, 5, 5), (1, 2, 3, 3), {"stride": 0}, ValueError,
         r"conv2d: stride must be at least 1, got 0"),
        ((1, 2, 5, 5), (1, 2, 3, 3), {"padding": "full"}, ValueError,
         r"conv2d: padding must be an int, a pair, 'valid' or 'same', got 'full'"),
        ((1, 2, 5, 5), (1, 2, 3, 3), {"padding": "same", "stride": 2}, ValueError,
         r"conv2d: padding='same' needs stride 1"),
    ],
)  # fmt: skip
def test_conv2d_errors(x_shape, w_shape, kwargs, error, message):
    with pytest.raises(error, match=message):
        F.conv2d(np.zeros(x_shape), np.zeros(w_shape), **kwargs)


def test_conv2d_bias_and_dtype_errors():
    x, w = np.zeros((1, 2, 4, 4)), np.zeros((3, 2, 3, 3))
    with pytest.raises(ShapeError, match=r"conv2d: bias has shape \(2,\), expected \(3,\)"):
        F.conv2d(x, w, np.zeros(2))
    with pytest.raises(TypeError, match="conv2d: input must be floating point, got dtype int64"):
        F.conv2d(np.zeros((1, 2, 4, 4), np.int64), w)


def test_conv_transpose2d_errors():
    x, w = np.zeros((1, 2, 3, 3)), np.zeros((2, 4, 3, 3))
    with pytest.raises(ShapeError, match=r"conv_transpose2d: input has 3 channels .* expects 2"):
        F.conv_transpose2d(np.zeros((1, 3, 3, 3)), w)
    with pytest.raises(ValueError, match=r"output_padding \(2, 2\) must be smaller than stride"):
        F.conv_transpose2d(x, w, stride=2, output_padding=2)
    with pytest.raises(ShapeError, match=r"conv_transpose2d: the output would have size"):
        F.conv_transpose2d(np.zeros((1, 2, 1, 1)), w, padding=2)
