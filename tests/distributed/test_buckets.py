"""Bucket planning: one dtype per bucket, a size cap, reverse registration order."""

import numpy as np

from chainrule import nn
from chainrule.distributed.buckets import plan_buckets


def shapes(buckets):
    return [[tuple(p.shape) for p in b.params] for b in buckets]


def test_buckets_fill_up_to_the_cap_in_reverse_order():
    params = [nn.Parameter(np.zeros(n, np.float32)) for n in (10, 20, 30, 40)]
    # 40 + 30 floats = 280 bytes fit a 300-byte cap; 20 would not.
    assert shapes(plan_buckets(params, 300)) == [[(40,), (30,)], [(20,), (10,)]]
    assert shapes(plan_buckets(params, 10**6)) == [[(40,), (30,), (20,), (10,)]]


def test_a_parameter_larger_than_the_cap_gets_a_bucket_of_its_own():
    params = [nn.Parameter(np.zeros(n, np.float32)) for n in (5, 1000, 5)]
    assert shapes(plan_buckets(params, 100)) == [[(5,)], [(1000,)], [(5,)]]


def test_buckets_never_mix_dtypes():
    params = [
        nn.Parameter(np.zeros(3, np.float32)),
        nn.Parameter(np.zeros(4, np.float64)),
        nn.Parameter(np.zeros(5, np.float32)),
    ]
    buckets = plan_buckets(params, 10**6)
    assert shapes(buckets) == [[(5,), (3,)], [(4,)]]
    assert [b.dtype for b in buckets] == [np.float32, np.float64]


def test_bucket_layout_gradients_then_presence_then_weight():
    params = [nn.Parameter(np.zeros((2, 3))), nn.Parameter(np.zeros(4))]
    (bucket,) = plan_buckets(params, 10**6)
    assert bucket.flat.shape == (4 + 6 + 2 + 1,)
    assert bucket.presence == slice(10, 12) and bucket.weight == 12
    bucket.slot(1)[...] = 7  # the (2, 3) parameter, second in reverse order
    assert bucket.slot(1).shape == (2, 3) and bucket.slot(1).base is not None
    np.testing.assert_array_equal(bucket.flat[4:10], 7)
    assert bucket.nbytes == 13 * 8
