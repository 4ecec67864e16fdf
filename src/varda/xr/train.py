"""Train a model from xarray data: with truth, or self-supervised from a gappy archive."""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import torch
import xarray as xr

from varda.array.sampling import cut_patches
from varda.core.model import VarModel, build_model
from varda.core.training import fit
from varda.errors import InputError
from varda.xr.axes import check_coords, map_axes, ordered, time_dim
from varda.xr.masks import as_broadcastable, static_mask


def _as_numpy(da: xr.DataArray, order: list[str]) -> np.ndarray:
    return np.asarray(da.transpose(*order).values, dtype=np.float32)


def train(da: xr.DataArray, model: "VarModel | dict", *, truth: "xr.DataArray | None" = None,
          dims: "Mapping[str, str] | None" = None, mask: "xr.DataArray | bool | None" = None,
          stride: "Mapping[str, int] | None" = None, epochs: int = 20, seed: int = 0,
          first_guess_epochs: "int | None" = None, **fit_options: Any) -> VarModel:
    """Train ``model`` (a VarModel or a config for :func:`varda.build_model`) on ``da``.

    ``da`` holds the observations (NaN where missing). With ``truth`` (complete fields on the
    same grid) training is supervised; without it, it is self-supervised: part of the
    observations is hidden from the solver and scored (``holdout``, default 20 %).

    The data are cut into the model's ``patch_shape`` along its axes (mapped as in
    :func:`varda.fill`; every other dim is a batch dim) with ``stride`` (default: half a patch).
    The normalisation is set from the observed values (mean, std) unless the model already
    has one. Land (NaN at every time step, or ``mask=False`` where given) is unobserved and, in
    the truth, set to the field mean so that it weighs nothing. ``fit_options`` go to
    :func:`varda.core.fit` (``batch_size``, ``lr``, ``mode``, ``max_time``, ``device``, …).

    A model with a learned first guess (``model_config(..., first_guess=True)``) trains it
    first, alone, on the same patches (``first_guess_epochs``, default ``epochs``; a
    ``max_time`` applies to each stage), then the prior and solver from its output. It
    needs ``truth``.

    Returns:
        the trained model; ``model.meta["training"]`` records the data and the history.
    """
    if np.dtype(da.dtype).kind != "f":
        raise InputError(f"{da.name!r} has dtype {da.dtype}; training needs float data with NaN "
                         "where missing (convert with .astype('float32'))")
    m = build_model(model) if isinstance(model, dict) else model
    mode = fit_options.get("mode", "joint")
    with_fg = getattr(m, "first_guess", None) is not None and mode in ("joint", "solver")
    if with_fg and truth is None:
        raise InputError(f"the model has a learned first guess, which trains on true states: "
                         f"pass truth= (complete fields), or train {da.name!r} self-supervised "
                         "with a model without first_guess")
    mapping = map_axes(da, m.axes, dims)
    check_coords(da, list(mapping.values()))
    order = ordered(da, mapping, m.axes)
    valid = as_broadcastable(static_mask(da, mask, time_dim(da, mapping)), order)
    obs = _as_numpy(da, order)
    if valid is not None:
        obs = np.where(valid, obs, np.nan)
    observed = np.isfinite(obs)
    if not observed.any():
        raise InputError(f"{da.name!r} has no observed value to train on")
    if m.norm_mean == 0.0 and m.norm_std == 1.0 and not m.meta.get("physical_units"):
        vals = obs[observed]
        m.set_normalization(float(vals.mean()), float(vals.std()) or 1.0)
    arrays = [obs]
    if truth is not None:
        if truth.shape != da.shape or set(truth.dims) != set(da.dims):
            raise InputError(f"truth has dims {dict(truth.sizes)}, the observations "
                             f"{dict(da.sizes)}; they must be on the same grid")
        tru = _as_numpy(truth, order)
        arrays.append(np.where(np.isfinite(tru), tru, m.norm_mean).astype(np.float32))
    step = None
    if stride is not None:
        step = [int(stride.get(a, max(1, p // 2))) for a, p in zip(m.axes, m.patch_shape)]
    patches = cut_patches(arrays, m.patch_shape, stride=step)
    y = patches[0]
    keep = np.isfinite(y).reshape(len(y), -1).any(axis=1)  # drop patches with no observation
    y = y[keep]
    omega = np.isfinite(y)
    to_t = lambda a: torch.from_numpy(np.ascontiguousarray(a))[:, None]  # noqa: E731
    x = to_t(patches[1][keep]) if truth is not None else None
    yt, mt = to_t(np.nan_to_num(y)), to_t(omega)
    fg_history = None
    if with_fg:
        fg_options = {k: v for k, v in fit_options.items() if k not in ("mode", "n_iter_schedule")}
        fg_history = fit(m, x, yt, mt, mode="first_guess", seed=seed,
                         epochs=epochs if first_guess_epochs is None else first_guess_epochs,
                         **fg_options)
    history = fit(m, x, yt, mt, epochs=epochs, seed=seed, **fit_options)
    if fg_history is not None:
        m.meta["training"]["first_guess_history"] = fg_history
    m.meta.setdefault("training", {}).update({
        "variable": str(da.name), "supervised": truth is not None, "n_patches": int(len(y)),
        "dims": {a: mapping[a] for a in m.axes}, "history": history})
    return m
