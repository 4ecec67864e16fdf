"""Plumbing shared by the along-track SSH tools (:mod:`varda.ssh_scores`,
:mod:`varda.baselines.oi_tracks`): read an along-track Dataset and a target grid into NumPy
arrays, with the checks that turn bad input into clear errors.

Along-track layout (CMEMS L3 products, ocean data challenges): an ``xarray.Dataset`` with one
dimension ``time`` (one entry per measurement), coordinates ``time`` (datetime64), ``lon`` /
``lat`` (or ``longitude`` / ``latitude``, degrees), optionally ``satellite`` (int per point)
and a data variable (``sla``, metres). Grids: DataArrays with dims ``(time, lat, lon)`` (or
``latitude`` / ``longitude``), 1-D ascending regular coordinates in degrees.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from varda.errors import InputError

EARTH_RADIUS_KM = 6371.0
EPOCH = np.datetime64("1950-01-01T00:00:00", "ns")   # days are counted from here
LAT_NAMES = ("lat", "latitude")
LON_NAMES = ("lon", "longitude")


def days(values: np.ndarray, what: str) -> np.ndarray:
    """Times as float days since 1950-01-01 (datetime64), or the numbers themselves (days)."""
    v = np.asarray(values)
    if np.issubdtype(v.dtype, np.datetime64):
        return (v.astype("datetime64[ns]") - EPOCH) / np.timedelta64(1, "D")
    if np.issubdtype(v.dtype, np.number):
        return v.astype(float)
    raise InputError(f"{what}: time must be datetime64 or numbers of days, got {v.dtype}; "
                     "decode it with xr.decode_cf or convert with pd.to_datetime")


def _name(obj: "xr.Dataset | xr.DataArray", names: tuple[str, ...], what: str) -> str:
    found = next((n for n in names if n in obj.coords or n in obj.dims), None)
    if found is None:
        raise InputError(f"{what} has no {' or '.join(names)} coordinate; rename yours "
                         f"(e.g. ds.rename(nav_lat='lat'))")
    return found


@dataclass
class Tracks:
    """Along-track measurements as flat float64 arrays (NaN values dropped)."""

    t: np.ndarray          # days since 1950-01-01
    lon: np.ndarray        # degrees
    lat: np.ndarray        # degrees
    value: np.ndarray
    satellite: np.ndarray  # int per point (0 when the Dataset has none)

    def __len__(self) -> int:
        return int(self.t.size)

    def subset(self, keep: np.ndarray) -> "Tracks":
        """The points where ``keep`` is True (or at the indices ``keep``)."""
        return Tracks(self.t[keep], self.lon[keep], self.lat[keep], self.value[keep],
                      self.satellite[keep])


def read_tracks(tracks: xr.Dataset, *, variable: str = "sla", what: str = "tracks"
                ) -> Tracks:
    """Check an along-track Dataset and return its finite measurements as :class:`Tracks`."""
    if not isinstance(tracks, xr.Dataset):
        raise InputError(f"{what} must be an xarray.Dataset of along-track data (dim 'time', "
                         f"coords time/lon/lat, variable {variable!r}), got "
                         f"{type(tracks).__name__}")
    if variable not in tracks.data_vars:
        raise InputError(f"{what} has no variable {variable!r} (it has "
                         f"{sorted(map(str, tracks.data_vars))}); pass variable='<name>'")
    da = tracks[variable]
    if da.ndim != 1:
        raise InputError(f"{what}[{variable!r}] must be 1-D (one entry per measurement), has "
                         f"dims {da.dims}; flatten it with .stack(time=...) first")
    lat_n, lon_n = _name(tracks, LAT_NAMES, what), _name(tracks, LON_NAMES, what)
    if "time" not in tracks.coords:
        raise InputError(f"{what} has no 'time' coordinate (one time per measurement)")
    t = days(tracks["time"].values, what)
    lon = np.asarray(tracks[lon_n].values, float)
    lat = np.asarray(tracks[lat_n].values, float)
    value = np.asarray(da.values, float)
    sat = (np.asarray(tracks["satellite"].values).astype(np.int64)
           if "satellite" in tracks.coords or "satellite" in tracks.data_vars
           else np.zeros(t.size, np.int64))
    if not (t.shape == lon.shape == lat.shape == value.shape == sat.shape):
        raise InputError(f"{what}: time, {lon_n}, {lat_n}, satellite and {variable} must all "
                         "have one entry per measurement along the same dim")
    ok = np.isfinite(value) & np.isfinite(t) & np.isfinite(lon) & np.isfinite(lat)
    if not ok.any():
        raise InputError(f"{what} has no finite {variable!r} measurement")
    if np.any(np.abs(lat[ok]) > 90):
        raise InputError(f"{what}: latitudes beyond ±90°; are {lat_n} in degrees?")
    return Tracks(t[ok], lon[ok], lat[ok], value[ok], sat[ok])


@dataclass
class Grid:
    """A ``(time, lat, lon)`` target grid: coordinates as float arrays, dims' names."""

    t: np.ndarray          # days since 1950-01-01
    lat: np.ndarray
    lon: np.ndarray
    dims: tuple[str, str, str]
    like: xr.DataArray     # (time, lat, lon) order


def _regular(c: np.ndarray, name: str, what: str) -> float:
    if c.size < 2:
        raise InputError(f"{what}: {name!r} needs at least 2 values")
    step = np.diff(c)
    if not np.all(step > 0):
        raise InputError(f"{what}: coordinate {name!r} is not strictly increasing; sort it "
                         f"(.sortby({name!r}))")
    if np.ptp(step) > 1e-3 * abs(float(np.median(step))):
        raise InputError(f"{what}: coordinate {name!r} is not regular (steps from "
                         f"{step.min():g} to {step.max():g}); interpolate onto a regular grid")
    return float(np.median(step))


def read_grid(like: xr.DataArray, *, what: str = "like") -> Grid:
    """Check a ``(time, lat, lon)`` DataArray (regular ascending coordinates in degrees)."""
    if isinstance(like, xr.Dataset):
        if "ssh" not in like.data_vars:
            raise InputError(f"{what} is a Dataset without an 'ssh' variable; pass the "
                             "DataArray of the map")
        like = like["ssh"]
    if not isinstance(like, xr.DataArray):
        raise InputError(f"{what} must be a DataArray with dims (time, lat, lon), got "
                         f"{type(like).__name__}")
    lat_n, lon_n = _name(like, LAT_NAMES, what), _name(like, LON_NAMES, what)
    if "time" not in like.dims or lat_n not in like.dims or lon_n not in like.dims:
        raise InputError(f"{what} must have dims time, {lat_n}, {lon_n}; it has {like.dims}")
    if like.ndim != 3:
        raise InputError(f"{what} must be 3-D (time, {lat_n}, {lon_n}); it has {like.dims}; "
                         "select the other dims out")
    for n in ("time", lat_n, lon_n):
        if n not in like.coords:
            raise InputError(f"{what} has no {n!r} coordinate values")
    t = days(like["time"].values, what)
    lat = np.asarray(like[lat_n].values, float)
    lon = np.asarray(like[lon_n].values, float)
    if np.any(np.abs(lat) > 90):
        raise InputError(f"{what}: latitudes beyond ±90°: {lat_n!r} must be in degrees_north")
    _regular(lat, lat_n, what)
    _regular(lon, lon_n, what)
    if t.size > 1 and not np.all(np.diff(t) > 0):
        raise InputError(f"{what}: time is not strictly increasing; .sortby('time')")
    return Grid(t, lat, lon, ("time", lat_n, lon_n), like.transpose("time", lat_n, lon_n))


def inside(tracks: Tracks, grid: Grid, *, what: str = "tracks", period: bool = True
           ) -> Tracks:
    """The tracks with longitudes moved into the grid's convention (±360°); an error if any
    point lies more than half a grid step outside the grid's box, or (``period=True``) half a
    day outside its time span. ``period=False``: points before and after are kept, but some
    must fall in the span."""
    lo, hi = grid.lon[0], grid.lon[-1]
    centre = (lo + hi) / 2
    lon = centre + (tracks.lon - centre + 180.0) % 360.0 - 180.0   # nearest to the grid
    hx = (grid.lon[1] - grid.lon[0]) / 2
    hy = (grid.lat[1] - grid.lat[0]) / 2
    ht = (grid.t[1] - grid.t[0]) / 2 if grid.t.size > 1 else 0.5
    late = (tracks.t < grid.t[0] - ht) | (tracks.t > grid.t[-1] + ht)
    if late.all():
        raise InputError(f"no point of {what} falls in the grid's period: do the tracks and "
                         "the grid cover the same days?")
    out = ((lon < lo - hx) | (lon > hi + hx) | (tracks.lat < grid.lat[0] - hy)
           | (tracks.lat > grid.lat[-1] + hy) | (late & period))
    if out.all():
        raise InputError(f"no point of {what} falls in the grid's box (lon {lo:g}..{hi:g}, lat "
                         f"{grid.lat[0]:g}..{grid.lat[-1]:g}, and its time span): do the tracks "
                         "and the grid cover the same region and period?")
    if out.any():
        raise InputError(f"{int(out.sum())} of the {out.size} points of {what} lie outside the "
                         f"grid's box (lon {lo:g}..{hi:g}, lat {grid.lat[0]:g}.."
                         f"{grid.lat[-1]:g}, time span of the grid); select them out first, "
                         "e.g. tracks.where((tracks.lon >= lo) & ..., drop=True)")
    return Tracks(tracks.t, lon, tracks.lat, tracks.value, tracks.satellite)


def chord_xyz_km(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Points on the sphere as 3-D Cartesian km (chord distance ≈ great-circle distance)."""
    la, lo = np.radians(lat), np.radians(lon)
    return EARTH_RADIUS_KM * np.stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo),
                                       np.sin(la)], axis=-1)


def pieces(tracks: Tracks, *, gap_factor: float = 3.0) -> list[np.ndarray]:
    """Indices of the contiguous pieces of track: per satellite in time order, cut where the
    time step or the along-track step exceeds ``gap_factor`` × that satellite's median."""
    out = []
    for s in np.unique(tracks.satellite):
        idx = np.flatnonzero(tracks.satellite == s)
        idx = idx[np.argsort(tracks.t[idx], kind="stable")]
        if idx.size < 2:
            out.append(idx)
            continue
        xyz = chord_xyz_km(tracks.lon[idx], tracks.lat[idx])
        dx = np.linalg.norm(np.diff(xyz, axis=0), axis=1)
        dt = np.diff(tracks.t[idx])
        mx = np.median(dx[dx > 0]) if np.any(dx > 0) else 0.0
        mt = np.median(dt[dt > 0]) if np.any(dt > 0) else 0.0
        cut = (dt > gap_factor * mt) | (dx > gap_factor * mx) | (dx == 0)
        out.extend(p for p in np.split(idx, np.flatnonzero(cut) + 1) if p.size)
    return out
