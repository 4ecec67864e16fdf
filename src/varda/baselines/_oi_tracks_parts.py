"""Parts of the along-track OI (:mod:`varda.baselines.oi_tracks`): super-observations, noise
estimate, validation folds, the local solves on scattered points and on the grid."""
from __future__ import annotations

import numpy as np

from varda._alongtrack import Grid, Tracks, chord_xyz_km, pieces
from varda.array.oi_tracks import scattered_oi, structure_noise_var
from varda.errors import InputError


def superobs(tr: Tracks, grid: Grid) -> tuple[Tracks, np.ndarray]:
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


def noise_var_of(tr: Tracks, noise_std: "float | None") -> float:
    if noise_std is not None:
        if not (np.isfinite(noise_std) and noise_std > 0):
            raise InputError(f"noise_std must be a positive number (metres), got {noise_std!r}")
        return float(noise_std) ** 2
    return structure_noise_var(tr.value, pieces(tr))


def predict(train: Tracks, count: np.ndarray, pos: np.ndarray, t: np.ndarray, *,
            mean: float, noise_var: float, extra_var: float, signal_var: float,
            space_scale_km: float, time_scale_days: float, n_neighbors: int,
            group_size: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """The OI at scattered points from super-observations: the measurement noise variance is
    divided by their point counts, the representativity variance ``extra_var`` is not."""
    est, err = scattered_oi(chord_xyz_km(train.lon, train.lat), train.t, train.value - mean,
                            noise_var / count + extra_var, pos, t, space_scale=space_scale_km,
                            time_scale=time_scale_days, signal_var=signal_var,
                            n_neighbors=n_neighbors, group_size=group_size)
    return est + mean, err


CV_RUN = 16    # withheld points in a row along track that share one solve in the validation


def folds(tr: Tracks, max_points: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
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


def map_grid(obs: Tracks, count: np.ndarray, grid: Grid, block: tuple[int, int, int], *,
             n_neighbors: int, time_offset: float, **kw: float
             ) -> tuple[np.ndarray, np.ndarray]:
    """The OI on every grid point, a batch of days at a time, in blocks of grid points."""
    shape = (grid.t.size, grid.lat.size, grid.lon.size)
    b = [max(d for d in range(1, max(int(bi), 1) + 1) if n % d == 0)
         for bi, n in zip(block, shape)]                  # the largest divisor ≤ the block
    lon2, lat2 = np.meshgrid(grid.lon, grid.lat)
    pos = chord_xyz_km(lon2.ravel(), lat2.ravel()).reshape(shape[1], shape[2], 3)
    n_days = b[0] * max(1, 16384 // (shape[1] * shape[2] * b[0]))     # days per batch
    ssh, err = np.empty(shape), np.empty(shape)
    for d0 in range(0, shape[0], n_days):
        days = grid.t[d0:d0 + n_days] + time_offset
        nt = days.size
        t = np.broadcast_to(days[:, None, None], (nt,) + shape[1:])
        p = np.broadcast_to(pos, (nt,) + pos.shape)
        grouped = (nt // b[0], b[0], shape[1] // b[1], b[1], shape[2] // b[2], b[2])
        order = (0, 2, 4, 1, 3, 5)
        tg = t.reshape(grouped).transpose(order).ravel()
        pg = p.reshape(grouped + (3,)).transpose(order + (6,)).reshape(-1, 3)
        est, sd = predict(obs, count, pg, tg, n_neighbors=n_neighbors,
                           group_size=b[0] * b[1] * b[2], **kw)
        inverse = np.argsort(order)
        ssh[d0:d0 + nt] = est.reshape(tuple(grouped[i] for i in order)).transpose(
            inverse).reshape((nt,) + shape[1:])
        err[d0:d0 + nt] = sd.reshape(tuple(grouped[i] for i in order)).transpose(
            inverse).reshape((nt,) + shape[1:])
    return ssh, err


def default_space_scales(grid: Grid) -> list[float]:
    km = chord_xyz_km(grid.lon[[0, 1, -1]], np.full(3, np.mean(grid.lat)))
    step = float(np.linalg.norm(km[1] - km[0]))
    width = float(np.linalg.norm(km[2] - km[0]))
    return [float(v) for v in np.geomspace(2 * step, max(width / 3, 3 * step), 6)]
