"""Shared plumbing of the classical gap-fillers: validate a DataArray, split it into a
``(time, space)`` matrix of ocean points, and put a filled matrix back.

The fill interface of every baseline: a DataArray with a time dim in (NaN = missing; points
NaN at every time step are land), a DataArray out with the same dims, coords, name and attrs
(plus a ``gap_filling`` attribute), land still NaN, observed values unchanged, and no NaN left
in the ocean. The input is never modified. Dask-backed inputs are loaded into memory.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from varda.errors import InputError
from varda.xr.axes import check_time_sorted


@dataclass
class Field:
    """A DataArray as a ``(time, ocean point)`` float64 matrix (NaN = missing)."""

    da: xr.DataArray                 # the input, untouched
    time_dim: str
    order: tuple[str, ...]           # dims with time first
    values: np.ndarray               # (n_time, n_ocean), float64, NaN = missing
    ocean: np.ndarray                # (n_space_total,) bool: which flattened points are ocean
    spatial_shape: tuple[int, ...]

    @property
    def name(self) -> str:
        return str(self.da.name) if self.da.name is not None else "data"

    def to_dataarray(self, filled: np.ndarray, method: str, **attrs: object) -> xr.DataArray:
        """The filled ``(n_time, n_ocean)`` matrix back on the input's grid (land NaN)."""
        full = np.full((filled.shape[0], self.ocean.size), np.nan, dtype=self.da.dtype)
        full[:, self.ocean] = filled
        data = full.reshape((filled.shape[0],) + self.spatial_shape)
        out = xr.DataArray(data, dims=self.order, coords=self.da.transpose(*self.order).coords,
                           name=self.da.name, attrs=dict(self.da.attrs))
        out.attrs["gap_filling"] = method
        for key, value in attrs.items():
            out.attrs[f"{method}_{key}"] = value
        return out.transpose(*self.da.dims)


def find_time_dim(da: xr.DataArray, time_dim: "str | None") -> str:
    """``time_dim`` if given, else a dim named ``time``, else the dim cf-xarray calls time."""
    name = da.name if da.name is not None else "data"
    if time_dim is not None:
        if time_dim not in da.dims:
            raise InputError(f"{name!r} has no dim {time_dim!r}; its dims are {tuple(da.dims)}")
        return time_dim
    from varda.xr.axes import time_dim as guess

    found = guess(da, {})
    if found is None:
        raise InputError(f"cannot tell which dim of {name!r} is time (dims {tuple(da.dims)}); "
                         "pass time_dim='<dim>'")
    return found


def time_in_days(da: xr.DataArray, time_dim: str) -> np.ndarray:
    """The time coordinate as float days (datetime64 / timedelta64 / cftime), or steps (no
    coordinate), or the coordinate's own numbers."""
    if time_dim not in da.coords:
        return np.arange(da.sizes[time_dim], dtype=float)
    t = da[time_dim].values
    if np.issubdtype(t.dtype, np.datetime64):
        return (t - t[0]).astype("timedelta64[s]").astype(float) / 86400.0
    if np.issubdtype(t.dtype, np.timedelta64):
        return t.astype("timedelta64[s]").astype(float) / 86400.0
    if t.dtype == object:  # cftime dates
        import cftime

        return np.asarray(cftime.date2num(list(t), "days since 0001-01-01",
                                          calendar=t[0].calendar), float)
    return np.asarray(t, float)


def as_field(da: xr.DataArray, time_dim: "str | None" = None, *, min_obs: int = 1,
             sorted_time: bool = False) -> Field:
    """Validate ``da`` and view it as a ``(time, ocean point)`` matrix.

    Raises:
        InputError: not a DataArray, not floating point, no time dim or no other dim, no ocean
            point, fewer than ``min_obs`` observations, or (``sorted_time``) duplicated or
            unsorted times.
    """
    if not isinstance(da, xr.DataArray):
        raise InputError(f"the gap-fillers take an xarray.DataArray, got {type(da).__name__}; "
                         "for a Dataset pass one variable, e.g. ds['sst']")
    name = da.name if da.name is not None else "data"
    if da.dtype.kind != "f":
        raise InputError(f"{name!r} has dtype {da.dtype}; gap filling needs a floating-point "
                         f"field with NaN where missing, e.g. da.astype('float32')")
    tdim = find_time_dim(da, time_dim)
    if da.ndim < 2:
        raise InputError(f"{name!r} has only the time dim {tdim!r}; the gap-fillers need at "
                         "least one spatial dim")
    if sorted_time:
        check_time_sorted(da, tdim)
    order = (tdim,) + tuple(str(d) for d in da.dims if d != tdim)
    arr = np.asarray(da.transpose(*order).values, dtype=np.float64)
    spatial_shape = arr.shape[1:]
    flat = arr.reshape(arr.shape[0], -1)
    ocean = np.asarray(np.isfinite(flat).any(axis=0))
    if not ocean.any():
        raise InputError(f"{name!r} has no ocean point: every value is NaN (land = NaN at every "
                         "time step); check the variable and the time range")
    values = flat[:, ocean]
    n_obs = int(np.isfinite(values).sum())
    if n_obs < min_obs:
        raise InputError(f"{name!r} has {n_obs} observed values; this method needs at least "
                         f"{min_obs}")
    return Field(da, tdim, order, values, ocean, spatial_shape)
