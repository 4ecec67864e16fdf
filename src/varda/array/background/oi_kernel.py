"""Local optimal interpolation with a Gaussian space–time covariance: the NumPy kernel.

Used by the OI baseline (:func:`varda.baselines.optimal_interpolation`, which adds
coordinates, distances on the sphere and cross-validation) and by the OI background that
models trained by :func:`varda.train` fill anomalies from (:mod:`varda.array.background`).
See :mod:`varda.baselines.oi` for the method and references.
"""
from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from varda.array.background.running_mean import running_background
from varda.errors import InputError


def oi_array(values: np.ndarray, positions: np.ndarray, times: np.ndarray, *,
             length_scale: float, time_scale: float, noise_ratio: float = 0.05,
             n_neighbors: int = 16, cutoff: float = 3.0, targets: "np.ndarray | None" = None,
             background_scale: "float | None" = 30.0, chunk: int = 2048,
             background: "np.ndarray | None" = None, return_variance: bool = False
             ) -> "np.ndarray | tuple[np.ndarray, np.ndarray]":
    """Local Gaussian OI on a ``(time, space)`` matrix.

    Args:
        values: ``(n_time, n_space)``, NaN = missing; every column observed at least once.
            Not modified.
        positions: ``(n_space, d)`` coordinates of the columns (same units as
            ``length_scale``).
        times: ``(n_time,)`` times (same units as ``time_scale``).
        length_scale, time_scale: the Gaussian covariance scales (> 0).
        noise_ratio: observation-error variance over signal variance (> 0; regularises).
        n_neighbors: observations used per estimated point.
        cutoff: neighbours within this scaled distance only.
        targets: boolean ``(n_time, n_space)``: where to estimate (default: every missing
            point); observed targets are re-estimated from the others' values too.
        background_scale: the anomalies are taken from a running climatology: each pixel's
            other observations averaged with Gaussian weights of this width in time (units of
            ``times``), shrunk towards the pixel's time mean (:func:`running_background`);
            ``None``: the time mean only. It keeps slow signals (a seasonal cycle) out of the
            anomalies that the OI shrinks towards zero.
        chunk: targets solved per batch (memory ≈ chunk · n_neighbors² · 8 bytes).
        background: the background itself, ``(n_time, n_space)`` (overrides
            ``background_scale``; zeros for values that are already anomalies).
        return_variance: also return the posterior (analysis) error variance over the signal
            variance, ``1 − cᵀ(C + r I)⁻¹c`` at the targets (in [0, 1]), ``noise_ratio`` at
            observed points that are not targets (their value is the observation) and NaN
            elsewhere.

    Returns:
        ``values`` with the targets replaced by their estimates (and the variance).
    """
    if length_scale <= 0 or time_scale <= 0 or noise_ratio <= 0:
        raise InputError(f"length_scale, time_scale and noise_ratio must be > 0, got "
                         f"{length_scale}, {time_scale}, {noise_ratio}")
    obs = np.isfinite(values)
    n_t, n_s = values.shape
    if background is None:
        background = running_background(values, times, background_scale)
    targets = ~obs if targets is None else targets
    out = values.copy()
    var = np.where(obs, float(noise_ratio), np.nan)
    if not targets.any():
        return (out, var) if return_variance else out
    scaled = np.concatenate([np.repeat(positions[None] / length_scale, n_t, axis=0),
                             np.broadcast_to(times[:, None, None] / time_scale,
                                             (n_t, n_s, 1))], axis=2)
    ti, si = np.nonzero(obs)
    p_obs = scaled[ti, si]
    d_obs = values[ti, si] - background[ti, si]
    tree = cKDTree(p_obs)
    n_obs = len(p_obs)
    # a padding "observation" far from everything: missing neighbours (fewer than k within
    # the cutoff) point at it, so their covariances vanish without masking (w = 0 there)
    p_pad = np.vstack([p_obs, np.full((1, p_obs.shape[1]), 1e9)])
    d_pad = np.append(d_obs, 0.0)
    coords = [np.ascontiguousarray(p_pad[:, j]) for j in range(p_pad.shape[1])]
    tt, ts = np.nonzero(targets)
    p_tgt = scaled[tt, ts]
    k = min(n_neighbors, n_obs)
    # an observed target must not use itself: ask for one more and drop exact matches
    extra = 1 if (targets & obs).any() else 0
    est = np.empty(len(tt))
    post = np.empty(len(tt)) if return_variance else est
    ridge = noise_ratio * np.eye(k)
    for lo in range(0, len(tt), chunk):
        sl = slice(lo, lo + chunk)
        dist, idx = tree.query(p_tgt[sl], k=min(k + extra, n_obs), distance_upper_bound=cutoff)
        dist, idx = dist.reshape(len(dist), -1), idx.reshape(len(idx), -1)
        if extra:
            self_hit = dist <= 1e-12
            dist = np.where(self_hit, np.inf, dist)
            idx = np.where(self_hit, n_obs, idx)
            order = np.argsort(dist, axis=1)[:, :k]
            dist = np.take_along_axis(dist, order, 1)
            idx = np.take_along_axis(idx, order, 1)
        sq = np.zeros((len(idx), k, k))
        for coord in coords:  # explicit: a batched matmul with D ≤ 4 is slow in NumPy
            c = coord[idx]                                          # (B, k)
            diff = c[:, :, None] - c[:, None, :]
            sq += diff * diff
        cov = np.exp(-0.5 * sq)
        cov += ridge
        c_t = np.exp(-0.5 * np.minimum(dist, 1e3) ** 2)            # 0 for missing ones
        w = np.linalg.solve(cov, c_t[..., None])[..., 0]
        est[sl] = np.einsum("bk,bk->b", w, d_pad[idx])
        if return_variance:
            post[sl] = np.clip(1.0 - np.einsum("bk,bk->b", w, c_t), 0.0, 1.0)
    out[tt, ts] = background[tt, ts] + est
    if not return_variance:
        return out
    var[tt, ts] = post
    return out, var


__all__ = ["oi_array"]
