"""varda: learned variational solvers for gap-filling geoscience fields.

    import varda
    model = varda.load("l96-unet-joint")      # a shipped pretrained model, or a path
"""
from varda._version import __version__
from varda.core.checkpoint import load, pretrained_names
from varda.core.model import VarModel, build_model
from varda.core.training import fit
from varda.errors import CheckpointError, ConfigError, InputError, OutputError, VardaError

__all__ = ["__version__", "load", "pretrained_names", "VarModel", "build_model", "fit",
           "VardaError", "InputError", "ConfigError", "CheckpointError", "OutputError"]
