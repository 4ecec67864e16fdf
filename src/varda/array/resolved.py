"""A model resolved once, where a public fill call enters, and handed down to the solver.

:func:`varda.fill`, ``da.varda.fill``, :func:`varda.xr.fill_dataset`,
:func:`varda.xr.fill_dataarray` and :func:`varda.array.fill_array` take a loaded model, a
checkpoint path or a pretrained name. The first of them a call meets turns it into a
:class:`ResolvedModel` (:meth:`ResolvedModel.of`): the loaded model, how a dask worker finds it
again (a :class:`~varda.array.model_cache.ModelRef`) and its identity for provenance. Every layer
below takes that value as it is, so a path's config is read and its weights hashed once per call,
not once per layer (or per variable of a Dataset); workers still load by sha256, once each.
"""
from __future__ import annotations

import copy
import dataclasses
import os
from dataclasses import dataclass
from typing import Union

from varda.array.model_cache import (ModelRef, _device_key, get_model, model_ref,
                                     saved_model_ref)
from varda.core.checkpoint import weights_match_checkpoint
from varda.core.model import VarModel

#: what a fill accepts as its model
ModelLike = Union[VarModel, str, os.PathLike]


@dataclass(frozen=True)
class ResolvedModel:
    """A fill's model, resolved once.

    Attributes:
        model: the loaded model (for a path or name: loaded on the CPU, through the process's
            cache; for a loaded model: the caller's object, never modified).
        ref: how a dask worker loads the same model (by its weights' sha256); ``None`` for a
            model held only in memory (never saved, or changed since).
        name: the model's name for provenance (``"in-memory model"`` when it has no checkpoint).
        path: its checkpoint path or pretrained name (``""`` in memory).
        sha256: its weights' sha256 (``""`` in memory).
    """

    model: VarModel
    ref: "ModelRef | None"
    name: str
    path: str
    sha256: str

    @classmethod
    def of(cls, model: "ModelLike | ResolvedModel") -> "ResolvedModel":
        """Resolve ``model`` (a :class:`ResolvedModel` is returned as it is).

        Raises:
            CheckpointError: no checkpoint at that path and no pretrained model of that name
                (the message lists the valid names), or weights that do not match their card.
            InputError: neither a model, a path nor a name.
        """
        if isinstance(model, ResolvedModel):
            return model
        if isinstance(model, VarModel):
            if model.checkpoint_path and model.checkpoint_sha256 \
                    and weights_match_checkpoint(model):
                ref = saved_model_ref(model)   # also seeds this process's cache with it
                return cls(model, ref, ref.name, ref.source, ref.sha256)
            return cls(model, None, str(model.meta.get("name", "in-memory model")), "", "")
        ref = model_ref(model, device="cpu")  # reads the card, hashes the weights
        return cls(get_model(ref), ref, ref.name, ref.source, ref.sha256)

    def on(self, device: str) -> VarModel:
        """The model to solve with in this process on ``device`` (a cached copy when it has to
        move; the caller's model is never moved)."""
        want = _device_key(device)
        if _device_key(next(self.model.parameters()).device) == want:
            return self.model
        if self.ref is not None:
            return get_model(dataclasses.replace(self.ref, device=str(device)))
        return copy.deepcopy(self.model).to(want)

    def for_workers(self, device: str) -> ModelRef:
        """The reference dask tasks carry (no weights).

        Raises:
            InputError: a model held only in memory, which workers cannot load (saying how to
                save it).
        """
        if self.ref is not None:
            return dataclasses.replace(self.ref, device=str(device))
        return model_ref(self.model, device=device)   # raises the precise InputError


__all__ = ["ModelLike", "ResolvedModel"]
