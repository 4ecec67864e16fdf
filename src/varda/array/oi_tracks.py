"""Optimal interpolation of scattered (along-track) observations: the NumPy kernel of the
DUACS-style OI (:func:`varda.baselines.oi_tracks.duacs_oi`, which adds grids, coordinates,
scale selection and noise estimation).

Each target point ``x`` is estimated from its ``n_neighbors`` nearest observations in scaled
space–time (distance in units of the space and time scales, ``scipy.spatial.cKDTree``)::

    x̂ = cᵀ (C + R)⁻¹ d,      σ²(x) = s² − cᵀ (C + R)⁻¹ c,
    C_ij = s² exp(−½ (|p_i − p_j|² / L² + (t_i − t_j)² / T²))

with ``d`` the observed anomalies, ``R`` the diagonal observation-error covariance and ``σ``
the analysis (posterior) error std. The small solves are batched (``numpy.linalg.solve`` on
stacks of k × k systems: scipy's ``cho_solve`` has no batch dimension).
"""
from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from varda.errors import InputError


def _scaled(pos: np.ndarray, t: np.ndarray, space_scale: float, time_scale: float
            ) -> np.ndarray:
    return np.concatenate([np.asarray(pos, float) / space_scale,
                           np.asarray(t, float)[:, None] / time_scale], axis=1)


def _sq_dist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Squared distances between the rows of ``a`` (B, n, d) and ``b`` (B, m, d)."""
    d2 = (np.sum(a ** 2, axis=-1)[:, :, None] + np.sum(b ** 2, axis=-1)[:, None, :]
          - 2.0 * (a @ b.transpose(0, 2, 1)))
    return np.clip(d2, 0.0, None)


def scattered_oi(obs_pos: np.ndarray, obs_t: np.ndarray, obs_value: np.ndarray,
                 obs_noise_var: np.ndarray, target_pos: np.ndarray, target_t: np.ndarray, *,
                 space_scale: float, time_scale: float, signal_var: float,
                 n_neighbors: int = 32, cutoff: float = 3.5, group_size: int = 1,
                 chunk: "int | None" = None) -> tuple[np.ndarray, np.ndarray]:
    """Local Gaussian space–time OI of scattered anomalies onto scattered targets.

    Args:
        obs_pos: ``(n_obs, d)`` positions (e.g. 3-D chord km; units of ``space_scale``).
        obs_t: ``(n_obs,)`` times (units of ``time_scale``, e.g. days).
        obs_value: ``(n_obs,)`` anomalies (the background already removed).
        obs_noise_var: ``(n_obs,)`` observation-error variances (> 0).
        target_pos, target_t: ``(n_target, d)`` and ``(n_target,)`` where to estimate.
        space_scale, time_scale: the Gaussian scales L and T (> 0).
        signal_var: the signal variance s² (> 0).
        n_neighbors: observations used per target (per group).
        cutoff: only observations within this scaled distance (covariance > e^{−cutoff²/2}).
        group_size: consecutive targets that share one neighbour set (that of their
            centroid) and one factorisation: a few close grid points (a fraction of a scale
            apart) lose almost nothing and cost one solve instead of ``group_size``;
            ``n_target`` must be a multiple of it.
        chunk: groups per batch (default: about 40 MB per k × k stack).

    Returns:
        ``(estimate, error_std)``, both ``(n_target,)``: the analysis, and its posterior
        error std (√s² far from every observation).
    """
    for name, v in (("space_scale", space_scale), ("time_scale", time_scale),
                    ("signal_var", signal_var)):
        if not (np.isfinite(v) and v > 0):
            raise InputError(f"{name} must be a positive number, got {v!r}")
    noise = np.asarray(obs_noise_var, float)
    if noise.shape != np.shape(obs_t) or not np.all(noise > 0):
        raise InputError("obs_noise_var must be positive, one per observation")
    n_obs, n_t, g = int(np.size(obs_t)), int(np.size(target_t)), int(group_size)
    if g < 1 or n_t % g:
        raise InputError(f"the {n_t} targets are not a whole number of groups of {g}")
    estimate = np.zeros(n_t)
    error = np.full(n_t, np.sqrt(signal_var))
    if n_obs == 0 or n_t == 0:
        return estimate, error
    obs = _scaled(obs_pos, obs_t, space_scale, time_scale)
    tgt = _scaled(target_pos, target_t, space_scale, time_scale)
    centre = obs.mean(axis=0)              # small numbers: exact squared distances below
    obs, tgt = obs - centre, (tgt - centre).reshape(n_t // g, g, -1)
    tree = cKDTree(obs)
    k = int(min(n_neighbors, n_obs))
    value = np.append(np.asarray(obs_value, float), 0.0)
    noise = np.append(noise, 1.0)
    obs = np.vstack([obs, np.zeros((1, obs.shape[1]))])     # index n_obs: "no neighbour"
    eye = np.eye(k)
    chunk = chunk or max(1, 5_000_000 // (k * k))
    for start in range(0, n_t // g, chunk):
        x = tgt[start:start + chunk]                             # (B, g, d)
        _, idx = tree.query(x.mean(axis=1), k=k, distance_upper_bound=cutoff)
        idx = idx.reshape(-1, k)
        valid = idx < n_obs
        p = obs[idx]                                             # (B, k, d)
        both = valid[:, :, None] & valid[:, None, :]
        gram = np.where(both, signal_var * np.exp(-0.5 * _sq_dist(p, p)), 0.0)
        gram += eye * np.where(valid, noise[idx], 1.0)[:, :, None]
        c = np.where(valid[:, :, None], signal_var * np.exp(-0.5 * _sq_dist(p, x)), 0.0)
        w = np.linalg.solve(gram, c)                             # (B, k, g)
        out = slice(start * g, start * g + x.shape[0] * g)
        estimate[out] = np.einsum("bkg,bk->bg", w, value[idx]).ravel()
        error[out] = np.sqrt(np.clip(signal_var - np.sum(w * c, axis=1), 0.0, None)).ravel()
    return estimate, error


def structure_noise_var(values: np.ndarray, pieces: "list[np.ndarray]") -> float:
    """White-noise variance of along-track data from its structure function at lags 1 and 2:
    ``D(δ) = ½⟨(v(x+δ) − v(x))²⟩ ≈ σₙ² + a δ²`` for a signal smooth at the sampling step, so
    ``σₙ² ≈ (4 D(1) − D(2)) / 3`` (floored at 1 % of D(1)). ``pieces``: index arrays of
    contiguous, evenly sampled track."""
    d1 = [np.diff(values[p]) for p in pieces if p.size >= 3]
    d2 = [values[p][2:] - values[p][:-2] for p in pieces if p.size >= 3]
    if not d1:
        raise InputError("cannot estimate the noise from the data: no piece of track has 3 "
                         "consecutive points; pass noise_std=")
    s1 = 0.5 * float(np.mean(np.concatenate(d1) ** 2))
    s2 = 0.5 * float(np.mean(np.concatenate(d2) ** 2))
    return max((4.0 * s1 - s2) / 3.0, 0.01 * s1)
