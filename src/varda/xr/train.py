"""Train a gap-filling model from xarray data: ``varda.train(da)``.

Self-supervised from a gappy archive (no ground truth) or supervised (``truth=``). With no
model given, the configuration is chosen from the data (patch sizes, time window) and a few
candidates are compared on held-out observations. This module is the DataArray adapter: it
checks the input, maps the dims and hands arrays to :mod:`varda.training`, which does the rest
(candidates, holdouts, splits, the fit, the choice of K and of the candidate).
"""
from __future__ import annotations

import copy
import os
import time
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
import xarray as xr
from tqdm.auto import tqdm

from varda.array.sampling import patch_sizes_ok
from varda.core.model import VarModel, build_model
from varda.core.trainer import evaluate_mse
from varda.errors import InputError
from varda.training.autoconfig import Plan, plan_from_data
from varda.training.candidate import Archive, train_candidate
from varda.training.choice import best_candidate, candidate_result, record_choice
from varda.xr.axes import check_coords, check_time_sorted, map_axes, ordered, time_dim
from varda.xr.calibrate import calibrate_trained
from varda.xr.masks import as_broadcastable, static_mask

#: fixed work of one candidate in automatic training (epochs × steps of ``batch_size``)
AUTO_EPOCHS = 30
AUTO_STEPS = 12
AUTO_PATIENCE = 6


def _as_numpy(da: xr.DataArray, order: list[str]) -> np.ndarray:
    return np.asarray(da.transpose(*order).values, dtype=np.float32)


def _observations(da: xr.DataArray, mask: "xr.DataArray | bool | None", tdim: "str | None",
                  order: list[str], name: str) -> np.ndarray:
    """The data as float32 in ``order``, NaN outside the field (land, or ``mask`` False)."""
    valid = as_broadcastable(static_mask(da, mask, tdim), order)
    obs = _as_numpy(da, order)
    if valid is not None:
        if not valid.any():
            raise InputError(f"{name!r}: the mask leaves no point to fill (no ocean): check "
                             "mask= (True where the field is defined)")
        obs = np.where(valid, obs, np.nan)
    return obs


def _check_input(da: xr.DataArray, truth: xr.DataArray | None) -> None:
    name = da.name if da.name is not None else "data"
    if not isinstance(da, xr.DataArray):
        raise InputError(f"varda.train needs an xarray.DataArray, got {type(da).__name__}; "
                         "for a Dataset pick the variable: varda.train(ds['sst'])")
    if np.dtype(da.dtype).kind != "f":
        raise InputError(f"{name!r} has dtype {da.dtype}; training needs float data with NaN "
                         "where missing (convert with .astype('float32'))")
    tdim = time_dim(da, {})
    if tdim is not None:
        check_time_sorted(da, tdim)
    if truth is not None:
        if not isinstance(truth, xr.DataArray):
            raise InputError(f"truth must be a DataArray on the grid of {name!r}")
        if dict(truth.sizes) != dict(da.sizes):
            raise InputError(f"truth has dims {dict(truth.sizes)}, the observations "
                             f"{dict(da.sizes)}; they must be on the same grid")
        for d in da.dims:
            if d in da.indexes and d in truth.indexes and \
                    not da.indexes[d].equals(truth.indexes[d]):
                raise InputError(f"truth and {name!r} differ in their {d!r} coordinate; they "
                                 "must be on the same grid (interpolate one onto the other, "
                                 "e.g. truth.interp_like(da))")


def _resolve(model: Any, da: xr.DataArray, dims, mask, seed: int) -> tuple[dict[str, Any], Plan | None]:
    """Candidates ``{name: VarModel or config}`` and the automatic plan (or None)."""
    if model is None:
        plan = _auto_plan(da, dims, mask, seed)
        return dict(plan.candidates), plan
    if isinstance(model, VarModel):
        return {"given": copy.deepcopy(model)}, None   # never modify the caller's model
    if isinstance(model, dict):
        return {"given": model}, None
    if isinstance(model, (str, os.PathLike)):
        from varda.core.checkpoint import load
        return {"given": load(model)}, None
    raise InputError(f"model= must be None (choose automatically), a VarModel, a config dict, "
                     f"a checkpoint path or a pretrained name; got {type(model).__name__}")


def _auto_plan(da: xr.DataArray, dims, mask, seed: int) -> Plan:
    name = da.name if da.name is not None else "data"
    tdim = time_dim(da, dict(dims or {}))
    if tdim is None or da.ndim != 3:
        raise InputError(f"{name!r} has dims {tuple(da.dims)}; automatic training needs "
                         "(time, y, x) fields with a time dim (named 'time' or with a CF time "
                         "axis); otherwise pass model=varda.model_config(axes, patch)")
    order = [tdim] + [str(d) for d in da.dims if d != tdim]
    return plan_from_data(_observations(da, mask, tdim, order, str(name)), order, seed=seed)


def train(da: xr.DataArray, model: VarModel | dict | str | os.PathLike | None = None, *,
          truth: xr.DataArray | None = None, dims: Mapping[str, str] | None = None,
          mask: xr.DataArray | bool | None = None, stride: Mapping[str, int] | None = None,
          epochs: int | None = None, seed: int = 0, first_guess_epochs: int | None = None,
          max_time: float | None = None, device: str = "auto", progress: bool = True,
          val_fraction: float = 0.2, candidates: list[str] | None = None,
          **fit_options: Any) -> VarModel:
    """Train a gap-filling model on ``da`` (observations, NaN where missing).

    ``model`` may be:

    * ``None`` (default): the configuration is chosen from the data — patch sizes from the
      grid, a time window from the observed time correlation, an OI background (running
      climatology + local optimal interpolation, scales chosen on held-out observations) whose
      errors the models learn to correct — and two candidates are trained and compared on
      held-out observations: ``"eof"``, a linear EOF (PCA) prior fitted on the observations
      inside the variational cost (a variational DINEOF) with a learned ConvLSTM solver, and
      ``"unet"``, a two-scale bilinear U-Net prior with a ConvLSTM solver. The one with the
      lower validation error is returned (``candidates=`` restricts the list), at the number
      of solver iterations K (0 to the trained K) that validates best: K = 0 means the learned
      correction did not beat the background on validation, and the fill is the background.
    * a config dict (e.g. :func:`varda.model_config`), a :class:`VarModel`, a checkpoint path
      or a pretrained name: trained (fine-tuned) as given; the caller's model is not modified.

    Without ``truth`` training is self-supervised, as in DINCAE: observed points that are
    cloudy in *another* time step's mask are hidden from the solver (and, for an OI background,
    from the background too) and scored, so the held-out regions look like real clouds. With
    ``truth`` (complete fields on the same grid) it is supervised. Validation uses separate blocks of time (about ``val_fraction`` of the record)
    that no training patch overlaps; the best epoch is kept and training stops early when the
    validation error stops improving (``patience``, default 8 epochs in automatic mode).

    Args:
        da: float DataArray; land (NaN at every time step, or ``mask=False`` where given) is
            never filled.
        truth: complete fields on the same grid (supervised training).
        dims: ``{model_axis: dim}`` where names and CF axes do not say it.
        mask: static mask as in :func:`varda.fill`.
        stride: step between training patches per model axis (default: half a patch).
        epochs: training epochs (default 20; in automatic mode the work is planned, see
            ``max_time``; giving ``epochs`` or ``steps_per_epoch`` there fixes it yourself).
        seed: seeds everything (splits, holdouts, weights, batches).
        first_guess_epochs: epochs of a learned first guess (supervised models only).
        max_time: in automatic mode, the time budget in seconds on 2 CPU cores (default
            120) that, with the data size, sets a *fixed* number of steps per candidate
            (:mod:`varda.training.budget`; the same on any machine and under any load;
            ``meta["training"]["budget"]`` says how it was chosen). For a given model, a
            wall-clock cap on the whole training (shared between candidates); the model
            keeps the iteration count K it was validated at (``model.n_iter``).
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``.
        progress: tqdm progress bars.
        val_fraction: share of the time blocks kept for validation.
        candidates: names of the automatic candidates to compare (default all).
        fit_options: passed to :func:`varda.core.fit` (``batch_size``, ``lr``, ``patience``,
            ``steps_per_epoch``, ``mode``, …).

    Returns:
        the trained model. ``model.n_iter`` is the iteration count K it was validated at,
        ``model.n_iter_max`` the largest K a fill may use, ``meta["training"]`` records the
        data, the split, the chosen configuration, every candidate's validation score, the
        history and why training stopped; ``model.fill_defaults`` keeps observed values;
        ``meta["calibration"]`` is the error calibration of ``fill(error=True)``, measured by
        :func:`varda.calibrate` on held-out clouds of seed ``seed + 1`` (or on ``truth``).
    """
    _check_input(da, truth)
    name = da.name if da.name is not None else "data"
    cands, plan = _resolve(model, da, dims, mask, seed)
    if candidates is not None and plan is not None:
        unknown = set(candidates) - set(cands)
        if unknown:
            raise InputError(f"unknown candidates {sorted(unknown)}; valid: {sorted(cands)}")
        cands = {k: v for k, v in cands.items() if k in candidates}
    auto = plan is not None
    # automatic work: fixed steps from the data size and max_time (a budget, not a wall cap)
    work = ({"max_time": max_time, "n_candidates": len(cands),
             "max_steps": AUTO_EPOCHS * AUTO_STEPS}
            if auto and epochs is None and "steps_per_epoch" not in fit_options else None)
    if work is not None:
        max_time = None
    if auto:
        if work is None:
            fit_options.setdefault("steps_per_epoch", AUTO_STEPS)
        fit_options.setdefault("patience", AUTO_PATIENCE)
        fit_options.setdefault("batch_size", 16)
        fit_options.setdefault("lr", 2e-3)
        fit_options.setdefault("ema", 0.95)
        epochs = AUTO_EPOCHS if epochs is None else epochs
    epochs = 20 if epochs is None else int(epochs)
    t_start = time.perf_counter()
    results: dict[str, dict] = {}
    trained: dict[str, VarModel] = {}
    bar = tqdm(list(cands.items()), desc="varda.train", disable=not progress or len(cands) < 2)
    for i, (cname, spec) in enumerate(bar):
        bar.set_postfix(candidate=cname)
        budget = None
        if max_time is not None:
            left = max_time - (time.perf_counter() - t_start)
            budget = max(1.0, left / (len(cands) - i))
        torch.manual_seed(seed)
        m = build_model(spec) if isinstance(spec, dict) else spec
        trained[cname] = _train_one(
            da, m, cname, truth=truth, dims=dims, mask=mask, stride=stride, epochs=epochs,
            seed=seed, first_guess_epochs=first_guess_epochs, max_time=budget, device=device,
            progress=progress, val_fraction=val_fraction, work=work, **fit_options)
        results[cname] = candidate_result(trained[cname])
    best = best_candidate(results)
    m = trained[best]
    record_choice(m, results=results, chosen=best, t_start=t_start,
                  auto_config=plan.card() if plan is not None else None, variable=str(name),
                  supervised=truth is not None, seed=seed)
    # the error calibration of fill(error=True), on held-out clouds of another seed
    return calibrate_trained(m, da, truth=truth, dims=dims, mask=mask, seed=seed + 1,
                             device=device)


def _train_one(da: xr.DataArray, m: VarModel, cname: str, *, truth, dims, mask,
               **options: Any) -> VarModel:
    """Train one model (in place): map ``da``'s dims to the model's axes, check them, and hand
    the arrays to :func:`varda.training.candidate.train_candidate`."""
    name = da.name if da.name is not None else "data"
    mapping = map_axes(da, m.axes, dims, m.patch_shape)
    check_coords(da, list(mapping.values()))
    patch_sizes_ok(m, [da.sizes[mapping[a]] for a in m.axes], str(name))
    order = ordered(da, mapping, m.axes)
    tdim = time_dim(da, mapping)
    archive = Archive(obs=_observations(da, mask, tdim, order, str(name)),
                      truth=None if truth is None else _as_numpy(truth, order),
                      order=list(order), dims=dict(mapping), time_dim=tdim, name=str(name))
    return train_candidate(archive, m, cname, **options)


__all__ = ["evaluate_mse", "train"]
