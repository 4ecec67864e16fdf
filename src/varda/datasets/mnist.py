"""MNIST digits for the inpainting benchmark: IDX loader, md5 check, split, gaps and noise.

The loader reads the standard IDX files (``t10k-images-idx3-ubyte[.gz]`` and, when a user has
them, ``train-images-idx3-ubyte[.gz]``) from any directory. Images come back as float32 in
[0, 1], shape ``(N, 28, 28)``.

The benchmark's split uses the official 10,000-image *test* file only: images 0–6999 train,
7000–7999 validate (tuning, model selection), 8000–9999 test (scored, never used to train, tune
or select). With the 60,000 training images present they join the training part.

The degradation of the reference paper: 3 randomly placed 9 × 9 gaps per image (they may
overlap) and additive Gaussian noise of variance 0.1 *in normalised units* on the observed
pixels.
"""
from __future__ import annotations

import gzip
import hashlib
import os
import struct
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from varda.errors import InputError, VardaWarning

IMAGE_MAGIC = 0x00000803   # uint8 data, 3 dimensions (N, rows, cols)
LABEL_MAGIC = 0x00000801   # uint8 data, 1 dimension (N,)

#: md5 of the official gzipped files (http://yann.lecun.com/exdb/mnist/).
MNIST_MD5 = {
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
}

#: The benchmark split of the 10,000 test-file images: [start, stop) of each part.
SPLIT = {"train": (0, 7000), "val": (7000, 8000), "test": (8000, 10000)}

_FORMAT = {
    IMAGE_MAGIC: "an IDX image file: big-endian uint32 magic 0x00000803, then the uint32 sizes "
                 "(N, 28, 28), then N*28*28 uint8 pixels",
    LABEL_MAGIC: "an IDX label file: big-endian uint32 magic 0x00000801, then the uint32 size "
                 "N, then N uint8 labels",
}


class MD5MismatchWarning(VardaWarning):
    """An MNIST file whose md5 is not the official one (``verify="warn"``)."""


def md5_file(path: "str | os.PathLike") -> str:
    """Hex md5 of a file's bytes."""
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def check_md5(path: "str | os.PathLike", expected: "str | None" = None, *,
              on_mismatch: str = "error") -> bool:
    """Compare a file's md5 with the official one (looked up by file name when ``expected``
    is None).

    Args:
        path: the file.
        expected: hex md5; default :data:`MNIST_MD5` by the file's name (names without a known
            md5, e.g. uncompressed files, are not checked and give True).
        on_mismatch: ``"error"`` (raise), ``"warn"`` (warn and return False).

    Returns:
        True when the md5 matches (or there is nothing to compare with).

    Raises:
        InputError: md5 mismatch with ``on_mismatch="error"``.
    """
    if on_mismatch not in ("error", "warn"):
        raise ValueError(f"on_mismatch must be 'error' or 'warn', got {on_mismatch!r}")
    p = Path(path)
    expected = expected if expected is not None else MNIST_MD5.get(p.name)
    if expected is None:
        return True
    got = md5_file(p)
    if got == expected:
        return True
    msg = (f"{p} has md5 {got}, not the official {expected}: the file is corrupt, truncated or "
           "not the MNIST release; download it again (or pass verify=False to read it anyway)")
    if on_mismatch == "error":
        raise InputError(msg)
    warnings.warn(MD5MismatchWarning(msg), stacklevel=2)
    return False


def read_idx(path: "str | os.PathLike", *, magic: int = IMAGE_MAGIC) -> np.ndarray:
    """Read an IDX file (gzipped when its name ends in ``.gz``) into a uint8 array.

    Args:
        path: the file.
        magic: the expected magic number (``IMAGE_MAGIC`` or ``LABEL_MAGIC``).

    Raises:
        InputError: a missing file, a wrong magic number, a truncated or over-long file, or
            gzip data that cannot be read; the message names the file and the expected format.
    """
    p = Path(path)
    fmt = _FORMAT.get(magic, f"an IDX file with magic 0x{magic:08x}")
    if not p.is_file():
        raise InputError(f"MNIST file {p} not found; expected {fmt}")
    try:
        raw = gzip.decompress(p.read_bytes()) if p.suffix == ".gz" else p.read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile) as e:
        raise InputError(f"cannot decompress {p} ({e}); expected gzipped {fmt}") from e
    ndim = magic & 0xFF
    head = 4 + 4 * ndim
    if len(raw) < head:
        raise InputError(f"{p} is truncated ({len(raw)} bytes, shorter than its header); "
                         f"expected {fmt}")
    (got,) = struct.unpack(">I", raw[:4])
    if got != magic:
        raise InputError(f"{p} has magic number 0x{got:08x}, not 0x{magic:08x}; expected {fmt}")
    shape = struct.unpack(f">{ndim}I", raw[4:head])
    size = int(np.prod(shape))
    if len(raw) - head != size:
        what = "truncated" if len(raw) - head < size else "longer than its header says"
        raise InputError(f"{p} is {what}: its header gives shape {shape} ({size} values) but it "
                         f"holds {len(raw) - head} bytes of data; expected {fmt}")
    return np.frombuffer(raw, dtype=np.uint8, offset=head).reshape(shape).copy()


def _find(directory: Path, stem: str) -> Path:
    """``directory/stem.gz`` or ``directory/stem`` (the gzipped file first)."""
    for name in (stem + ".gz", stem):
        if (directory / name).is_file():
            return directory / name
    return directory / (stem + ".gz")   # missing: read_idx names it


def load_images(directory: "str | os.PathLike", part: str = "t10k", *,
                verify: "bool | str" = True) -> np.ndarray:
    """The images of one MNIST file as float32 in [0, 1], shape ``(N, 28, 28)``.

    Args:
        directory: folder holding the IDX files (any folder the user names).
        part: ``"t10k"`` (the 10,000 test digits) or ``"train"`` (the 60,000 training digits).
        verify: check the md5 of gzipped official files: True (error on mismatch),
            ``"warn"`` or False.

    Raises:
        InputError: missing or corrupt files (see :func:`read_idx`), md5 mismatch, images that
            are not 28 × 28.
    """
    if part not in ("t10k", "train"):
        raise ValueError(f"part must be 't10k' or 'train', got {part!r}")
    path = _find(Path(directory), f"{part}-images-idx3-ubyte")
    raw = read_idx(path, magic=IMAGE_MAGIC)
    if verify:
        check_md5(path, on_mismatch="warn" if verify == "warn" else "error")
    if raw.shape[1:] != (28, 28):
        raise InputError(f"{path} holds images of shape {raw.shape[1:]}, not (28, 28); "
                         f"expected {_FORMAT[IMAGE_MAGIC]}")
    return raw.astype(np.float32) / np.float32(255.0)


def has_training_files(directory: "str | os.PathLike") -> bool:
    """Whether ``directory`` also holds the 60,000-image training file."""
    d = Path(directory)
    return any((d / n).is_file() for n in ("train-images-idx3-ubyte.gz", "train-images-idx3-ubyte"))


@dataclass
class MnistSplit:
    """The benchmark split (float32 images in [0, 1], ``(N, 28, 28)``).

    Attributes:
        train: training images (t10k 0–6999, plus the 60,000 training digits if present).
        val: validation images (t10k 7000–7999): tuning and model selection.
        test: test images (t10k 8000–9999): scoring only.
        mean, std: global mean and standard deviation of ``train`` (the normalisation).
    """

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    mean: float
    std: float

    def normalize(self, a: np.ndarray) -> np.ndarray:
        """(a − mean) / std."""
        return (a - self.mean) / self.std


def mnist_split(directory: "str | os.PathLike", *, use_training_files: "bool | None" = None,
                verify: "bool | str" = True, n_train: "int | None" = None) -> MnistSplit:
    """Load the benchmark split (:data:`SPLIT`) from ``directory``.

    Args:
        directory: folder of the IDX files.
        use_training_files: add the 60,000 training digits to ``train`` (None: when present).
        verify: md5 check, see :func:`load_images`.
        n_train: keep only the first ``n_train`` training images (quick runs); the
            normalisation is computed on the kept ones.
    """
    t10k = load_images(directory, "t10k", verify=verify)
    if len(t10k) < SPLIT["test"][1]:
        raise InputError(f"the t10k file in {directory} holds {len(t10k)} images; the benchmark "
                         f"split needs the official {SPLIT['test'][1]}")
    parts = {k: t10k[a:b] for k, (a, b) in SPLIT.items()}
    if use_training_files is None:
        use_training_files = has_training_files(directory)
    train = parts["train"]
    if use_training_files:
        train = np.concatenate([load_images(directory, "train", verify=verify), train])
    if n_train is not None:
        train = train[:n_train]
    return MnistSplit(train=train, val=parts["val"], test=parts["test"],
                      mean=float(train.mean()), std=float(train.std()))


def gap_masks(n: int, *, shape: tuple[int, int] = (28, 28), n_gaps: int = 3, size: int = 9,
              seed: "int | np.random.Generator" = 0) -> np.ndarray:
    """Observation masks with ``n_gaps`` square gaps of ``size`` × ``size`` per image.

    The gaps' corners are uniform over the positions where a gap fits inside the image; gaps
    may overlap. ``n_gaps=0`` gives fully observed images.

    Returns:
        bool ``(n, *shape)``, True where observed.
    """
    if n_gaps < 0 or not 0 < size <= min(shape):
        raise ValueError(f"need n_gaps >= 0 and 0 < size <= {min(shape)}, got {n_gaps}, {size}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    mask = np.ones((n, *shape), dtype=bool)
    corners = np.stack([rng.integers(0, shape[0] - size + 1, (n, n_gaps)),
                        rng.integers(0, shape[1] - size + 1, (n, n_gaps))], axis=-1)
    for i in range(n):
        for r, c in corners[i]:
            mask[i, r:r + size, c:c + size] = False
    return mask


def degrade(images: np.ndarray, *, std: float, n_gaps: int = 3, size: int = 9,
            noise_var: float = 0.1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Observations of ``images`` (..., 28, 28): gaps, and noise on the observed pixels.

    Args:
        images: true images in raw units ([0, 1]).
        std: the normalisation's standard deviation: the noise has variance ``noise_var`` in
            normalised units, i.e. standard deviation ``sqrt(noise_var) * std`` in raw units.
        n_gaps, size: gaps per image and their side (see :func:`gap_masks`).
        noise_var: noise variance in normalised units (0: no noise).
        seed: seeds gaps and noise (same seed, same observations).

    Returns:
        ``(y, observed)``: float32 observations with NaN in the gaps, and the bool mask.
        The input is not modified.
    """
    x = np.asarray(images, dtype=np.float32)
    lead, shape = x.shape[:-2], x.shape[-2:]
    n = int(np.prod(lead)) if lead else 1
    rng = np.random.default_rng(seed)
    mask = gap_masks(n, shape=shape, n_gaps=n_gaps, size=size, seed=rng).reshape(x.shape)
    noise = rng.standard_normal(x.shape).astype(np.float32) * np.float32(np.sqrt(noise_var) * std)
    y = np.where(mask, x + noise, np.float32(np.nan)).astype(np.float32)
    return y, mask
