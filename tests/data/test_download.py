"""`download_dataset` and `chainrule data download` against a real HTTP server on 127.0.0.1.

The server serves small generated files in the real formats (gzipped IDX files, a CIFAR-10
binary tarball); their checksums come in a `Source` of the test's own, so nothing leaves
127.0.0.1.
"""

import argparse
import gzip
import hashlib
import io
import os
import struct
import tarfile

import numpy as np
import pytest
from http_server import FileServer, closed_port, silent_listener

from chainrule.data import load_cifar10, load_mnist
from chainrule.data.commands import build_parser
from chainrule.data.download import (
    SOURCES,
    ChecksumMismatchError,
    DownloadError,
    IncompleteDownloadError,
    RemoteFile,
    Source,
    SourceUnreachableError,
    download_dataset,
    md5sum,
)
from chainrule.training.commands import load_dataset

MNIST_SIZES = {"train": 6, "t10k": 4}
CIFAR_BATCHES = [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]
TRAIN_IMAGES = "train-images-idx3-ubyte.gz"


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch):
    """A proxy configured in the environment must not see the requests to 127.0.0.1."""
    monkeypatch.setenv("no_proxy", "127.0.0.1")


# ----- the generated files -----


def mnist_files(seed: int = 0) -> tuple[dict[str, bytes], dict[str, np.ndarray]]:
    """Gzipped IDX files of a few random 28x28 images and labels: (files, arrays by stem)."""
    rng = np.random.default_rng(seed)
    files, arrays = {}, {}
    for prefix, n in MNIST_SIZES.items():
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, n, dtype=np.uint8)
        header = struct.pack(">IIII", 2051, n, 28, 28)
        files[f"{prefix}-images-idx3-ubyte.gz"] = gzip.compress(header + images.tobytes(), mtime=0)
        files[f"{prefix}-labels-idx1-ubyte.gz"] = gzip.compress(
            struct.pack(">II", 2049, n) + labels.tobytes(), mtime=0
        )
        arrays[f"{prefix}-images"], arrays[f"{prefix}-labels"] = images, labels
    return files, arrays


def cifar_tarball(records: dict[str, np.ndarray], folder: str = "cifar-10-batches-bin") -> bytes:
    """A ``.tar.gz`` holding ``folder/<batch>`` for each batch, as the official archive does."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in {**records, "batches.meta.txt": b"airplane\n"}.items():
            payload = data if isinstance(data, bytes) else data.tobytes()
            info = tarfile.TarInfo(f"{folder}/{name}")
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    return buffer.getvalue()


def cifar_records(seed: int = 0) -> dict[str, np.ndarray]:
    """Two 3,073-byte records (label, 3x32x32 pixels) per batch file."""
    rng = np.random.default_rng(seed)
    records = {}
    for name in CIFAR_BATCHES:
        batch = rng.integers(0, 256, (2, 3073), dtype=np.uint8)
        batch[:, 0] %= 10
        records[name] = batch
    return records


def source_for(name: str, files: dict[str, bytes], url: str, **extract) -> Source:
    """A `Source` serving `files` from `url` with their true md5s."""
    remote = [RemoteFile(f, hashlib.md5(data).hexdigest(), **extract) for f, data in files.items()]
    return Source(name, (url,), tuple(remote))


@pytest.fixture
def mnist():
    """(server, source, arrays): the generated MNIST files served under /mnist/."""
    files, arrays = mnist_files()
    with FileServer({f"/mnist/{name}": data for name, data in files.items()}) as server:
        yield server, source_for("mnist", files, server.url + "/mnist/"), arrays


def download(source, directory, **kwargs) -> str:
    """Run `download_dataset` into `directory`; what it logged."""
    log = io.StringIO()
    assert download_dataset(source, directory, stream=log, **kwargs) == directory
    return log.getvalue()


def assert_mnist_loads(directory, arrays) -> None:
    for kind, prefix in (("train", "train"), ("test", "t10k")):
        x, y = load_mnist(directory, kind)
        np.testing.assert_array_equal(x[:, 0], arrays[f"{prefix}-images"] / np.float32(255))
        np.testing.assert_array_equal(y, arrays[f"{prefix}-labels"])


# ----- downloading -----


def test_download_mnist_then_load_mnist_reads_it(mnist, tmp_path):
    server, source, arrays = mnist
    log = download(source, tmp_path / "mnist")
    assert sorted(os.listdir(tmp_path / "mnist")) == sorted(f.name for f in source.files)
    assert_mnist_loads(tmp_path / "mnist", arrays)
    assert log.count("md5 ok, saved") == 4
    assert [path for path, _ in server.requests] == [f"/mnist/{f.name}" for f in source.files]


def test_download_cifar10_extracts_what_load_cifar10_reads(tmp_path):
    records = cifar_records()
    files = {"cifar-10-binary.tar.gz": cifar_tarball(records)}
    with FileServer({f"/kriz/{name}": data for name, data in files.items()}) as server:
        source = source_for("cifar10", files, server.url + "/kriz", extract="cifar-10-batches-bin")
        log = download(source, tmp_path)
    assert "extracted 7 files into cifar-10-batches-bin/" in log
    assert sorted(os.listdir(tmp_path)) == ["cifar-10-batches-bin", "cifar-10-binary.tar.gz"]
    x, y = load_cifar10(tmp_path, "test")
    np.testing.assert_array_equal(y, records["test_batch.bin"][:, 0])
    np.testing.assert_array_equal(
        x.reshape(2, -1), records["test_batch.bin"][:, 1:] / np.float32(255)
    )
    assert load_cifar10(tmp_path, "train")[0].shape == (10, 3, 32, 32)
    assert "already extracted: skipped" in download(source, tmp_path)


def test_the_official_sources_are_the_published_files_and_checksums():
    mnist, cifar = SOURCES["mnist"], SOURCES["cifar10"]
    assert mnist.mirrors == (
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    )
    assert {f.name: f.md5 for f in mnist.files} == {
        "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
    }
    assert cifar.mirrors == ("https://www.cs.toronto.edu/~kriz/",)
    assert cifar.files == (
        RemoteFile(
            "cifar-10-binary.tar.gz", "c32a1d4ab5d03f1284b67883e8d87530", "cifar-10-batches-bin"
        ),
    )


def test_a_second_run_skips_the_files_already_there(mnist, tmp_path):
    server, source, _ = mnist
    download(source, tmp_path)
    requests = len(server.requests)
    log = download(source, tmp_path)
    assert len(server.requests) == requests
    assert log.count("is already there (md5 ok): skipped") == 4


def test_a_truncated_transfer_keeps_the_part_and_the_next_run_resumes(mnist, tmp_path):
    server, source, arrays = mnist
    path = f"/mnist/{TRAIN_IMAGES}"
    server.truncate_next(path, 1000)
    with pytest.raises(IncompleteDownloadError) as error:
        download(source, tmp_path)
    message = str(error.value)
    assert f"{path} ended early after 1,000 bytes of" in message
    assert "run the same command again to resume" in message
    part = tmp_path / f"{TRAIN_IMAGES}.part"
    assert part.stat().st_size == 1000 and not (tmp_path / TRAIN_IMAGES).exists()

    log = download(source, tmp_path)
    assert server.requests[-4] == (path, "bytes=1000-")
    assert "resuming" in log and not part.exists()
    assert_mnist_loads(tmp_path, arrays)


def test_a_transfer_that_stalls_times_out_and_resumes(mnist, tmp_path):
    server, source, arrays = mnist
    server.truncate_next(f"/mnist/{TRAIN_IMAGES}", 2000, stall=True)
    with pytest.raises(IncompleteDownloadError, match=r"was interrupted \(timed out\) after 2,000"):
        download(source, tmp_path, timeout=0.2)
    assert (tmp_path / f"{TRAIN_IMAGES}.part").stat().st_size == 2000
    download(source, tmp_path)
    assert server.requests[-4] == (f"/mnist/{TRAIN_IMAGES}", "bytes=2000-")
    assert_mnist_loads(tmp_path, arrays)


def test_a_server_that_ignores_range_gets_the_whole_file_again(tmp_path):
    files, arrays = mnist_files()
    served = {f"/m/{name}": data for name, data in files.items()}
    with FileServer(served, honour_range=False) as server:
        (tmp_path / f"{TRAIN_IMAGES}.part").write_bytes(b"stale bytes of an old download")
        log = download(source_for("mnist", files, server.url + "/m"), tmp_path)
    assert (f"/m/{TRAIN_IMAGES}", "bytes=30-") in server.requests
    assert "ignores resume requests: starting train-images-idx3-ubyte.gz.part over" in log
    assert_mnist_loads(tmp_path, arrays)


def test_a_part_that_is_already_whole_is_verified_and_kept(mnist, tmp_path):
    server, source, arrays = mnist
    files, _ = mnist_files()
    (tmp_path / f"{TRAIN_IMAGES}.part").write_bytes(files[TRAIN_IMAGES])
    log = download(source, tmp_path)
    assert "already holds the whole file" in log
    assert (f"/mnist/{TRAIN_IMAGES}", f"bytes={len(files[TRAIN_IMAGES])}-") in server.requests
    assert_mnist_loads(tmp_path, arrays)


def test_a_wrong_checksum_deletes_the_part_and_names_both_checksums(mnist, tmp_path):
    server, source, _ = mnist
    files, _ = mnist_files()
    wrong = Source(source.name, source.mirrors, (RemoteFile(TRAIN_IMAGES, "0" * 32),))
    with pytest.raises(ChecksumMismatchError) as error:
        download(wrong, tmp_path)
    actual = hashlib.md5(files[TRAIN_IMAGES]).hexdigest()
    assert str(error.value) == (
        f"download mnist: {TRAIN_IMAGES} from {server.url}/mnist/{TRAIN_IMAGES} has md5 "
        f"{actual}, expected {'0' * 32}; the download was deleted: run again, or try "
        "another mirror"
    )
    assert os.listdir(tmp_path) == []


def test_a_file_there_with_a_wrong_checksum_is_downloaded_again(mnist, tmp_path):
    server, source, arrays = mnist
    (tmp_path / TRAIN_IMAGES).write_bytes(b"not the file")
    log = download(source, tmp_path)
    wrong = hashlib.md5(b"not the file").hexdigest()
    assert f"{TRAIN_IMAGES} is there but its md5 is {wrong}, not " in log
    assert_mnist_loads(tmp_path, arrays)


def test_the_next_mirror_is_tried_when_one_is_down_or_lacks_the_file(mnist, tmp_path):
    server, source, arrays = mnist
    mirrors = [
        f"http://127.0.0.1:{closed_port()}/",
        server.url + "/nothing-here",
        source.mirrors[0],
    ]
    download(source, tmp_path, mirrors=mirrors)
    assert_mnist_loads(tmp_path, arrays)
    assert (f"/nothing-here/{TRAIN_IMAGES}", None) in server.requests


def test_offline_is_one_line_naming_the_urls_and_what_to_do(tmp_path):
    port = closed_port()
    mirrors = (f"http://127.0.0.1:{port}/a/", f"http://127.0.0.1:{port}/b")
    source = Source("mnist", mirrors, (RemoteFile(TRAIN_IMAGES, "0" * 32),))
    with pytest.raises(SourceUnreachableError) as error:
        download(source, tmp_path)
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith(
        f"download mnist: cannot fetch http://127.0.0.1:{port}/a/{TRAIN_IMAGES} (["
    )
    assert f"nor http://127.0.0.1:{port}/b/{TRAIN_IMAGES} ([" in message
    assert "refused" in message
    assert message.endswith(
        f"check the network, try another mirror (--mirror URL) or download {TRAIN_IMAGES} "
        f"by hand into {str(tmp_path)!r}"
    )
    assert os.listdir(tmp_path) == []


def test_a_server_that_never_answers_times_out(tmp_path):
    with silent_listener() as listener:
        port = listener.getsockname()[1]
        files = (RemoteFile(TRAIN_IMAGES, "0" * 32),)
        source = Source("mnist", (f"http://127.0.0.1:{port}",), files)
        with pytest.raises(SourceUnreachableError, match=r"\(timed out\)"):
            download(source, tmp_path, timeout=0.2)


def test_bad_arguments_are_named(tmp_path):
    expected = "unknown dataset 'imagenet'; expected one of cifar10, mnist or a Source"
    with pytest.raises(ValueError, match=expected):
        download_dataset("imagenet", tmp_path)
    expected = "mirrors must be a non-empty sequence of base URLs, got 'http://x/'"
    with pytest.raises(ValueError, match=expected):
        download_dataset("mnist", tmp_path, mirrors="http://x/")
    with pytest.raises(ValueError, match="mirror '127.0.0.1:8000' is not an http:// or https"):
        download_dataset("mnist", tmp_path, mirrors=["127.0.0.1:8000"])
    with pytest.raises(ValueError, match="timeout must be a positive number of seconds, got 0"):
        download_dataset("mnist", tmp_path, timeout=0)
    (tmp_path / "file").write_text("")
    with pytest.raises(NotADirectoryError, match="download_dataset: .*file' is not a directory"):
        download_dataset("mnist", tmp_path / "file")


def test_an_archive_without_the_folder_is_an_error(tmp_path):
    files = {"cifar-10-binary.tar.gz": cifar_tarball(cifar_records(), folder="elsewhere")}
    with FileServer({f"/{name}": data for name, data in files.items()}) as server:
        source = source_for("cifar10", files, server.url, extract="cifar-10-batches-bin")
        with pytest.raises(DownloadError, match="holds no files in a folder cifar-10-batches-bin/"):
            download(source, tmp_path)
    assert os.listdir(tmp_path) == ["cifar-10-binary.tar.gz"]  # no half-extracted folder


def test_an_archive_that_is_not_a_tarball_is_an_error(tmp_path):
    files = {"cifar-10-binary.tar.gz": b"not a tarball"}
    with FileServer({f"/{name}": data for name, data in files.items()}) as server:
        source = source_for("cifar10", files, server.url, extract="cifar-10-batches-bin")
        with pytest.raises(DownloadError, match="cannot extract .*; delete it and run again"):
            download(source, tmp_path)
    assert os.listdir(tmp_path) == ["cifar-10-binary.tar.gz"]


def test_md5sum_matches_hashlib(tmp_path):
    data = np.random.default_rng(0).bytes(3 << 20)
    (tmp_path / "blob").write_bytes(data)
    assert md5sum(tmp_path / "blob") == hashlib.md5(data).hexdigest()


# ----- progress -----


@pytest.fixture
def blob():
    """(server, source): one file of 1 MiB, read in many chunks."""
    files = {"blob.bin": np.random.default_rng(1).bytes(1 << 20)}
    with FileServer({"/blob.bin": files["blob.bin"]}) as server:
        yield server, source_for("blob", files, server.url)


def test_progress_off_a_terminal_is_a_line_per_quarter(blob, tmp_path):
    _, source = blob
    lines = download(source, tmp_path).splitlines()
    assert lines[0].startswith("blob: downloading http://127.0.0.1:")
    # One line when a quarter is passed (where it is passed depends on the reads' sizes).
    quarters = [line.split(": ", 2)[2].split(" (")[0] for line in lines[1:4]]
    assert quarters == ["25%", "50%", "75%"] and lines[1].startswith("blob: blob.bin: 25% (")
    assert lines[4:] == ["blob: blob.bin: md5 ok, saved"]


def test_no_progress_leaves_only_the_lines_about_the_files(blob, tmp_path):
    _, source = blob
    assert "%" not in download(source, tmp_path, progress=False)


def test_the_progress_bar_on_a_terminal_is_tqdm(blob, tmp_path):
    """A real pseudo-terminal as the stream, as a user's shell has."""
    import fcntl
    import pty
    import termios

    _, source = blob
    master, slave = pty.openpty()
    # A fresh pty is 0 columns wide, and tqdm fits its bar to the width.
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 200, 0, 0))
    with open(slave, "w") as terminal:
        download_dataset(source, tmp_path, stream=terminal)
    shown = b""
    while True:
        try:
            chunk = os.read(master, 1 << 16)
        except OSError:  # EIO: the terminal has no writer left
            break
        if not chunk:
            break
        shown += chunk
    os.close(master)
    text = shown.decode(errors="replace")
    assert "blob.bin:   0%|" in text and "/1.05M [" in text and "B/s]" in text
    assert "(262,144 bytes)" not in text  # no plain quarter lines on a terminal


# ----- the command -----


def command(argv: list[str]) -> int:
    """Parse `argv` with a parser holding only `chainrule data`, and run it."""
    parser = argparse.ArgumentParser(prog="chainrule")
    build_parser(parser.add_subparsers())
    args = parser.parse_args(argv)
    return args.run(args)


def test_the_command_downloads_what_chainrule_train_loads(mnist, tmp_path, capsys):
    _, source, arrays = mnist
    md5sums = tmp_path / "generated.md5"
    md5sums.write_text("".join(f"{remote.md5}  {remote.name}\n" for remote in source.files))
    directory = tmp_path / "mnist"
    argv = ["data", "download", "mnist", "--dir", str(directory), "--mirror", source.mirrors[0]]
    assert command([*argv, "--md5sums", str(md5sums), "--no-progress"]) == 0
    captured = capsys.readouterr()
    assert captured.out == (
        f"mnist is ready in {directory}; train on it with: chainrule train --dataset mnist "
        f"--data-dir {directory}\n"
    )
    assert captured.err.count("md5 ok, saved") == 4 and "%" not in captured.err
    x_train, y_train, x_test, y_test = load_dataset("mnist", directory)
    assert x_train.shape == (6, 784) and x_test.shape == (4, 784)
    np.testing.assert_array_equal(y_test, arrays["t10k-labels"])


def test_the_command_checks_the_official_checksums(mnist, tmp_path):
    _, source, _ = mnist
    argv = ["data", "download", "mnist", "--dir", str(tmp_path), "--mirror", source.mirrors[0]]
    with pytest.raises(ChecksumMismatchError, match="expected f68b3c2dcbeaaa9fbdd348bbdeb94873"):
        command(argv)


def test_a_malformed_or_incomplete_md5sums_file_is_named(tmp_path):
    md5sums = tmp_path / "sums.md5"
    argv = ["data", "download", "mnist", "--dir", str(tmp_path), "--md5sums", str(md5sums)]
    md5sums.write_text(f"{'0' * 32}  {TRAIN_IMAGES}\n\nnot a checksum\n")
    with pytest.raises(ValueError, match="sums.md5' line 3 is 'not a checksum'; expected"):
        command(argv)
    md5sums.write_text(f"{'0' * 32}  {TRAIN_IMAGES}\n{'1' * 32}  other.gz\n")
    with pytest.raises(ValueError, match="lists no md5 for train-labels-idx1-ubyte.gz, t10k-"):
        command(argv)


def test_data_download_help_documents_the_sources(capsys):
    with pytest.raises(SystemExit):
        command(["data", "download", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for source in SOURCES.values():
        for remote in source.files:
            assert remote.name in text and remote.md5 in text
        for mirror in source.mirrors:
            assert mirror in text
    assert "--mirror URL" in text and ".part" in text
