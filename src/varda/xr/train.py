"""Train a gap-filling model from xarray data: ``varda.train(da)``.

Self-supervised from a gappy archive (no ground truth) or supervised (``truth=``). With no
model given, the configuration is chosen from the data (patch sizes, time window) and a few
candidates are compared on held-out observations (see :mod:`varda.xr.training`).
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

from varda.array.background import background
from varda.array.sampling import cut_patches, patch_sizes_ok
from varda.core.model import VarModel, build_model
from varda.core.training import evaluate_mse, fit, prepare_data
from varda.errors import InputError
from varda.xr.axes import check_coords, check_time_sorted, map_axes, ordered, time_dim
from varda.xr.masks import as_broadcastable, static_mask
from varda.xr.training.autoconfig import Plan, em_pca, plan_from_data
from varda.xr.training.budget import convolved_points, hidden_width, plan_work
from varda.xr.training.holdouts import HELD_OUT, BorrowedClouds, MarkedHoldout, held_out_marks
from varda.xr.training.splits import time_blocks

#: fixed work of one candidate in automatic training (epochs × steps of ``batch_size``)
AUTO_EPOCHS = 30
AUTO_STEPS = 12
AUTO_PATIENCE = 6
#: validation samples scored each epoch (a fixed, seeded subset of the validation patches)
MAX_VAL_SAMPLES = 64


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


def _segments_take(arr: np.ndarray, axis: int, segs) -> list[np.ndarray]:
    return [np.take(arr, np.arange(a, b), axis=axis) for a, b in segs]


def _cut(arrays: list[np.ndarray], m: VarModel, tpos: int | None, segs, step):
    """Cut patches from every segment of the time axis (never across segments)."""
    if tpos is None or segs is None:
        return cut_patches(arrays, m.patch_shape, stride=step)
    parts: list[list[np.ndarray]] = [[] for _ in arrays]
    for a, b in segs:
        sub = [np.take(x, np.arange(a, b), axis=tpos) for x in arrays]
        try:
            cut = cut_patches(sub, m.patch_shape, stride=step)
        except InputError:       # a segment shorter than the window
            continue
        for i, c in enumerate(cut):
            parts[i].append(c)
    if not parts[0]:
        raise InputError("no time segment is as long as the model's time window")
    return [np.concatenate(p) for p in parts]


def _to_t(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a))[:, None]


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
            150) that, with the data size, sets a *fixed* number of steps per candidate
            (:mod:`varda.xr.training.budget`; the same on any machine and under any load;
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
        ``meta["n_iter_max"]`` the largest K a fill may use, ``meta["training"]`` records the
        data, the split, the chosen configuration, every candidate's validation score, the
        history and why training stopped, ``meta["fill_defaults"]`` keeps observed values.
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
    work = ({"max_time": max_time, "n_candidates": len(cands)}
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
        m = _train_one(da, m, cname, truth=truth, dims=dims, mask=mask, stride=stride,
                       epochs=epochs, seed=seed, first_guess_epochs=first_guess_epochs,
                       max_time=budget, device=device, progress=progress,
                       val_fraction=val_fraction, work=work, **fit_options)
        trained[cname] = m
        tr = m.meta["training"]
        results[cname] = {"val_mse": float(tr["best_val_mse"]), "n_iter": m.n_iter,
                          "epochs_run": tr["epochs_run"], "stop_reason": tr["stop_reason"],
                          "wall_time_s": tr["wall_time_s"],
                          "n_parameters": int(sum(p.numel() for p in m.parameters()))}
    best = min(results, key=lambda k: results[k]["val_mse"])
    m = trained[best]
    tr = m.meta["training"]
    tr.update({"candidates": results, "chosen": best,
               "total_wall_time_s": round(time.perf_counter() - t_start, 2)})
    if plan is not None:
        tr["auto_config"] = plan.card()
    m.meta["n_iter_max"] = int(m.n_iter)
    m.meta.setdefault("fill_defaults", {"keep_observed": True})
    card = m.meta.setdefault("model_card", {})
    card.update({
        "variable": str(name), "trained_with": "varda.train",
        "method": ("automatic: " if auto else "") + best,
        "validation": (f"{'supervised' if truth is not None else 'self-supervised'}; separate "
                       "time blocks; held-out observations hidden by clouds borrowed from "
                       "other times" if truth is None else "separate time blocks, truth"),
        "validation_mse_normalised": {k: round(v["val_mse"], 5) for k, v in results.items()},
        "n_iter": int(m.n_iter), "stop_reason": tr["stop_reason"]})
    card.setdefault("command", f"varda.train(da{'' if auto else ', model'}, seed={seed})")
    return m


def _train_one(da: xr.DataArray, m: VarModel, cname: str, *, truth, dims, mask, stride,
               epochs: int, seed: int, first_guess_epochs, max_time, device, progress,
               val_fraction: float, work: "dict | None" = None,
               **fit_options: Any) -> VarModel:
    """Train one model (in place) on time-block splits; returns it with its training record."""
    name = da.name if da.name is not None else "data"
    mode = fit_options.get("mode", "joint")
    fg = getattr(m, "first_guess", None)
    with_fg = fg is not None and fg.needs_truth and mode in ("joint", "solver")
    if with_fg and truth is None:
        raise InputError(f"the model has a learned first guess, which trains on true states: "
                         f"pass truth= (complete fields), or train {name!r} self-supervised "
                         "with a model without first_guess")
    mapping = map_axes(da, m.axes, dims, m.patch_shape)
    check_coords(da, list(mapping.values()))
    patch_sizes_ok(m, [da.sizes[mapping[a]] for a in m.axes], str(name))
    order = ordered(da, mapping, m.axes)
    tdim = time_dim(da, mapping)
    obs = _observations(da, mask, tdim, order, str(name))
    observed = np.isfinite(obs)
    n_obs = int(observed.sum())
    if n_obs == 0:
        raise InputError(f"{name!r} has no observed value to train on")
    bg_spec = m.meta.get("background")
    bg = marks = None
    if bg_spec is not None:
        if tdim is None:
            raise InputError(f"the model fills anomalies from a background along time, "
                             f"but {name!r} has no time dim: pass dims={{'time': <dim>}}")
        t_ax = order.index(tdim)
        if truth is None and bg_spec.get("kind") == "oi":
            # the held-out observations must be hidden from the interpolated background too
            hidden = held_out_marks(observed, t_ax, seed=seed)
            bg = background(np.where(hidden, np.nan, obs), t_ax, bg_spec)
            marks = np.where(hidden, HELD_OUT, observed).astype(np.float32)
        else:
            bg = background(obs, t_ax, bg_spec)
        obs = obs - bg
    if m.norm_mean == 0.0 and m.norm_std == 1.0 and not m.meta.get("physical_units"):
        vals = obs[observed]
        m.set_normalization(float(vals.mean()), float(vals.std()) or 1.0)
    arrays = [obs]
    if truth is not None:
        tru = _as_numpy(truth, order)
        if bg is not None:
            tru = tru - bg
        arrays.append(np.where(np.isfinite(tru), tru, m.norm_mean).astype(np.float32))
    if marks is not None:
        arrays.append(marks)
    step = None
    if stride is not None:
        step = [int(stride.get(a, max(1, p // 2))) for a, p in zip(m.axes, m.patch_shape)]
    elif tdim is not None and tdim in [mapping[a] for a in m.axes]:
        t_ax = [mapping[a] for a in m.axes].index(tdim)
        step = [max(1, p // 2) for p in m.patch_shape]
        step[t_ax] = max(1, m.patch_shape[t_ax] // 3)
    tpos = order.index(tdim) if tdim is not None else None
    window = m.patch_shape[[mapping[a] for a in m.axes].index(tdim)] \
        if tdim in [mapping[a] for a in m.axes] else 1
    segs_tr = segs_va = None
    if tpos is not None:
        n_time = obs.shape[tpos]
        block = max(window, n_time // 10, 1)
        try:
            segs_tr, segs_va = time_blocks(n_time, block=block, val_fraction=val_fraction,
                                           seed=seed)
        except InputError:
            segs_tr = segs_va = None
    if segs_tr is not None:
        tr_arrays = _cut(arrays, m, tpos, segs_tr, step)
        va_arrays = _cut(arrays, m, tpos, segs_va, step)
    else:
        tr_arrays, va_arrays = cut_patches(arrays, m.patch_shape, stride=step), None

    def prepared(arrs):
        y = arrs[0]
        keep = np.isfinite(y).reshape(len(y), -1).any(axis=1)
        y = y[keep]
        x = _to_t(arrs[1][keep]) if truth is not None else None
        mk = arrs[-1][keep] if marks is not None else np.isfinite(y)
        return x, _to_t(np.nan_to_num(y)), _to_t(mk)

    x_tr, y_tr, m_tr = prepared(tr_arrays)
    if len(y_tr) == 0:
        raise InputError(f"{name!r}: no training patch has an observed value")
    val = None
    if va_arrays is not None:
        x_va, y_va, m_va = prepared(va_arrays)
        if len(y_va) > MAX_VAL_SAMPLES:
            pick = np.sort(np.random.default_rng(seed).choice(len(y_va), MAX_VAL_SAMPLES,
                                                              replace=False))
            x_va = None if x_va is None else x_va[pick]
            y_va, m_va = y_va[pick], m_va[pick]
        if len(y_va):
            val = (x_va, y_va, m_va)
    holdout = fit_options.pop("holdout", None)
    if truth is None and holdout is None:
        holdout = MarkedHoldout() if marks is not None else BorrowedClouds(m_tr)
    elif holdout is None:
        holdout = 0.2
    if work is not None:      # automatic mode: the fixed work of this candidate
        w = plan_work(len(y_tr), patch_points=convolved_points(m.config, m.patch_shape),
                      n_iter=m.n_iter,
                      hidden=hidden_width(m.config), n_candidates=work["n_candidates"],
                      batch_size=int(fit_options.get("batch_size", 16)),
                      max_time=work["max_time"], max_steps=AUTO_EPOCHS * AUTO_STEPS)
        epochs, fit_options["steps_per_epoch"] = w.epochs, w.steps_per_epoch
    if cname == "eof" and truth is None:
        _init_eof(m, y_tr, m_tr, seed)
    fg_history = None
    if with_fg:
        fg_options = {k: v for k, v in fit_options.items()
                      if k not in ("mode", "n_iter_schedule", "patience")}
        fg_history = fit(m, x_tr, y_tr, m_tr, mode="first_guess", seed=seed, val=val,
                         epochs=epochs if first_guess_epochs is None else first_guess_epochs,
                         max_time=max_time, device=device, progress=progress, **fg_options)
    history = fit(m, x_tr, y_tr, m_tr, epochs=epochs, seed=seed, val=val, holdout=holdout,
                  max_time=max_time, device=device, progress=progress,
                  val_fraction=val_fraction if val is None else 0.1, **fit_options)
    tr = m.meta["training"]
    if work is not None:
        tr["budget"] = w.card()
    if fg_history is not None:
        tr["first_guess_history"] = fg_history
    best_k = history[tr["best_epoch"] - 1]["n_iter"] if history else m.n_iter
    if best_k != m.n_iter:
        tr["n_iter_configured"] = m.n_iter
        m.n_iter = int(best_k)     # the K the kept weights were validated at
    if val is not None:
        # fewer iterations may validate better (0: the background / first guess alone)
        sweep = _sweep_n_iter(m, val, holdout, seed)
        k_best = min(sweep, key=lambda k: (sweep[k], k))
        tr["val_mse_by_n_iter"] = {str(k): round(v, 6) for k, v in sweep.items()}
        if k_best != m.n_iter:
            tr["n_iter_trained"] = m.n_iter
            m.n_iter = int(k_best)
        tr["best_val_mse"] = sweep[k_best]
    tr.update({
        "variable": str(name), "supervised": truth is not None,
        "n_patches": len(y_tr), "n_val_patches": 0 if val is None else len(val[1]),
        "n_observed": n_obs, "dims": {a: mapping[a] for a in m.axes}, "history": history,
        "split": ({"time_dim": tdim, "train_segments": segs_tr, "val_segments": segs_va}
                  if segs_tr is not None else {"random_patches": True}),
        "holdout": ("clouds borrowed from other samples" if isinstance(holdout, BorrowedClouds)
                    else "clouds borrowed from other times, held out once (also from the "
                         "background)" if isinstance(holdout, MarkedHoldout) else holdout)})
    if isinstance(holdout, BorrowedClouds):
        tr["holdout_fraction"] = round(holdout.fraction_hidden(m_tr[:256], seed), 3)
    elif marks is not None:
        tr["holdout_fraction"] = round(float((marks == HELD_OUT).sum() / max(1, (marks > 0).sum())), 3)
    return m


def _sweep_n_iter(m: VarModel, val: tuple, holdout, seed: int) -> dict[int, float]:
    """Validation MSE (normalised) of the trained model at every K from 0 to ``m.n_iter``."""
    x, y, mk = prepare_data(m, *val)
    return {k: evaluate_mse(m, x, y, mk, n_iter=k, holdout=holdout, seed=seed, batch_size=16)
            for k in range(m.n_iter + 1)}


def _init_eof(m: VarModel, y: torch.Tensor, mask: torch.Tensor, seed: int) -> None:
    """Start a PCA prior from the EOFs of the (gappy, normalised) training patches."""
    from varda.core.priors.pca import PCAPrior

    prior = m.prior
    if not isinstance(prior, PCAPrior):
        return
    z = m.normalize(y).reshape(len(y), -1).numpy()
    om = ((mask > 0) & (mask < HELD_OUT)).reshape(len(y), -1).numpy()   # not the held-out
    k = prior.components.shape[1]
    mu, comps = em_pca(z, om, k, seed=seed)
    with torch.no_grad():
        prior.mean.copy_(torch.from_numpy(mu))
        prior.components[:, :comps.shape[1]].copy_(torch.from_numpy(comps))


__all__ = ["evaluate_mse", "train"]
