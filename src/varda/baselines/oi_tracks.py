"""DUACS-style optimal interpolation of along-track altimetry onto a grid.

The operational DUACS maps (and the OI baselines of the ocean data challenges) interpolate
along-track sea-level anomalies with a space–time covariance. Here::

    ssh(x, t) = m + cᵀ (C + R)⁻¹ (y − m),   C_ij = s² exp(−½ (|x_i − x_j|²/L² + (t_i − t_j)²/T²))

from the ``n_neighbors`` nearest observations of each grid point in scaled space–time
(:func:`varda.array.oi_tracks.scattered_oi`), with ``m`` the mean of the data, ``R`` the
diagonal noise covariance and ``s²`` the signal variance; ``ssh_error`` is the analysis
(posterior) error std. Distances are great-circle (chord) km, times days.

What is not given is taken from the data:

* the noise std from the along-track structure function at lags 1 and 2 (white noise is the
  part of the point-to-point variance that does not vanish at zero lag), the signal variance
  as the data variance minus the noise variance;
* the scales ``L`` and ``T`` by cross-validation on withheld tracks
  (:func:`duacs_cross_validate`): leave one satellite out (with one satellite: every fourth
  piece of track), on a small grid of candidates, keeping the lowest RMSE.

Along-track points are first averaged per satellite, day and grid cell ("super-observations",
noise variance divided by their count), which removes the redundancy of 1-Hz data.
"""
from __future__ import annotations

from typing import Callable, Iterable, Sequence

import numpy as np
import xarray as xr

from varda._alongtrack import Grid, Tracks, chord_xyz_km, inside, read_grid, read_tracks
from varda.baselines._oi_tracks_parts import (CV_RUN, default_space_scales, folds, map_grid,
                                              noise_var_of, predict, superobs)
from varda.errors import InputError


TIME_SCALES_DAYS = (2.0, 4.0, 7.0, 12.0, 20.0)
ERROR_RATIOS = (0.0, 0.03, 0.1, 0.3)


def _validation(tr: Tracks, grid: Grid, noise_var: float, *, max_points: int, seed: int,
                n_neighbors: int
                ) -> tuple[Callable[[float, float, float], float], dict[tuple, float]]:
    """A function (L, T, error ratio) → RMSE on the withheld tracks, over every fold, and the
    dict it fills with each evaluated setting's error scale (what the OI's posterior error
    std must be multiplied by to match its misfit there, the measurement noise taken out)."""
    sets = []
    for train_mask, test in folds(tr, max_points, seed):
        train = tr.subset(train_mask)
        if len(train) == 0:
            raise InputError("a cross-validation fold has no training point; pass the scales")
        sup, count = superobs(train, grid)
        sets.append((sup, count, chord_xyz_km(tr.lon[test], tr.lat[test]), tr.t[test],
                     tr.value[test], float(train.value.mean()),
                     max(float(train.value.var()) - noise_var, 0.05 * noise_var)))

    def rmse(L: float, T: float, ratio: float) -> float:
        sq, n, err2 = 0.0, 0, 0.0
        for sup, count, pos, t, value, mean, svar in sets:
            est, err = predict(sup, count, pos, t, mean=mean, noise_var=noise_var,
                               extra_var=ratio * svar, signal_var=svar, space_scale_km=L,
                               time_scale_days=T, n_neighbors=n_neighbors, group_size=CV_RUN)
            sq += float(np.sum((est - value) ** 2))
            err2 += float(np.sum(err ** 2))
            n += value.size
        # the measurements carry their noise: (map − measurement)² = error² + noise variance
        spread[(L, T, ratio)] = float(np.sqrt(max(sq / n - noise_var, 0.0)
                                              / max(err2 / n, 1e-30)))
        return float(np.sqrt(sq / n))

    spread: dict[tuple, float] = {}
    return rmse, spread


def duacs_cross_validate(tracks: xr.Dataset, like: xr.DataArray, *,
                         space_scales_km: "Sequence[float] | None" = None,
                         time_scales_days: Sequence[float] = TIME_SCALES_DAYS,
                         error_ratios: Sequence[float] = ERROR_RATIOS,
                         noise_std: "float | None" = None, variable: str = "sla",
                         n_neighbors: int = 192, max_points: int = 1024, seed: int = 0
                         ) -> tuple[dict, xr.DataArray]:
    """Choose the OI's scales and representativity error on withheld tracks.

    Each candidate maps every fold's training tracks onto the withheld satellite's points (at
    most ``max_points`` per fold, in runs along track drawn with ``seed``); the score is the
    RMSE against the withheld measurements over all folds. The search: every (L, T) at the
    middle error ratio, then every error ratio at the best (L, T), then the (L, T) next to the
    best at the best ratio.

    Args:
        tracks, like: as :func:`duacs_oi`.
        space_scales_km: candidates for L (default: 6 values from 2 grid steps to a third of
            the grid's width, geometric).
        time_scales_days: candidates for T.
        error_ratios: candidates for the representativity error variance (what the Gaussian
            model cannot represent: drift, non-Gaussian shapes), as a fraction of the signal
            variance, added to the measurement noise.
        noise_std: the measurement noise std (default: from the data, see :func:`duacs_oi`).

    Returns:
        ``(best, table)``: ``best`` = {"space_scale_km", "time_scale_days",
        "representativity_std", "noise_std", "error_scale"} (``error_scale``: the factor that
        makes the OI's posterior error std match its errors on the withheld tracks, the
        measurement noise taken out); ``table``: RMSE on the withheld tracks over
        ``(space_scale_km, time_scale_days, error_ratio)``, NaN where not evaluated.
    """
    grid = read_grid(like)
    tr = inside(read_tracks(tracks, variable=variable), grid, period=False)
    noise_var = noise_var_of(tr, noise_std)
    Ls = list(default_space_scales(grid) if space_scales_km is None else space_scales_km)
    Ts, Rs = list(time_scales_days), list(error_ratios)
    if not (Ls and Ts and Rs) or min(Rs) < 0:
        raise InputError("give at least one candidate per parameter (error ratios >= 0)")
    rmse, error_scales = _validation(tr, grid, noise_var, max_points=max_points, seed=seed,
                       n_neighbors=n_neighbors)
    table = np.full((len(Ls), len(Ts), len(Rs)), np.nan)

    def visit(cells: Iterable[tuple[int, int, int]]) -> tuple[int, int, int]:
        for i, j, m in cells:
            if np.isnan(table[i, j, m]):
                table[i, j, m] = rmse(float(Ls[i]), float(Ts[j]), float(Rs[m]))
        a, b, c = (int(v) for v in np.unravel_index(np.nanargmin(table), table.shape))
        return a, b, c

    i, j, m = visit((i, j, len(Rs) // 2) for i in range(len(Ls)) for j in range(len(Ts)))
    i, j, m = visit((i, j, r) for r in range(len(Rs)))
    i, j, m = visit((a, b, m) for a in range(max(i - 1, 0), min(i + 2, len(Ls)))
                    for b in range(max(j - 1, 0), min(j + 2, len(Ts))))
    svar = max(float(tr.value.var()) - noise_var, 0.05 * noise_var)
    best = {"space_scale_km": float(Ls[i]), "time_scale_days": float(Ts[j]),
            "representativity_std": float(np.sqrt(Rs[m] * svar)),
            "noise_std": float(np.sqrt(noise_var)),
            "error_scale": error_scales[(float(Ls[i]), float(Ts[j]), float(Rs[m]))]}
    da = xr.DataArray(table, dims=("space_scale_km", "time_scale_days", "error_ratio"),
                      name="cv_rmse", attrs={"long_name": "RMSE on withheld tracks",
                                             "units": "m"},
                      coords={"space_scale_km": np.asarray(Ls, float),
                              "time_scale_days": np.asarray(Ts, float),
                              "error_ratio": np.asarray(Rs, float)})
    return best, da


def duacs_oi(tracks: xr.Dataset, like: xr.DataArray, *, space_scale_km: "float | None" = None,
             time_scale_days: "float | None" = None, noise_std: "float | None" = None,
             representativity_std: "float | None" = None, time_offset_days: float = 0.0,
             variable: str = "sla", n_neighbors: int = 192,
             space_scales_km: "Sequence[float] | None" = None,
             time_scales_days: Sequence[float] = TIME_SCALES_DAYS,
             error_ratios: Sequence[float] = ERROR_RATIOS,
             block: tuple[int, int, int] = (2, 8, 8), seed: int = 0) -> xr.Dataset:
    """Map along-track SLA onto a grid with a space–time Gaussian OI (DUACS-style).

    Args:
        tracks: along-track Dataset (one dim ``time``; coordinates ``time``, ``lon``/``lat``
            or ``longitude``/``latitude`` in degrees, ``satellite``; variable ``variable`` in
            metres), inside the grid's box; points before and after the grid's days are
            used too (give a few time scales more on each side for the best edges).
        like: the target grid, a DataArray ``(time, lat, lon)`` (values unused), e.g. the
            truth of an OSSE or ``xr.zeros_like`` of one.
        space_scale_km, time_scale_days: the Gaussian scales L (km) and T (days).
        noise_std: the measurement-noise std (metres); ``None``: estimated from the
            along-track structure function.
        representativity_std: the std (metres) of what the Gaussian model cannot represent,
            added to the noise of each super-observation (not divided by its count).
        time_offset_days: the instant each map stands for, after its time label: 0 for
            snapshots at the label, 0.5 for daily fields labelled at the start of their day.
        n_neighbors: observations per block of grid points.
        space_scales_km, time_scales_days, error_ratios: candidates for the parameters left
            ``None`` (L, T, representativity), chosen on withheld tracks by
            :func:`duacs_cross_validate` (a given one is kept fixed).
        block: (days, lat, lon) grid points that share one neighbour set and one
            factorisation (per dim, the largest divisor of its size up to the value given).
        seed: draws the cross-validation points.

    Returns:
        Dataset on ``like``'s grid with ``ssh`` (metres) and ``ssh_error`` (posterior error
        std, the OI's formal mapping error); when the parameters are chosen on withheld
        tracks, also ``ssh_error_calibrated``: ``ssh_error`` times the factor
        (``attrs["error_scale"]``) that makes it match the OI's errors on those tracks.
        Attributes record the parameters used and how they were chosen.

    Example:
        >>> oi = duacs_oi(tracks, like=truth)                     # doctest: +SKIP
        >>> oi.ssh.isel(time=0).plot()                            # doctest: +SKIP
    """
    grid = read_grid(like)
    tr = inside(read_tracks(tracks, variable=variable), grid, period=False)
    noise_var = noise_var_of(tr, noise_std)
    signal_var = max(float(tr.value.var()) - noise_var, 0.05 * noise_var)
    chosen = "given"
    error_scale = None
    if space_scale_km is None or time_scale_days is None or representativity_std is None:
        ratios = (error_ratios if representativity_std is None
                  else [float(representativity_std) ** 2 / signal_var])
        best, _ = duacs_cross_validate(
            tracks, like, noise_std=float(np.sqrt(noise_var)), variable=variable,
            n_neighbors=n_neighbors, seed=seed, error_ratios=ratios,
            space_scales_km=[space_scale_km] if space_scale_km is not None else space_scales_km,
            time_scales_days=[time_scale_days] if time_scale_days is not None
            else time_scales_days)
        space_scale_km, time_scale_days = best["space_scale_km"], best["time_scale_days"]
        representativity_std = best["representativity_std"]
        chosen = "withheld tracks"
        error_scale = best["error_scale"]
    if not (np.isfinite(representativity_std) and representativity_std >= 0):
        raise InputError(f"representativity_std must be >= 0 (metres), got "
                         f"{representativity_std!r}")
    obs, count = superobs(tr, grid)
    ssh, err = map_grid(obs, count, grid, block, n_neighbors=n_neighbors,
                        time_offset=float(time_offset_days), mean=float(tr.value.mean()),
                        noise_var=noise_var, extra_var=float(representativity_std) ** 2,
                        signal_var=signal_var, space_scale_km=float(space_scale_km),
                        time_scale_days=float(time_scale_days))
    attrs = {"method": "DUACS-style space-time Gaussian OI on along-track data",
             "space_scale_km": float(space_scale_km), "time_scale_days": float(time_scale_days),
             "noise_std": float(np.sqrt(noise_var)),
             "representativity_std": float(representativity_std),
             "signal_std": float(np.sqrt(signal_var)), "parameters_chosen_on": chosen,
             "n_neighbors": int(n_neighbors), "time_offset_days": float(time_offset_days)}
    out = {"ssh": (grid.dims, ssh, {"units": "m", "long_name": "OI sea level anomaly",
                                    "standard_name": "sea_surface_height_above_sea_level"}),
           "ssh_error": (grid.dims, err,
                         {"units": "m", "long_name": "OI analysis error standard deviation"})}
    if error_scale is not None:
        attrs["error_scale"] = float(error_scale)
        out["ssh_error_calibrated"] = (grid.dims, (err * error_scale).astype(err.dtype), {
            "units": "m", "long_name": "OI analysis error standard deviation, calibrated",
            "comment": f"ssh_error × {error_scale:.3g}, the factor that makes it match the "
                       "OI's errors on withheld tracks (measurement noise taken out)"})
    return xr.Dataset(out, coords={d: grid.like[d] for d in grid.dims}, attrs=attrs)


__all__ = ["duacs_oi", "duacs_cross_validate"]
