"""Nadir-altimeter constellations sampling a gridded SSH truth, and binning tracks onto a grid.

Over a regional box (a few hundred km) a satellite's ground tracks are straight lines at the
heading its inclination gives at that latitude (``sin(heading) = cos(inc) / cos(lat)``, from
north), ascending and descending. A repeat cycle of ``repeat_days`` days lays ascending (and
descending) tracks ``2π R cos(lat) / (revolutions per cycle)`` apart; each track is flown once
per cycle, on a day given by the orbit's sub-cycle (here a seeded permutation). Measurements
are taken every ``spacing_km`` (1 Hz ≈ 6–7 km) along track.

Each measurement takes the SSH of its day (daily fields; no intra-day interpolation) at its
position (bilinear, periodic like the QG plane), plus white noise and an optional
long-wavelength error (per pass a random offset and tilt, like orbit error).

:func:`sample_tracks` returns the along-track layout of L3 products and the ocean data
challenges: an ``xr.Dataset`` with one dimension ``time`` (sorted), coordinates ``time``,
``lon``, ``lat``, ``satellite`` (index, names in attrs) and variable ``sla`` (m).
:func:`grid_tracks` bins them onto a target grid (daily cell means, NaN where no point).
"""
from __future__ import annotations

import math
from typing import NamedTuple, Sequence

import numpy as np
import xarray as xr

from varda.errors import InputError

M_PER_DEG = math.pi * 6.371e6 / 180.0
#: revolutions of the Earth per repeat cycle: ground-track spacing 40 000 km cos(lat) / revs
SECONDS_PER_DAY = 86400.0


class Satellite(NamedTuple):
    """A nadir altimeter: name, inclination (degrees), repeat cycle (days), revolutions per
    cycle (sets the track spacing)."""
    name: str
    inclination: float
    repeat_days: float
    revolutions: int


#: a four-nadir constellation with repeat cycles of 10–20 days (Jason-, Sentinel-3-,
#: SARAL- and CryoSat-like inclinations; revolutions set to ~250–500 km track spacing)
CONSTELLATION: tuple[Satellite, ...] = (
    Satellite("j3", 66.0, 10.0, 127),
    Satellite("s3a", 98.65, 14.0, 199),
    Satellite("al", 98.55, 20.0, 143),
    Satellite("c2", 92.0, 17.0, 220),
)


def _headings(sat: Satellite, lat0: float) -> float:
    s = math.cos(math.radians(sat.inclination)) / math.cos(math.radians(lat0))
    return math.asin(max(-1.0, min(1.0, s)))


def _passes(sat: Satellite, width: float, height: float, lat0: float, n_days: int,
            rng: np.random.Generator) -> list[tuple[float, float, float]]:
    """``(time in days, heading, cross-track offset)`` of every pass over the box."""
    spacing = 2 * math.pi * 6.371e6 * math.cos(math.radians(lat0)) / sat.revolutions
    out = []
    for sign in (1.0, -1.0):                    # ascending, descending
        head = sign * _headings(sat, lat0)
        # cross-track extent of the box for lines of this heading
        half = 0.5 * (abs(width * math.cos(head)) + abs(height * math.sin(head)))
        phase = rng.uniform(0, spacing)
        offsets = np.arange(-half - spacing + phase, half + spacing, spacing)
        days = rng.uniform(0, sat.repeat_days, size=len(offsets))
        for off, d0 in zip(offsets, days):
            for t in np.arange(d0, n_days, sat.repeat_days):
                out.append((float(t), head, float(off)))
    return out


def sample_tracks(truth: xr.DataArray, *, satellites: "Sequence[Satellite] | int" = 4,
                  noise_std: "float | None" = None, long_wave_std: float = 0.0,
                  spacing_km: float = 7.0, seed: int = 0) -> xr.Dataset:
    """Along-track SSH measurements of ``truth`` ``(time, lat, lon)`` by a constellation.

    Args:
        truth: daily gridded SSH (metres) with 1-D ascending ``lat``/``lon`` in degrees and an
            ``dx_km`` attribute or a regular grid.
        satellites: a list of :class:`Satellite`, or the first N of :data:`CONSTELLATION`.
        noise_std: white measurement noise (m); default 4 % of the truth's std.
        long_wave_std: std (m) of a per-pass offset plus tilt across the box (orbit error).
        spacing_km: along-track point spacing.
        seed: seeds track phases and noise.
    """
    sats = list(CONSTELLATION[:satellites]) if isinstance(satellites, int) else list(satellites)
    if not sats:
        raise InputError("satellites must name at least one satellite (or a count >= 1)")
    lat, lon = np.asarray(truth["lat"], float), np.asarray(truth["lon"], float)
    _check_axis("lat", lat)
    _check_axis("lon", lon)
    lat0 = float(lat.mean())
    coslat = math.cos(math.radians(lat0))
    dy, dxm = (lat[1] - lat[0]) * M_PER_DEG, (lon[1] - lon[0]) * M_PER_DEG * coslat
    ny, nx = len(lat), len(lon)
    width, height = nx * dxm, ny * dy
    values = np.asarray(truth.transpose("time", "lat", "lon").values, np.float64)
    n_days = values.shape[0]
    rng = np.random.default_rng(seed)
    sigma = 0.04 * float(np.nanstd(values)) if noise_std is None else float(noise_std)
    cols: dict[str, list[np.ndarray]] = {k: [] for k in ("t", "x", "y", "sat", "err")}
    for isat, sat in enumerate(sats):
        for t_pass, head, off in _passes(sat, width, height, lat0, n_days, rng):
            # the line through the box centre shifted by `off` across track
            s = np.arange(-0.75 * (width + height), 0.75 * (width + height), spacing_km * 1e3)
            x = width / 2 + s * math.sin(head) + off * math.cos(head)
            y = height / 2 + s * math.cos(head) - off * math.sin(head)
            inside = (x >= 0) & (x < width) & (y >= 0) & (y < height)
            if not inside.any():
                continue
            x, y, s = x[inside], y[inside], s[inside]
            err = np.zeros_like(x)
            if long_wave_std > 0:
                err = long_wave_std * (rng.standard_normal() + rng.standard_normal() * s / width)
            cols["t"].append(t_pass + (s - s[0]) / 7e3 / SECONDS_PER_DAY)     # ~7 km/s ground speed
            cols["x"].append(x)
            cols["y"].append(y)
            cols["sat"].append(np.full(len(x), isat))
            cols["err"].append(err)
    t, x, y = (np.concatenate(cols[k]) for k in ("t", "x", "y"))
    keep = t < n_days
    order = np.argsort(t[keep], kind="stable")
    t, x, y = t[keep][order], x[keep][order], y[keep][order]
    sat_idx = np.concatenate(cols["sat"])[keep][order]
    err = np.concatenate(cols["err"])[keep][order]
    sla = _bilinear(values, np.floor(t).astype(int), x / dxm - 0.5, y / dy - 0.5)
    sla = sla + err + sigma * rng.standard_normal(len(t))
    t0 = np.asarray(truth["time"].values[0], "datetime64[ns]")
    times = t0 + np.round(t * SECONDS_PER_DAY * 1e9).astype("timedelta64[ns]")
    return xr.Dataset(
        {"sla": ("time", sla.astype(np.float32), {"units": "m", "long_name": "sea level anomaly",
                                                  "standard_name": "sea_surface_height_above_sea_level"})},
        coords={"time": times,
                "lat": ("time", lat[0] - 0.5 * (lat[1] - lat[0]) + y / M_PER_DEG, {"units": "degrees_north"}),
                "lon": ("time", lon[0] - 0.5 * (lon[1] - lon[0]) + x / (M_PER_DEG * coslat),
                        {"units": "degrees_east"}),
                "satellite": ("time", sat_idx.astype(np.int16))},
        attrs={"satellite_names": ",".join(s.name for s in sats), "noise_std": sigma,
               "long_wave_std": long_wave_std})


def _bilinear(values: np.ndarray, day: np.ndarray, fx: np.ndarray, fy: np.ndarray) -> np.ndarray:
    """Periodic bilinear interpolation of ``values[day]`` at fractional cell indices."""
    ny, nx = values.shape[1:]
    x0, y0 = np.floor(fx).astype(int), np.floor(fy).astype(int)
    wx, wy = fx - x0, fy - y0
    v = lambda j, i: values[day, j % ny, i % nx]
    return ((1 - wy) * ((1 - wx) * v(y0, x0) + wx * v(y0, x0 + 1))
            + wy * ((1 - wx) * v(y0 + 1, x0) + wx * v(y0 + 1, x0 + 1)))


def _check_axis(name: str, c: np.ndarray) -> None:
    if c.ndim != 1 or len(c) < 2:
        raise InputError(f"coordinate {name!r} must be 1-D with at least 2 points")
    d = np.diff(c)
    if not (np.all(d > 0) and np.allclose(d, d[0], rtol=1e-3)):
        raise InputError(f"coordinate {name!r} must be ascending and regular (sort it with "
                         f"da.sortby({name!r}) or regrid onto a regular grid)")
    if name == "lat" and np.abs(c).max() > 90:
        raise InputError(f"coordinate 'lat' has values beyond ±90 ({np.abs(c).max():g}): give "
                         "latitudes in degrees_north")


def grid_tracks(tracks: xr.Dataset, like: xr.DataArray, *, var: str = "sla") -> xr.DataArray:
    """Bin along-track data onto the grid of ``like`` ``(time, lat, lon)``: per day and cell
    the mean of the points in it, NaN where none (the gridded form :func:`varda.fill` takes).

    Points are assigned to the cell whose centre is nearest and to the day ``floor(time)``
    of ``like``'s daily time axis. Raises :class:`varda.errors.InputError` when points lie
    outside the grid (more than half a cell) or outside its time span.
    """
    lat_name = "lat" if "lat" in tracks.coords or "lat" in tracks else "latitude"
    lon_name = "lon" if "lon" in tracks.coords or "lon" in tracks else "longitude"
    if lat_name not in tracks.variables or lon_name not in tracks.variables or var not in tracks:
        raise InputError(f"tracks need coordinates lat/lon (or latitude/longitude) and a variable "
                         f"{var!r}; got {sorted(map(str, tracks.variables))}")
    lat, lon = np.asarray(like["lat"], float), np.asarray(like["lon"], float)
    _check_axis("lat", lat)
    _check_axis("lon", lon)
    plat = np.asarray(tracks[lat_name], float)
    plon = np.asarray(tracks[lon_name], float)
    if lon.min() < 0 and plon.max() > 180:
        plon = np.where(plon > 180, plon - 360, plon)          # 0–360 tracks on a ±180 grid
    elif lon.max() > 180 and plon.min() < 0:
        plon = np.mod(plon, 360)
    j = np.rint((plat - lat[0]) / (lat[1] - lat[0])).astype(int)
    i = np.rint((plon - lon[0]) / (lon[1] - lon[0])).astype(int)
    bad = (j < 0) | (j >= len(lat)) | (i < 0) | (i >= len(lon))
    if bad.any():
        raise InputError(
            f"{int(bad.sum())} of {len(bad)} track points lie outside the target grid "
            f"(lat {lat[0]:g}..{lat[-1]:g}, lon {lon[0]:g}..{lon[-1]:g}); select the tracks in "
            "the box first, e.g. tracks.where(inside, drop=True), or give a larger grid")
    t0 = np.asarray(like["time"].values[0], "datetime64[ns]")
    day = np.floor((np.asarray(tracks["time"].values, "datetime64[ns]") - t0)
                   / np.timedelta64(1, "D")).astype(int)
    nt = like.sizes["time"]
    inside = (day >= 0) & (day < nt)
    sums = np.zeros((nt, len(lat), len(lon)))
    counts = np.zeros_like(sums)
    vals = np.asarray(tracks[var], float)
    ok = inside & np.isfinite(vals)
    np.add.at(sums, (day[ok], j[ok], i[ok]), vals[ok])
    np.add.at(counts, (day[ok], j[ok], i[ok]), 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        grid = np.where(counts > 0, sums / counts, np.nan).astype(np.float32)
    return xr.DataArray(grid, dims=("time", "lat", "lon"), name=var,
                        coords={"time": like["time"], "lat": like["lat"], "lon": like["lon"]},
                        attrs={"units": "m", "long_name": f"{var} binned from along-track data",
                               "n_points": int(ok.sum())})
