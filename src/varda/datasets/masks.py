"""Synthetic observation masks: clouds (smooth random blobs) and satellite swaths."""
from __future__ import annotations

from typing import Sequence

import numpy as np


def _smooth_noise(shape: Sequence[int], scale: float, rng: np.random.Generator) -> np.ndarray:
    """Gaussian random field with correlation length ``scale`` (grid points) on the last 2 axes,
    by spectral filtering of white noise."""
    noise = rng.standard_normal(shape)
    ky = np.fft.fftfreq(shape[-2])[:, None]
    kx = np.fft.rfftfreq(shape[-1])[None, :]
    filt = np.exp(-0.5 * (2 * np.pi * scale) ** 2 * (kx ** 2 + ky ** 2))
    field = np.fft.irfft2(np.fft.rfft2(noise) * filt, s=shape[-2:])
    return field / field.std(axis=(-2, -1), keepdims=True).clip(1e-12)


def cloud_masks(shape: Sequence[int], *, coverage: float = 0.5, scale: float = 3.0,
                seed: int = 0) -> np.ndarray:
    """Boolean observation masks (True = clear sky, observed) of ``shape`` ``(..., y, x)``.

    Each 2-D slice is covered by clouds on a fraction ``coverage`` of its points (exactly, up to
    ties), in blobs of about ``scale`` grid points.
    """
    if not 0.0 <= coverage < 1.0:
        raise ValueError(f"coverage must be in [0, 1), got {coverage}")
    rng = np.random.default_rng(seed)
    field = _smooth_noise(tuple(shape), scale, rng)
    flat = field.reshape(-1, shape[-2] * shape[-1])
    thresh = np.quantile(flat, coverage, axis=1)[:, None]
    return (flat >= thresh).reshape(shape)


def swath_masks(shape: Sequence[int], *, width: int = 4, spacing: int = 12, slope: float = 0.5,
                seed: int = 0) -> np.ndarray:
    """Boolean masks ``(time, y, x)`` of slanted along-track swaths that drift from step to step
    (the sampling of a nadir altimeter)."""
    nt, ny, nx = shape[-3:]
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:ny, 0:nx]
    out = np.zeros((nt, ny, nx), dtype=bool)
    for t in range(nt):
        offset = rng.integers(0, spacing)
        out[t] = ((xx + slope * yy + offset) % spacing) < width
    return np.broadcast_to(out, tuple(shape)).copy()
