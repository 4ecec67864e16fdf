"""varda: learned variational solvers for gap-filling geoscience fields.

    import varda
    model = varda.load("l96-unet-joint")      # a shipped pretrained model, or a path
"""
from varda._version import __version__
from varda.core.checkpoint import load, pretrained_names
from varda.core.model import VarModel, build_model
from varda.core.training import fit
from varda.errors import CheckpointError, ConfigError, InputError, OutputError, VardaError
from varda.io import to_netcdf, to_zarr
from varda.xr import fill  # also registers the .varda accessor on DataArray and Dataset

__all__ = ["__version__", "load", "pretrained_names", "VarModel", "build_model", "fit",
           "VardaError", "InputError", "ConfigError", "CheckpointError", "OutputError",
           "fill", "to_netcdf", "to_zarr"]
