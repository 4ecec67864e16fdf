"""Hostile checkpoints: each refused with a CheckpointError that says why, before any
allocation of note; the data file and earlier outputs are left alone."""
from __future__ import annotations

import hashlib
import json
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

import varda
from varda.errors import CheckpointError


@pytest.fixture()
def ckpt(ws):
    """A copy of the tiny model's checkpoint to damage: (json path, weights path)."""
    src = Path(ws.model)
    js = ws.root / "victim.json"
    shutil.copy(src, js)
    shutil.copy(src.with_suffix(".safetensors"), ws.root / src.with_suffix(".safetensors").name)
    return js, ws.root / src.with_suffix(".safetensors").name


def _edit(js: Path, fn) -> None:
    doc = json.loads(js.read_text())
    fn(doc)
    js.write_text(json.dumps(doc))


def _refused(ws, js, match: str) -> None:
    with pytest.raises(CheckpointError, match=match):
        varda.load(js)
    with pytest.raises(CheckpointError, match=match):   # the fill refuses it the same way
        varda.fill(ws.input_array(), str(js))
    ws.check()


def _rehash(js: Path, weights: Path) -> None:
    """Pretend the tampering was done with care: the JSON records the new file's hash and size."""
    blob = weights.read_bytes()
    _edit(js, lambda d: d["weights"].update(sha256=hashlib.sha256(blob).hexdigest(),
                                            bytes=len(blob)))


def test_pickle_renamed_as_a_checkpoint(ws, ckpt):
    js, weights = ckpt
    torch.save({"w": torch.zeros(3)}, weights)
    _refused(ws, js, "pickle")
    fake = ws.root / "model.safetensors"
    torch.save({"w": torch.zeros(3)}, fake)
    _refused(ws, fake, "pickle")


def test_truncated_weights(ws, ckpt):
    js, weights = ckpt
    weights.write_bytes(weights.read_bytes()[:100])
    _refused(ws, js, "truncated")


@pytest.mark.parametrize("key, value, match", [
    ("patch_shape", "16x8", "patch_shape must be 2 positive integers"),
    ("patch_shape", [16, 0], "patch_shape must be"),
    ("axes", ["time", "time"], "axes must be a list of distinct"),
    ("n_iter", "ten", "n_iter must be an integer"),
    ("norm", {"mean": 0.0, "std": -1.0}, "norm must be"),
    ("norm", {"mean": "NaN", "std": 1.0}, "norm must be"),
    ("prior", "unet", "prior must be an object"),
    ("second_order", "yes", "second_order must be true or false"),
], ids=lambda v: str(v)[:12])
def test_config_with_wrong_types(ws, ckpt, key, value, match):
    js, _ = ckpt
    _edit(js, lambda d: d["config"].__setitem__(key, value))
    _refused(ws, js, match)


def test_config_with_unknown_keys(ws, ckpt):
    js, _ = ckpt
    _edit(js, lambda d: d["config"].__setitem__("pach_shape", [16, 8]))
    _refused(ws, js, r"unknown config key\(s\) \['pach_shape'\]")
    _edit(js, lambda d: (d["config"].pop("pach_shape"), d.__setitem__("extra", 1)))
    _refused(ws, js, r"unknown top-level key\(s\) \['extra'\]")


@pytest.mark.parametrize("bad", [np.nan, np.inf], ids=["nan", "inf"])
def test_weights_with_nan_or_inf(ws, ckpt, bad):
    js, weights = ckpt
    from safetensors.torch import load_file, save_file
    state = load_file(weights)
    name = sorted(k for k, t in state.items() if t.is_floating_point())[0]
    state[name].view(-1)[0] = float(bad)
    save_file(state, weights, metadata={"format": "varda-checkpoint"})
    _rehash(js, weights)
    _refused(ws, js, rf"NaN or infinite values in \['{name}'\]")


def test_header_claiming_huge_tensors(ws, ckpt, monkeypatch):
    js, weights = ckpt
    blob = weights.read_bytes()
    n = struct.unpack("<Q", blob[:8])[0]
    header = json.loads(blob[8:8 + n])
    name = next(k for k in header if k != "__metadata__")
    header[name]["shape"] = [1 << 20, 1 << 20]          # 4 TiB of float32
    text = json.dumps(header).encode()
    weights.write_bytes(struct.pack("<Q", len(text)) + text + blob[8 + n:])
    _rehash(js, weights)
    import safetensors.torch
    monkeypatch.setattr(safetensors.torch, "load", lambda *a, **k: pytest.fail("allocated"))
    _refused(ws, js, rf"tensor '{name}' claims shape \[1048576, 1048576\]")


def test_header_length_beyond_the_file(ws, ckpt):
    js, weights = ckpt
    blob = weights.read_bytes()
    weights.write_bytes(struct.pack("<Q", 1 << 62) + blob[8:])
    _rehash(js, weights)
    _refused(ws, js, "header claims")


def test_checkpoint_from_a_newer_format_version(ws, ckpt):
    js, _ = ckpt
    _edit(js, lambda d: d.__setitem__("format_version", 99))
    _refused(ws, js, "format_version 99, newer than this varda")


def test_weights_size_differs_from_the_record_before_reading(ws, ckpt, monkeypatch):
    js, weights = ckpt
    with open(weights, "ab") as f:
        f.write(b"\0" * 1024)
    monkeypatch.setattr(Path, "read_bytes", lambda self: pytest.fail("read the whole file"))
    with pytest.raises(CheckpointError, match="bytes but .* records"):
        varda.load(js)
    monkeypatch.undo()
    ws.check()


def test_unknown_model_name_lists_the_shipped_ones(ws):
    _refused(ws, "no-such-model", "pretrained names are")
