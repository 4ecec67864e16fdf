"""Along-track scores of an SSH map on a withheld satellite (2021a ocean data challenge);
public as :func:`varda.ssh_scores.along_track_scores` (and in :mod:`varda.metrics`)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Iterator

import numpy as np
import scipy.signal
import xarray as xr
from scipy.interpolate import RegularGridInterpolator

from varda._alongtrack import EPOCH, Tracks, chord_xyz_km, inside, pieces, read_grid, read_tracks
from varda._spectra import score_crossing
from varda.errors import InputError


# --------------------------------------------------------------------------------------------
# along-track scores on a withheld satellite
# --------------------------------------------------------------------------------------------
@dataclass
class AlongTrackScores:
    """The scores of :func:`along_track_scores`; unpacks as ``mu, sigma, lambda_x_km``."""

    mu: float               # 1 − RMSE / RMS over every along-track point
    sigma: float            # std over days of the daily µ
    lambda_x_km: float      # wavelength where the along-track PSD score crosses the threshold
    rmse: float
    daily: xr.DataArray     # µ per day
    spectrum: xr.Dataset    # psd_ref, psd_map, psd_error, score on a wavenumber coordinate
    status: str             # "crossed" | "resolved_to_grid" | "unresolved"
    segment_km: float
    n_segments: int

    def __iter__(self) -> Iterator[float]:
        return iter((self.mu, self.sigma, self.lambda_x_km))


def _segments(tr: Tracks, length_km: "float | None", min_segments: int
              ) -> tuple[np.ndarray, float, int]:
    """Indices (n_segment, npt) of fixed-length pieces of contiguous track, advancing by a
    quarter of their length (as the 2021a challenge), and the along-track step in km."""
    parts = [p for p in pieces(tr) if p.size >= 8]
    if not parts:
        raise InputError("no contiguous piece of track with 8 points or more: the tracks are "
                         "too sparse for along-track spectra")
    steps = np.concatenate([np.linalg.norm(np.diff(chord_xyz_km(tr.lon[p], tr.lat[p]), axis=0),
                                           axis=1) for p in parts])
    delta = float(np.median(steps))
    npt = max(8, int((1000.0 if length_km is None else length_km) / delta))
    while True:
        segs = [p[i:i + npt] for p in parts for i in range(0, p.size - npt + 1,
                                                            max(npt // 4, 1))]
        if len(segs) >= min_segments or length_km is not None or npt <= 8:
            break
        npt = max(8, int(npt * 0.9))
    if not segs:
        raise InputError(f"no contiguous piece of track is {npt * delta:.0f} km long; pass a "
                         "smaller segment_km")
    return np.stack(segs), delta, npt


def along_track_scores(estimate: xr.DataArray, tracks: xr.Dataset, *, variable: str = "sla",
                       segment_km: "float | None" = None, threshold: float = 0.5,
                       min_segments: int = 8, time_offset_days: float = 0.0
                       ) -> AlongTrackScores:
    """Scores of a map against withheld along-track data (2021a challenge).

    The map is interpolated linearly in (time, lat, lon) onto every measurement. µ = 1 −
    RMSE/RMS over all points; the daily µ uses each calendar day's points (σ: their std). The
    spectral score uses segments of ``segment_km`` of contiguous track (per satellite, cut at
    gaps; advancing by a quarter of their length), their Welch periodograms (Hann window,
    mean removed) averaged; λx is where 1 − PSD(map − sla)/PSD(sla) first falls to
    ``threshold`` from the long wavelengths (interpolated linearly in wavelength).

    Args:
        estimate: the map, DataArray ``(time, lat, lon)`` (or a Dataset with ``ssh``).
        tracks: withheld along-track Dataset (dim ``time``; ``lon``/``lat``; ``variable``),
            inside the map's box and period.
        segment_km: segment length (default 1000 km as the challenge, shortened by 10 %
            steps until ``min_segments`` segments fit in the tracks).
        time_offset_days: the instant each map stands for, after its time label (0.5 for
            daily fields labelled at the start of their day).

    Returns:
        :class:`AlongTrackScores`.
    """
    grid = read_grid(estimate, what="the map")
    grid = dataclasses.replace(grid, t=grid.t + float(time_offset_days))
    tr = inside(read_tracks(tracks, variable=variable), grid)
    values = np.asarray(grid.like.values, np.float64)
    t_map = grid.t
    interp = RegularGridInterpolator((t_map, grid.lat, grid.lon), values, method="linear",
                                     bounds_error=False, fill_value=None)
    pts = np.stack([np.clip(tr.t, t_map[0], t_map[-1]),
                    np.clip(tr.lat, grid.lat[0], grid.lat[-1]),
                    np.clip(tr.lon, grid.lon[0], grid.lon[-1])], axis=1)
    m = interp(pts)
    if not np.isfinite(m).all():
        raise InputError(f"the map is NaN at {int((~np.isfinite(m)).sum())} along-track points "
                         "(land or holes in the map); fill it or drop those points")
    err, ref = m - tr.value, tr.value
    rms = float(np.sqrt(np.mean(ref ** 2)))
    if rms == 0:
        raise InputError(f"the along-track {variable!r} is zero everywhere: µ is undefined")
    rmse = float(np.sqrt(np.mean(err ** 2)))
    day = np.floor(tr.t).astype(np.int64)
    uniq, inv = np.unique(day, return_inverse=True)
    n = np.bincount(inv)
    with np.errstate(divide="ignore", invalid="ignore"):
        daily = 1.0 - np.sqrt(np.bincount(inv, err ** 2) / n) / np.sqrt(
            np.bincount(inv, ref ** 2) / n)
    times = EPOCH + (uniq * 86400).astype("timedelta64[s]")
    daily_da = xr.DataArray(daily, dims="time", coords={"time": times}, name="mu_daily")
    seg, delta, npt = _segments(tr, segment_km, min_segments)
    f, p_ref = scipy.signal.welch(ref[seg], fs=1.0 / delta, nperseg=npt, noverlap=0, axis=-1)
    _, p_map = scipy.signal.welch(m[seg], fs=1.0 / delta, nperseg=npt, noverlap=0, axis=-1)
    _, p_err = scipy.signal.welch(err[seg], fs=1.0 / delta, nperseg=npt, noverlap=0, axis=-1)
    f, p_ref, p_map, p_err = f[1:], p_ref.mean(0)[1:], p_map.mean(0)[1:], p_err.mean(0)[1:]
    with np.errstate(divide="ignore", invalid="ignore"):
        score = 1.0 - p_err / p_ref
    wl = 1.0 / f
    lx, status = score_crossing(f, score, threshold)
    spectrum = xr.Dataset({"psd_ref": ("wavenumber", p_ref), "psd_map": ("wavenumber", p_map),
                           "psd_error": ("wavenumber", p_err), "score": ("wavenumber", score)},
                          coords={"wavenumber": ("wavenumber", f, {"units": "cycles/km"}),
                                  "wavelength": ("wavenumber", wl, {"units": "km"})})
    return AlongTrackScores(1.0 - rmse / rms, float(np.nanstd(daily)), lx, rmse, daily_da,
                            spectrum, status, npt * delta, int(seg.shape[0]))
