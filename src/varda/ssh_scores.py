"""Scores of sea-surface-height maps as the ocean data challenges define them.

The 2020a SSH mapping data challenge (NATL60 OSSE, ocean-data-challenges on GitHub) scores a
map ``m`` against the truth ``h`` on a ``(time, lat, lon)`` box; the 2021a challenge (real
data) scores it against a withheld satellite's along-track measurements:

* :func:`nrmse_score`: µ = 1 − RMSE / RMS over the whole space–time box, the daily µ(t)
  (RMSE and RMS over each day's map) and σ = std over days of µ(t);
* :func:`psd_scores`: the wavenumber–frequency PSD score 1 − PSD(m − h) / PSD(h) from 2-D
  (time, longitude) spectra averaged over latitude, and its 0.5 contour: λx, the shortest
  wavelength on the contour (degrees, and km at the mean latitude), λt the shortest period
  (days);
* :func:`along_track_scores`: the map interpolated (linearly in time, latitude and
  longitude) onto withheld along-track data: µ over every point, the daily µ and σ, and λx
  from along-track spectra (``scipy.signal.welch`` on fixed-length segments of contiguous
  track, Hann window) where 1 − PSD(m − sla) / PSD(sla) crosses 0.5.

Pass anomalies (SSH or SLA about a mean) for µ to mean something.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Iterator

import numpy as np
import scipy.ndimage
import scipy.signal
import xarray as xr

from varda._alongtrack import EARTH_RADIUS_KM, read_grid
from varda._ssh_alongtrack import AlongTrackScores, along_track_scores
from varda.errors import InputError


def _aligned(estimate: xr.DataArray, truth: xr.DataArray) -> tuple[np.ndarray, np.ndarray]:
    """Both maps as (time, lat, lon) float64 arrays on the truth's grid; NaN in the map where
    the truth is finite is an error (a map with holes must not score better for them)."""
    grid = read_grid(truth, what="truth")
    if not isinstance(estimate, xr.DataArray):
        raise InputError(f"the map must be a DataArray, got {type(estimate).__name__}")
    try:
        est, ref = xr.align(estimate, grid.like, join="exact")
    except ValueError as exc:
        raise InputError(f"the map's coordinates differ from the truth's: {exc}; interpolate "
                         "one onto the other (map.interp_like(truth))") from exc
    if set(est.dims) != set(ref.dims):
        raise InputError(f"the map's dims {est.dims} differ from the truth's {ref.dims}")
    e = np.asarray(est.transpose(*ref.dims).values, np.float64)
    r = np.asarray(ref.values, np.float64)
    holes = np.isfinite(r) & ~np.isfinite(e)
    if holes.any():
        raise InputError(f"the map is NaN at {int(holes.sum())} points where the truth is "
                         "finite; fill them before scoring")
    if not np.isfinite(r).any():
        raise InputError("the truth has no finite value")
    return e, r


@dataclass
class NrmseScore:
    """µ and σ of :func:`nrmse_score`; unpacks as ``mu, sigma = nrmse_score(m, h)``."""

    mu: float               # 1 − RMSE / RMS over the whole box
    sigma: float            # std over days of the daily µ
    daily: xr.DataArray     # µ(t)
    rmse: float             # RMSE over the box (units of the map)
    rmse_xy: xr.DataArray   # RMSE over time at each grid point

    def __iter__(self) -> Iterator[float]:
        return iter((self.mu, self.sigma))


def nrmse_score(estimate: xr.DataArray, truth: xr.DataArray) -> NrmseScore:
    """µ = 1 − RMSE/RMS over the space–time box and σ = std of the daily µ (2020a challenge).

    Args:
        estimate: the map, DataArray ``(time, lat, lon)`` (any dim order, same coordinates
            as ``truth``).
        truth: the true SSH (anomalies); NaN points (land) are skipped.

    Returns:
        :class:`NrmseScore` (``mu``, ``sigma``, ``daily`` µ(t), ``rmse``, ``rmse_xy``).

    Example:
        >>> mu, sigma = nrmse_score(oi.ssh, truth)          # doctest: +SKIP
    """
    e, r = _aligned(estimate, truth)
    err2 = np.where(np.isfinite(r), (e - r) ** 2, np.nan)
    ref2 = np.where(np.isfinite(r), r ** 2, np.nan)
    rms = np.sqrt(np.nanmean(ref2))
    if rms == 0:
        raise InputError("the truth is zero everywhere: µ is undefined")
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)          # all-land columns: NaN
        daily = 1.0 - np.sqrt(np.nanmean(err2, axis=(1, 2))) / np.sqrt(np.nanmean(ref2,
                                                                                 axis=(1, 2)))
        rmse_xy = np.sqrt(np.nanmean(err2, axis=0))
    grid = read_grid(truth)
    rmse = float(np.sqrt(np.nanmean(err2)))
    daily_da = xr.DataArray(daily, dims="time", coords={"time": grid.like["time"]},
                            name="mu_daily", attrs={"long_name": "1 - RMSE(t) / RMS(t)"})
    rmse_da = xr.DataArray(rmse_xy, dims=grid.dims[1:], name="rmse_xy",
                           coords={d: grid.like[d] for d in grid.dims[1:]})
    return NrmseScore(1.0 - rmse / float(rms), float(np.nanstd(daily)), daily_da, rmse, rmse_da)


# --------------------------------------------------------------------------------------------
# wavenumber-frequency PSD score
# --------------------------------------------------------------------------------------------
@dataclass
class PsdScores:
    """λx and λt of :func:`psd_scores`, with the curves for a figure."""

    lambda_x: float         # shortest resolved wavelength, degrees of longitude
    lambda_x_km: float      # the same in km at the mean latitude
    lambda_t: float         # shortest resolved period, days
    score: xr.DataArray     # 1 − PSD(err)/PSD(truth) on (freq_time, freq_lon)
    psd_truth: xr.DataArray
    psd_error: xr.DataArray
    status_x: str           # "crossed" | "resolved_to_grid" | "unresolved"
    status_t: str
    threshold: float = 0.5


def _spectrum(a: np.ndarray, dt: float, dx: float) -> np.ndarray:
    """|FFT|² over (time, lon) of each latitude of ``a`` (lat, time, lon), after removing a
    least-squares plane in (time, lon) and a 2-D Hann window, as the challenge does with
    ``xrft.power_spectrum(detrend='linear', window=True)`` (scipy.signal.detrend is 1-D)."""
    n_lat, nt, nx = a.shape
    tt, xx = np.meshgrid(np.arange(nt, dtype=float), np.arange(nx, dtype=float), indexing="ij")
    design = np.stack([np.ones(nt * nx), tt.ravel(), xx.ravel()], axis=1)
    coef, *_ = np.linalg.lstsq(design, a.reshape(n_lat, -1).T, rcond=None)
    a = a - (design @ coef).T.reshape(a.shape)
    w = np.outer(scipy.signal.get_window("hann", nt), scipy.signal.get_window("hann", nx))
    spec = np.abs(np.fft.fft2(a * w, axes=(1, 2))) ** 2 * dt * dx / np.sum(w ** 2)
    return spec.mean(axis=0)


def _contour_min(score: np.ndarray, x: np.ndarray, y: np.ndarray, threshold: float
                 ) -> tuple[float, float, str, str]:
    """The smallest x and y on the ``threshold`` contour around the resolved region that
    contains the largest scales (index 0, 0): crossings interpolated linearly in x (y) along
    the grid edges, as ``matplotlib.contour`` draws them in (wavelength, period) axes."""
    good = score >= threshold
    if not good[0, 0]:
        return float(x[0]), float(y[0]), "unresolved", "unresolved"
    labels, _ = scipy.ndimage.label(good)
    comp = labels == labels[0, 0]
    xs, ys = [], []
    # edges along x (axis 1): comp node at j, outside node at j + 1 (or j - 1)
    for sl_in, sl_out in (((slice(None), slice(None, -1)), (slice(None), slice(1, None))),
                          ((slice(None), slice(1, None)), (slice(None), slice(None, -1)))):
        cross = comp[sl_in] & ~good[sl_out]
        s0, s1 = score[sl_in][cross], score[sl_out][cross]
        x0 = np.broadcast_to(x, score.shape)[sl_in][cross]
        x1 = np.broadcast_to(x, score.shape)[sl_out][cross]
        xs.append(x0 + (threshold - s0) * (x1 - x0) / (s1 - s0))
        ys.append(np.broadcast_to(y[:, None], score.shape)[sl_in][cross])
    for sl_in, sl_out in (((slice(None, -1), slice(None)), (slice(1, None), slice(None))),
                          ((slice(1, None), slice(None)), (slice(None, -1), slice(None)))):
        cross = comp[sl_in] & ~good[sl_out]
        s0, s1 = score[sl_in][cross], score[sl_out][cross]
        y0 = np.broadcast_to(y[:, None], score.shape)[sl_in][cross]
        y1 = np.broadcast_to(y[:, None], score.shape)[sl_out][cross]
        ys.append(y0 + (threshold - s0) * (y1 - y0) / (s1 - s0))
        xs.append(np.broadcast_to(x, score.shape)[sl_in][cross])
    all_x, all_y = np.concatenate(xs), np.concatenate(ys)
    to_grid_x, to_grid_y = comp[:, -1].any(), comp[-1, :].any()
    lx = float(x[-1]) if to_grid_x or all_x.size == 0 else float(all_x.min())
    lt = float(y[-1]) if to_grid_y or all_y.size == 0 else float(all_y.min())
    return (lx, lt, "resolved_to_grid" if to_grid_x else "crossed",
            "resolved_to_grid" if to_grid_y else "crossed")


def psd_scores(estimate: xr.DataArray, truth: xr.DataArray, *, threshold: float = 0.5
               ) -> PsdScores:
    """λx and λt from the (time, longitude) PSD score, averaged over latitude (2020a
    challenge).

    Spectra: each latitude's (time, lon) field minus its least-squares plane, times a 2-D Hann
    window, ``|FFT2|²``, averaged over latitude. The positive longitude wavenumbers are kept
    and the positive and negative frequencies added (eastward and westward propagation; the
    challenge's code keeps one quadrant only, which misses half the energy of drifting
    eddies). The score ``1 − PSD(m − h) / PSD(h)`` is contoured at ``threshold`` in
    (wavelength, period) coordinates; λx and λt are the smallest wavelength and period on the
    contour of the resolved region that holds the largest scales.

    Args:
        estimate, truth: DataArrays ``(time, lat, lon)``, same coordinates, regular steps,
            no NaN (choose a box without land, as the challenge does).
        threshold: the score level (0.5 in the challenges).

    Returns:
        :class:`PsdScores` (``lambda_x`` in degrees, ``lambda_x_km``, ``lambda_t`` in days,
        the score and spectra on ``(freq_time, freq_lon)`` in cycles/day and cycles/degree).
    """
    e, r = _aligned(estimate, truth)
    if not np.isfinite(r).all():
        raise InputError("psd_scores needs NaN-free fields: the truth has NaN (land?); select "
                         "an ocean-only box")
    grid = read_grid(truth)
    if grid.t.size < 8 or grid.lon.size < 8:
        raise InputError(f"psd_scores needs at least 8 times and 8 longitudes, got "
                         f"{grid.t.size} and {grid.lon.size}")
    dt = float(np.median(np.diff(grid.t)))
    if np.ptp(np.diff(grid.t)) > 1e-6 * dt:
        raise InputError("psd_scores needs regularly spaced times (daily maps, no missing day)")
    dx = float(grid.lon[1] - grid.lon[0])
    p_ref = _spectrum(np.moveaxis(r, 1, 0), dt, dx)
    p_err = _spectrum(np.moveaxis(e - r, 1, 0), dt, dx)
    ft, fx = np.fft.fftfreq(grid.t.size, dt), np.fft.fftfreq(grid.lon.size, dx)
    kx, kt = fx > 0, ft > 0
    neg = np.array([int(np.flatnonzero(np.isclose(ft, -f))[0]) for f in ft[kt]])

    def fold(p: np.ndarray) -> np.ndarray:
        return p[np.ix_(kt, kx)] + p[np.ix_(neg, kx)]

    ref, err = fold(p_ref), fold(p_err)
    with np.errstate(divide="ignore", invalid="ignore"):
        score = 1.0 - err / ref
    lx, lt, sx, st = _contour_min(score, 1.0 / fx[kx], 1.0 / ft[kt], threshold)
    coords = {"freq_time": ("freq_time", ft[kt], {"units": "cycles/day"}),
              "freq_lon": ("freq_lon", fx[kx], {"units": "cycles/degree"}),
              "period": ("freq_time", 1.0 / ft[kt], {"units": "days"}),
              "wavelength": ("freq_lon", 1.0 / fx[kx], {"units": "degrees"})}
    dims = ("freq_time", "freq_lon")
    km = EARTH_RADIUS_KM * np.radians(1.0) * np.cos(np.radians(np.mean(grid.lat)))
    return PsdScores(lx, lx * km, lt,
                     xr.DataArray(score, dims=dims, coords=coords, name="psd_score"),
                     xr.DataArray(ref, dims=dims, coords=coords, name="psd_truth"),
                     xr.DataArray(err, dims=dims, coords=coords, name="psd_error"),
                     sx, st, threshold)


__all__ = ["nrmse_score", "NrmseScore", "psd_scores", "PsdScores", "along_track_scores",
           "AlongTrackScores"]
