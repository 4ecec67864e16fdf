"""Per-process model cache, so that dask workers load a model once, not once per task.

A task graph carries only a :class:`ModelRef` (a checkpoint path or pretrained name, its weights'
sha256 and the device wish); :func:`get_model` loads it on first use in each process and keeps it,
keyed by (sha256, device), on the worker's GPU when it has one.
"""
from __future__ import annotations

import copy
import hashlib
import json
import os
import threading
from dataclasses import dataclass

import torch

from varda.core.checkpoint import (load, pretrained_names, read_config, sha256_file,
                                   weights_match_checkpoint)
from varda.core.device import resolve_device
from varda.core.model import VarModel
from varda.errors import CheckpointError, InputError

_CACHE: dict[tuple[str, str, str], VarModel] = {}  # (weights sha256, config digest, device)
_LOCK = threading.Lock()


@dataclass(frozen=True)
class ModelRef:
    """What a task needs to find the model: small, picklable, no weights.

    Attributes:
        source: a checkpoint path (its .json) or a pretrained model name.
        sha256: sha256 of the weights file; a different file at ``source`` is refused.
        device: ``"auto"`` (the process's GPU if any, else CPU), ``"cpu"``, ``"cuda"``...
        name: human-readable model name (for provenance).
        config_sha256: digest of the model's config: two checkpoints with the same weights
            but another normalisation, ``n_iter`` or metadata are different models.
    """

    source: str
    sha256: str
    device: str = "auto"
    name: str = ""
    config_sha256: str = ""


def config_digest(config: dict) -> str:
    """sha256 of a model config's canonical JSON (the cache tells models apart by it)."""
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()


def _device_key(device: "str | torch.device") -> str:
    try:
        dev = resolve_device(device)
    except ValueError as e:  # e.g. cuda asked for where no GPU is visible
        raise InputError(f"device {str(device)!r}: {e}") from e
    if dev.type == "cuda" and dev.index is None:
        dev = torch.device("cuda", torch.cuda.current_device())
    return str(dev)


def remember(model: VarModel) -> None:
    """Seed this process's cache with an already loaded model (saves a reload)."""
    if model.checkpoint_sha256:
        dev = _device_key(next(model.parameters()).device)
        with _LOCK:
            _CACHE.setdefault((model.checkpoint_sha256, config_digest(model.config), dev), model)


def get_model(ref: ModelRef) -> VarModel:
    """The model for ``ref`` in this process (loaded once; checked against its sha256)."""
    key = (ref.sha256, ref.config_sha256, _device_key(ref.device))
    model = _CACHE.get(key)
    if model is not None:
        return model
    with _LOCK:
        model = _CACHE.get(key)
        if model is None:
            same_weights = [m for (sha, cfg, _), m in _CACHE.items()
                            if sha == ref.sha256 and cfg == ref.config_sha256]
            if same_weights:  # same model on another device: copy, no disk read
                model = copy.deepcopy(same_weights[0]).to(key[2])
                model.checkpoint_sha256 = same_weights[0].checkpoint_sha256
                model.checkpoint_path = same_weights[0].checkpoint_path
            else:
                try:
                    model = load(ref.source, device=key[2])
                except CheckpointError as e:
                    raise CheckpointError(
                        f"the model this fill was planned with ({ref.source!r}, weights sha256 "
                        f"{ref.sha256[:12]}…) can no longer be loaded: {e}. Was the checkpoint "
                        "deleted or rewritten while the fill ran? Keep the model file unchanged "
                        "until the fill has finished, then rerun it") from e
            if model.checkpoint_sha256 != ref.sha256:
                raise CheckpointError(
                    f"the checkpoint at {ref.source!r} changed since the fill was planned (weights "
                    f"sha256 {str(model.checkpoint_sha256)[:12]}… instead of {ref.sha256[:12]}…); "
                    "make sure every worker sees the same model file")
            _CACHE[key] = model.eval()
    return model


def clear_cache() -> None:
    """Forget every cached model in this process."""
    with _LOCK:
        _CACHE.clear()


def cached_models() -> list[tuple[str, str]]:
    """(weights sha256, device) of the models cached in this process."""
    return sorted((sha, dev) for sha, _, dev in _CACHE)


def saved_model_ref(model: VarModel, *, device: str = "auto") -> ModelRef:
    """The reference of a loaded model whose weights are known to be those of its checkpoint
    (the caller checked: :func:`model_ref` does); seeds this process's cache with it."""
    assert model.checkpoint_path and model.checkpoint_sha256
    remember(model)
    name = str(model.meta.get("name") or os.path.basename(model.checkpoint_path)
               .removesuffix(".json"))
    return ModelRef(model.checkpoint_path, model.checkpoint_sha256, str(device), name,
                    config_digest(model.config))


def model_ref(model: "VarModel | str | os.PathLike", *, device: str = "auto") -> ModelRef:
    """Describe ``model`` (loaded model, checkpoint path or pretrained name) by reference.

    Raises:
        InputError: a model that was never saved (it has no checkpoint a worker could load).
        CheckpointError: no checkpoint at that path and no pretrained model of that name (the
            message lists the valid names).
    """
    if isinstance(model, VarModel):
        if not (model.checkpoint_path and model.checkpoint_sha256):
            raise InputError(
                "this model was built in memory and never saved, so dask workers cannot load it; "
                "save it with model.save('path/name') and pass varda.load('path/name') or the path")
        if not weights_match_checkpoint(model):
            raise InputError(
                f"this model's weights changed in memory since it was saved to or loaded from "
                f"{model.checkpoint_path!r}, so dask workers loading that file would use other "
                "weights; save it again (model.save(path)) before a dask fill")
        return saved_model_ref(model, device=device)
    if not isinstance(model, (str, os.PathLike)):
        raise InputError(f"model must be a VarModel, a checkpoint path or a pretrained name "
                         f"({', '.join(pretrained_names()) or 'none shipped'}), got "
                         f"{type(model).__name__}")
    doc, js = read_config(model)
    sha = doc["weights"]["sha256"]
    weights = js.parent / doc["weights"]["file"]
    if not weights.is_file() or weights.stat().st_size != doc["weights"].get(
            "bytes", weights.stat().st_size) or sha256_file(weights) != sha:
        load(js)  # the file on disk is not the one recorded: raises the precise CheckpointError
        raise CheckpointError(f"weights {weights} do not match {js}; re-save the model")
    is_name = str(model) in pretrained_names() and not os.path.exists(str(model))
    source = str(model) if is_name else str(js.resolve())
    name = str(model) if is_name else js.stem
    return ModelRef(source, sha, str(device), name, config_digest(doc["config"]))


def resolve_model(model: "VarModel | str | os.PathLike", *, device: str = "auto") -> VarModel:
    """A usable model in this process: loaded models are used as they are (moved to ``device``
    through a copy if needed), paths and names go through the cache."""
    if isinstance(model, VarModel):
        want = _device_key(device)
        if _device_key(next(model.parameters()).device) == want:
            return model
        if weights_match_checkpoint(model):
            return get_model(model_ref(model, device=device))  # moved copy, cached
        return copy.deepcopy(model).to(want)
    return get_model(model_ref(model, device=device))
