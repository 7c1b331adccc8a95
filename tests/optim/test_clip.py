"""Gradient clipping by total norm and by value (float64 unless stated)."""

import math

import numpy as np
import pytest
from pytest import approx

import chainrule as cr
from chainrule.optim import clip_grad_norm_, clip_grad_value_


def with_grads(*grads):
    params = []
    for g in grads:
        p = cr.tensor(np.zeros_like(np.asarray(g, dtype=float)), requires_grad=True)
        p.grad = None if g is None else cr.tensor(np.array(g, dtype=float))
        params.append(p)
    return params


def test_clip_grad_norm_hand_computed():
    # gradients (3, 4) and (12,): total norm sqrt(9 + 16 + 144) = 13
    # clip_coef = 1.3 / (13 + 1e-6): every gradient is scaled by it
    a, b = with_grads([3.0, 4.0], [12.0])
    total = clip_grad_norm_([a, b], max_norm=1.3)
    assert total == approx(13.0, rel=1e-15)
    coef = 1.3 / (13.0 + 1e-6)
    np.testing.assert_allclose(a.grad.data, [3 * coef, 4 * coef], rtol=1e-15)
    np.testing.assert_allclose(b.grad.data, [12 * coef], rtol=1e-15)
    assert math.sqrt(np.sum(a.grad.data**2) + np.sum(b.grad.data**2)) < 1.3


def test_clip_grad_norm_below_the_limit_changes_nothing():
    (a,) = with_grads([3.0, 4.0])
    data = a.grad.data
    assert clip_grad_norm_(a, max_norm=5.0) == approx(5.0)  # coef 5 / (5 + 1e-6) < 1 clips
    assert clip_grad_norm_(a, max_norm=10.0) == approx(5.0 * 5 / (5 + 1e-6))
    np.testing.assert_allclose(data, np.array([3.0, 4.0]) * 5 / (5 + 1e-6), rtol=1e-15)
    assert a.grad.data is data  # in place


def test_clip_grad_norm_infinity_norm():
    # max |g| over everything: 7; coef = 2 / (7 + 1e-6)
    a, b = with_grads([[1.0, -7.0]], [3.0])
    assert clip_grad_norm_([a, b], 2.0, norm_type=float("inf")) == 7.0
    np.testing.assert_allclose(b.grad.data, [3 * 2 / (7 + 1e-6)], rtol=1e-15)
    (c,) = with_grads([1.0, -7.0])
    assert clip_grad_norm_(c, 2.0, norm_type="inf") == 7.0


def test_clip_grad_norm_one_norm():
    # |1| + |-2| + |3| = 6
    a, b = with_grads([1.0, -2.0], [3.0])
    assert clip_grad_norm_([a, b], 3.0, norm_type=1) == approx(6.0)
    np.testing.assert_allclose(a.grad.data, [0.5, -1.0], rtol=1e-6)


def test_clip_grad_norm_skips_none_and_handles_no_grads():
    a, b = with_grads([3.0, 4.0], None)
    assert clip_grad_norm_([a, b], 1.0) == approx(5.0)
    assert b.grad is None
    assert clip_grad_norm_([b], 1.0) == 0.0
    assert clip_grad_norm_([], 1.0) == 0.0


def test_clip_grad_norm_accepts_a_generator_and_a_0d_gradient():
    s = cr.tensor(np.float64(2.0), requires_grad=True)
    (s * s).backward()  # gradient 4, possibly held as a NumPy scalar
    w = cr.tensor(np.zeros(1), requires_grad=True)
    w.grad = cr.tensor(np.array([3.0]))
    assert clip_grad_norm_((p for p in [s, w]), 1.0) == approx(5.0)
    assert float(s.grad.data) == approx(0.8, rel=1e-6)
    assert s.grad.data.shape == ()


def test_clip_grad_norm_keeps_float32():
    w = cr.tensor(np.zeros(3, dtype=np.float32), requires_grad=True)
    w.grad = cr.tensor(np.array([1.0, 2.0, 2.0], dtype=np.float32))
    assert clip_grad_norm_(w, 1.5) == approx(3.0, rel=1e-6)
    assert w.grad.data.dtype == np.float32
    np.testing.assert_allclose(w.grad.data, [0.5, 1.0, 1.0], rtol=1e-5)


def test_clip_grad_norm_nonfinite():
    (a,) = with_grads([np.inf, 1.0])
    with pytest.raises(RuntimeError, match="total norm of order 2.0 .* is inf"):
        clip_grad_norm_(a, 1.0, error_if_nonfinite=True)
    assert clip_grad_norm_(a, 1.0) == math.inf  # scaled by 1 / inf, as torch: no warning


def test_clip_grad_norm_rejects_a_negative_max_norm():
    (a,) = with_grads([1.0])
    with pytest.raises(ValueError, match="max_norm must be >= 0, got -1.0"):
        clip_grad_norm_(a, -1)


def test_clip_grad_value_hand_computed():
    a, b, c = with_grads([-3.0, 0.5, 2.0], [[0.1, -0.2]], None)
    clip_grad_value_([a, b, c], 1.0)
    np.testing.assert_array_equal(a.grad.data, [-1.0, 0.5, 1.0])
    np.testing.assert_array_equal(b.grad.data, [[0.1, -0.2]])
    assert c.grad is None


def test_clip_grad_value_in_place_and_dtype():
    w = cr.tensor(np.zeros(2, dtype=np.float32), requires_grad=True)
    w.grad = cr.tensor(np.array([5.0, -5.0], dtype=np.float32))
    data = w.grad.data
    clip_grad_value_(w, 0.25)
    assert w.grad.data is data and data.dtype == np.float32
    np.testing.assert_array_equal(data, [0.25, -0.25])


def test_clip_grad_value_rejects_a_negative_value():
    (a,) = with_grads([1.0])
    with pytest.raises(ValueError, match="clip_value must be >= 0, got -0.5"):
        clip_grad_value_(a, -0.5)
