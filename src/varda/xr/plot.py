"""Maps of a fill: observations, the filled field, its error estimate (when present) and the
observed mask, at one time, on the data's own coordinates (longitude and latitude found by
cf-xarray, axes labelled with their units). ``filled.varda.plot(time="2001-03-01")``.

matplotlib is imported on first use only.
"""
from __future__ import annotations

from typing import Any, Hashable

import numpy as np
import xarray as xr

from varda.errors import InputError


def _pick(ds: xr.Dataset, variable: "Hashable | None") -> Hashable:
    """The filled variable of a Dataset: ``variable``, else the one varda filled."""
    if variable is not None:
        if variable not in ds.data_vars:
            raise InputError(f"variable={variable!r} is not in the Dataset; it has "
                             f"{list(ds.data_vars)}")
        return variable
    filled = [v for v in ds.data_vars if "varda_model" in ds[v].attrs]
    cands = filled or [v for v in ds.data_vars if not str(v).endswith(("_observed", "_error"))]
    if len(cands) != 1:
        raise InputError(f"the Dataset holds several fields {cands}: say which with "
                         f"variable=, e.g. ds.varda.plot(variable={str(cands[0])!r})")
    return cands[0]


def companions(obj: "xr.DataArray | xr.Dataset", name: Hashable) -> dict[str, xr.DataArray]:
    """The ``observed`` flag and ``error`` field of variable ``name``: variables or coordinates
    named by its CF ``ancillary_variables`` attribute, else ``<name>_observed`` /
    ``<name>_error``."""
    da = obj[name] if isinstance(obj, xr.Dataset) else obj
    pool: dict[Hashable, Any] = dict(da.coords.items())
    if isinstance(obj, xr.Dataset):
        pool.update({k: obj[k] for k in obj.variables if k not in pool})
    linked = str(da.attrs.get("ancillary_variables", "")).split()
    out: dict[str, xr.DataArray] = {}
    for role in ("observed", "error"):
        names = [n for n in linked if n in pool and str(n).endswith(f"_{role}")]
        names += [f"{name}_{role}"] if f"{name}_{role}" in pool else []
        if names:
            out[role] = xr.DataArray(pool[names[0]])
    return out


def _lon_lat(da: xr.DataArray) -> "tuple[Hashable | None, Hashable | None]":
    """Names of the longitude and latitude coordinates (cf-xarray), else the last two dims."""
    import cf_xarray  # noqa: F401  (registers .cf)

    names = []
    for key in ("longitude", "latitude"):
        found = [c for c in da.cf.coordinates.get(key, []) if c in da.coords]
        names.append(found[0] if found else None)
    if names[0] is None or names[1] is None:
        names = [da.dims[-1], da.dims[-2]]
    return names[0], names[1]


def _at_time(da: xr.DataArray, time: Any) -> xr.DataArray:
    spatial = 2
    tdims = [d for d in da.dims if str(d) == "time" or (d in da.coords and
                                                          np.dtype(da[d].dtype).kind == "M")]
    if da.ndim <= spatial:
        return da
    if not tdims:
        raise InputError(f"{da.name!r} has dims {da.dims}: a map needs two spatial dims; "
                         "select the others first, e.g. da.isel(depth=0)")
    tdim = tdims[0]
    if time is None:
        time = int(da.sizes[tdim]) // 2
    if isinstance(time, (int, np.integer)) and np.dtype(da[tdim].dtype).kind == "M":
        return da.isel({tdim: int(time)})
    return da.sel({tdim: time}, method="nearest")


def plot_fill(obj: "xr.DataArray | xr.Dataset", *, time: Any = None,
              variable: "Hashable | None" = None, robust: bool = True,
              cmap: str = "RdYlBu_r", figsize: "tuple[float, float] | None" = None) -> Any:
    """Panels of a fill at one time: observations, the fill, its error (when the fill has an
    ``<name>_error`` field) and the observed mask, on longitude/latitude with units.

    Args:
        obj: a filled DataArray (with its ``<name>_observed`` coordinate) or a Dataset (a
            written fill, read back).
        time: a time label (nearest), or a position for datetime axes (default: the middle).
        variable: the variable of a Dataset (default: the one varda filled).
        robust: colour limits from the 2nd and 98th percentiles.
        cmap: the colour map of the field panels.
        figsize: matplotlib figure size (default: 4.2 inches a panel).

    Returns:
        the matplotlib Figure (``fig.savefig("fill.png")``).

    Raises:
        InputError: no map to draw (a variable that is not there, several candidates, more
            than two spatial dims and no time).
    """
    import matplotlib.pyplot as plt

    name = _pick(obj, variable) if isinstance(obj, xr.Dataset) else obj.name
    da = obj[name] if isinstance(obj, xr.Dataset) else obj
    extra = companions(obj, name)
    field = _at_time(da, time)
    panels: list[tuple[str, xr.DataArray, dict]] = []
    lo, hi = (np.nanpercentile(field.values, [2, 98]) if robust else
              (np.nanmin(field.values), np.nanmax(field.values)))
    style = {"cmap": cmap, "vmin": float(lo), "vmax": float(hi)}
    if "observed" in extra:
        seen = _at_time(extra["observed"], time) == 1
        panels.append(("observations", field.where(seen), style))
    panels.append(("fill", field, style))
    if "error" in extra:
        panels.append(("estimated error", _at_time(extra["error"], time),
                       {"cmap": "viridis", "vmin": 0.0}))
    if "observed" in extra:
        panels.append(("observed (1) / filled (0)", _at_time(extra["observed"], time),
                       {"cmap": "Greys", "vmin": 0, "vmax": 1}))
    x, y = _lon_lat(field)
    fig, axs = plt.subplots(1, len(panels), squeeze=False, constrained_layout=True,
                            figsize=figsize or (4.2 * len(panels), 3.6))
    for ax, (title, f, kw) in zip(axs[0], panels):
        f.plot.pcolormesh(ax=ax, x=x, y=y, add_colorbar=True, **kw)
        ax.set_title(title)
    label = da.attrs.get("long_name", da.attrs.get("standard_name", name))
    units = f" ({da.attrs['units']})" if "units" in da.attrs else ""
    fig.suptitle(f"{label}{units}{_when(field, (x, y))}")
    return fig


def _when(field: xr.DataArray, skip: tuple) -> str:
    """``", time = 2001-03-01"``: the scalar coordinate the map was taken at."""
    for c in field.coords:
        if field[c].ndim == 0 and c not in skip and not str(c).endswith(("_observed", "_error")):
            v = field[c].values
            text = np.datetime_as_string(v, unit="D") if np.dtype(v.dtype).kind == "M" else v
            return f", {c} = {text}"
    return ""


__all__ = ["plot_fill", "companions"]
