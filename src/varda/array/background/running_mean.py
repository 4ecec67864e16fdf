"""Running climatology of each pixel along time (NumPy kernels)."""
from __future__ import annotations

import numpy as np
from scipy.ndimage import correlate1d

from varda.errors import InputError


def pixel_time_mean(values: np.ndarray) -> np.ndarray:
    """Per column of ``(time, space)``, the mean of the observed (finite) values (0 if none)."""
    obs = np.isfinite(values)
    return np.where(obs, values, 0.0).sum(axis=0) / np.maximum(obs.sum(axis=0), 1)


def running_background(values: np.ndarray, times: "np.ndarray | None",
                       scale: "float | None") -> np.ndarray:
    """A running climatology ``(time, space)``: at each time, the Gaussian-weighted mean
    (width ``scale``) of the pixel's observations at *other* times, shrunk towards the
    pixel's time mean with the weight of one observation::

        b_i = (Σ_{j≠i} w_ij y_j + ȳ) / (Σ_{j≠i} w_ij + 1),   w_ij = exp(−½ (t_i − t_j)² / scale²)

    Leaving the point itself out keeps the observation's own anomaly for the interpolation to
    spread, and makes ``b`` a leave-one-out estimate at observed points; with sparse sampling
    in time (e.g. yearly data, daily scale) it is the time mean ȳ. ``scale=None``: the time
    mean everywhere.

    Args:
        values: ``(n_time, n_space)``, NaN = missing. Not modified.
        times: ``(n_time,)`` times in the units of ``scale``; ``None``: time steps 0, 1, …
            (a banded filter, memory linear in the record's length).
        scale: the Gaussian width (> 0) or None.
    """
    clim = pixel_time_mean(values)
    if scale is None:
        return np.broadcast_to(clim, values.shape).copy()
    if scale <= 0:
        raise InputError(f"background_scale must be > 0 or None, got {scale}")
    obs = np.isfinite(values)
    y0 = np.where(obs, values, 0.0)
    if times is None:
        radius = int(np.ceil(4 * scale))
        d = np.arange(-radius, radius + 1) / scale
        w1 = np.exp(-0.5 * d * d)
        w1[radius] = 0.0
        num = correlate1d(y0, w1, axis=0, mode="constant") + clim[None, :]
        den = correlate1d(obs.astype(float), w1, axis=0, mode="constant") + 1.0
        return num / den
    d = (times[:, None] - times[None, :]) / scale
    w = np.exp(-0.5 * d * d)
    np.fill_diagonal(w, 0.0)
    num = w @ y0 + clim[None, :]
    den = w @ obs.astype(float) + 1.0
    return num / den


__all__ = ["pixel_time_mean", "running_background"]
