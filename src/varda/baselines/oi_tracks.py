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

import itertools
from typing import Sequence

import numpy as np
import xarray as xr

from varda._alongtrack import Grid, Tracks, chord_xyz_km, inside, pieces, read_grid, read_tracks
from varda.array.oi_tracks import scattered_oi, structure_noise_var
from varda.errors import InputError


def _superobs(tr: Tracks, grid: Grid) -> tuple[Tracks, np.ndarray]:
    """Means per (satellite, day, grid cell), and the number of points in each."""
    iy = np.rint((tr.lat - grid.lat[0]) / (grid.lat[1] - grid.lat[0])).astype(np.int64)
    ix = np.rint((tr.lon - grid.lon[0]) / (grid.lon[1] - grid.lon[0])).astype(np.int64)
    day = np.floor(tr.t).astype(np.int64)
    keys = np.stack([tr.satellite, day, iy, ix], axis=1)
    _, inv, count = np.unique(keys, axis=0, return_inverse=True, return_counts=True)
    inv = inv.ravel()

    def mean(v: np.ndarray) -> np.ndarray:
        return np.bincount(inv, v) / count

    sat = np.zeros(count.size, np.int64)
    sat[inv] = tr.satellite
    return Tracks(mean(tr.t), mean(tr.lon), mean(tr.lat), mean(tr.value), sat), count


def _noise_var(tr: Tracks, noise_std: "float | None") -> float:
    if noise_std is not None:
        if not (np.isfinite(noise_std) and noise_std > 0):
            raise InputError(f"noise_std must be a positive number (metres), got {noise_std!r}")
        return float(noise_std) ** 2
    return structure_noise_var(tr.value, pieces(tr))


def _predict(train: Tracks, count: np.ndarray, pos: np.ndarray, t: np.ndarray, *,
             mean: float, noise_var: float, signal_var: float, space_scale_km: float,
             time_scale_days: float, n_neighbors: int, group_size: int = 1
             ) -> tuple[np.ndarray, np.ndarray]:
    est, err = scattered_oi(chord_xyz_km(train.lon, train.lat), train.t, train.value - mean,
                            noise_var / count, pos, t, space_scale=space_scale_km,
                            time_scale=time_scale_days, signal_var=signal_var,
                            n_neighbors=n_neighbors, group_size=group_size)
    return est + mean, err


CV_RUN = 16    # withheld points in a row along track that share one solve in the validation


def _folds(tr: Tracks, max_points: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train mask, test indices) per fold: one satellite out, or every 4th piece of track;
    the test points come in runs of ``CV_RUN`` consecutive points (drawn with ``seed``)."""
    sats = np.unique(tr.satellite)
    if sats.size >= 2:
        groups = [tr.satellite == s for s in sats]
    else:
        parts = pieces(tr)
        if len(parts) < 4:
            raise InputError("cannot choose the scales on withheld tracks: fewer than 4 pieces "
                             "of track; pass space_scale_km= and time_scale_days=")
        groups = []
        for f in range(4):
            g = np.zeros(len(tr), bool)
            g[np.concatenate(parts[f::4])] = True
            groups.append(g)
    rng = np.random.default_rng(seed)
    out = []
    for g in groups:
        idx = np.flatnonzero(g)
        runs = [idx[p[i:i + CV_RUN]] for p in pieces(tr.subset(g))
                for i in range(0, p.size - CV_RUN + 1, CV_RUN)]
        if not runs:
            raise InputError(f"cannot choose the scales on withheld tracks: no piece of track "
                             f"of {CV_RUN} points; pass space_scale_km= and time_scale_days=")
        pick = rng.permutation(len(runs))[:max(1, max_points // CV_RUN)]
        out.append((~g, np.concatenate([runs[i] for i in np.sort(pick)])))
    return out


def duacs_cross_validate(tracks: xr.Dataset, like: xr.DataArray, *,
                         space_scales_km: "Sequence[float] | None" = None,
                         time_scales_days: Sequence[float] = (2.0, 4.0, 7.0, 12.0, 20.0),
                         noise_std: "float | None" = None, variable: str = "sla",
                         n_neighbors: int = 192, max_points: int = 1024, seed: int = 0
                         ) -> tuple[dict, xr.DataArray]:
    """Choose the OI's space and time scales on withheld tracks.

    Each candidate (L, T) maps every fold's training tracks onto the withheld satellite's
    points (at most ``max_points`` per fold, drawn with ``seed``); the score is the RMSE
    against the withheld measurements over all folds.

    Args:
        tracks, like: as :func:`duacs_oi`.
        space_scales_km: candidates for L (default: 6 values from 2 grid steps to a third of
            the grid's width, geometric).
        time_scales_days: candidates for T.

    Returns:
        ``(best, table)``: ``best`` = {"space_scale_km", "time_scale_days", "noise_std"};
        ``table``: RMSE on the withheld tracks over ``(space_scale_km, time_scale_days)``.
    """
    grid = read_grid(like)
    tr = inside(read_tracks(tracks, variable=variable), grid, period=False)
    noise_var = _noise_var(tr, noise_std)
    if space_scales_km is None:
        space_scales_km = _default_space_scales(grid)
    table = np.zeros((len(space_scales_km), len(time_scales_days)))
    folds = []
    for train_mask, test in _folds(tr, max_points, seed):
        train = tr.subset(train_mask)
        if len(train) == 0:
            raise InputError("a cross-validation fold has no training point; pass the scales")
        sup, count = _superobs(train, grid)
        folds.append((sup, count, chord_xyz_km(tr.lon[test], tr.lat[test]), tr.t[test],
                      tr.value[test], float(train.value.mean()),
                      max(float(train.value.var()) - noise_var, 0.05 * noise_var)))
    for (i, L), (j, T) in itertools.product(enumerate(space_scales_km),
                                            enumerate(time_scales_days)):
        sq, n = 0.0, 0
        for sup, count, pos, t, value, mean, svar in folds:
            est, _ = _predict(sup, count, pos, t, mean=mean, noise_var=noise_var,
                              signal_var=svar, space_scale_km=float(L),
                              time_scale_days=float(T), n_neighbors=n_neighbors,
                              group_size=CV_RUN)
            sq += float(np.sum((est - value) ** 2))
            n += value.size
        table[i, j] = np.sqrt(sq / n)
    bi, bj = (int(v) for v in np.unravel_index(np.argmin(table), table.shape))
    best = {"space_scale_km": float(space_scales_km[bi]),
            "time_scale_days": float(time_scales_days[bj]), "noise_std": float(np.sqrt(noise_var))}
    da = xr.DataArray(table, dims=("space_scale_km", "time_scale_days"), name="cv_rmse",
                      coords={"space_scale_km": np.asarray(space_scales_km, float),
                              "time_scale_days": np.asarray(time_scales_days, float)},
                      attrs={"long_name": "RMSE on withheld tracks"})
    return best, da


def _map_grid(obs: Tracks, count: np.ndarray, grid: Grid, block: tuple[int, int, int], *,
              n_neighbors: int, **kw: float) -> tuple[np.ndarray, np.ndarray]:
    """The OI on every grid point, a batch of days at a time, in blocks of grid points."""
    shape = (grid.t.size, grid.lat.size, grid.lon.size)
    b = [max(d for d in range(1, max(int(bi), 1) + 1) if n % d == 0)
         for bi, n in zip(block, shape)]                  # the largest divisor ≤ the block
    lon2, lat2 = np.meshgrid(grid.lon, grid.lat)
    pos = chord_xyz_km(lon2.ravel(), lat2.ravel()).reshape(shape[1], shape[2], 3)
    n_days = b[0] * max(1, 16384 // (shape[1] * shape[2] * b[0]))     # days per batch
    ssh, err = np.empty(shape), np.empty(shape)
    for d0 in range(0, shape[0], n_days):
        days = grid.t[d0:d0 + n_days]
        nt = days.size
        t = np.broadcast_to(days[:, None, None], (nt,) + shape[1:])
        p = np.broadcast_to(pos, (nt,) + pos.shape)
        grouped = (nt // b[0], b[0], shape[1] // b[1], b[1], shape[2] // b[2], b[2])
        order = (0, 2, 4, 1, 3, 5)
        tg = t.reshape(grouped).transpose(order).ravel()
        pg = p.reshape(grouped + (3,)).transpose(order + (6,)).reshape(-1, 3)
        est, sd = _predict(obs, count, pg, tg, n_neighbors=n_neighbors,
                           group_size=b[0] * b[1] * b[2], **kw)
        inverse = np.argsort(order)
        ssh[d0:d0 + nt] = est.reshape(tuple(grouped[i] for i in order)).transpose(
            inverse).reshape((nt,) + shape[1:])
        err[d0:d0 + nt] = sd.reshape(tuple(grouped[i] for i in order)).transpose(
            inverse).reshape((nt,) + shape[1:])
    return ssh, err


def _default_space_scales(grid: Grid) -> list[float]:
    km = chord_xyz_km(grid.lon[[0, 1, -1]], np.full(3, np.mean(grid.lat)))
    step = float(np.linalg.norm(km[1] - km[0]))
    width = float(np.linalg.norm(km[2] - km[0]))
    return [float(v) for v in np.geomspace(2 * step, max(width / 3, 3 * step), 6)]


def duacs_oi(tracks: xr.Dataset, like: xr.DataArray, *, space_scale_km: "float | None" = None,
             time_scale_days: "float | None" = None, noise_std: "float | None" = None,
             variable: str = "sla", n_neighbors: int = 192, superobs: bool = True,
             space_scales_km: "Sequence[float] | None" = None,
             time_scales_days: Sequence[float] = (2.0, 4.0, 7.0, 12.0, 20.0),
             block: tuple[int, int, int] = (2, 8, 8), seed: int = 0) -> xr.Dataset:
    """Map along-track SLA onto a grid with a space–time Gaussian OI (DUACS-style).

    Args:
        tracks: along-track Dataset (one dim ``time``; coordinates ``time``, ``lon``/``lat``
            or ``longitude``/``latitude`` in degrees, ``satellite``; variable ``variable`` in
            metres), inside the grid's box; points before and after the grid's days are
            used too (give a few time scales more on each side for the best edges).
        like: the target grid, a DataArray ``(time, lat, lon)`` (values unused), e.g. the
            truth of an OSSE or ``xr.zeros_like`` of one.
        space_scale_km, time_scale_days: the Gaussian scales L (km) and T (days); either one
            ``None``: chosen on withheld tracks by :func:`duacs_cross_validate` among
            ``space_scales_km`` × ``time_scales_days`` (a given one is kept fixed).
        noise_std: the measurement-noise std (metres); ``None``: estimated from the
            along-track structure function.
        n_neighbors: observations per grid point.
        superobs: average the points per satellite, day and grid cell first.
        block: (days, lat, lon) grid points that share one neighbour set and one
            factorisation (per dim, the largest divisor of its size up to the value given):
            ``n_neighbors`` large enough to span a scale is better than one small solve per
            grid point at the same cost.
        seed: draws the cross-validation points.

    Returns:
        Dataset on ``like``'s grid with ``ssh`` (metres) and ``ssh_error`` (posterior error
        std); attributes record the scales, noise and signal std used.

    Example:
        >>> oi = duacs_oi(tracks, like=truth)                     # doctest: +SKIP
        >>> oi.ssh.isel(time=0).plot()                            # doctest: +SKIP
    """
    grid = read_grid(like)
    tr = inside(read_tracks(tracks, variable=variable), grid, period=False)
    noise_var = _noise_var(tr, noise_std)
    chosen = "given"
    if space_scale_km is None or time_scale_days is None:
        best, _ = duacs_cross_validate(
            tracks, like, noise_std=float(np.sqrt(noise_var)), variable=variable,
            n_neighbors=n_neighbors, seed=seed,
            space_scales_km=[space_scale_km] if space_scale_km is not None else space_scales_km,
            time_scales_days=[time_scale_days] if time_scale_days is not None
            else time_scales_days)
        space_scale_km, time_scale_days = best["space_scale_km"], best["time_scale_days"]
        chosen = "withheld tracks"
    mean = float(tr.value.mean())
    signal_var = max(float(tr.value.var()) - noise_var, 0.05 * noise_var)
    obs, count = _superobs(tr, grid) if superobs else (tr, np.ones(len(tr)))
    ssh, err = _map_grid(obs, count, grid, block, mean=mean, noise_var=noise_var,
                         signal_var=signal_var, space_scale_km=float(space_scale_km),
                         time_scale_days=float(time_scale_days), n_neighbors=n_neighbors)
    coords = {d: grid.like[d] for d in grid.dims}
    attrs = {"method": "DUACS-style space-time Gaussian OI on along-track data",
             "space_scale_km": float(space_scale_km), "time_scale_days": float(time_scale_days),
             "noise_std": float(np.sqrt(noise_var)), "signal_std": float(np.sqrt(signal_var)),
             "scales_chosen_on": chosen, "n_neighbors": int(n_neighbors)}
    return xr.Dataset(
        {"ssh": (grid.dims, ssh, {"units": "m", "long_name": "OI sea level anomaly",
                                  "standard_name": "sea_surface_height_above_sea_level"}),
         "ssh_error": (grid.dims, err,
                       {"units": "m", "long_name": "OI analysis error standard deviation"})},
        coords=coords, attrs=attrs)


__all__ = ["duacs_oi", "duacs_cross_validate"]
