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
"""
from varda._version import __version__
from varda.core.checkpoint import load, pretrained_names
from varda.core.model import VarModel, build_model
from varda.core.presets import model_config
from varda.core.serialization import save
from varda.errors import CheckpointError, ConfigError, InputError, OutputError, VardaError
from varda.io import to_netcdf, to_zarr
import varda.xr  # noqa: F401  (registers the .varda accessor on DataArray and Dataset)
from varda.xr.entry import fill
from varda.xr.calibrate import calibrate
from varda.xr.train import train

__all__ = ["__version__", "train", "calibrate", "fill", "load", "save", "model_config", "build_model",
           "pretrained_names", "VarModel", "to_netcdf", "to_zarr", "VardaError", "InputError",
           "ConfigError", "CheckpointError", "OutputError"]
