"""Optimal interpolation (objective analysis) with a Gaussian space–time covariance, local.

Each missing point ``x`` is estimated from the anomalies ``d`` (observations minus a background
``b``, the pixel's running climatology: :func:`running_background`) of its ``n_neighbors``
nearest observations in scaled space–time (distance in units of the length and time scales,
found with ``scipy.spatial.cKDTree``)::

    x̂ = b + cᵀ (C + r I)⁻¹ d,    C_ij = exp(−½ (|s_i − s_j|² / L² + (t_i − t_j)² / T²))

with ``r`` the noise-to-signal variance ratio (Bretherton, Davis & Fandry 1976; the Gaussian
kernel of the ocean-data-challenge OI baselines). Observations farther than ``cutoff`` scaled
units (covariance < e^{−cutoff²/2}) are ignored; a point with none nearby gets the
background. The batched small solves make it scale to a year of daily fields.

Distances: on the sphere (km, chord length, radius 6371 km) when the DataArray has latitude and
longitude coordinates (``lat``/``latitude``/``nav_lat`` and ``lon``/``longitude``/``nav_lon``,
1-D or 2-D), else in grid steps of its spatial dims. Times: days for datetime coordinates,
else the coordinate's values (or steps).

Parameters can be chosen on held-out observations with :func:`oi_cross_validate`.
"""
from __future__ import annotations

import itertools
from typing import Iterable, Sequence

import numpy as np
import xarray as xr
from scipy.spatial import cKDTree

from varda.array.background.field import BASELINE_OI
from varda.array.background.running_mean import pixel_time_mean, running_background
from varda.array.background.oi_kernel import oi_array
from varda.baselines._fields import Field, as_field, time_in_days
from varda.baselines.dineof import cloud_holdout
from varda.errors import InputError

EARTH_RADIUS_KM = 6371.0


def _lat_lon(da: xr.DataArray, f: Field) -> "tuple[np.ndarray, np.ndarray] | None":
    """Flattened latitudes and longitudes (degrees) of the ocean points, if ``da`` has them."""
    names_lat = ("lat", "latitude", "nav_lat")
    names_lon = ("lon", "longitude", "nav_lon")
    lat = next((n for n in names_lat if n in da.coords), None)
    lon = next((n for n in names_lon if n in da.coords), None)
    if lat is None or lon is None:
        return None
    space = f.order[1:]
    if not set(da[lat].dims) <= set(space) or not set(da[lon].dims) <= set(space):
        return None
    template = xr.DataArray(np.zeros(f.spatial_shape), dims=space,
                            coords={d: da[d] for d in space if d in da.coords})
    la, lo = xr.broadcast(da[lat].reset_coords(drop=True), da[lon].reset_coords(drop=True),
                          template)[:2]
    la = np.asarray(la.transpose(*space).values, float).ravel()[f.ocean]
    lo = np.asarray(lo.transpose(*space).values, float).ravel()[f.ocean]
    return la, lo


def positions_of(da: xr.DataArray, f: Field) -> tuple[np.ndarray, str]:
    """Coordinates of the ocean points: 3-D Cartesian km on the sphere (when ``da`` has
    lat/lon coordinates) or grid indices; and the unit (``"km"`` or ``"grid"``)."""
    ll = _lat_lon(da, f)
    if ll is not None:
        la, lo = np.radians(ll[0]), np.radians(ll[1])
        xyz = EARTH_RADIUS_KM * np.stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo),
                                          np.sin(la)], axis=1)
        return xyz, "km"
    grids = np.meshgrid(*[np.arange(n, dtype=float) for n in f.spatial_shape], indexing="ij")
    return np.stack([g.ravel()[f.ocean] for g in grids], axis=1), "grid"


def default_length_scale(positions: np.ndarray) -> float:
    """``BASELINE_OI["length_scale"]`` (3) × the median distance between an ocean point and
    its nearest neighbour."""
    if len(positions) < 2:
        return 1.0
    d, _ = cKDTree(positions).query(positions, k=2)
    return BASELINE_OI["length_scale"] * float(np.median(d[:, 1]))


def optimal_interpolation(da: xr.DataArray, *, time_dim: "str | None" = None,
                          length_scale: "float | None" = None,
                          time_scale: float = BASELINE_OI["oi_time_scale"],
                          noise_ratio: float = BASELINE_OI["noise_ratio"], n_neighbors: int = 16,
                          cutoff: float = 3.0,
                          background_scale: "float | None" = BASELINE_OI["time_scale"],
                          error: bool = False) -> "xr.DataArray | xr.Dataset":
    """Fill the gaps of ``da`` by local optimal interpolation of anomalies from the pixel
    climatology, with a Gaussian space–time covariance.

    Args:
        da: the field, with a time dim and spatial dims (NaN = missing; NaN at every time
            step = land, which stays NaN).
        time_dim: the time dim (default: ``"time"`` or the CF time axis); increasing, unique.
        length_scale: covariance length scale, in km when ``da`` has lat/lon coordinates,
            else in grid steps (default: 3 grid spacings).
        time_scale: covariance time scale, in days for datetime coordinates (else in the
            coordinate's units).
        noise_ratio: noise-to-signal variance ratio.
        n_neighbors: nearest observations used per point.
        cutoff: ignore observations farther than this many (scaled) units.
        background_scale: width (days) of the running climatology the anomalies are taken
            from (see :func:`running_background`); ``None``: the pixel's time mean.
        error: also return the OI's own error, the classical analysis error
            ``σ_s²(x) · (1 − cᵀ(C + r I)⁻¹c)`` (:func:`signal_variance` for ``σ_s²``; the
            observation error ``σ_s² r`` at observed points, whose values are kept): a Dataset
            of the field and ``<name>_error`` (standard deviation, same units), linked as in
            ``varda.fill(..., error=True)``. Not calibrated on withheld data: it is what the
            OI's covariance model says.

    Returns:
        The filled field (with ``error=True``, the Dataset above); observed values unchanged;
        ``attrs`` record the parameters (``optimal_interpolation_length_scale`` and its
        ``_units``, ...).

    Example:
        >>> from varda.datasets.osse import make_sst_osse
        >>> from varda.baselines import optimal_interpolation
        >>> osse = make_sst_osse("tiny")
        >>> filled = optimal_interpolation(osse.obs, length_scale=60.0, time_scale=2.0)
    """
    f = as_field(da, time_dim, min_obs=2, sorted_time=True)
    pos, unit = positions_of(da, f)
    ls = default_length_scale(pos) if length_scale is None else float(length_scale)
    t = time_in_days(da, f.time_dim)
    bg = running_background(f.values, t, background_scale)
    result = oi_array(f.values, pos, t, length_scale=ls, time_scale=time_scale,
                      noise_ratio=noise_ratio, n_neighbors=n_neighbors, cutoff=cutoff,
                      background=bg, return_variance=error)
    filled, var = result if isinstance(result, tuple) else (result, None)
    out = f.to_dataarray(filled, "optimal_interpolation", length_scale=ls,
                         length_scale_units=unit, time_scale=float(time_scale),
                         noise_ratio=float(noise_ratio), n_neighbors=int(n_neighbors),
                         background_scale=float(background_scale or 0.0))
    if var is None:
        return out
    from varda.xr.error import with_error

    sigma2 = signal_variance(f.values - bg, noise_ratio)[None, :] * var
    sigma = f.to_dataarray(np.sqrt(sigma2).astype(f.values.dtype), "optimal_interpolation")
    return with_error(out, sigma, None, comment=(
        "the optimal interpolation's analysis error: its normalised posterior variance times "
        "each pixel's signal variance (observed anomaly variance over 1 + noise ratio, shrunk "
        "towards the domain's); not calibrated on withheld data; see "
        "varda.baselines.optimal_interpolation"))


#: observations a pixel needs for its own anomaly variance to weigh as much as the domain's
SHRINK_COUNT = 10


def signal_variance(anomalies: np.ndarray, noise_ratio: float) -> np.ndarray:
    """Each column's signal variance from its observed anomalies ``(time, space)`` (NaN =
    missing): the mean squared anomaly over ``1 + noise_ratio`` (observations carry the
    noise too), shrunk towards the whole field's with the weight of ``SHRINK_COUNT`` (10)
    observations (a pixel seen a few times has a noisy variance of its own)."""
    seen = np.isfinite(anomalies)
    sq = np.where(seen, anomalies, 0.0) ** 2
    n = seen.sum(axis=0)
    overall = float(sq.sum() / max(int(n.sum()), 1))
    pixel = (sq.sum(axis=0) + SHRINK_COUNT * overall) / (n + SHRINK_COUNT)
    return pixel / (1.0 + float(noise_ratio))


def oi_cross_validate(da: xr.DataArray, *, length_scales: Iterable[float],
                      time_scales: Sequence[float] = (3.0,),
                      noise_ratios: Sequence[float] = (0.05,), time_dim: "str | None" = None,
                      cv_fraction: float = 0.05, n_neighbors: int = 16, cutoff: float = 3.0,
                      background_scale: "float | None" = 30.0, block: int = 3,
                      seed: int = 0) -> tuple[dict, list[dict]]:
    """Choose the OI parameters on held-out observations (grid search).

    A cloud-shaped ``cv_fraction`` of the observations (missing patterns borrowed from other
    time steps, each hiding ``block`` consecutive steps: use the clouds' persistence, so that
    held-out points are as far from the remaining data as real gaps) is hidden; for each combination of parameters the hidden points are estimated
    from the others and scored by RMSE. Use only data you may tune on (never the test split).

    Returns:
        ``(best, table)``: the best ``{"length_scale", "time_scale", "noise_ratio"}`` and one
        row per combination with its ``"rmse"``.
    """
    f = as_field(da, time_dim, min_obs=2, sorted_time=True)
    pos, _ = positions_of(da, f)
    t = time_in_days(da, f.time_dim)
    obs = np.isfinite(f.values)
    hold = cloud_holdout(obs, cv_fraction, np.random.default_rng(seed), block=block)
    if not hold.any():
        raise InputError("too few observations to hold any out for cross-validation")
    train = np.where(hold, np.nan, f.values)
    keep = np.isfinite(train).any(axis=0)  # columns still observed somewhere
    table = []
    for ls, ts, nr in itertools.product(list(length_scales), time_scales, noise_ratios):
        est = oi_array(train[:, keep], pos[keep], t, length_scale=ls, time_scale=ts,
                       noise_ratio=nr, n_neighbors=n_neighbors, cutoff=cutoff,
                       targets=hold[:, keep], background_scale=background_scale)
        err = est[hold[:, keep]] - f.values[:, keep][hold[:, keep]]
        table.append(dict(length_scale=float(ls), time_scale=float(ts), noise_ratio=float(nr),
                          rmse=float(np.sqrt(np.mean(err ** 2)))))
    best = min(table, key=lambda row: row["rmse"])
    return {k: best[k] for k in ("length_scale", "time_scale", "noise_ratio")}, table


__all__ = ["oi_array", "optimal_interpolation", "oi_cross_validate", "running_background",
           "signal_variance",
           "positions_of",
           "default_length_scale", "EARTH_RADIUS_KM"]
