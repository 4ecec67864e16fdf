"""xarray layer: the ``.varda`` accessor, axis mapping, static masks, provenance, ``varda.fill``."""
from varda.xr import accessor  # noqa: F401  (registers .varda on DataArray and Dataset)
from varda.xr.dispatch import fill
from varda.xr.fill import fill_dataarray, fill_dataset, observations

__all__ = ["fill", "fill_dataarray", "fill_dataset", "observations"]
