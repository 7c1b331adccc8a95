"""Loss modules: settings passed through to the functions, references, gradients."""

import numpy as np
import pytest
from nn_checks import f64, module_gradcheck

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn

R = np.random.default_rng(0)
LOGITS = R.standard_normal((6, 4))
LABELS = np.array([0, 3, 1, 1, 2, 3])
VALUES = R.standard_normal((6, 4))
TARGETS = R.standard_normal((6, 4))
PROBS = R.uniform(size=(6, 4))
CLASS_WEIGHT = np.array([1.0, 2.0, 0.5, 3.0])


def svm_reference(scores, y, margin=1.0):
    """CS231n svm_loss_vectorized (mean over the batch)."""
    correct = scores[np.arange(len(y)), y][:, None]
    margins = np.maximum(0, scores - correct + margin)
    margins[np.arange(len(y)), y] = 0
    return margins.sum(axis=1)


# (module, function call, input, target, torch module name and arguments or None)
CASES = [
    (nn.CrossEntropyLoss(), lambda x, t: F.cross_entropy(x, t), LOGITS, LABELS,
     ("CrossEntropyLoss", {})),
    (nn.CrossEntropyLoss(weight=CLASS_WEIGHT, label_smoothing=0.1, reduction="sum"),
     lambda x, t: F.cross_entropy(x, t, CLASS_WEIGHT, label_smoothing=0.1, reduction="sum"),
     LOGITS, LABELS, ("CrossEntropyLoss", {"label_smoothing": 0.1, "reduction": "sum"})),
    (nn.NLLLoss(reduction="none"), lambda x, t: F.nll_loss(x, t, reduction="none"),
     LOGITS, LABELS, ("NLLLoss", {"reduction": "none"})),
    (nn.NLLLoss(weight=CLASS_WEIGHT), lambda x, t: F.nll_loss(x, t, CLASS_WEIGHT),
     LOGITS, LABELS, ("NLLLoss", {})),
    (nn.MSELoss(), lambda x, t: F.mse_loss(x, t), VALUES, TARGETS, ("MSELoss", {})),
    (nn.L1Loss(reduction="sum"), lambda x, t: F.l1_loss(x, t, reduction="sum"),
     VALUES, TARGETS, ("L1Loss", {"reduction": "sum"})),
    (nn.HuberLoss(delta=0.5), lambda x, t: F.huber_loss(x, t, delta=0.5), VALUES, TARGETS,
     ("HuberLoss", {"delta": 0.5})),
    (nn.BCEWithLogitsLoss(), lambda x, t: F.binary_cross_entropy_with_logits(x, t),
     VALUES, PROBS, ("BCEWithLogitsLoss", {})),
    (nn.BCEWithLogitsLoss(weight=np.full(4, 0.5), pos_weight=CLASS_WEIGHT, reduction="none"),
     lambda x, t: F.binary_cross_entropy_with_logits(
         x, t, np.full(4, 0.5), CLASS_WEIGHT, reduction="none"),
     VALUES, PROBS, ("BCEWithLogitsLoss", {"reduction": "none"})),
    (nn.SVMLoss(), lambda x, t: F.svm_loss(x, t), LOGITS, LABELS, None),
    (nn.SVMLoss(margin=0.5, reduction="none"),
     lambda x, t: F.svm_loss(x, t, margin=0.5, reduction="none"), LOGITS, LABELS, None),
]  # fmt: skip
IDS = [f"{type(case[0]).__name__}-{i}" for i, case in enumerate(CASES)]
TORCH_CASES = [case for case in CASES if case[4] is not None]
TORCH_IDS = [name for name, case in zip(IDS, CASES) if case[4] is not None]


@pytest.mark.parametrize(("loss", "call", "x", "t", "torch_spec"), CASES, ids=IDS)
def test_loss_module_equals_its_function(loss, call, x, t, torch_spec):
    np.testing.assert_array_equal(loss(f64(x), t).data, call(f64(x), t).data)


@pytest.mark.parametrize(("loss", "call", "x", "t", "torch_spec"), CASES, ids=IDS)
def test_loss_module_gradcheck(loss, call, x, t, torch_spec):
    assert module_gradcheck(loss, f64(x), t)


@pytest.mark.parametrize(("loss", "call", "x", "t", "torch_spec"), TORCH_CASES, ids=TORCH_IDS)
def test_loss_module_matches_torch(loss, call, x, t, torch_spec):
    torch = pytest.importorskip("torch")
    name, kwargs = torch_spec
    for key in ("weight", "pos_weight"):
        buffer = loss._buffers.get(key)
        if buffer is not None:
            kwargs = {**kwargs, key: torch.from_numpy(np.asarray(buffer.data, np.float64))}
    ref = getattr(torch.nn, name)(**kwargs)
    want = ref(torch.from_numpy(x), torch.from_numpy(t)).numpy()
    np.testing.assert_allclose(loss(f64(x), t).data, want, rtol=1e-10, atol=1e-12)


def test_svm_loss_is_the_cs231n_multiclass_svm():
    want = svm_reference(LOGITS, LABELS)
    assert nn.SVMLoss()(f64(LOGITS), LABELS).item() == pytest.approx(want.mean(), rel=1e-12)
    got = nn.SVMLoss(margin=2.0, reduction="none")(f64(LOGITS), LABELS).data
    np.testing.assert_allclose(got, svm_reference(LOGITS, LABELS, 2.0), rtol=1e-12)


def test_cross_entropy_module_on_a_classifier():
    cr.seed(0)
    model = nn.Sequential(nn.Linear(4, 3), nn.LogSoftmax(dim=1))
    x, y = cr.randn(5, 4), np.array([0, 1, 2, 1, 0])
    nll = nn.NLLLoss()(model(x), y)
    ce = nn.CrossEntropyLoss()(model[0](x), y)
    assert nll.item() == pytest.approx(ce.item(), rel=1e-6)


@pytest.mark.parametrize(
    "make",
    [
        lambda r: nn.CrossEntropyLoss(reduction=r),
        lambda r: nn.NLLLoss(reduction=r),
        lambda r: nn.MSELoss(reduction=r),
        lambda r: nn.L1Loss(reduction=r),
        lambda r: nn.HuberLoss(reduction=r),
        lambda r: nn.BCEWithLogitsLoss(reduction=r),
        lambda r: nn.SVMLoss(reduction=r),
    ],
)
def test_reduction_is_checked_when_the_module_is_made(make):
    with pytest.raises(ValueError, match="reduction must be 'mean', 'sum' or 'none', got 'avg'"):
        make("avg")


def test_loss_weight_buffers_follow_the_module_dtype():
    loss = nn.CrossEntropyLoss(weight=[1.0, 2.0])
    assert loss.weight.dtype == np.float32
    assert loss.double().weight.dtype == np.float64
    bce = nn.BCEWithLogitsLoss(pos_weight=cr.tensor([3.0]))
    assert list(bce.state_dict()) == ["pos_weight"]
