"""The losses of `chainrule.nn.functional`: NumPy references, PyTorch, gradients, errors.

Values are compared in float64 to 1e-12 relative (the formulas are the same up to
rounding); gradients against PyTorch's to 1e-10, and against central differences with
`cr.gradcheck` (atol 1e-5, rtol 1e-3).
"""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule.errors import ShapeError

REDUCTIONS = ("mean", "sum", "none")
RNG_SEED = 0


def f64(values, requires_grad=True) -> cr.Tensor:
    return cr.tensor(np.asarray(values, dtype=np.float64), requires_grad=requires_grad)


def data(seed=RNG_SEED, n=6, c=4, extra=()):
    """Logits (n, c, *extra), integer targets (n, *extra) using every class, class weights."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c) + extra) * 2
    t = rng.integers(0, c, (n,) + extra)
    t.reshape(-1)[: min(c, t.size)] = np.arange(min(c, t.size))
    w = rng.uniform(0.5, 2.0, c)
    return x, t, w


# ----- NumPy references, from the textbook formulas -----


def log_softmax_ref(x):
    m = x.max(axis=1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=1, keepdims=True))


def reduce_ref(loss, reduction, total=None):
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    return loss.sum() / (loss.size if total is None else total)


def nll_ref(log_p, t, w=None, reduction="mean"):
    n, c = log_p.shape[:2]
    w = np.ones(c) if w is None else w
    picked = np.take_along_axis(log_p, t[:, None], axis=1)[:, 0]
    return reduce_ref(-w[t] * picked, reduction, w[t].sum())


def cross_entropy_ref(x, t, w=None, smoothing=0.0, reduction="mean"):
    """PyTorch's definition: (1 - s) * nll + s * (uniform-target loss), both weighted."""
    log_p = log_softmax_ref(x)
    c = x.shape[1]
    weights = np.ones(c) if w is None else w
    nll = -weights[t] * np.take_along_axis(log_p, t[:, None], axis=1)[:, 0]
    w_c = weights.reshape((1, c) + (1,) * (x.ndim - 2))
    smooth = -(log_p * w_c).sum(axis=1) / c
    return reduce_ref((1 - smoothing) * nll + smoothing * smooth, reduction, weights[t].sum())


def svm_ref(scores, t, margin=1.0, reduction="mean"):
    """The CS231n naive loop."""
    losses = np.zeros(len(scores))
    for i in range(len(scores)):
        for j in range(scores.shape[1]):
            if j != t[i]:
                losses[i] += max(0.0, scores[i, j] - scores[i, t[i]] + margin)
    return reduce_ref(losses, reduction)


def svm_grad_ref(scores, t, margin=1.0):
    """The CS231n gradient of the mean SVM loss."""
    dscores = np.zeros_like(scores)
    for i in range(len(scores)):
        for j in range(scores.shape[1]):
            if j != t[i] and scores[i, j] - scores[i, t[i]] + margin > 0:
                dscores[i, j] += 1
                dscores[i, t[i]] -= 1
    return dscores / len(scores)


def bce_ref(x, t, w=None, pos_weight=None, reduction="mean"):
    p = 1 / (1 + np.exp(-x))
    pw = 1.0 if pos_weight is None else pos_weight
    loss = -(pw * t * np.log(p) + (1 - t) * np.log(1 - p))
    return reduce_ref(loss * (1.0 if w is None else w), reduction)


def huber_ref(x, y, delta=1.0, reduction="mean"):
    d = np.abs(x - y)
    return reduce_ref(np.where(d < delta, 0.5 * d**2, delta * (d - 0.5 * delta)), reduction)


def assert_close(actual, expected, rtol=1e-12, atol=1e-13):
    actual = actual.data if isinstance(actual, cr.Tensor) else actual
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol)


# ----- cross_entropy -----


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("smoothing", [0.0, 0.1, 1.0])
def test_cross_entropy_matches_numpy(reduction, weighted, smoothing):
    x, t, w = data()
    w = w if weighted else None
    out = F.cross_entropy(f64(x), t, w, reduction=reduction, label_smoothing=smoothing)
    assert_close(out, cross_entropy_ref(x, t, w, smoothing, reduction))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_spatial_matches_numpy(reduction):
    x, t, w = data(n=2, c=3, extra=(4, 5))
    out = F.cross_entropy(f64(x), t, w, reduction=reduction, label_smoothing=0.05)
    assert out.shape == (() if reduction != "none" else (2, 4, 5))
    assert_close(out, cross_entropy_ref(x, t, w, 0.05, reduction))


def test_cross_entropy_gradient_is_softmax_minus_onehot_over_n():
    x, t, _ = data()
    logits = f64(x)
    F.cross_entropy(logits, t).backward()
    p = np.exp(log_softmax_ref(x))
    expected = (p - np.eye(x.shape[1])[t]) / len(t)
    assert_close(logits.grad, expected, rtol=1e-12, atol=1e-15)


def test_cross_entropy_large_logits_finite_and_exact():
    logits = f64([[1e8, 1e8 + 1.0, 0.0], [0.0, -1e8, 1e8]])
    loss = F.cross_entropy(logits, [0, 1], reduction="none")
    loss.sum().backward()
    lse = np.log1p(np.exp(-1.0))
    assert_close(loss, [1.0 + lse, 2e8], rtol=1e-15)
    assert np.isfinite(logits.grad.data).all()
    e = np.exp(-1.0)
    expected = [[e / (1 + e) - 1, 1 / (1 + e), 0.0], [0.0, -1.0, 1.0]]
    assert_close(logits.grad, expected, rtol=1e-14, atol=1e-300)


@pytest.mark.parametrize(
    ("rows", "smoothing"),
    [
        ([[1e8, -1e8, 0.0], [1e8, 1e8, -1e8]], 0.0),
        ([[1e8, -1e8, 0.0], [1e8, 1e8, -1e8]], 0.1),
        ([[3e38, 1e38, 0.0], [0.0, -3e38, 1.0]], 0.0),
    ],
    ids=["1e8", "1e8-smoothing", "3e38"],
)
def test_cross_entropy_float32_large_logits_finite(rows, smoothing):
    logits = cr.tensor(rows, requires_grad=True)
    with np.errstate(over="raise", invalid="raise"):
        loss = F.cross_entropy(logits, [1, 2], label_smoothing=smoothing)
        loss.backward()
    assert loss.dtype == np.float32 and np.isfinite(loss.item())
    assert logits.grad.dtype == np.float32
    assert np.isfinite(logits.grad.data).all()


def test_cross_entropy_float32_stays_float32_with_float64_weight():
    x, t, w = data()
    logits = cr.tensor(x.astype(np.float32), requires_grad=True)
    loss = F.cross_entropy(logits, t, w)
    loss.backward()
    assert loss.dtype == np.float32
    assert logits.grad.dtype == np.float32
    assert_close(loss, cross_entropy_ref(x, t, w), rtol=1e-5, atol=0)


def test_cross_entropy_accepts_tensor_and_list_targets():
    x, t, _ = data()
    expected = cross_entropy_ref(x, t)
    assert_close(F.cross_entropy(f64(x), cr.tensor(t)), expected)
    assert_close(F.cross_entropy(f64(x), t.tolist()), expected)
    assert_close(F.cross_entropy(f64(x), t.astype(np.uint8)), expected)


def test_cross_entropy_equals_nll_of_log_softmax():
    x, t, w = data(seed=3)
    fused = F.cross_entropy(f64(x), t, w)
    composed = F.nll_loss(F.log_softmax(f64(x), axis=1), t, w)
    assert_close(fused, composed.data)


def test_cross_entropy_retain_graph_second_backward_matches_first():
    x, t, w = data()
    logits = f64(x)
    loss = F.cross_entropy(logits, t, w, label_smoothing=0.3)
    loss.backward(retain_graph=True)
    first = logits.grad.data.copy()
    loss.backward()
    assert_close(logits.grad, 2 * first)


def test_cross_entropy_plain_retain_graph_second_backward_matches_first():
    # the unweighted, unsmoothed backward writes softmax - onehot into the probabilities
    # the forward kept: the second backward must rebuild them, not reuse the edited ones
    x, t, _ = data()
    logits = f64(x)
    loss = F.cross_entropy(logits, t)
    loss.backward(retain_graph=True)
    first = logits.grad.data.copy()
    loss.backward()
    np.testing.assert_array_equal(logits.grad.data, 2 * first)
    probs = np.exp(x - x.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    onehot = np.eye(x.shape[1])[t]
    assert_close(first, (probs - onehot) / len(t))


def test_cross_entropy_gate_skips_nothing_needed_when_no_grad():
    x, t, _ = data()
    with cr.no_grad():
        out = F.cross_entropy(f64(x), t)
    assert not out.requires_grad and out.gate is None


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_hessian_matches_softmax_jacobian(reduction):
    """Second order through the fused gate: d2/dx2 of the mean loss is diag(p) - p p^T / N."""
    x = np.array([[0.3, -1.2, 2.0]])
    t = np.array([2])

    def f(logits):
        return F.cross_entropy(logits, t, reduction=reduction).sum()

    hessian = cr.hessian(f)(f64(x))
    p = np.exp(log_softmax_ref(x))[0]
    expected = (np.diag(p) - np.outer(p, p)).reshape(1, 3, 1, 3)
    assert_close(hessian, expected, rtol=1e-10, atol=1e-14)


# ----- nll_loss -----


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_nll_loss_matches_numpy(reduction, weighted):
    x, t, w = data(seed=1)
    log_p = log_softmax_ref(x)
    w = w if weighted else None
    assert_close(F.nll_loss(f64(log_p), t, w, reduction=reduction), nll_ref(log_p, t, w, reduction))


def test_nll_loss_spatial_matches_cross_entropy():
    x, t, w = data(n=2, c=3, extra=(4,))
    log_p = log_softmax_ref(x)
    assert_close(F.nll_loss(f64(log_p), t, w), cross_entropy_ref(x, t, w))


# ----- svm_loss -----


def test_svm_loss_lecture_example():
    """CS231n lecture 3: cat, car, frog scores; losses 2.9, 0 and 12.9, mean 5.27."""
    scores = f64([[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]])
    per_sample = F.svm_loss(scores, [0, 1, 2], reduction="none")
    assert_close(per_sample, [2.9, 0.0, 12.9], rtol=1e-12)
    assert_close(F.svm_loss(scores, [0, 1, 2]), 15.8 / 3, rtol=1e-12)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("margin", [1.0, 0.5])
def test_svm_loss_matches_naive_loop(reduction, margin):
    x, t, _ = data(seed=2, n=8, c=5)
    assert_close(
        F.svm_loss(f64(x), t, margin, reduction=reduction), svm_ref(x, t, margin, reduction)
    )


def test_svm_loss_gradient_matches_cs231n():
    x, t, _ = data(seed=2, n=8, c=5)
    scores = f64(x)
    F.svm_loss(scores, t).backward()
    assert_close(scores.grad, svm_grad_ref(x, t), rtol=1e-12, atol=1e-15)


# ----- binary cross-entropy with logits -----


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weights", ["none", "weight", "pos_weight", "both"])
def test_bce_with_logits_matches_numpy(reduction, weights):
    rng = np.random.default_rng(4)
    x, t = rng.standard_normal((5, 3)) * 3, rng.uniform(0, 1, (5, 3))
    w = rng.uniform(0.5, 2, (5, 1)) if weights in ("weight", "both") else None
    pw = rng.uniform(0.5, 3, 3) if weights in ("pos_weight", "both") else None
    out = F.binary_cross_entropy_with_logits(f64(x), t, w, pw, reduction=reduction)
    assert_close(out, bce_ref(x, t, w, pw, reduction), rtol=1e-11)


def test_bce_with_logits_large_logits_finite_and_exact():
    x = f64([1e8, -1e8, 1e8, -1e8, 0.0])
    t = np.array([1.0, 0.0, 0.0, 1.0, 0.5])
    loss = F.binary_cross_entropy_with_logits(x, t, reduction="none")
    loss.sum().backward()
    assert_close(loss, [0.0, 0.0, 1e8, 1e8, np.log(2)], rtol=1e-15, atol=0)
    assert_close(x.grad, [0.0, 0.0, 1.0, -1.0, 0.0], atol=1e-300)


def test_bce_with_logits_integer_targets_are_cast():
    x = cr.tensor([0.5, -0.5], requires_grad=True)
    loss = F.binary_cross_entropy_with_logits(x, np.array([1, 0]))
    assert loss.dtype == np.float32
    assert_close(loss, bce_ref(np.array([0.5, -0.5]), np.array([1.0, 0.0])), rtol=1e-6)


# ----- regression losses -----


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_l1_huber_match_numpy(reduction):
    rng = np.random.default_rng(5)
    x, y = rng.standard_normal((4, 3)) * 2, rng.standard_normal((4, 3))
    assert_close(F.mse_loss(f64(x), y, reduction=reduction), reduce_ref((x - y) ** 2, reduction))
    assert_close(F.l1_loss(f64(x), y, reduction=reduction), reduce_ref(np.abs(x - y), reduction))
    for delta in (1.0, 0.3, 5.0):
        out = F.huber_loss(f64(x), y, delta, reduction=reduction)
        assert_close(out, huber_ref(x, y, delta, reduction))


def test_regression_losses_differentiate_the_target_too():
    rng = np.random.default_rng(6)
    x, y = f64(rng.standard_normal(5)), f64(rng.standard_normal(5))
    F.mse_loss(x, y, reduction="sum").backward()
    assert_close(y.grad, -2 * (x.data - y.data))


def test_l1_loss_gradient_at_zero_is_zero():
    x = f64([1.0, 2.0])
    F.l1_loss(x, np.array([1.0, 0.0]), reduction="sum").backward()
    assert_close(x.grad, [0.0, 1.0])


# ----- gradient checks in float64 -----

GRADCHECKED = {
    "cross_entropy": lambda x: F.cross_entropy(x, data()[1], reduction="sum"),
    "cross_entropy-weight-smoothing": lambda x: F.cross_entropy(
        x, data()[1], data()[2], label_smoothing=0.2
    ),
    "nll_loss-weight": lambda x: F.nll_loss(x, data()[1], data()[2]),
    "svm_loss": lambda x: F.svm_loss(x, data()[1]),
    "mse_loss": lambda x: F.mse_loss(x, np.linspace(-1, 1, 24).reshape(6, 4)),
    "l1_loss": lambda x: F.l1_loss(x, np.linspace(-1, 1, 24).reshape(6, 4) + 0.01),
    "huber_loss": lambda x: F.huber_loss(x, np.linspace(-1, 1, 24).reshape(6, 4) + 0.01),
    "bce_with_logits": lambda x: F.binary_cross_entropy_with_logits(
        x, np.linspace(0, 1, 24).reshape(6, 4), np.full((6, 1), 0.5), np.arange(1.0, 5.0)
    ),
}


@pytest.mark.parametrize("fn", GRADCHECKED.values(), ids=GRADCHECKED.keys())
@pytest.mark.parametrize("order", [1, 2])
def test_loss_gradcheck(fn, order):
    x, _, _ = data()  # (6, 4); the SVM and Huber kinks are at measure zero for these values
    check = cr.gradcheck if order == 1 else cr.gradgradcheck
    assert check(fn, [f64(x)])


def test_regression_losses_gradcheck_in_the_target():
    rng = np.random.default_rng(7)
    x, y = f64(rng.standard_normal((3, 2))), f64(rng.standard_normal((3, 2)))
    t = f64(rng.uniform(0, 1, (3, 2)))
    assert cr.gradcheck(lambda a, b: F.mse_loss(a, b), [x, y])
    assert cr.gradcheck(lambda a, b: F.huber_loss(a, b, 0.5), [x, y])
    assert cr.gradcheck(lambda a, b: F.binary_cross_entropy_with_logits(a, b), [x, t])


# ----- errors -----

LOSSES_WITH_CLASSES = {
    "cross_entropy": F.cross_entropy,
    "nll_loss": F.nll_loss,
    "svm_loss": F.svm_loss,
}


@pytest.mark.parametrize("name", LOSSES_WITH_CLASSES)
def test_class_losses_reject_float_targets(name):
    with pytest.raises(TypeError, match=rf"{name}: targets must be integer class indices.*float"):
        LOSSES_WITH_CLASSES[name](f64(np.zeros((2, 3))), np.array([0.0, 1.0]))


@pytest.mark.parametrize("name", LOSSES_WITH_CLASSES)
def test_class_losses_reject_wrong_target_shape(name):
    with pytest.raises(ShapeError, match=rf"{name}: targets of shape \(3,\).*\(2, 3\).*\(2,\)"):
        LOSSES_WITH_CLASSES[name](f64(np.zeros((2, 3))), np.array([0, 1, 2]))


@pytest.mark.parametrize("name", LOSSES_WITH_CLASSES)
@pytest.mark.parametrize("bad", [3, -1])
def test_class_losses_reject_targets_out_of_range(name, bad):
    with pytest.raises(ValueError, match=rf"{name}: target {bad} is out of range.*\[0, 3\)"):
        LOSSES_WITH_CLASSES[name](f64(np.zeros((2, 3))), np.array([0, bad]))


@pytest.mark.parametrize("name", LOSSES_WITH_CLASSES)
@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint64])
@pytest.mark.parametrize("bad", [3, 100, -1, -128])
def test_class_losses_check_the_range_of_every_integer_dtype(name, dtype, bad):
    # the check reads signed targets as unsigned, where a negative one is above any count
    targets = np.array([0, 2, 1], np.int64)
    LOSSES_WITH_CLASSES[name](f64(np.zeros((3, 3))), targets.astype(dtype))  # in range
    if bad < 0 and np.dtype(dtype).kind == "u":
        return
    targets[1] = bad
    with pytest.raises(ValueError, match=rf"{name}: target {bad} is out of range.*\[0, 3\)"):
        LOSSES_WITH_CLASSES[name](f64(np.zeros((3, 3))), targets.astype(dtype))


@pytest.mark.parametrize("name", ["cross_entropy", "nll_loss"])
def test_class_losses_reject_one_dimensional_input(name):
    with pytest.raises(ShapeError, match=rf"{name}: .* must have shape \(N, C\)"):
        LOSSES_WITH_CLASSES[name](f64(np.zeros(3)), np.array(0))


def test_svm_loss_rejects_spatial_input():
    with pytest.raises(ShapeError, match=r"svm_loss: scores must have shape \(N, C\)"):
        F.svm_loss(f64(np.zeros((2, 3, 4))), np.zeros((2, 4), int))


@pytest.mark.parametrize("name", ["cross_entropy", "nll_loss"])
def test_class_losses_reject_wrong_weight_shape(name):
    with pytest.raises(ShapeError, match=rf"{name}: weight has shape \(2,\).*\(3,\)"):
        LOSSES_WITH_CLASSES[name](f64(np.zeros((2, 3))), np.array([0, 1]), np.ones(2))


def test_cross_entropy_rejects_label_smoothing_out_of_range():
    with pytest.raises(ValueError, match=r"cross_entropy: label_smoothing must be in \[0, 1\]"):
        F.cross_entropy(f64(np.zeros((2, 3))), [0, 1], label_smoothing=1.5)


def test_losses_reject_integer_input():
    with pytest.raises(TypeError, match="cross_entropy: logits must be floating point"):
        F.cross_entropy(cr.tensor([[1, 2]]), [0])


ALL_LOSSES = {
    "cross_entropy": lambda r: F.cross_entropy(f64(np.zeros((2, 3))), [0, 1], reduction=r),
    "nll_loss": lambda r: F.nll_loss(f64(np.zeros((2, 3))), [0, 1], reduction=r),
    "svm_loss": lambda r: F.svm_loss(f64(np.zeros((2, 3))), [0, 1], reduction=r),
    "mse_loss": lambda r: F.mse_loss(f64([1.0]), [1.0], reduction=r),
    "l1_loss": lambda r: F.l1_loss(f64([1.0]), [1.0], reduction=r),
    "huber_loss": lambda r: F.huber_loss(f64([1.0]), [1.0], reduction=r),
    "binary_cross_entropy_with_logits": lambda r: F.binary_cross_entropy_with_logits(
        f64([1.0]), [1.0], reduction=r
    ),
}


@pytest.mark.parametrize("name", ALL_LOSSES)
def test_losses_reject_unknown_reduction(name):
    with pytest.raises(ValueError, match=rf"{name}: reduction must be 'mean', 'sum' or 'none'"):
        ALL_LOSSES[name]("average")


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "huber_loss"])
def test_regression_losses_reject_shape_mismatch(name):
    fn = getattr(F, name)
    with pytest.raises(ShapeError, match=rf"{name}: target has shape \(3, 1\), input \(3,\)"):
        fn(f64(np.zeros(3)), np.zeros((3, 1)))


def test_huber_loss_rejects_non_positive_delta():
    with pytest.raises(ValueError, match="huber_loss: delta must be positive"):
        F.huber_loss(f64([1.0]), [0.0], 0.0)


def test_huber_loss_names_a_reduction_passed_as_delta():
    with pytest.raises(TypeError, match="huber_loss: delta must be a number, got 'sum'"):
        F.huber_loss(f64([1.0]), [0.0], "sum")


def test_reduction_is_keyword_only():
    with pytest.raises(TypeError):
        F.mse_loss(f64([1.0]), [0.0], "sum")


def test_bce_with_logits_rejects_bad_shapes():
    name = "binary_cross_entropy_with_logits"
    with pytest.raises(ShapeError, match=rf"{name}: targets has shape \(2,\), input \(2, 3\)"):
        F.binary_cross_entropy_with_logits(f64(np.zeros((2, 3))), np.zeros(2))
    with pytest.raises(ShapeError, match=rf"{name}: pos_weight of shape \(2,\) does not broad"):
        F.binary_cross_entropy_with_logits(f64(np.zeros((2, 3))), np.zeros((2, 3)), None, [1, 2])
    with pytest.raises(ShapeError, match=rf"{name}: weight of shape \(4, 3\) does not broad"):
        F.binary_cross_entropy_with_logits(f64(np.zeros((2, 3))), np.zeros((2, 3)), np.ones((4, 3)))


# ----- against PyTorch (float64 values and gradients) -----


def torch_grad(torch, fn, *arrays):
    """fn on float64 torch leaves; returns (value, gradients of the sum of the output)."""
    leaves = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    out = fn(*leaves)
    out.backward(torch.ones_like(out))
    return out.detach().numpy(), [leaf.grad.numpy() for leaf in leaves]


def ours_grad(fn, *arrays):
    leaves = [f64(a) for a in arrays]
    out = fn(*leaves)
    out.backward(np.ones(out.shape))
    return out.data, [leaf.grad.data for leaf in leaves]


def assert_same(ours, theirs, rtol=1e-10, atol=1e-12):
    (value, grads), (expected, expected_grads) = ours, theirs
    np.testing.assert_allclose(value, expected, rtol=rtol, atol=atol)
    for g, expected_g in zip(grads, expected_grads, strict=True):
        np.testing.assert_allclose(g, expected_g, rtol=rtol, atol=atol)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("smoothing", [0.0, 0.15])
@pytest.mark.parametrize("extra", [(), (3,)], ids=["NC", "NCd"])
def test_cross_entropy_matches_torch(reduction, weighted, smoothing, extra):
    torch = pytest.importorskip("torch")
    x, t, w = data(extra=extra)
    w = w if weighted else None
    tw = None if w is None else torch.tensor(w)
    theirs = torch_grad(
        torch,
        lambda a: torch.nn.functional.cross_entropy(
            a, torch.tensor(t), tw, reduction=reduction, label_smoothing=smoothing
        ),
        x,
    )
    ours = ours_grad(
        lambda a: F.cross_entropy(a, t, w, reduction=reduction, label_smoothing=smoothing), x
    )
    assert_same(ours, theirs)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_nll_loss_matches_torch(reduction, weighted):
    torch = pytest.importorskip("torch")
    x, t, w = data(seed=8)
    log_p = log_softmax_ref(x)
    w = w if weighted else None
    tw = None if w is None else torch.tensor(w)
    theirs = torch_grad(
        torch, lambda a: torch.nn.functional.nll_loss(a, torch.tensor(t), tw, reduction=reduction),
        log_p,
    )  # fmt: skip
    assert_same(ours_grad(lambda a: F.nll_loss(a, t, w, reduction=reduction), log_p), theirs)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_svm_loss_is_torch_multi_margin_loss_times_classes(reduction):
    torch = pytest.importorskip("torch")
    x, t, _ = data(seed=9, n=8, c=5)
    theirs = torch_grad(
        torch,
        lambda a: (
            torch.nn.functional.multi_margin_loss(a, torch.tensor(t), reduction=reduction) * 5
        ),
        x,
    )
    assert_same(ours_grad(lambda a: F.svm_loss(a, t, reduction=reduction), x), theirs)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weights", ["none", "weight", "pos_weight", "both"])
def test_bce_with_logits_matches_torch(reduction, weights):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(10)
    x, t = rng.standard_normal((5, 3)) * 3, rng.uniform(0, 1, (5, 3))
    w = rng.uniform(0.5, 2, (5, 1)) if weights in ("weight", "both") else None
    pw = rng.uniform(0.5, 3, 3) if weights in ("pos_weight", "both") else None
    tw, tpw = (None if a is None else torch.tensor(a) for a in (w, pw))
    theirs = torch_grad(
        torch,
        lambda a, b: torch.nn.functional.binary_cross_entropy_with_logits(
            a, b, tw, reduction=reduction, pos_weight=tpw
        ),
        x,
        t,
    )
    ours = ours_grad(
        lambda a, b: F.binary_cross_entropy_with_logits(a, b, w, pw, reduction=reduction), x, t
    )
    assert_same(ours, theirs)


REGRESSION = [
    ("mse_loss", {}),
    ("l1_loss", {}),
    ("huber_loss", {}),
    ("huber_loss", {"delta": 0.4}),
    ("huber_loss", {"delta": 3.0}),
]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(("name", "kwargs"), REGRESSION, ids=[f"{n}{k}" for n, k in REGRESSION])
def test_regression_losses_match_torch(name, kwargs, reduction):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(11)
    x, y = rng.standard_normal((4, 3)) * 2, rng.standard_normal((4, 3))
    theirs_fn, ours_fn = getattr(torch.nn.functional, name), getattr(F, name)
    theirs = torch_grad(torch, lambda a, b: theirs_fn(a, b, reduction=reduction, **kwargs), x, y)
    ours = ours_grad(lambda a, b: ours_fn(a, b, reduction=reduction, **kwargs), x, y)
    assert_same(ours, theirs)


def test_cross_entropy_hessian_matches_torch():
    torch = pytest.importorskip("torch")
    x, t, w = data(n=3, c=4, seed=12)

    def theirs(a):
        return torch.nn.functional.cross_entropy(
            a, torch.tensor(t), torch.tensor(w), label_smoothing=0.1
        )

    expected = torch.autograd.functional.hessian(theirs, torch.tensor(x)).numpy()
    ours = cr.hessian(lambda a: F.cross_entropy(a, t, w, label_smoothing=0.1))(f64(x))
    np.testing.assert_allclose(ours.data, expected, rtol=1e-10, atol=1e-12)
