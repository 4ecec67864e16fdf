"""DINEOF's expected error: an error map for every reconstruction (Beckers et al. 2006).

Beckers, Barth & Alvera-Azcárate (2006), "DINEOF reconstruction of clouded images including
error maps — application to the Sea-Surface Temperature around Corsican Island", Ocean Sci. 2,
183–199: the error of a reconstruction from ``k`` EOFs is that of an optimal interpolation
whose covariance is the EOFs' and whose observation error is the part of the field the EOFs
do not resolve. Each time step is a Bayesian regression of its observed values on the spatial
EOFs ``v_x`` (one row of ``V`` per point): with prior variances ``λ_j = s_j² / n_time`` of the
temporal coefficients and an unresolved variance ``σ²``,

    C_t = (V_oᵀ V_o / σ² + Λ⁻¹)⁻¹,    e²(x, t) = v_xᵀ C_t v_x + σ²

(``o``: the points observed at ``t``). Few or clustered observations leave the coefficients
uncertain and the error large; a point whose EOF loadings are large inherits more of that
uncertainty. The whole map is then scaled by one factor so that its mean at the
cross-validation points, computed with those points hidden, equals the cross-validation
mean squared error DINEOF measured there (the calibration DINEOF's own cross-validation
affords).
"""
from __future__ import annotations

import numpy as np


def eof_error_variance(filled: np.ndarray, observed: np.ndarray, n_modes: int,
                       unresolved: float) -> np.ndarray:
    """``e²(x, t)`` of the module for the reconstruction ``filled`` ``(time, space)`` from
    ``n_modes`` EOFs, the points ``observed`` (bool, same shape) and the unresolved variance
    ``unresolved`` (> 0)."""
    n_t = filled.shape[0]
    centred = filled - filled.mean(axis=0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    k = min(n_modes, len(s))
    v = vt[:k].T                                                   # (space, k), orthonormal
    lam = np.maximum(s[:k] ** 2, 1e-12 * max(float(s[0]) ** 2, 1e-30)) / n_t
    outer = (v[:, :, None] * v[:, None, :]).reshape(len(v), k * k)   # v_x v_xᵀ per point
    gram_obs = (observed.astype(np.float64) @ outer).reshape(n_t, k, k)
    precision = gram_obs / unresolved + np.diag(1.0 / lam)[None]
    cov = np.linalg.inv(precision)                                 # (time, k, k)
    return cov.reshape(n_t, k * k) @ outer.T + unresolved


def calibrated_error(filled: np.ndarray, observed: np.ndarray, n_modes: int, *,
                     cv_filled: np.ndarray, cv_train: np.ndarray, cv_hold: np.ndarray,
                     cv_mse: float) -> tuple[np.ndarray, float]:
    """The expected error standard deviation of the final reconstruction and the scale factor
    that makes its cross-validation twin match the measured cross-validation error.

    Args:
        filled, observed: the final reconstruction and its observed points.
        n_modes: the chosen number of EOFs.
        cv_filled, cv_train, cv_hold: the reconstruction with the cross-validation points
            hidden, the points it used, and the hidden points.
        cv_mse: the mean squared error at the hidden points (> 0).
    """
    cv_var = eof_error_variance(cv_filled, cv_train, n_modes, cv_mse)
    factor = float(cv_mse / np.mean(cv_var[cv_hold]))
    var = factor * eof_error_variance(filled, observed, n_modes, cv_mse)
    return np.sqrt(var).astype(filled.dtype), factor


__all__ = ["calibrated_error", "eof_error_variance"]
