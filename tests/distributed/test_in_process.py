"""chainrule.distributed in the test process itself: a world of one rank.

Everything that does not need a second process: the communicator's checks, the
wrapper's bookkeeping (gradients, no_sync, state dicts, errors) and SyncBatchNorm
against BatchNorm. The multi-process behaviour is in test_mpi_jobs.py.
"""

import gc

import numpy as np
import pytest
from mpi_jobs import needs_mpi4py

import chainrule as cr
from chainrule import engine, nn
from chainrule.nn import functional as F

pytestmark = needs_mpi4py


@pytest.fixture(scope="module")
def dist():
    from chainrule import distributed

    distributed.init()
    return distributed


@pytest.fixture
def comm(dist):
    return dist.communicator()


def mlp(dtype="float64"):
    cr.seed(0)
    return nn.Sequential(nn.Linear(5, 7), nn.ReLU(), nn.Linear(7, 3)).to(dtype)


def batch(n=8):
    rng = np.random.default_rng(1)
    return cr.tensor(rng.standard_normal((n, 5))), rng.integers(0, 3, n)


def grads(model):
    return [p.grad.numpy().copy() for p in model.parameters()]


# ----- runtime and communicator -----


def test_runtime_reports_a_world_of_one(dist):
    assert (dist.rank(), dist.world_size(), dist.is_main(), dist.is_initialized()) == (
        0, 1, True, True,
    )  # fmt: skip
    assert dist.init() is dist.communicator()
    dist.barrier()
    assert repr(dist.communicator()) == "Communicator(rank=0, size=1)"


def test_runtime_before_init_is_a_clear_error(dist, monkeypatch):
    from chainrule.distributed import runtime

    monkeypatch.setattr(runtime, "_WORLD", None)
    for fn in (dist.rank, dist.world_size, dist.is_main, dist.barrier):
        with pytest.raises(RuntimeError, match=r"call chainrule.distributed.init\(\) first"):
            fn()
    assert not dist.is_initialized()


@pytest.mark.parametrize(
    ("op", "values", "expected"),
    [("sum", [1.0, -2.0], [1.0, -2.0]), ("mean", [3.0], [3.0]), ("max", [4], [4]),
     ("min", [5], [5])],
)  # fmt: skip
def test_all_reduce_works_in_place(comm, op, values, expected):
    array = np.array(values)
    assert comm.all_reduce(array, op=op) is array
    np.testing.assert_array_equal(array, expected)
    tensor = cr.tensor(values)
    comm.all_reduce(tensor, op=op)
    np.testing.assert_array_equal(tensor.numpy(), expected)


def test_all_reduce_async_returns_a_request(comm):
    array = np.ones(3, np.float32)
    comm.all_reduce(array, async_op=True).Wait()
    np.testing.assert_array_equal(array, 1)
    with pytest.raises(ValueError, match="async_op=True supports op='sum' only, got 'max'"):
        comm.all_reduce(array, op="max", async_op=True)


@pytest.mark.parametrize(
    ("array", "kwargs", "error", "message"),
    [
        (np.ones((3, 4))[:, ::2], {}, ValueError, r"strides \(32, 16\)\) must be C-contiguous"),
        (np.broadcast_to(np.ones(3), (2, 3)), {}, ValueError, "C-contiguous and writeable"),
        ([1.0, 2.0], {}, TypeError, "expected a NumPy array or a Tensor, got list"),
        (np.array(["a"]), {}, TypeError, "unsupported dtype <U1"),
        (np.ones(2), {"op": "prod"}, ValueError, "op must be one of sum, mean, max, min"),
        (np.ones(2, np.int64), {"op": "mean"}, TypeError, "'mean' needs a floating array"),
    ],
)
def test_all_reduce_bad_input_is_named(comm, array, kwargs, error, message):
    with pytest.raises(error, match=f"all_reduce: .*{message}"):
        comm.all_reduce(array, **kwargs)


def test_broadcast_gather_and_objects(comm):
    array = np.arange(4.0)
    assert comm.broadcast(array) is array
    np.testing.assert_array_equal(comm.all_gather(np.arange(3)), [[0, 1, 2]])
    np.testing.assert_array_equal(comm.sum([1, 2.5]), [1.0, 2.5])
    assert comm.broadcast_object({"a": [1]}) == {"a": [1]}
    assert comm.all_gather_object(7) == [7]
    with pytest.raises(ValueError, match=r"broadcast: src must be a rank in \[0, 1\), got 1"):
        comm.broadcast(array, src=1)
    with pytest.raises(ValueError, match=r"broadcast_object: src must be a rank"):
        comm.broadcast_object(1, src=-1)


def test_reduce_mean_weights_by_count(dist):
    assert dist.reduce_mean({"loss": 2.0}, count=3) == {"loss": 2.0}
    with pytest.raises(ValueError, match="reduce_mean: the ranks saw 0 samples in all"):
        dist.reduce_mean({"loss": 2.0}, count=0)


def test_abort_on_error_lets_success_and_exit_0_through(dist):
    with dist.abort_on_error():
        value = 1
    assert value == 1
    with pytest.raises(SystemExit), dist.abort_on_error():
        raise SystemExit(0)


# ----- DistributedDataParallel -----


def test_ddp_in_a_world_of_one_leaves_gradients_as_they_are(dist):
    x, y = batch()
    plain, wrapped = mlp(), mlp()
    ddp = dist.DistributedDataParallel(wrapped)
    F.cross_entropy(plain(x), y).backward()
    F.cross_entropy(ddp(x), y).backward()
    for a, b in zip(grads(plain), grads(wrapped)):
        np.testing.assert_allclose(a, b, rtol=1e-14, atol=0)
    assert ddp.reducer.weight == 8.0


def test_ddp_gradients_accumulate_over_backward_calls_and_no_sync(dist):
    x, y = batch()
    plain, ddp = mlp(), dist.DistributedDataParallel(mlp())
    for _ in range(2):
        F.cross_entropy(plain(x), y).backward()
    F.cross_entropy(ddp(x), y).backward()
    with ddp.no_sync():
        F.cross_entropy(ddp(x), y).backward()
        assert ddp.reducer._unsynced
    assert ddp.reducer.enabled and ddp.reducer._unsynced
    F.cross_entropy(ddp(x), y).backward()  # averages what no_sync left: 3 backward in all
    assert not ddp.reducer._unsynced
    for a, b in zip(grads(plain), grads(ddp.module)):
        np.testing.assert_allclose(1.5 * a, b, rtol=1e-13)


def test_ddp_ignores_a_backward_that_does_not_reach_it(dist):
    ddp = dist.DistributedDataParallel(mlp())
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0])
    assert all(p.grad is None for p in ddp.parameters())


def test_ddp_parameter_without_gradient_keeps_none(dist):
    model = mlp()
    ddp = dist.DistributedDataParallel(model)
    x, _ = batch()
    ddp(x)[:, 0].sum().backward()
    assert model[2].weight.grad is not None and model[0].bias.grad is not None
    model[0].weight.requires_grad_(False)
    model.zero_grad()
    ddp(x).sum().backward()
    assert model[0].weight.grad is None and model[2].weight.grad is not None


def test_ddp_state_dict_has_no_prefix_and_loads_into_the_plain_model(dist):
    ddp = dist.DistributedDataParallel(mlp())
    plain = mlp().to("float64")
    for p in ddp.parameters():
        p.data += 1
    plain.load_state_dict(ddp.state_dict())
    assert list(ddp.state_dict()) == list(plain.state_dict())
    ddp.load_state_dict(mlp().state_dict())
    np.testing.assert_array_equal(ddp.module[0].weight.numpy(), mlp()[0].weight.numpy())
    assert repr(ddp).startswith("DistributedDataParallel(\n  rank 0 of 1\n  (module): Sequential(")


def test_ddp_rejects_create_graph_and_changed_dtypes(dist):
    ddp = dist.DistributedDataParallel(mlp())
    x, y = batch()
    with pytest.raises(RuntimeError, match="create_graph=True\\) is not supported"):
        F.cross_entropy(ddp(x), y).backward(create_graph=True)
    ddp.module.to("float32")
    with pytest.raises(TypeError, match="float32 gradient .* bucket holds float64"):
        F.cross_entropy(ddp(x.astype("float32")), y).backward()


@pytest.mark.parametrize(
    ("module", "kwargs", "message"),
    [
        (lambda: object(), {}, "expected a chainrule.nn.Module, got object"),
        (mlp, {"bucket_cap_mb": 0}, "bucket_cap_mb must be positive, got 0"),
    ],
)
def test_ddp_bad_arguments_are_named(dist, module, kwargs, message):
    with pytest.raises((TypeError, ValueError), match=f"DistributedDataParallel: {message}"):
        dist.DistributedDataParallel(module(), **kwargs)


def test_the_engine_hook_goes_when_the_last_wrapped_model_does(dist):
    from chainrule.distributed import hooks

    gc.collect()  # wrapped models of earlier tests
    assert hooks.dispatch not in engine.BACKWARD_HOOKS and not hooks._REDUCERS
    first, second = (dist.DistributedDataParallel(mlp()) for _ in range(2))
    assert engine.BACKWARD_HOOKS.count(hooks.dispatch) == 1 and len(hooks._REDUCERS) == 2
    del first
    gc.collect()
    assert hooks.dispatch in engine.BACKWARD_HOOKS and len(hooks._REDUCERS) == 1
    del second
    gc.collect()
    assert hooks.dispatch not in engine.BACKWARD_HOOKS and not hooks._REDUCERS


# ----- SyncBatchNorm -----


@pytest.mark.parametrize("shape", [(6, 4), (6, 4, 5), (3, 4, 2, 3)])
def test_sync_batchnorm_in_a_world_of_one_is_batchnorm(dist, shape):
    rng = np.random.default_rng(0)
    x_data = rng.standard_normal(shape) * 3 + 1
    g = rng.standard_normal(shape)
    layers = [nn.BatchNorm1d(4).double(), dist.SyncBatchNorm(4, dtype="float64")]
    outs, xs = [], []
    for layer in layers:
        layer.weight.data[...] = [1.0, 2.0, -1.0, 0.5]
        layer.bias.data[...] = [0.0, 1.0, 2.0, 3.0]
        x = cr.tensor(x_data, requires_grad=True)
        source = x.reshape((shape[0], 4, -1)) if len(shape) == 4 else x
        out = layer(source)
        out.backward(g.reshape(out.shape))
        outs.append(out.numpy())
        xs.append(x)
    np.testing.assert_allclose(outs[0], outs[1], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(xs[0].grad.numpy(), xs[1].grad.numpy(), rtol=1e-10, atol=1e-12)
    for name in ("weight", "bias"):
        np.testing.assert_allclose(
            getattr(layers[0], name).grad.numpy(), getattr(layers[1], name).grad.numpy(),
            rtol=1e-12,
        )  # fmt: skip
    for name in ("running_mean", "running_var"):
        np.testing.assert_allclose(
            getattr(layers[0], name).numpy(), getattr(layers[1], name).numpy(), rtol=1e-12
        )
    for layer in layers:
        layer.eval()
    evals = [layer(cr.tensor(x_data[:, :, 0] if len(shape) > 2 else x_data)) for layer in layers]
    np.testing.assert_allclose(evals[0].numpy(), evals[1].numpy(), rtol=1e-12)


def test_sync_batchnorm_gradients_pass_gradcheck(dist):
    layer = dist.SyncBatchNorm(3, dtype="float64", momentum=None)
    x = cr.tensor(np.random.default_rng(2).standard_normal((5, 3, 2)), requires_grad=True)
    assert cr.gradcheck(lambda t: layer(t) * cr.tensor([[[1.0, 2.0]]]), (x,))
    assert int(layer.num_batches_tracked.item()) > 0


def test_sync_batchnorm_errors(dist):
    layer = dist.SyncBatchNorm(3)
    with pytest.raises(cr.ShapeError, match=r"SyncBatchNorm: expected input \(N, 3, \*\)"):
        layer(cr.ones(4, 2))
    with pytest.raises(ValueError, match="more than 1 value per channel over all ranks, got 1"):
        layer(cr.ones(1, 3))
    x = cr.randn(4, 3, requires_grad=True)
    with pytest.raises(cr.HigherOrderError, match="SyncNormalize"):
        layer(x).sum().backward(create_graph=True)


def test_convert_sync_batchnorm_keeps_parameters_buffers_and_mode(dist, comm):
    net = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.Sequential(nn.BatchNorm2d(2)))
    net[1].eval()
    kept = [net[1].weight, net[1].running_mean, net[2][0].bias]
    converted = dist.convert_sync_batchnorm(net, comm)
    assert converted is net
    assert [type(m).__name__ for m in (net[1], net[2][0])] == ["SyncBatchNorm"] * 2
    assert [net[1].weight, net[1].running_mean, net[2][0].bias] == kept
    assert not net[1].training and net[2][0].training
    alone = dist.convert_sync_batchnorm(nn.BatchNorm1d(2, affine=False), comm)
    assert isinstance(alone, dist.SyncBatchNorm) and alone.weight is None


def test_ddp_sync_batchnorm_converts_the_model(dist):
    ddp = dist.DistributedDataParallel(
        nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4)), sync_batchnorm=True
    )
    assert isinstance(ddp.module[1], dist.SyncBatchNorm)
    assert ddp.reducer.buffers == []
    plain = dist.DistributedDataParallel(nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4)))
    assert len(plain.reducer.buffers) == 2  # running mean and var; not the step count


def test_average_gradients_covers_a_replayed_graph(dist):
    x, y = batch()
    plain, ddp = mlp(), dist.DistributedDataParallel(mlp())
    F.cross_entropy(plain(x), y).backward()
    graph = cr.Graph(lambda t: F.cross_entropy(ddp.module(t), y))
    graph.forward(x)
    graph.backward()
    ddp.average_gradients()
    for a, b in zip(grads(plain), grads(ddp.module)):
        np.testing.assert_allclose(a, b, rtol=1e-14)
