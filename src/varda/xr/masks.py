"""Static (land) mask and the observed-points mask Ω."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import xarray as xr

from varda.errors import InputError


def static_mask(da: xr.DataArray, mask: "xr.DataArray | bool | None",
                time: "str | None") -> "xr.DataArray | None":
    """Where the field is defined (True = fill here, False = land: stays NaN).

    Args:
        mask: ``None`` (default): cells NaN at every time step are land (needs a time dim of
            more than one step, else no static mask); ``False``: no static mask, fill every
            point; a boolean DataArray (True where defined) over some of ``da``'s dims.
        time: the time dim, if any.
    """
    name = da.name if da.name is not None else "data"
    if mask is False:
        return None
    if mask is None or mask is True:
        if time is None or da.sizes[time] < 2:
            return None
        valid = da.notnull().any(time)
        return valid.compute() if valid.chunks is not None else valid
    if not isinstance(mask, xr.DataArray):
        raise InputError(f"mask for {name!r} must be a boolean DataArray (True where the field "
                         f"is defined), None (land = NaN at every time step) or False; got "
                         f"{type(mask).__name__}")
    extra = set(mask.dims) - set(da.dims)
    if extra:
        raise InputError(f"mask has dims {sorted(map(str, extra))} that {name!r} lacks "
                         f"({tuple(da.dims)})")
    if mask.dtype != bool:
        raise InputError(f"mask for {name!r} has dtype {mask.dtype}; it must be boolean, True "
                         "where the field is defined, e.g. mask=(land_fraction < 0.5)")
    return mask


def as_broadcastable(valid: "xr.DataArray | None", order: Sequence[str]):
    """The mask as a NumPy array broadcastable to data transposed to ``order`` (or None)."""
    if valid is None:
        return None
    missing = [d for d in order if d not in valid.dims]
    v = valid.expand_dims(missing).transpose(*order) if missing else valid.transpose(*order)
    return np.asarray(v.values, bool)


def observed_mask(da: xr.DataArray, valid: "xr.DataArray | None") -> xr.DataArray:
    """Ω: True where ``da`` is observed (finite and inside the field)."""
    omega = xr.apply_ufunc(np.isfinite, da, dask="allowed")
    return omega & valid if valid is not None else omega
