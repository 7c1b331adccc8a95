"""save/load: exact round trips, atomic writes (even under SIGKILL), hostile and broken files."""

import io
import json
import os
import pickle
import random
import signal
import subprocess
import sys
import time
import zipfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule.data import DataLoader, TensorDataset
from chainrule.io import CheckpointError, load, save

PROPERTY = settings(max_examples=60, deadline=None, derandomize=True, database=None)


def assert_same(a, b):
    """Equal values and equal types all the way down (dtypes and shapes for arrays)."""
    assert type(a) is type(b), (type(a), type(b))
    if isinstance(a, dict):
        assert list(a) == list(b)
        for key in a:
            assert_same(a[key], b[key])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y)
    elif isinstance(a, (np.ndarray, np.generic)):
        assert (a.dtype, a.shape) == (b.dtype, b.shape)
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, float) and np.isnan(a):
        assert np.isnan(b)
    else:
        assert a == b
        if isinstance(a, float):
            assert np.copysign(1, a) == np.copysign(1, b)


# ----- round trips -----


def state_dict():
    rng = np.random.default_rng(0)
    return {
        "model": {
            "fc1.weight": rng.standard_normal((4, 3)).astype(np.float32),
            "fc1.bias": np.zeros(4, np.float32),
            "bn": {"running_mean": np.arange(3.0), "num_batches_tracked": np.array(7)},
        },
        "optimizer": {
            "state": {0: {"step": 3, "exp_avg": rng.standard_normal(3)}, 1: {}},
            "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "params": [0, 1]}],
        },
        "epoch": 12,
        "best": None,
        "done": False,
        "name": "mlp/2-layer: é ✓",
        "history": [0.5, 0.25, float("nan"), float("inf"), -0.0],
        "big": 2**100,
        "empty": {"list": [], "dict": {}, "tuple": ()},
        "keys": {"a/b": 1, "a.b": 2, "": 3, "__chainrule__": 4, "a0": 5},
    }


def test_round_trip_is_exact(tmp_path):
    state = state_dict()
    save(state, tmp_path / "ckpt.npz")
    assert_same(load(tmp_path / "ckpt.npz"), state)


@pytest.mark.parametrize(
    "dtype",
    ["bool", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64",
     "float16", "float32", "float64", "complex64", "complex128", ">f4", "<U5", "S3"],
)  # fmt: skip
@pytest.mark.parametrize("shape", [(), (0,), (3,), (2, 0, 4), (2, 3, 4)])
def test_round_trip_dtypes_and_shapes(tmp_path, dtype, shape):
    array = np.arange(int(np.prod(shape)) or 0).reshape(shape).astype(dtype)
    save({"x": array, "s": array.reshape(-1)[:1].copy()}, tmp_path / "a.npz")
    back = load(tmp_path / "a.npz")
    assert_same(back["x"], array)
    assert back["x"].flags.writeable


def test_round_trip_fortran_order_and_views(tmp_path):
    a = np.asfortranarray(np.arange(12.0).reshape(3, 4))
    b = np.arange(20).reshape(4, 5)[::2, 1::2]  # not contiguous
    save([a, b, a.T], tmp_path / "v.npz")
    back = load(tmp_path / "v.npz")
    for x, y in zip(back, [a, b, a.T]):
        assert_same(x, y)


def test_tensors_are_saved_as_arrays_and_scalars_keep_their_type(tmp_path):
    w = cr.tensor([[1.0, 2.0]], requires_grad=True)
    save(
        {"w": w, "step": np.int64(5), "lr": np.float32(0.5), "flag": np.bool_(True)}, tmp_path / "t"
    )
    back = load(tmp_path / "t")
    assert_same(back["w"], w.numpy())
    assert_same(back["step"], np.int64(5))
    assert_same(back["lr"], np.float32(0.5))
    assert_same(back["flag"], np.bool_(True))


def test_file_is_written_at_exactly_path_and_readable_by_numpy(tmp_path):
    save({"a": np.ones(2)}, tmp_path / "noext")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["noext"]
    with np.load(tmp_path / "noext", allow_pickle=False) as npz:
        assert "__chainrule__" in npz.files
        names = [n for n in npz.files if n != "__chainrule__"]
        np.testing.assert_array_equal(npz[names[0]], np.ones(2))


def test_loader_generator_state_round_trips(tmp_path):
    # a PCG64 state holds 128-bit integers
    loader = DataLoader(TensorDataset(np.arange(50)), batch_size=10, shuffle=True, seed=3)
    list(loader)
    save({"loader": loader.state_dict()}, tmp_path / "rng.npz")
    expected = [b[0].numpy().tolist() for b in loader]
    again = DataLoader(TensorDataset(np.arange(50)), batch_size=10, shuffle=True, seed=0)
    again.load_state_dict(load(tmp_path / "rng.npz")["loader"])
    assert [b[0].numpy().tolist() for b in again] == expected


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=3)
        | st.tuples(children, children)
        | st.dictionaries(st.text(max_size=5) | st.integers(-5, 5), children, max_size=3)
    ),
    max_leaves=12,
)


@PROPERTY
@given(value=json_values)
def test_round_trip_of_any_nesting(tmp_path_factory, value):
    path = tmp_path_factory.mktemp("rt") / "x.npz"
    save({"v": value, "arr": np.arange(3)}, path)
    assert_same(load(path), {"v": value, "arr": np.arange(3)})


# ----- what cannot be saved -----


@pytest.mark.parametrize(
    "value, message",
    [
        ({"x": {1, 2}}, r"obj\['x'\] has type set"),
        ({"x": np.array([object()])}, r"obj\['x'\] is an array of dtype object"),
        ({(1, 2): 0}, r"has key \(1, 2\)"),
        ({True: 0}, "has key True"),
        ({"f": lambda: 0}, "type function"),
    ],
)
def test_unsupported_values_raise_and_write_nothing(tmp_path, value, message):
    with pytest.raises(TypeError, match=message):
        save(value, tmp_path / "bad.npz")
    assert list(tmp_path.iterdir()) == []


def test_cycles_raise(tmp_path):
    loop = {"a": []}
    loop["a"].append(loop)
    with pytest.raises(ValueError, match="contains itself"):
        save(loop, tmp_path / "loop.npz")
    shared = [1.0]
    save({"a": shared, "b": shared}, tmp_path / "shared.npz")  # sharing is not a cycle


# ----- atomic save -----


def test_failed_save_keeps_the_previous_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.npz"
    save({"version": 1}, path)

    def broken_fsync(fd):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="disk full"):
        save({"version": 2, "w": np.ones(1000)}, path)
    monkeypatch.undo()
    assert load(path) == {"version": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.npz"]


def test_save_keeps_umask_permissions(tmp_path):
    save({"a": 1}, tmp_path / "p.npz")
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "p.npz").stat().st_mode & 0o777 == 0o666 & ~umask


CHILD = """
import sys
import numpy as np
from chainrule.io import save

path, version = sys.argv[1], int(sys.argv[2])  # each child counts on from its own start
weights = np.empty(2_000_000)  # 16 MB: each save takes a while, so kills land inside one
while True:
    version += 1
    weights.fill(version)
    save({"version": version, "weights": weights, "tail": [version, str(version)]}, path)
    print(version, flush=True)
"""


def check_checkpoint(path, previous):
    state = load(path)
    version = state["version"]
    assert version >= previous
    assert state["tail"] == [version, str(version)]
    assert state["weights"].shape == (2_000_000,)
    assert (state["weights"] == version).all()
    return version


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_sigkill_during_save_never_leaves_a_corrupt_file(tmp_path):
    rng = random.Random(0)
    path = tmp_path / "ckpt.npz"
    version = 0
    for round_ in range(5):
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(path), str(round_ * 10**6)],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            if round_ > 0:  # round 0 may die before its first save: the file is then absent
                assert child.stdout.readline().strip()
            time.sleep(rng.uniform(0.0, 0.25))
            os.kill(child.pid, signal.SIGKILL)
        finally:
            child.kill()
            child.wait()
            child.stdout.close()
        if path.exists():
            version = check_checkpoint(path, version)
        else:
            assert round_ == 0
    assert version > 0


# ----- hostile, corrupt and foreign files -----


class Evil:
    """Unpickling this would create a directory: proof that code ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def manifest(tree):
    text = json.dumps({"format": "chainrule-checkpoint", "version": 1, "tree": tree})
    return np.frombuffer(text.encode(), np.uint8)


def test_object_array_is_refused_and_nothing_runs(tmp_path):
    marker = tmp_path / "pwned"
    evil = np.array([Evil(marker)], dtype=object)
    np.savez(tmp_path / "evil.npz", __chainrule__=manifest({"array": "a0"}), a0=evil)
    with pytest.raises(CheckpointError, match="dtype object.*never loaded"):
        load(tmp_path / "evil.npz")
    assert not marker.exists()
    with np.load(tmp_path / "evil.npz", allow_pickle=True) as npz:  # the file is a real threat
        npz["a0"]
    assert marker.exists()


def test_pickle_file_is_refused_and_nothing_runs(tmp_path):
    marker = tmp_path / "pwned"
    (tmp_path / "model.pkl").write_bytes(pickle.dumps({"w": Evil(marker)}))
    with pytest.raises(CheckpointError, match="is a pickle"):
        load(tmp_path / "model.pkl")
    assert not marker.exists()


def test_foreign_files_are_refused(tmp_path):
    np.save(tmp_path / "x.npy", np.ones(3))
    with pytest.raises(CheckpointError, match="not a zip"):
        load(tmp_path / "x.npy")
    np.savez(tmp_path / "plain.npz", w=np.ones(3))
    with pytest.raises(CheckpointError, match="no entry '__chainrule__'"):
        load(tmp_path / "plain.npz")
    np.savez(tmp_path / "other.npz", __chainrule__=np.frombuffer(b'{"format": "x"}', np.uint8))
    with pytest.raises(CheckpointError, match="not a chainrule checkpoint"):
        load(tmp_path / "other.npz")
    (tmp_path / "empty").write_bytes(b"")
    with pytest.raises(CheckpointError, match="not a zip"):
        load(tmp_path / "empty")
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing.npz")


def test_future_version_and_compressed_entries_are_refused(tmp_path):
    text = json.dumps({"format": "chainrule-checkpoint", "version": 99, "tree": 1})
    np.savez(tmp_path / "v99.npz", __chainrule__=np.frombuffer(text.encode(), np.uint8))
    with pytest.raises(CheckpointError, match="version 99"):
        load(tmp_path / "v99.npz")
    np.savez_compressed(tmp_path / "z.npz", __chainrule__=manifest(1))
    with pytest.raises(CheckpointError, match="compressed"):
        load(tmp_path / "z.npz")


@pytest.mark.parametrize(
    "tree",
    [
        {"array": "a7"},
        {"array": 0},
        {"dict": [["k"]]},
        {"dict": [[1.5, 0]]},
        {"dict": "x"},
        {"tuple": 3},
        {"scalar": "a0"},  # a0 is not 0-d
        {"unknown": 1},
        {"array": "a0", "extra": 1},
    ],
)
def test_malformed_manifests_are_refused(tmp_path, tree):
    np.savez(tmp_path / "m.npz", __chainrule__=manifest(tree), a0=np.ones(3))
    with pytest.raises(CheckpointError, match="m.npz"):
        load(tmp_path / "m.npz")


def npy_entry(shape, dtype="<f8", payload=b"") -> bytes:
    buffer = io.BytesIO()
    header = {"descr": dtype, "fortran_order": False, "shape": shape}
    np.lib.format.write_array_header_1_0(buffer, header)
    return buffer.getvalue() + payload


def test_lying_header_is_refused_before_allocating(tmp_path):
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w") as archive:
        text = manifest({"array": "a0"}).tobytes()
        archive.writestr("__chainrule__.npy", npy_entry((len(text),), "|u1", text))
        archive.writestr("a0.npy", npy_entry((10**6, 10**6), payload=b"\0" * 16))
    with pytest.raises(CheckpointError, match="describes"):
        load(path)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("__chainrule__.npy", npy_entry((-3,), "|u1"))
    with pytest.raises(CheckpointError, match="negative"):
        load(path)


def test_changed_array_bytes_fail_the_crc_check(tmp_path):
    save({"w": np.zeros(1000)}, tmp_path / "c.npz")
    data = bytearray((tmp_path / "c.npz").read_bytes())
    data[data.index(bytes(8000)) + 4000] = 1
    (tmp_path / "c.npz").write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="CRC"):
        load(tmp_path / "c.npz")


def test_every_truncation_is_a_checkpoint_error(tmp_path):
    save(state_dict(), tmp_path / "full.npz")
    data = (tmp_path / "full.npz").read_bytes()
    for cut in sorted({0, 1, 4, 30, len(data) - 1, *range(0, len(data), 97)} - {len(data)}):
        (tmp_path / "cut.npz").write_bytes(data[:cut])
        with pytest.raises(CheckpointError, match="cut.npz"):
            load(tmp_path / "cut.npz")


@PROPERTY
@given(position=st.integers(0, 10**6), bit=st.integers(0, 7))
def test_flipped_bit_gives_the_same_state_or_a_checkpoint_error(tmp_path_factory, position, bit):
    directory = tmp_path_factory.mktemp("flip")
    state = state_dict()
    save(state, directory / "c.npz")
    data = bytearray((directory / "c.npz").read_bytes())
    data[position % len(data)] ^= 1 << bit
    (directory / "c.npz").write_bytes(bytes(data))
    try:
        back = load(directory / "c.npz")
    except CheckpointError:
        return
    assert_same(back, state)  # the flip hit bytes nobody reads (a timestamp, padding)
