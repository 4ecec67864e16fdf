"""``varda.calibrate(model, obs)``: measure how large a model's fill errors are, for ``error=True``.

Self-supervised by default, like :func:`varda.train`: observations hidden by clouds borrowed
from other time steps (:func:`varda.training.holdouts.held_out_marks`, whole clouds on 30 %
of the time steps) are removed, the model fills the rest, and its errors at the hidden
observations are compared with the OI posterior variance there
(:func:`varda.array.error.fit_calibration`), with and without the local signal variance
(:func:`varda.array.error.local_variance`); the form with the lower CRPS on those points is
kept. With ``truth=`` (complete fields) the errors are measured at every missing point
instead. The result is stored in the model card
(``model.meta["calibration"]``), saved and loaded with the model.
"""
from __future__ import annotations

import copy
from typing import Any, Mapping

import numpy as np
import xarray as xr

from varda.array.background.field import background, choose_time_scale
from varda.array.error import (CALIBRATION_KEY, OI_KEYS, Calibration, fit_calibration,
                               local_variance, posterior_variance)
from varda.array.fill import fill_array
from varda.array.model_cache import resolve_model
from varda.core.model import VarModel
from varda.errors import InputError
from varda.xr.axes import check_coords, map_axes, ordered, time_dim
from varda.xr.masks import as_broadcastable, static_mask
from varda.training.holdouts import held_out_marks


#: the OI of the posterior variance of a model without an OI background (grid and time steps)
DEFAULT_OI = {"length_scale": 1.5, "oi_time_scale": 1.0, "noise_ratio": 0.05, "n_neighbors": 16}


def _oi_spec(model: VarModel, obs: np.ndarray, t_ax: int, hidden: np.ndarray) -> dict:
    """The model's OI background spec, or (a model without one) :data:`DEFAULT_OI` with the
    running climatology's width chosen on the observations; the calibration adapts the map
    from its posterior variance to the model's errors, so its scales need no search."""
    spec = model.meta.get("background") or {}
    if spec.get("kind") == "oi":
        return {k: spec.get(k) for k in OI_KEYS + ("time_scale",)}
    scale, _ = choose_time_scale(np.where(hidden, np.nan, obs), t_ax)
    return {**DEFAULT_OI, "time_scale": scale}


def calibrate(model: "VarModel | str", obs: xr.DataArray, *,
              truth: "xr.DataArray | None" = None, dims: "Mapping[str, str] | None" = None,
              mask: "xr.DataArray | bool | None" = None, seed: int = 0,
              **fill_options: Any) -> VarModel:
    """A copy of ``model`` whose card holds an error calibration measured on ``obs``.

    Args:
        model: a loaded model, a checkpoint path or a pretrained name (not modified).
        obs: observations (NaN where missing) with a time dim; held-out observations are
            hidden from the fill and scored (self-supervised).
        truth: complete fields on ``obs``'s grid: the errors are then measured against it at
            every missing point (no observation is held out).
        dims, mask: as in :func:`varda.fill`.
        seed: seeds the held-out clouds (use one other than the training's).
        fill_options: fill options (``n_iter``, ``batch_size``, ``device``, ...).

    Returns:
        the calibrated copy (``model.meta["calibration"]``; save it with ``model.save``).

    Raises:
        InputError: no time dim, or too few withheld points to fit the calibration.
    """
    base = model if isinstance(model, VarModel) else resolve_model(model, device="cpu")
    out = copy.deepcopy(base)
    name = str(obs.name) if obs.name is not None else "data"
    mapping = map_axes(obs, out.axes, dims, patch=out.patch_shape)
    check_coords(obs, list(mapping.values()))
    tdim = time_dim(obs, mapping)
    if tdim is None:
        raise InputError(f"{name!r} has no time dim: the error estimate is computed along time; "
                         "pass dims={'time': <dim>}")
    order = ordered(obs, mapping, out.axes)
    t_ax = order.index(tdim)
    valid = as_broadcastable(static_mask(obs, mask, tdim), order)
    y = np.asarray(obs.transpose(*order).values, np.float64)
    ok = np.ones(y.shape, bool) if valid is None else np.broadcast_to(valid, y.shape)
    y = np.where(ok, y, np.nan)
    hidden = held_out_marks(np.isfinite(y), t_ax, seed=seed)
    spec = _oi_spec(out, y, t_ax, hidden)
    if truth is None:
        view, ref, how = np.where(hidden, np.nan, y), y, "held-out observations"
        scored = hidden & np.isfinite(view).any(axis=t_ax, keepdims=True)
    else:
        view, how = y, "the truth at missing points"
        ref = np.asarray(truth.transpose(*order).values, np.float64)
        scored = ok & ~np.isfinite(y) & np.isfinite(ref) & np.isfinite(y).any(axis=t_ax,
                                                                             keepdims=True)
    fill_options.setdefault("keep_observed", True)
    filled = fill_array(view.astype(np.float32), out, valid=valid, name=name,
                        axis_names=[mapping[a] for a in out.axes], background_axis=t_ax,
                        **fill_options)
    cal = _fit_both(filled, ref, view, scored, t_ax, spec,
                    fitted_on=f"{how} of {name!r} (seed {seed})")
    out.meta[CALIBRATION_KEY] = cal.to_meta()
    card = out.meta.setdefault("model_card", {})
    card["error_calibration"] = {
        "fitted_on": cal.fitted_on, "n_points": cal.n_points,
        **{k: round(float(x), 4) for k, x in cal.scores.items()},
        "command": f"varda.calibrate(model, {name}{', truth=...' if truth is not None else ''}, "
                   f"seed={seed})"}
    return out




def _fit_both(filled: np.ndarray, ref: np.ndarray, view: np.ndarray, scored: np.ndarray,
              t_ax: int, spec: dict, *, fitted_on: str) -> Calibration:
    """The calibration of ``filled`` against ``ref`` at ``scored``, with a constant and with a
    local signal variance (smoothed over the OI's length scale); the one with the lower CRPS
    there, its rival's CRPS in its scores."""
    v = posterior_variance(view, t_ax, spec)
    # far from every observation the fill is the running climatology: its error variance
    clim = background(view, t_ax, {"kind": "running_mean", "time_scale": spec["time_scale"]})
    residual, clim_err = (filled - ref)[scored], (clim - ref)[scored]
    flat = fit_calibration(residual, v[scored], oi=spec, fitted_on=fitted_on,
                           prior_variance=float(np.mean(clim_err ** 2)))
    seen = np.isfinite(view)
    anom = view - clim
    local = {"time_scale": spec["time_scale"], "smooth": float(spec["length_scale"]),
             "fallback": float(np.mean(anom[seen] ** 2)) if seen.any() else 1.0}
    s2 = local_variance(view, t_ax, {**spec, **local})[scored]
    scaled = fit_calibration(residual, v[scored], oi=spec, fitted_on=fitted_on,
                             prior_variance=float(np.mean(clim_err ** 2 / s2)), scale2=s2,
                             local_variance=local)
    best, other = ((scaled, flat) if scaled.scores["crps"] < flat.scores["crps"]
                   else (flat, scaled))
    best.scores["crps_other_form"] = other.scores["crps"]
    return best


def calibrate_trained(model: VarModel, obs: xr.DataArray, **kwargs: Any) -> VarModel:
    """:func:`calibrate` for :func:`varda.train`: where the data cannot calibrate the model
    (no time dim, too few withheld points) the model is returned uncalibrated with the reason
    in ``meta["calibration_note"]``, which ``error=True`` then reports."""
    try:
        return calibrate(model, obs, **kwargs)
    except InputError as e:
        model.meta["calibration_note"] = f"varda.train could not calibrate it: {e}"
        return model


__all__ = ["calibrate", "calibrate_trained"]
