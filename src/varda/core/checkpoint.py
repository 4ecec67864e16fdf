"""Safe checkpoints: safetensors weights + a JSON config, never pickle.

``save(model, "runs/m")`` writes ``runs/m.safetensors`` and ``runs/m.json``. The JSON holds the
architecture, normalisation, metadata (model card, training summary), the varda version and the
sha256 of the weights file, so that truncated or tampered weights are refused at load time.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import torch

from varda._version import __version__
from varda.errors import CheckpointError

FORMAT = "varda-checkpoint"
FORMAT_VERSION = 1
PRETRAINED_DIR = Path(__file__).resolve().parent.parent / "pretrained"
_PICKLE_MAGIC = (b"\x80", b"PK\x03\x04")  # pickle protocol >= 2, torch.save zip archives


def sha256_file(path: "str | os.PathLike") -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _stem(path: "str | os.PathLike") -> Path:
    p = Path(path)
    return p.with_suffix("") if p.suffix in (".json", ".safetensors") else p


def _weights_blob(model) -> bytes:
    """The safetensors bytes ``save`` writes for ``model``'s current weights."""
    from safetensors.torch import save as st_save

    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    return st_save(tensors, metadata={"format": FORMAT})


def weights_sha256(model) -> str:
    """sha256 of the weights file ``save`` would write for ``model`` now (a few ms)."""
    return hashlib.sha256(_weights_blob(model)).hexdigest()


def weights_match_checkpoint(model) -> bool:
    """True when ``model`` came from (or was written to) a checkpoint and its weights in memory
    are still exactly that checkpoint's (not trained or edited since)."""
    sha = getattr(model, "checkpoint_sha256", None)
    return bool(sha and getattr(model, "checkpoint_path", None) and weights_sha256(model) == sha)


def save(model, path: "str | os.PathLike") -> Path:
    """Write ``<path>.safetensors`` and ``<path>.json`` atomically; returns the JSON path.

    The model remembers the checkpoint (``model.checkpoint_path``, ``model.checkpoint_sha256``),
    so a fill with this model held in memory records it in its provenance and dask workers can
    load it; changing the weights afterwards makes the fill treat it as an in-memory model again.
    """
    stem = _stem(path)
    stem.parent.mkdir(parents=True, exist_ok=True)
    blob = _weights_blob(model)
    weights = stem.with_suffix(".safetensors")
    _atomic_write_bytes(weights, blob)
    doc = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "varda_version": __version__,
        "weights": {"file": weights.name, "sha256": hashlib.sha256(blob).hexdigest(),
                    "bytes": len(blob)},
        "config": model.config,
    }
    js = stem.with_suffix(".json")
    _atomic_write_bytes(js, (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode())
    model.checkpoint_sha256 = doc["weights"]["sha256"]
    model.checkpoint_path = str(js.resolve())
    return js


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
