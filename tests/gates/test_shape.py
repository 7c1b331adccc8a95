"""Shape gates: every upstream element lands back where it came from, and bad shapes raise."""

import numpy as np
import pytest

import chainrule as cr


def f64(values, requires_grad=True) -> cr.Tensor:
    return cr.tensor(values, dtype="float64", requires_grad=requires_grad)


def backward_numbered(out: cr.Tensor) -> np.ndarray:
    """Backprop g = 0, 1, 2, ... (every element distinct, so misrouting shows); return g."""
    g = np.arange(out.size, dtype=np.float64).reshape(out.shape)
    out.backward(g)
    return g


def test_reshape_minus_one_gradient_reshaped_back():
    x = f64(np.zeros((2, 3, 4)))
    out = x.reshape(-1)
    assert out.shape == (24,)
    g = backward_numbered(out)
    np.testing.assert_array_equal(x.grad.data, g.reshape(2, 3, 4))


def test_flatten_gradient_reshaped_back():
    x = f64(np.zeros((3, 2)))
    g = backward_numbered(cr.flatten(x))
    np.testing.assert_array_equal(x.grad.data, g.reshape(3, 2))


def test_expand_dims_and_squeeze_gradients_keep_input_shape():
    x = f64(np.zeros((2, 3)))
    out = cr.expand_dims(x, (0, -1))
    assert out.shape == (1, 2, 3, 1)
    g = backward_numbered(out)
    np.testing.assert_array_equal(x.grad.data, g[0, :, :, 0])

    y = f64(np.zeros((1, 3, 1, 2)))
    out = cr.squeeze(y, axis=2)
    assert out.shape == (1, 3, 2)
    g = backward_numbered(out)
    np.testing.assert_array_equal(y.grad.data, g[:, :, None, :])


def test_squeeze_all_of_scalar_like_tensor():
    x = f64(np.zeros((1, 1)))
    out = cr.squeeze(x)
    assert out.shape == ()
    out.backward()
    np.testing.assert_array_equal(x.grad.data, [[1.0]])


def test_swapaxes_gradient_swapped_back():
    x = f64(np.zeros((2, 3, 4)))
    g = backward_numbered(cr.swapaxes(x, 0, 2))
    np.testing.assert_array_equal(x.grad.data, np.swapaxes(g, 0, 2))


def test_transpose_gradient_uses_inverse_permutation():
    x = f64(np.zeros((2, 3, 4)))
    out = cr.transpose(x, (1, 2, 0))
    assert out.shape == (3, 4, 2)
    g = backward_numbered(out)
    np.testing.assert_array_equal(x.grad.data, np.transpose(g, (2, 0, 1)))


def test_transpose_negative_axes_gradient():
    x = f64(np.zeros((2, 3, 4)))
    g = backward_numbered(cr.transpose(x, (-1, 0, -2)))
    np.testing.assert_array_equal(x.grad.data, np.transpose(g, (1, 2, 0)))


def test_broadcast_to_gradient_sums_copies():
    x = f64(np.zeros((3, 1)))
    g = backward_numbered(cr.broadcast_to(x, (2, 3, 4)))
    np.testing.assert_array_equal(x.grad.data, g.sum(axis=(0, 2))[:, None])


def test_concatenate_gradient_is_split_back():
    x, y, z = f64(np.zeros((2, 1))), f64(np.zeros((2, 3))), f64(np.zeros((2, 2)))
    g = backward_numbered(cr.concatenate([x, y, z], axis=1))
    np.testing.assert_array_equal(x.grad.data, g[:, :1])
    np.testing.assert_array_equal(y.grad.data, g[:, 1:4])
    np.testing.assert_array_equal(z.grad.data, g[:, 4:])


def test_concatenate_with_constant_input():
    x, c = f64(np.zeros(2)), np.ones(3)
    g = backward_numbered(cr.concatenate([c, x]))
    np.testing.assert_array_equal(x.grad.data, g[3:])


def test_stack_gradient_is_unstacked():
    x, y = f64(np.zeros((2, 3))), f64(np.zeros((2, 3)))
    out = cr.stack([x, y], axis=-1)
    assert out.shape == (2, 3, 2)
    g = backward_numbered(out)
    np.testing.assert_array_equal(x.grad.data, g[..., 0])
    np.testing.assert_array_equal(y.grad.data, g[..., 1])


def test_stack_of_scalars():
    xs = [f64(float(i)) for i in range(3)]
    out = cr.stack(xs)
    np.testing.assert_array_equal(out.data, [0.0, 1.0, 2.0])
    g = backward_numbered(out)
    assert [x.grad.item() for x in xs] == list(g)


def test_pad_gradient_is_interior_slice():
    x = f64(np.zeros((2, 3)))
    out = cr.pad(x, ((1, 2), (0, 3)), value=-1.0)
    assert out.shape == (5, 6)
    np.testing.assert_array_equal(out.data[0], np.full(6, -1.0))
    g = backward_numbered(out)
    np.testing.assert_array_equal(x.grad.data, g[1:3, 0:3])


def test_pad_int_width_pads_every_side():
    x = f64(np.zeros(3))
    g = backward_numbered(cr.pad(x, 2))
    np.testing.assert_array_equal(x.grad.data, g[2:5])


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda x: x.reshape(5, -1), r"reshape: cannot reshape shape \(2, 3\)"),
        (lambda x: cr.transpose(x, (0, 0)), r"transpose: axes \(0, 0\)"),
        (lambda x: cr.broadcast_to(x, (3, 3)), r"broadcast_to: cannot broadcast shape \(2, 3\)"),
        (lambda x: cr.squeeze(x, axis=0), r"squeeze: axis 0 of shape \(2, 3\)"),
        (lambda x: cr.concatenate([x, cr.zeros(3, 2)]), r"concatenate: input 1 has shape \(3, 2\)"),
        (lambda x: cr.concatenate([cr.tensor(1.0)]), r"concatenate: 0-d"),
    ],
    ids=["reshape", "transpose", "broadcast_to", "squeeze", "concatenate", "concatenate-0d"],
)
def test_shape_gate_bad_shape_raises_shape_error(call, message):
    with pytest.raises(cr.ShapeError, match=message):
        call(f64(np.zeros((2, 3))))


def test_pad_negative_width_raises():
    with pytest.raises(ValueError, match="pad widths must be >= 0"):
        cr.pad(f64(np.zeros(3)), (-1, 1))
