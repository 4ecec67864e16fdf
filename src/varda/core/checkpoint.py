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
#: the keys of ``VarModel.config`` (tests/core/test_core_checkpoint.py keeps this in step)
CONFIG_KEYS = frozenset({"prior", "cost", "solver", "axes", "patch_shape", "channels", "n_iter",
                         "second_order", "grad_iters", "first_guess", "norm", "meta"})
DOC_KEYS = frozenset({"format", "format_version", "varda_version", "weights", "config"})
#: safetensors dtype names → bytes per element
_ST_DTYPES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1,
              "U8": 1, "BOOL": 1, "U16": 2, "U32": 4, "U64": 8, "F8_E4M3": 1, "F8_E5M2": 1}
#: largest safetensors header read (its JSON lists tensor names, dtypes, shapes and offsets)
MAX_HEADER_BYTES = 16 << 20
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
    _check_document(doc, js)
    return doc, js


def _bad(js: Path, what: str) -> CheckpointError:
    return CheckpointError(f"{js}: {what}; the checkpoint is corrupt or was edited by hand; "
                           "re-save it with model.save(path)")


def _is_int(x, lo: int = 0) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) and x >= lo


def _is_number(x) -> bool:
    import math
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _check_document(doc: dict, js: Path) -> None:
    """Types and keys of a checkpoint's JSON, checked before anything is built or read.

    Raises:
        CheckpointError: an unknown key or a value of the wrong type, naming it.
    """
    unknown = sorted(set(doc) - DOC_KEYS)
    if unknown:
        raise _bad(js, f"unknown top-level key(s) {unknown} (expected {sorted(DOC_KEYS)})")
    if not _is_int(doc.get("format_version", 1), 1):
        raise _bad(js, f"format_version must be a positive integer, got "
                       f"{doc.get('format_version')!r}")
    size = doc["weights"].get("bytes")
    if size is not None and not _is_int(size):
        raise _bad(js, f"weights.bytes must be a non-negative integer, got {size!r}")
    cfg = doc["config"]
    unknown = sorted(set(cfg) - CONFIG_KEYS)
    if unknown:
        raise _bad(js, f"unknown config key(s) {unknown}; a varda model config has "
                       f"{sorted(CONFIG_KEYS)}")
    axes, patch = cfg.get("axes"), cfg.get("patch_shape")
    if not (isinstance(axes, list) and axes and all(isinstance(a, str) and a for a in axes)
            and len(set(axes)) == len(axes)):
        raise _bad(js, f"config.axes must be a list of distinct axis names, got {axes!r}")
    if not (isinstance(patch, list) and len(patch) == len(axes)
            and all(_is_int(p, 1) for p in patch)):
        raise _bad(js, f"config.patch_shape must be {len(axes)} positive integers (one per "
                       f"axis {axes}), got {patch!r}")
    for key, lo in (("channels", 1), ("n_iter", 0)):
        if key in cfg and not _is_int(cfg[key], lo):
            raise _bad(js, f"config.{key} must be an integer >= {lo}, got {cfg[key]!r}")
    if "grad_iters" in cfg and cfg["grad_iters"] is not None and not _is_int(cfg["grad_iters"]):
        raise _bad(js, f"config.grad_iters must be null or an integer >= 0, got "
                       f"{cfg['grad_iters']!r}")
    if "second_order" in cfg and not isinstance(cfg["second_order"], bool):
        raise _bad(js, f"config.second_order must be true or false, got {cfg['second_order']!r}")
    for key in ("prior", "solver"):
        part = cfg.get(key)
        if not (isinstance(part, dict) and isinstance(part.get("type"), str)):
            raise _bad(js, f"config.{key} must be an object with a 'type' name, got {part!r}")
    for key in ("cost", "meta"):
        if key in cfg and not isinstance(cfg[key], dict):
            raise _bad(js, f"config.{key} must be an object, got {cfg[key]!r}")
    if cfg.get("first_guess") is not None and not isinstance(cfg["first_guess"], dict):
        raise _bad(js, f"config.first_guess must be null or an object, got "
                       f"{cfg['first_guess']!r}")
    norm = cfg.get("norm", {})
    if not (isinstance(norm, dict) and set(norm) <= {"mean", "std"}
            and _is_number(norm.get("mean", 0.0)) and _is_number(norm.get("std", 1.0))
            and norm.get("std", 1.0) > 0):
        raise _bad(js, f"config.norm must be {{'mean': finite number, 'std': positive number}}, "
                       f"got {norm!r}")


def _check_weights_header(blob: bytes, weights: Path) -> None:
    """Parse the safetensors header ourselves, so that a header claiming tensors larger than
    the file (or than any model) is refused before safetensors or torch allocate anything.

    Raises:
        CheckpointError: a malformed header, an unknown dtype, or tensor sizes and offsets that
            do not match the file.
    """
    import math

    def bad(what: str) -> CheckpointError:
        return CheckpointError(f"weights {weights}: {what}; the file is corrupt or not a "
                               "safetensors file written by varda; re-save or re-download it")

    if len(blob) < 8:
        raise bad(f"{len(blob)} bytes, too short for a safetensors header")
    n = int.from_bytes(blob[:8], "little")
    if n > min(MAX_HEADER_BYTES, len(blob) - 8):
        raise bad(f"its header claims {n} bytes but the file has {len(blob)} bytes")
    try:
        header = json.loads(blob[8:8 + n])
    except (UnicodeDecodeError, ValueError) as e:
        raise bad(f"its header is not valid JSON ({e})") from e
    if not isinstance(header, dict):
        raise bad("its header is not a JSON object")
    data_len = len(blob) - 8 - n
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if not isinstance(info, dict) or info.get("dtype") not in _ST_DTYPES:
            raise bad(f"tensor {name!r} has no known dtype ({info!r:.80})")
        shape, offs = info.get("shape"), info.get("data_offsets")
        if not (isinstance(shape, list) and all(_is_int(d) for d in shape)
                and isinstance(offs, list) and len(offs) == 2 and all(_is_int(o) for o in offs)):
            raise bad(f"tensor {name!r} has a malformed shape or data_offsets")
        nbytes = math.prod(shape) * _ST_DTYPES[info["dtype"]]
        if not offs[0] <= offs[1] <= data_len or offs[1] - offs[0] != nbytes:
            raise bad(f"tensor {name!r} claims shape {shape} ({nbytes:,} bytes) at offsets "
                      f"{offs} but the file holds {data_len:,} bytes of data")


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
    size, recorded = weights.stat().st_size, doc["weights"].get("bytes")
    if recorded is not None and size != recorded:  # before reading more than its magic
        with open(weights, "rb") as f:
            head = f.read(4)
        if head.startswith(_PICKLE_MAGIC[0]) or head.startswith(_PICKLE_MAGIC[1]):
            raise CheckpointError(
                f"{weights} is a pickle / torch.save file, not the safetensors weights whose "
                f"size and sha256 {js} records; varda never unpickles (it can run arbitrary "
                "code): re-save the model with model.save(path)")
        raise CheckpointError(
            f"{weights} has {size:,} bytes but {js} records {recorded:,}: the file is truncated "
            "or was modified; re-save or re-download the model")
    blob = weights.read_bytes()
    digest = hashlib.sha256(blob).hexdigest()
    if digest != doc["weights"]["sha256"]:
        raise CheckpointError(
            f"{weights} does not match the sha256 recorded in {js} (got {digest[:12]}…, expected "
            f"{doc['weights']['sha256'][:12]}…): the file is truncated or was modified; re-save "
            "or re-download the model")
    _check_weights_header(blob, weights)
    try:
        state = st_load(blob)
    except SafetensorError as e:
        raise CheckpointError(f"cannot read weights {weights}: {e}") from e
    bad = [k for k, t in state.items() if t.is_floating_point() and not bool(t.isfinite().all())]
    if bad:
        raise CheckpointError(
            f"weights in {weights} hold NaN or infinite values in {bad[:5]}"
            f"{' and more' if len(bad) > 5 else ''}: a diverged training run or a corrupt file; "
            "use an earlier checkpoint or retrain")
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
