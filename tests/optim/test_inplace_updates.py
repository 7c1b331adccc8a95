"""Blocked in-place updates: bitwise the plain whole-array formulas, one block at a time.

Every optimizer runs its update through `blockwise`, which bounds the update's
temporaries to one block (`BLOCK_BYTES`). Blocking must not change a single bit: each
optimizer is compared, exactly, to its update written as whole-array NumPy formulas
with Python-float scalars (the code before blocking), for parameters just under, at,
just over and at 3.5 times the block's length, and for a parameter that is a
non-contiguous view.
"""

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim
from chainrule.optim.inplace import BLOCK_BYTES, blockwise, constant, scaled_subtract

BLOCK32 = BLOCK_BYTES // 4  # the block's length for float32
SIZES = {
    "under": (BLOCK32 - 1,),
    "at": (BLOCK32,),
    "over": (BLOCK32 + 1,),
    "3.5 blocks": (7, BLOCK32 // 2),
}
STEPS = 3


# ----- the plain formulas: whole arrays, Python floats (reference) -----


def sgd_reference(param, grad, state, lr, momentum=0, dampening=0, weight_decay=0,
                  nesterov=False, maximize=False):  # fmt: skip
    if maximize:
        grad = -grad
    if weight_decay != 0:
        grad = grad + weight_decay * param
    if momentum != 0:
        buf = state.get("momentum_buffer")
        if buf is None:
            buf = state["momentum_buffer"] = np.array(grad, copy=True)
        else:
            buf *= momentum
            buf += (1 - dampening) * grad
        grad = grad + momentum * buf if nesterov else buf
    param -= lr * grad


def adam_reference(param, grad, state, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                   amsgrad=False, maximize=False, decoupled=False):  # fmt: skip
    if not state:
        state.update(step=0, exp_avg=np.zeros_like(param), exp_avg_sq=np.zeros_like(param))
        if amsgrad:
            state["max_exp_avg_sq"] = np.zeros_like(param)
    beta1, beta2 = betas
    state["step"] += 1
    step = state["step"]
    if maximize:
        grad = -grad
    if weight_decay != 0:
        if decoupled:
            param *= 1 - lr * weight_decay
        else:
            grad = grad + weight_decay * param
    exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
    exp_avg += (1 - beta1) * (grad - exp_avg)
    exp_avg_sq *= beta2
    exp_avg_sq += (1 - beta2) * grad * grad
    step_size = lr / (1 - beta1**step)
    bias_correction2_sqrt = (1 - beta2**step) ** 0.5
    if amsgrad:
        np.maximum(state["max_exp_avg_sq"], exp_avg_sq, out=state["max_exp_avg_sq"])
        denom = np.sqrt(state["max_exp_avg_sq"])
    else:
        denom = np.sqrt(exp_avg_sq)
    denom /= bias_correction2_sqrt
    denom += eps
    param -= step_size * (exp_avg / denom)


def adamw_reference(param, grad, state, lr, weight_decay=1e-2, **options):
    adam_reference(param, grad, state, lr, weight_decay=weight_decay, decoupled=True, **options)


def rmsprop_reference(param, grad, state, lr, alpha=0.99, eps=1e-8, weight_decay=0,
                      momentum=0, centered=False, maximize=False):  # fmt: skip
    if not state:
        state.update(square_avg=np.zeros_like(param))
        if momentum > 0:
            state["momentum_buffer"] = np.zeros_like(param)
        if centered:
            state["grad_avg"] = np.zeros_like(param)
    if maximize:
        grad = -grad
    if weight_decay != 0:
        grad = grad + weight_decay * param
    square_avg = state["square_avg"]
    square_avg *= alpha
    square_avg += (1 - alpha) * grad * grad
    if centered:
        grad_avg = state["grad_avg"]
        grad_avg += (1 - alpha) * (grad - grad_avg)
        avg = np.sqrt(square_avg - grad_avg * grad_avg)
    else:
        avg = np.sqrt(square_avg)
    avg += eps
    if momentum > 0:
        buf = state["momentum_buffer"]
        buf *= momentum
        buf += grad / avg
        param -= lr * buf
    else:
        param -= lr * (grad / avg)


def adagrad_reference(param, grad, state, lr, lr_decay=0, weight_decay=0,
                      initial_accumulator_value=0, eps=1e-10, maximize=False):  # fmt: skip
    if not state:
        state.update(step=0, sum=np.full_like(param, initial_accumulator_value))
    state["step"] += 1
    if maximize:
        grad = -grad
    if weight_decay != 0:
        grad = grad + weight_decay * param
    clr = lr / (1 + (state["step"] - 1) * lr_decay)
    total = state["sum"]
    total += grad * grad
    std = np.sqrt(total)
    std += eps
    param -= clr * (grad / std)


REFERENCES = {
    "SGD": sgd_reference,
    "Adam": adam_reference,
    "AdamW": adamw_reference,
    "RMSprop": rmsprop_reference,
    "Adagrad": adagrad_reference,
}
CASES = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.1, "momentum": 0.9}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.3}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    ("SGD", {"lr": 0.1, "weight_decay": 0.01, "maximize": True}),
    ("Adam", {"lr": 0.01}),
    ("Adam", {"lr": 0.01, "amsgrad": True, "weight_decay": 0.01}),
    ("Adam", {"lr": 0.01, "betas": (0.8, 0.9), "eps": 1e-4, "maximize": True}),
    ("AdamW", {"lr": 0.01, "weight_decay": 0.1}),
    ("AdamW", {"lr": 0.01, "amsgrad": True}),
    ("RMSprop", {"lr": 0.01}),
    ("RMSprop", {"lr": 0.01, "centered": True}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.9, "weight_decay": 0.01}),
    ("RMSprop", {"lr": 0.01, "centered": True, "momentum": 0.5, "maximize": True}),
    ("Adagrad", {"lr": 0.1}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.1, "weight_decay": 0.01}),
    ("Adagrad", {"lr": 0.1, "initial_accumulator_value": 0.1, "maximize": True}),
]


def case_id(case):
    name, options = case
    return name + "".join(f"-{k}={v}" for k, v in options.items() if k != "lr")


def gradients(shape, dtype, seed):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape).astype(dtype) for _ in range(STEPS)]


def assert_same_trajectory(name, options, start, param_data=None, dtype=np.float32):
    """Run the optimizer and its reference formula side by side; compare every bit."""
    p = cr.tensor(start.copy(), requires_grad=True)
    if param_data is not None:  # a parameter whose array is a view (set by the caller)
        param_data[...] = start
        p.data = param_data
    opt = getattr(optim, name)([p], **options)
    expected, state = start.copy(), {}
    for step, grad in enumerate(gradients(start.shape, dtype, seed=len(start.shape))):
        p.grad = cr.tensor(grad)
        opt.step()
        REFERENCES[name](expected, grad.copy(), state, **options)
        np.testing.assert_array_equal(p.data, expected, err_msg=f"step {step + 1}")
        np.testing.assert_array_equal(p.grad.data, grad, err_msg="the gradient was modified")
    for key, value in state.items():
        np.testing.assert_array_equal(opt.state[p][key], value, err_msg=f"state {key}")


# ----- every optimizer, bitwise, around the block's length -----


@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_update_is_bitwise_the_plain_formula(case, size):
    name, options = case
    start = np.random.default_rng(0).standard_normal(size).astype(np.float32)
    assert_same_trajectory(name, options, start)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_update_of_a_non_contiguous_parameter_is_the_plain_formula(case):
    # Every other column of a (4, 2 * BLOCK32 + 1) array: a view of over 4 blocks'
    # worth of elements that no flat array can describe (the odd width), updated in
    # one call; the columns in between must stay untouched.
    name, options = case
    base = np.full((4, 2 * BLOCK32 + 1), 7.0, np.float32)
    view = base[:, ::2]
    start = np.random.default_rng(1).standard_normal(view.shape).astype(np.float32)
    assert_same_trajectory(name, options, start, param_data=view)
    assert (base[:, 1::2] == 7.0).all()


@pytest.mark.parametrize("case", CASES[:6:5], ids=case_id)
def test_update_in_float64_is_bitwise_the_plain_formula(case):
    # float64 blocks are half as long (BLOCK_BYTES // 8): 3.5 of them here.
    name, options = case
    start = np.random.default_rng(2).standard_normal((7, BLOCK_BYTES // 16))
    assert_same_trajectory(name, options, start, dtype=np.float64)


def test_sgd_momentum_buffer_of_a_blocked_parameter_is_its_own_array():
    p = cr.tensor(np.ones(3 * BLOCK32, np.float32), requires_grad=True)
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    p.grad = cr.tensor(np.full(3 * BLOCK32, 2.0, np.float32))
    opt.step()
    buf = opt.state[p]["momentum_buffer"]
    assert not np.shares_memory(buf, p.grad.data)
    assert buf.dtype == np.float32 and (buf == 2.0).all()


# ----- the helper -----


def test_blockwise_loops_over_blocks_of_3_5_blocks_as_the_plain_formula():
    rng = np.random.default_rng(3)
    param = rng.standard_normal((7, BLOCK32 // 2)).astype(np.float32)
    grad = rng.standard_normal(param.shape).astype(np.float32)
    expected = param.copy()
    expected -= 0.01 * grad
    seen = []

    def sgd(param, grad):
        seen.append(param.size)
        param -= 0.01 * grad

    blockwise(sgd, param, grad)
    assert seen == [BLOCK32, BLOCK32, BLOCK32, BLOCK32 // 2]
    np.testing.assert_array_equal(param, expected)


def test_blockwise_block_holds_block_bytes_whatever_the_dtype():
    seen = []
    for dtype in (np.float16, np.float32, np.float64):
        param = np.zeros(2 * BLOCK_BYTES // np.dtype(dtype).itemsize, dtype)
        blockwise(lambda param: seen.append(param.nbytes), param)
    assert seen == [BLOCK_BYTES] * 6


def test_blockwise_passes_none_through_to_every_block():
    seen = []
    blockwise(lambda param, buf: seen.append(buf), np.zeros(2 * BLOCK32 + 1, np.float32), None)
    assert seen == [None, None, None]


def test_blockwise_calls_once_on_a_small_or_non_contiguous_array():
    small = np.zeros(BLOCK32, np.float32)
    large = np.zeros((2 * BLOCK32, 2), np.float32)
    broadcast = np.broadcast_to(np.float32(1.0), (2 * BLOCK32,))
    for arrays in [(small,), (large[:, 0],), (large.T,), (large[:, 0].copy(), broadcast)]:
        calls = []
        blockwise(lambda *views, calls=calls: calls.append(views), *arrays)
        assert len(calls) == 1 and all(v is a for v, a in zip(calls[0], arrays))


def test_blockwise_rejects_arrays_of_different_shapes():
    param, grad = np.zeros(2 * BLOCK32, np.float32), np.zeros(BLOCK32, np.float32)
    with pytest.raises(ValueError, match=r"blockwise: .*one shape, got \(32768,\), \(16384,\)"):
        blockwise(lambda param, grad: None, param, grad)


@pytest.mark.parametrize("shape", [*SIZES.values(), (3, 2 * BLOCK32 + 5)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_scaled_subtract_is_bitwise_the_whole_array_formula(shape, dtype):
    rng = np.random.default_rng(5)
    param = rng.standard_normal(shape).astype(dtype)
    grad = rng.standard_normal(shape).astype(dtype)
    kept = grad.copy()
    expected = param.copy()
    expected -= 0.01 * grad
    scaled_subtract(param, constant(0.01, param), grad)
    np.testing.assert_array_equal(param, expected)
    np.testing.assert_array_equal(grad, kept)  # the gradient is never written


def test_scaled_subtract_takes_non_contiguous_arrays_whole():
    rng = np.random.default_rng(6)
    base = rng.standard_normal((2 * BLOCK32, 2)).astype(np.float32)
    grad = rng.standard_normal(2 * BLOCK32).astype(np.float32)
    expected = base[:, 0] - np.float32(0.5) * grad
    view = base[:, 0]
    scaled_subtract(view, constant(0.5, view), grad)
    np.testing.assert_array_equal(base[:, 0], expected)


def test_scaled_subtract_rejects_a_gradient_of_another_shape():
    param, grad = np.zeros(2 * BLOCK32, np.float32), np.zeros(BLOCK32, np.float32)
    with pytest.raises(ValueError, match=r"scaled_subtract: grad of shape \(16384,\).*\(32768,\)"):
        scaled_subtract(param, constant(0.1, param), grad)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_constant_is_the_value_a_python_float_would_be_converted_to(dtype):
    x = np.random.default_rng(4).standard_normal(1000).astype(dtype)
    for value in (0.1, 0.9, 1e-3, 0.999, 1 - 0.999**7):
        c = constant(value, x)
        assert c.dtype == dtype and c.shape == ()
        np.testing.assert_array_equal(c * x, value * x)
        np.testing.assert_array_equal(x / c, x / value)
