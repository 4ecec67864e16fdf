"""Train one candidate model on an archive held as NumPy arrays: background anomalies,
self-supervised holdouts, time-block patches, the fit and the choice of K. The xarray adapter
(:mod:`varda.xr.train`) maps the dims and hands the arrays here."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from varda.array.background.field import background
from varda.core.model import VarModel
from varda.core.trainer import fit
from varda.errors import InputError
from varda.training.budget import convolved_points, hidden_width, plan_work
from varda.training.choice import choose_n_iter
from varda.training.eof_init import init_eof
from varda.training.holdouts import HELD_OUT, BorrowedClouds, MarkedHoldout, held_out_marks
from varda.training.patches import as_tensors, default_step, split_patches, validation_subset


@dataclass(frozen=True)
class Archive:
    """What a candidate trains on, as arrays (the data's dims in ``order``).

    Attributes:
        obs: observations, float32, NaN where missing or outside the field.
        truth: complete fields on the same grid (supervised), or None.
        order: the data's dim names, in the arrays' axis order.
        dims: ``{model_axis: dim}``.
        time_dim: the time dim (None: no time axis).
        name: the variable's name (for messages and the card).
    """

    obs: np.ndarray
    truth: "np.ndarray | None"
    order: list[str]
    dims: dict[str, str]
    time_dim: "str | None"
    name: str


def _anomalies(arc: Archive, m: VarModel, seed: int):
    """``(values the model learns to fill, background or None, holdout marks or None)``: with a
    background, the anomalies from it; self-supervised with an OI background, the held-out
    observations are hidden from it too and marked."""
    obs, spec = arc.obs, m.meta.get("background")
    if spec is None:
        return obs, None, None
    if arc.time_dim is None:
        raise InputError(f"the model fills anomalies from a background along time, "
                         f"but {arc.name!r} has no time dim: pass dims={{'time': <dim>}}")
    t_ax = arc.order.index(arc.time_dim)
    marks = None
    if arc.truth is None and spec.get("kind") == "oi":
        # the held-out observations must be hidden from the interpolated background too
        observed = np.isfinite(obs)
        hidden = held_out_marks(observed, t_ax, seed=seed)
        bg = background(np.where(hidden, np.nan, obs), t_ax, spec)
        marks = np.where(hidden, HELD_OUT, observed).astype(np.float32)
    else:
        bg = background(obs, t_ax, spec)
    return obs - bg, bg, marks


def _patches(arc: Archive, m: VarModel, *, stride, val_fraction: float, seed: int):
    """Training tensors, validation tensors (or None), the split, and the holdout marks."""
    obs, bg, marks = _anomalies(arc, m, seed)
    if m.norm_mean == 0.0 and m.norm_std == 1.0 and not m.meta.get("physical_units"):
        vals = obs[np.isfinite(arc.obs)]
        m.set_normalization(float(vals.mean()), float(vals.std()) or 1.0)
    arrays = [obs]
    if arc.truth is not None:
        tru = arc.truth if bg is None else arc.truth - bg
        arrays.append(np.where(np.isfinite(tru), tru, m.norm_mean).astype(np.float32))
    if marks is not None:
        arrays.append(marks)
    model_dims = [arc.dims[a] for a in m.axes]
    t_model = model_dims.index(arc.time_dim) if arc.time_dim in model_dims else None
    step = default_step(m, stride, t_model)
    tpos = arc.order.index(arc.time_dim) if arc.time_dim is not None else None
    window = m.patch_shape[t_model] if t_model is not None else 1
    tr_arrays, va_arrays, segs_tr, segs_va = split_patches(
        arrays, m, tpos=tpos, window=window, step=step, val_fraction=val_fraction, seed=seed)
    kinds = {"supervised": arc.truth is not None, "marked": marks is not None}
    train = as_tensors(tr_arrays, **kinds)
    if len(train[1]) == 0:
        raise InputError(f"{arc.name!r}: no training patch has an observed value")
    val = None if va_arrays is None else validation_subset(as_tensors(va_arrays, **kinds), seed)
    return train, val, (segs_tr, segs_va), marks


def train_candidate(arc: Archive, m: VarModel, cname: str, *, stride, epochs: int, seed: int,
                    first_guess_epochs, max_time, device, progress, val_fraction: float,
                    work: "dict | None" = None, **fit_options: Any) -> VarModel:
    """Train one model (in place) on time-block splits; returns it with its training record.

    ``work`` (automatic mode): ``{"max_time", "n_candidates", "max_steps"}``, from which the
    fixed work of this candidate (epochs × steps) is planned (:mod:`varda.training.budget`)."""
    mode = fit_options.get("mode", "joint")
    fg = getattr(m, "first_guess", None)
    with_fg = fg is not None and fg.needs_truth and mode in ("joint", "solver")
    if with_fg and arc.truth is None:
        raise InputError(f"the model has a learned first guess, which trains on true states: "
                         f"pass truth= (complete fields), or train {arc.name!r} self-supervised "
                         "with a model without first_guess")
    n_obs = int(np.isfinite(arc.obs).sum())
    if n_obs == 0:
        raise InputError(f"{arc.name!r} has no observed value to train on")
    (x_tr, y_tr, m_tr), val, (segs_tr, segs_va), marks = _patches(
        arc, m, stride=stride, val_fraction=val_fraction, seed=seed)
    holdout = fit_options.pop("holdout", None)
    if arc.truth is None and holdout is None:
        holdout = MarkedHoldout() if marks is not None else BorrowedClouds(m_tr)
    elif holdout is None:
        holdout = 0.2
    plan = None
    if work is not None:      # automatic mode: the fixed work of this candidate
        plan = plan_work(len(y_tr), patch_points=convolved_points(m.config, m.patch_shape),
                         n_iter=m.n_iter, hidden=hidden_width(m.config),
                         n_candidates=work["n_candidates"],
                         batch_size=int(fit_options.get("batch_size", 16)),
                         max_time=work["max_time"], max_steps=work["max_steps"],
                         cost=m.prior.training_cost)
        epochs, fit_options["steps_per_epoch"] = plan.epochs, plan.steps_per_epoch
    if cname == "eof" and arc.truth is None:
        init_eof(m, y_tr, m_tr, seed)
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
    if plan is not None:
        tr["budget"] = plan.card()
    if fg_history is not None:
        tr["first_guess_history"] = fg_history
    choose_n_iter(m, history, val, holdout, seed)
    tr.update({
        "variable": arc.name, "supervised": arc.truth is not None,
        "n_patches": len(y_tr), "n_val_patches": 0 if val is None else len(val[1]),
        "n_observed": n_obs, "dims": {a: arc.dims[a] for a in m.axes}, "history": history,
        "split": ({"time_dim": arc.time_dim, "train_segments": segs_tr,
                   "val_segments": segs_va}
                  if segs_tr is not None else {"random_patches": True}),
        "holdout": ("clouds borrowed from other samples" if isinstance(holdout, BorrowedClouds)
                    else "clouds borrowed from other times, held out once (also from the "
                         "background)" if isinstance(holdout, MarkedHoldout) else holdout)})
    if isinstance(holdout, BorrowedClouds):
        tr["holdout_fraction"] = round(holdout.fraction_hidden(m_tr[:256], seed), 3)
    elif marks is not None:
        tr["holdout_fraction"] = round(float((marks == HELD_OUT).sum()
                                             / max(1, (marks > 0).sum())), 3)
    return m
