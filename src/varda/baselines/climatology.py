"""The simplest gap-fillers: per-pixel climatology and linear interpolation in time.

NumPy kernels on ``(time, space)`` matrices, wrapped for DataArrays (fill interface: see
:mod:`varda.baselines._fields`: land stays NaN, observed values are kept, the input is never
modified).
"""
from __future__ import annotations

import numpy as np
import xarray as xr

from varda.baselines._fields import as_field, time_in_days
from varda.errors import InputError


def climatology_array(values: np.ndarray) -> np.ndarray:
    """Fill each column of ``values`` ``(time, space)`` with the mean of its observed
    (finite) values; columns with no observation stay NaN. Returns a new array."""
    obs = np.isfinite(values)
    count = obs.sum(axis=0)
    mean = np.where(obs, values, 0.0).sum(axis=0) / np.maximum(count, 1)
    mean = np.where(count > 0, mean, np.nan)
    return np.where(obs, values, mean[None, :])


def linear_time_array(values: np.ndarray, t: np.ndarray, *, edges: str = "nearest") -> np.ndarray:
    """Linear interpolation in time of each column of ``values`` ``(time, space)`` between its
    observed values, at times ``t`` (increasing).

    ``edges``: before the first / after the last observation, ``"nearest"`` repeats it,
    ``"climatology"`` uses the column's mean. Columns with no observation stay NaN.

    ``np.interp`` per column rather than xarray's ``interpolate_na``: it interpolates against
    the time coordinate the same way and extrapolates as nearest for free (xarray's
    ``ffill``/``bfill`` would need the optional bottleneck package).
    """
    if edges not in ("nearest", "climatology"):
        raise InputError(f"edges must be 'nearest' or 'climatology', got {edges!r}")
    out = values.copy()
    obs = np.isfinite(values)
    for j in np.flatnonzero(obs.any(axis=0) & ~obs.all(axis=0)):
        o = obs[:, j]
        to, vo = t[o], values[o, j]
        col = np.interp(t, to, vo)
        if edges == "climatology":
            outside = (t < to[0]) | (t > to[-1])
            col[outside] = vo.mean()
        out[:, j] = np.where(o, values[:, j], col)
    return out


def climatology_fill(da: xr.DataArray, *, time_dim: "str | None" = None) -> xr.DataArray:
    """Fill every gap with the time mean of that pixel's observed values.

    Args:
        da: the field, with a time dim (NaN = missing, NaN at every time step = land).
        time_dim: the time dim (default: ``"time"`` or the CF time axis).

    Returns:
        The filled field (``attrs["gap_filling"] = "climatology"``); land stays NaN.
    """
    f = as_field(da, time_dim)
    return f.to_dataarray(climatology_array(f.values), "climatology")


def linear_time_fill(da: xr.DataArray, *, time_dim: "str | None" = None,
                     edges: str = "nearest") -> xr.DataArray:
    """Fill the gaps of each pixel by linear interpolation in time between its observations
    (against the time coordinate, so uneven sampling is respected).

    Args:
        da: the field, with a time dim (NaN = missing, NaN at every time step = land).
        time_dim: the time dim (default: ``"time"`` or the CF time axis); its coordinate must
            be increasing without duplicates.
        edges: before a pixel's first / after its last observation: ``"nearest"`` (repeat it)
            or ``"climatology"`` (the pixel's mean).

    Returns:
        The filled field (``attrs["gap_filling"] = "linear_time"``); land stays NaN.
    """
    f = as_field(da, time_dim, sorted_time=True)
    t = time_in_days(da, f.time_dim)
    return f.to_dataarray(linear_time_array(f.values, t, edges=edges), "linear_time",
                          edges=edges)


__all__ = ["climatology_array", "linear_time_array", "climatology_fill", "linear_time_fill"]
