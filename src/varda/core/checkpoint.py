"""Safe checkpoints: safetensors weights + a JSON config, never pickle.

``save(model, "runs/m")`` writes ``runs/m.safetensors`` and ``runs/m.json``. The JSON holds the
architecture, normalisation, metadata (model card, training summary), the varda version and the
sha256 of the weights file, so that truncated or tampered weights are refused at load time.
Writing is in :mod:`varda.core.serialization` (which knows nothing of the model classes);
reading, which rebuilds the model, is here.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import torch

from varda._version import __version__
from varda.core.serialization import (FORMAT, FORMAT_VERSION, _stem, save, sha256_file,
                                      weights_match_checkpoint, weights_sha256)

__all__ = ["load", "save", "read_config", "pretrained_names", "sha256_file", "weights_sha256",
           "weights_match_checkpoint", "FORMAT", "FORMAT_VERSION"]
from varda.errors import CheckpointError

PRETRAINED_DIR = Path(__file__).resolve().parent.parent / "pretrained"
_PICKLE_MAGIC = (b"\x80", b"PK\x03\x04")  # pickle protocol >= 2, torch.save zip archives


def pretrained_names() -> list[str]:
    """Names of the pretrained models shipped inside the package."""
    if not PRETRAINED_DIR.is_dir():
        return []
    return sorted(p.stem for p in PRETRAINED_DIR.glob("*.json"))


def _resolve(path_or_name: "str | os.PathLike") -> Path:
    p = Path(path_or_name)
    if p.suffix == ".json" and p.is_file():
        return p
    stem = _stem(p)
    if stem.with_suffix(".json").is_file():
        return stem.with_suffix(".json")
    if p.is_file():  # some other file: check it is not a pickle, else say what is expected
        with open(p, "rb") as f:
            head = f.read(4)
        if head.startswith(_PICKLE_MAGIC[0]) or head.startswith(_PICKLE_MAGIC[1]):
            raise CheckpointError(
                f"{p} is a pickle / torch.save file; varda never unpickles (it can run arbitrary "
                "code). Save weights with safetensors and a JSON config (VarModel.save), or "
                "convert: load it yourself with torch.load(weights_only=True) and call model.save().")
        raise CheckpointError(f"{p} is not a varda checkpoint: expected a .json config beside a "
                              ".safetensors weights file (as written by VarModel.save)")
    if str(path_or_name) in pretrained_names():
        return PRETRAINED_DIR / f"{path_or_name}.json"
    names = ", ".join(repr(n) for n in pretrained_names()) or "(none shipped)"
    raise CheckpointError(f"no checkpoint at {str(path_or_name)!r} and no pretrained model of that "
                          f"name; pretrained names are: {names}")


def read_config(path_or_name: "str | os.PathLike") -> tuple[dict, Path]:
    """Parse and validate a checkpoint's JSON; returns (document, json path)."""
    js = _resolve(path_or_name)
    try:
        doc = json.loads(js.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{js} is not valid JSON ({e}); the checkpoint is corrupt") from e
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise CheckpointError(f"{js} is not a varda checkpoint config (missing format={FORMAT!r})")
    if doc.get("format_version", 0) > FORMAT_VERSION:
        raise CheckpointError(f"{js} has format_version {doc['format_version']}, newer than this "
                              f"varda ({__version__}) reads; upgrade varda")
    w = doc.get("weights")
    if not isinstance(w, dict) or not isinstance(w.get("file"), str) or \
            not isinstance(w.get("sha256"), str):
        raise CheckpointError(f"{js} lacks a valid 'weights' section (file name and sha256); "
                              "the checkpoint is corrupt or was edited; re-save it")
    if Path(w["file"]).name != w["file"]:
        raise CheckpointError(f"{js} names weights {w['file']!r} outside its own folder; refused")
    if not isinstance(doc.get("config"), dict):
        raise CheckpointError(f"{js} lacks the model 'config' section; the checkpoint is corrupt "
                              "or was edited; re-save it")
    return doc, js


def load(path_or_name: "str | os.PathLike", *, device: "str | torch.device" = "cpu"):
    """Rebuild a :class:`~varda.core.model.VarModel` from a checkpoint path or pretrained name.

    Refuses pickle files, truncated or tampered weights (sha256 mismatch) and weights that do
    not match the architecture, each with a :class:`~varda.errors.CheckpointError`.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load as st_load

    from varda.core.model import build_model

    doc, js = read_config(path_or_name)
    weights = js.parent / doc["weights"]["file"]
    if not weights.is_file():
        raise CheckpointError(f"weights file {weights} named by {js} is missing")
    blob = weights.read_bytes()
    digest = hashlib.sha256(blob).hexdigest()
    if digest != doc["weights"]["sha256"]:
        raise CheckpointError(
            f"{weights} does not match the sha256 recorded in {js} (got {digest[:12]}…, expected "
            f"{doc['weights']['sha256'][:12]}…): the file is truncated or was modified; re-save "
            "or re-download the model")
    try:
        state = st_load(blob)
    except SafetensorError as e:
        raise CheckpointError(f"cannot read weights {weights}: {e}") from e
    model = build_model(doc["config"])
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = [f"{k}: file {tuple(state[k].shape)} vs model {tuple(v.shape)}"
             for k, v in expected.items() if k in state and state[k].shape != v.shape]
    if missing or unexpected or wrong:
        parts = []
        if missing:
            parts.append(f"missing weights {missing}")
        if unexpected:
            parts.append(f"unexpected weights {unexpected}")
        if wrong:
            parts.append("wrong shapes " + "; ".join(wrong))
        raise CheckpointError(f"weights in {weights} do not fit the architecture in {js}: "
                              + ", ".join(parts) + ". The config and weights come from different models.")
    model.load_state_dict(state)
    model.checkpoint_sha256 = digest
    model.checkpoint_path = str(js.resolve())
    return model.to(device).eval()
