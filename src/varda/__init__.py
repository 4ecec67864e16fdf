"""varda: learned variational solvers for gap-filling geoscience fields.

The top-level names work on your data (xarray, NumPy or dask arrays) and on saved models::

    import varda
    model = varda.train(ds.sst)                     # self-supervised, from the gappy archive
    filled = ds.sst.varda.fill(model)               # or varda.fill(ds.sst, model)
    ds_err = ds.sst.varda.fill(model, error=True)   # + sst_error, a calibrated error std
    varda.save(model, "models/sst")                 # safetensors + JSON model card
    model = varda.load("models/sst")                # or a shipped name: varda.pretrained_names()
    varda.to_netcdf(filled, "sst_filled.nc")        # atomic, with provenance

The tensor-level engine (priors, solvers, ``fit`` on tensors) is :mod:`varda.core`;
classical methods are :mod:`varda.baselines`.

``import varda`` registers the ``.varda`` accessor (it needs only xarray); torch and the rest
are imported on first use of a name (PEP 562), so that ``varda --help`` answers at once.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from varda._version import __version__
from varda.errors import CheckpointError, ConfigError, InputError, OutputError, VardaError
from varda.xr import accessor as _accessor  # noqa: F401  (registers .varda on xarray objects)

if TYPE_CHECKING:  # the names below, for type checkers and IDEs
    from varda.core.checkpoint import load, pretrained_names
    from varda.core.model import VarModel, build_model
    from varda.core.presets import model_config
    from varda.core.serialization import save
    from varda.io import to_netcdf, to_zarr
    from varda.xr.entry import fill
    from varda.xr.calibrate import calibrate
    from varda.xr.train import train

#: public name → the module that defines it (imported on first access)
_LAZY = {
    "load": "varda.core.checkpoint", "pretrained_names": "varda.core.checkpoint",
    "VarModel": "varda.core.model", "build_model": "varda.core.model",
    "model_config": "varda.core.presets", "save": "varda.core.serialization",
    "to_netcdf": "varda.io", "to_zarr": "varda.io", "fill": "varda.xr.entry",
    "train": "varda.xr.train", "calibrate": "varda.xr.calibrate",
}
_SUBPACKAGES = ("array", "baselines", "core", "datasets", "io", "metrics", "xr", "cli",
                "pretrained", "training", "provenance", "ssh_scores", "uncertainty")


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    if name in _SUBPACKAGES:
        return importlib.import_module(f"varda.{name}")
    raise AttributeError(f"module 'varda' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | set(_SUBPACKAGES))


__all__ = ["__version__", "train", "calibrate", "fill", "load", "save", "model_config", "build_model",
           "pretrained_names", "VarModel", "to_netcdf", "to_zarr", "VardaError", "InputError",
           "ConfigError", "CheckpointError", "OutputError"]
