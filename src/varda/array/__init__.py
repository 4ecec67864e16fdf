"""Pure array layer (NumPy and dask, no xarray): patch engine, model cache, array fills."""
from varda.array.fill import FillReport, fill_array, fill_dask, fill_numpy
from varda.array.options import FillOptions
from varda.array.model_cache import ModelRef, get_model, model_ref, resolve_model
from varda.array.patches import blend_patches
from varda.array.resolved import ResolvedModel
from varda.array.tiling import AxisGrid, blend_window, stride_for
from varda.array.cluster import worker_malloc_config

__all__ = ["fill_array", "fill_numpy", "fill_dask", "FillOptions", "FillReport", "ModelRef",
           "get_model", "model_ref", "resolve_model", "ResolvedModel", "blend_patches", "AxisGrid",
           "blend_window", "stride_for", "worker_malloc_config"]
