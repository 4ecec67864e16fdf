"""Writing checkpoints: safetensors weights + a JSON config, never pickle (reading them, which
builds the model, is :mod:`varda.core.checkpoint`).

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

from varda._version import __version__

FORMAT = "varda-checkpoint"
FORMAT_VERSION = 1


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
