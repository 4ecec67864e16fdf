"""MNIST IDX loader, md5 check, benchmark split, gaps and noise (varda.datasets.mnist)."""
from __future__ import annotations

import gzip
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest

from varda.datasets import mnist
from varda.errors import InputError

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "mnist"
needs_data = pytest.mark.skipif(not (DATA / "t10k-images-idx3-ubyte.gz").is_file(),
                                reason=f"the MNIST test file is not at {DATA}")


def _idx_images(a: np.ndarray) -> bytes:
    return struct.pack(">I3I", mnist.IMAGE_MAGIC, *a.shape) + a.astype(np.uint8).tobytes()


@needs_data
def test_official_files_load_with_md5_and_split():
    assert mnist.check_md5(DATA / "t10k-images-idx3-ubyte.gz")
    imgs = mnist.load_images(DATA)
    assert imgs.shape == (10000, 28, 28) and imgs.dtype == np.float32
    assert imgs.min() == 0.0 and imgs.max() == 1.0
    labels = mnist.read_idx(DATA / "t10k-labels-idx1-ubyte.gz", magic=mnist.LABEL_MAGIC)
    assert labels.shape == (10000,) and set(np.unique(labels)) == set(range(10))
    s = mnist.mnist_split(DATA)
    assert (len(s.train), len(s.val), len(s.test)) == (7000, 1000, 2000)
    np.testing.assert_array_equal(s.test, imgs[8000:])
    np.testing.assert_array_equal(s.val, imgs[7000:8000])
    assert s.mean == pytest.approx(float(imgs[:7000].mean()))
    assert s.std == pytest.approx(float(imgs[:7000].std()))
    assert abs(s.normalize(s.train).mean()) < 1e-5


def test_missing_file_names_file_and_format(tmp_path):
    with pytest.raises(InputError, match=r"t10k-images-idx3-ubyte.*not found.*0x00000803"):
        mnist.load_images(tmp_path)


@pytest.mark.parametrize("gz", [False, True])
def test_corrupt_files_are_refused_with_the_expected_format(tmp_path, gz):
    good = _idx_images(np.zeros((3, 28, 28)))
    cases = {
        "magic": struct.pack(">I", 0x0801) + good[4:],
        "truncated": good[:-10],
        "header": good[:6],
        "long": good + b"\x00" * 5,
    }
    patterns = {"magic": r"magic number 0x00000801, not 0x00000803",
                "truncated": r"is truncated.*\(3, 28, 28\)", "header": "truncated",
                "long": "longer than its header"}
    for name, blob in cases.items():
        path = tmp_path / (f"{name}.gz" if gz else name)
        path.write_bytes(gzip.compress(blob) if gz else blob)
        with pytest.raises(InputError, match=patterns[name]) as err:
            mnist.read_idx(path)
        assert str(path) in str(err.value) and "uint8" in str(err.value)
    bad = tmp_path / "bad.gz"
    bad.write_bytes(b"not gzip at all")
    with pytest.raises(InputError, match=r"cannot decompress .*bad.gz"):
        mnist.read_idx(bad)


def test_md5_mismatch_errors_or_warns(tmp_path):
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(_idx_images(np.zeros((10000, 28, 28)))))
    with pytest.raises(InputError, match=r"md5 .* not the official 9fb629c4"):
        mnist.load_images(tmp_path)
    with pytest.warns(mnist.MD5MismatchWarning):
        imgs = mnist.load_images(tmp_path, verify="warn")
    assert imgs.shape == (10000, 28, 28)
    assert mnist.load_images(tmp_path, verify=False).max() == 0.0


def test_uncompressed_files_and_training_files_join_train(tmp_path):
    rng = np.random.default_rng(0)
    t10k = rng.integers(0, 256, (10000, 28, 28))
    train = rng.integers(0, 256, (50, 28, 28))
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(_idx_images(t10k))
    s = mnist.mnist_split(tmp_path)                      # no training file: t10k only
    assert len(s.train) == 7000 and not mnist.has_training_files(tmp_path)
    (tmp_path / "train-images-idx3-ubyte").write_bytes(_idx_images(train))
    s = mnist.mnist_split(tmp_path)
    assert len(s.train) == 7050
    np.testing.assert_allclose(s.train[:50] * 255, train, atol=1e-4)
    np.testing.assert_allclose(s.test * 255, t10k[8000:], atol=1e-4)   # test part unchanged
    assert len(mnist.mnist_split(tmp_path, use_training_files=False).train) == 7000


def test_wrong_image_size_and_short_file(tmp_path):
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(_idx_images(np.zeros((5, 20, 20))))
    with pytest.raises(InputError, match=r"\(20, 20\), not \(28, 28\)"):
        mnist.load_images(tmp_path)
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(_idx_images(np.zeros((5, 28, 28))))
    with pytest.raises(InputError, match="holds 5 images"):
        mnist.mnist_split(tmp_path)


def test_gap_masks_are_seeded_squares():
    m = mnist.gap_masks(500, seed=3)
    assert m.shape == (500, 28, 28) and m.dtype == bool
    missing = (~m).sum(axis=(1, 2))
    assert missing.min() >= 81 and missing.max() <= 243          # 3 gaps of 81, may overlap
    assert (missing < 243).any() and (missing == 243).any()      # overlaps happen, not always
    np.testing.assert_array_equal(m, mnist.gap_masks(500, seed=3))
    assert not np.array_equal(m, mnist.gap_masks(500, seed=4))
    rows = (~m[0]).any(axis=1)
    assert rows.sum() >= 9                                        # a square spans 9 rows
    assert mnist.gap_masks(4, n_gaps=0).all()                     # explicitly: no gaps
    assert (~mnist.gap_masks(4, n_gaps=1, size=28)).all()         # explicitly: all missing
    with pytest.raises(ValueError):
        mnist.gap_masks(2, size=29)


def test_degrade_noise_variance_in_normalised_units():
    rng = np.random.default_rng(1)
    x = rng.random((400, 28, 28)).astype(np.float32)
    before = x.copy()
    std = 0.3
    y, m = mnist.degrade(x, std=std, seed=5)
    np.testing.assert_array_equal(x, before)                      # input not modified
    assert np.isnan(y[~m]).all() and np.isfinite(y[m]).all()
    noise_var = float((((y - x) / std)[m] ** 2).mean())
    assert noise_var == pytest.approx(0.1, rel=0.03)
    y2, m2 = mnist.degrade(x, std=std, seed=5)
    np.testing.assert_array_equal(m, m2)
    np.testing.assert_array_equal(np.nan_to_num(y), np.nan_to_num(y2))
    y0, m0 = mnist.degrade(x[:3], std=std, n_gaps=0, noise_var=0.0)
    assert m0.all()
    np.testing.assert_array_equal(y0, x[:3])
    yb, mb = mnist.degrade(x[:6].reshape(2, 3, 28, 28), std=std)  # leading batch dims
    assert yb.shape == mb.shape == (2, 3, 28, 28)
