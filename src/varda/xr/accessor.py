"""The ``.varda`` accessor: thin, it only dispatches to module-level functions."""
from __future__ import annotations

from typing import Any

import xarray as xr


@xr.register_dataarray_accessor("varda")
class VardaDataArrayAccessor:
    """``da.varda.fill(model, ...)``, ``da.varda.observations()``, ``da.varda.plot(time=...)``,
    ``da.varda.to_netcdf(path)``."""

    def __init__(self, obj: xr.DataArray) -> None:
        self._obj = obj

    def fill(self, model: Any, **options: Any) -> "xr.DataArray | xr.Dataset":
        """Alias of :func:`varda.fill` on this DataArray (a Dataset with ``error=True``)."""
        from varda.xr.entry import fill
        return fill(self._obj, model, **options)

    def observations(self, **options: Any) -> "tuple[xr.DataArray, xr.DataArray]":
        """``(y, omega)``: see :func:`varda.xr.observations`."""
        from varda.xr.fill import observations
        return observations(self._obj, **options)

    def plot(self, *, time: Any = None, **options: Any) -> Any:
        """Maps of a fill at ``time``: observations, fill, error (when present), observed
        mask, on longitude/latitude with units; see :func:`varda.xr.plot.plot_fill`."""
        from varda.xr.plot import plot_fill
        return plot_fill(self._obj, time=time, **options)

    def to_netcdf(self, path: Any, **options: Any) -> Any:
        """Alias of :func:`varda.to_netcdf`."""
        from varda.io import to_netcdf
        return to_netcdf(self._obj, path, **options)

    def to_zarr(self, store: Any, **options: Any) -> Any:
        """Alias of :func:`varda.to_zarr`."""
        from varda.io import to_zarr
        return to_zarr(self._obj, store, **options)


@xr.register_dataset_accessor("varda")
class VardaDatasetAccessor(VardaDataArrayAccessor):
    """``ds.varda.fill(model, variables=[...])`` fills several variables; same writers."""

    def observations(self, **options: Any):
        raise AttributeError("observations() applies to one variable: use ds[name].varda.observations()")
