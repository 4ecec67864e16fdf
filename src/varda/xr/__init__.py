"""xarray layer: the ``.varda`` accessor, axis mapping, static masks, and the DataArray and
Dataset fills. The entry point :func:`varda.fill` (any input type) lives in
:mod:`varda.xr.entry`; this package binds no name that hides one of its modules."""
from varda.xr import accessor  # noqa: F401  (registers .varda on DataArray and Dataset)
from varda.xr.fill import fill_dataarray, fill_dataset, observations

__all__ = ["fill_dataarray", "fill_dataset", "observations"]
