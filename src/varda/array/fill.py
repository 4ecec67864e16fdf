"""Array entry points: fill a NumPy or dask array with a model, patch-wise.

The model's axes are the *last* axes of the array; any leading axes are independent windows
(batched). NaN marks the points that are not observed.
"""
from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from varda.array.background.field import background
from varda.array.model_cache import ModelRef, get_model
from varda.array.resolved import ModelLike, ResolvedModel
from varda.array.error import fill_error
from varda.array.patches import blend_patches
from varda.array.solve import fixed_axes, model_solver
from varda.array.options import FillOptions
from varda.array.tiling import AxisGrid, stride_for
from varda.array.validate import check_array, check_summary
from varda.core.model import VarModel
from varda.errors import InputError, NothingToFillWarning, VardaWarning


@dataclass
class FillReport:
    """What a fill did (counts over the whole array)."""

    n_points: int = 0
    n_valid: int = 0
    n_observed: int = 0
    n_filled: int = 0
    model_name: str = ""
    model_sha256: str = ""
    model_path: str = ""
    settings: dict = field(default_factory=dict)

    @property
    def fraction_filled(self) -> float:
        """Fraction of the field's (valid) points that were missing and got filled."""
        return self.n_filled / self.n_valid if self.n_valid else 0.0


def _is_dask(x) -> bool:
    return type(x).__module__.split(".")[0] == "dask"


def _counts(y, valid, nd: int):
    """Per-window counts of observed, valid, missing points and the number of ±inf (lazy on dask)."""
    axes = tuple(range(y.ndim - nd, y.ndim))
    finite = np.isfinite(y)
    return (np.isinf(y).sum(), (finite & valid).sum(axis=axes), valid.sum(axis=axes),
            (~finite & valid).sum(axis=axes))


def out_dtype(obs) -> np.dtype:
    """The dtype of a fill of ``obs``: the input's float dtype, at least float32 (float64 in,
    float64 out), so that observed values come back bit-identical."""
    return np.result_type(obs.dtype, np.float32)


def _finish(est: np.ndarray, y: np.ndarray, valid: np.ndarray, todo: np.ndarray,
            keep_observed: bool, dtype: "np.dtype | type" = np.float32) -> np.ndarray:
    """Apply keep_observed, unchanged windows and the static mask to the blended estimate."""
    dtype = np.dtype(dtype)
    out = est.astype(dtype, copy=False)
    nd = y.ndim - todo.ndim
    todo = todo.reshape(todo.shape + (1,) * nd)
    observed = np.isfinite(y) & valid
    keep = observed & (keep_observed | ~todo)
    out = np.where(keep, y.astype(dtype, copy=False), out)
    return np.where(valid, out, dtype.type(np.nan))


def _plan(obs, info_model: VarModel, options: FillOptions, name: str,
          axis_names: "Sequence[str] | None"):
    """Resolve the options against the model, validate, build the tile grids."""
    if info_model.channels != 1:
        raise InputError(f"model has {info_model.channels} channels; fill supports single-channel "
                         "models (one variable per call)")
    resolved = options.resolve(info_model)
    axes = info_model.axes
    names = tuple(axis_names) if axis_names is not None else axes
    periodic = fixed_axes(info_model)
    check_array(obs, name=name, model_axes=axes, axis_names=names,
                patch=info_model.patch_shape, periodic=periodic)
    nd = len(axes)
    trailing = obs.shape[obs.ndim - nd:]
    grids = [AxisGrid(n, p, stride_for(p, resolved.overlap) if n > p else p)
             for n, p in zip(trailing, info_model.patch_shape)]
    return resolved, grids, nd


def _report(rm: ResolvedModel, options: FillOptions, resolved: FillOptions, obs,
            counts) -> FillReport:
    n_inf, n_obs, n_valid, n_gap = counts
    settings = dataclasses.asdict(resolved)
    settings["keep_observed_from"] = "option" if options.keep_observed is not None \
        else "model default"
    settings.update(patch_shape=list(rm.model.patch_shape), axes=list(rm.model.axes))
    if rm.model.meta.get("background") is not None:
        settings["background"] = dict(rm.model.meta["background"])
    return FillReport(
        n_points=int(np.prod(obs.shape)), n_valid=int(n_valid.sum()), n_observed=int(n_obs.sum()),
        n_filled=int(n_gap.sum()), model_name=rm.name, model_sha256=rm.sha256,
        model_path=rm.path, settings=settings)


def fill_array(obs, model: "ModelLike | ResolvedModel", *, valid=None,
               options: "FillOptions | None" = None, name: str = "obs",
               axis_names: "Sequence[str] | None" = None, lead_names: Sequence[str] = (),
               return_report: bool = False, background_axis: "int | None" = None,
               error: bool = False, **option_kwargs: Any):
    """Fill the gaps (NaN) of a NumPy or dask array with a learned variational model.

    Args:
        obs: float array in raw units, NaN where not observed, the model's axes last
            (e.g. ``(..., time, site)``); leading axes are independent windows.
        model: a loaded :class:`~varda.core.model.VarModel`, a checkpoint path or a
            pretrained name (see :func:`varda.pretrained_names`), or a
            :class:`~varda.array.resolved.ResolvedModel` made by the caller.
        valid: optional bool array broadcastable to ``obs``: False at points outside the field
            (land); they stay NaN. Default: every point.
        options: a :class:`~varda.array.FillOptions` (default: its defaults).
        **option_kwargs: fields of :class:`~varda.array.FillOptions` (``keep_observed``,
            ``complete``, ``overlap``, ``n_iter``, ``batch_size``, ``device``), overriding
            ``options``.
        name: the variable's name, for error messages.
        axis_names: names of the trailing axes in the data (default: the model's axes).
        lead_names: names of the leading axes (for messages).
        return_report: also return a :class:`FillReport`.
        background_axis: the time axis of ``obs``, for a model that fills anomalies from a
            background computed along time (``model.meta["background"]``, set by
            :func:`varda.train`; see :mod:`varda.array.background`): it is computed from
            ``obs``, taken out before the fill and added back.
        error: also return the fill's error standard deviation (float32, NaN outside the
            field), from the model's calibration (:mod:`varda.array.error`; needs
            ``background_axis``, the time axis).

    Returns:
        an array of ``obs``'s shape in its float dtype, at least float32 (float64 in, float64
        out; observed values kept are bit-identical) — NumPy for NumPy, lazy dask for dask;
        with ``error=True`` a pair ``(array, error)``; with ``return_report`` the
        :class:`FillReport` last: ``(array, report)`` or ``(array, error, report)``.

    Raises:
        InputError: non-float data, wrong trailing shape, ±inf, an all-NaN window, dask chunks
            smaller than the halo. A fill with no missing value warns
            (:class:`~varda.errors.NothingToFillWarning`) and returns a result.
        CheckpointError: an unknown model path or name (the valid names are listed).
    """
    options = FillOptions.from_kwargs(options, **option_kwargs)
    rm = ResolvedModel.of(model)    # once per call; everything below takes rm
    info_model = rm.model
    resolved, grids, nd = _plan(obs, info_model, options, name, axis_names)
    complete, device = resolved.complete, resolved.device
    dask_in = _is_dask(obs)
    if dask_in:
        import dask
        import dask.array as da
        valid_b = (da.ones(obs.shape, dtype=bool, chunks=obs.chunks) if valid is None
                   else da.broadcast_to(da.asarray(valid), obs.shape).rechunk(obs.chunks))
        counts = dask.compute(*_counts(obs, valid_b, nd))
    else:
        obs = np.asarray(obs)
        valid_b = (np.ones(obs.shape, bool) if valid is None
                   else np.broadcast_to(np.asarray(valid, bool), obs.shape))
        counts = _counts(obs, valid_b, nd)
    n_inf, n_obs, n_valid, n_gap = (np.asarray(c) for c in counts)
    check_summary(name=name, n_inf=int(n_inf), n_obs=n_obs, n_valid=n_valid,
                  lead_names=lead_names)
    if int(n_gap.sum()) == 0:
        what = "denoised by the solver" if complete == "denoise" else "unchanged"
        warnings.warn(NothingToFillWarning(
            f"{name} has no missing value: nothing to fill; returning it {what} "
            f"(complete={complete!r})"), stacklevel=2)
    todo = (n_gap > 0) | (complete == "denoise")
    err = fill_error(obs, valid_b, info_model, background_axis, name) if error else None
    bg = _background(obs, info_model, background_axis, name)
    work = obs if bg is None else obs - bg      # what the model fills: values or anomalies
    dtype = out_dtype(obs)
    if dask_in:
        out = _fill_dask(work, valid_b, todo, rm.for_workers(device), grids, resolved,
                         tuple(axis_names) if axis_names is not None else info_model.axes,
                         dtype=dtype)
    else:
        solve = model_solver(rm.on(device), n_iter=resolved.n_iter,
                             batch_size=resolved.batch_size)
        est = blend_patches(work, valid_b, solve, grids=grids, origin=[0] * nd,
                            region=[(0, g.n) for g in grids], batch_size=resolved.batch_size,
                            windows=todo)
        out = _finish(est, work, valid_b, todo, bool(resolved.keep_observed), dtype)
    if bg is not None:
        out = (out + bg).astype(dtype, copy=False)
        if resolved.keep_observed:     # the observed values exactly, not (y − b) + b
            lib = da if dask_in else np
            out = lib.where(lib.isfinite(obs) & lib.isfinite(out), obs, out)
    result = (out,) if err is None else (out, err)
    if return_report:
        result += (_report(rm, options, resolved, obs, counts),)
    return result[0] if len(result) == 1 else result


def _background(obs, model: VarModel, axis: "int | None", name: str):
    """The model's background of ``obs`` (None when the model fills raw values)."""
    spec = model.meta.get("background")
    if spec is None:
        return None
    if axis is None:
        raise InputError(f"the model fills anomalies from a background computed along time; "
                         f"say which axis of {name} is time: background_axis=<axis index>")
    if not -obs.ndim <= axis < obs.ndim:
        raise InputError(f"background_axis={axis} is not an axis of {name} "
                         f"(it has {obs.ndim} axes)")
    return background(obs, axis, spec)


def _fill_block(yb: np.ndarray, vb: np.ndarray, *, todo: np.ndarray, ref: ModelRef,
                grids: Sequence[AxisGrid], in_chunks: tuple, depth: dict, options: FillOptions,
                result_dtype: "np.dtype | type" = np.float32,
                block_id: "tuple[int, ...] | None" = None) -> np.ndarray:
    """One dask block: ``yb``/``vb`` are the chunk plus its halo; returns the chunk's fill."""
    if block_id is None:
        raise ValueError("_fill_block runs through dask.array.map_blocks, which passes block_id")
    nd = len(grids)
    lead_nd = yb.ndim - nd
    start = [sum(c[:i]) for c, i in zip(in_chunks, block_id)]
    size = [c[i] for c, i in zip(in_chunks, block_id)]
    inner = tuple(slice(depth[ax], depth[ax] + size[ax]) for ax in range(yb.ndim))
    y_in, v_in = yb[inner], vb[inner]
    todo_b = todo[tuple(slice(s, s + n) for s, n in zip(start[:lead_nd], size[:lead_nd]))]
    if not (todo_b.any() and v_in.any()):
        return _finish(np.full(y_in.shape, np.nan, np.float32), y_in, v_in, todo_b,
                       bool(options.keep_observed), result_dtype)
    dtype = result_dtype
    model = get_model(ref)
    solve = model_solver(model, n_iter=options.n_iter, batch_size=options.batch_size)
    lead_sl = tuple(slice(depth[ax], depth[ax] + size[ax]) for ax in range(lead_nd))
    origin = [start[lead_nd + i] - depth[lead_nd + i] for i in range(nd)]
    region = [(start[lead_nd + i], start[lead_nd + i] + size[lead_nd + i]) for i in range(nd)]
    est = blend_patches(yb[lead_sl], vb[lead_sl], solve, grids=grids, origin=origin,
                        region=region, batch_size=options.batch_size, windows=todo_b)
    return _finish(est, y_in, v_in, todo_b, bool(options.keep_observed), dtype)


def _fill_dask(obs, valid, todo: np.ndarray, ref: ModelRef, grids: Sequence[AxisGrid],
               options: FillOptions, axis_names: Sequence[str], *,
               dtype: "np.dtype | type" = np.float32):
    """Lazy fill: halo exchange (unobserved beyond the domain), then one task per chunk."""
    import dask.array as da
    from dask.array.overlap import overlap

    nd = len(grids)
    lead_nd = obs.ndim - nd
    # untiled model axes (one patch covers them) must be a single chunk
    one_chunk = {lead_nd + i: -1 for i, g in enumerate(grids) if not g.tiled}
    if one_chunk:
        obs, valid = obs.rechunk(one_chunk), valid.rechunk(one_chunk)
    depth = {ax: 0 for ax in range(obs.ndim)}
    for i, g in enumerate(grids):
        ax = lead_nd + i
        if len(obs.chunks[ax]) > 1:
            depth[ax] = g.halo
    small = {ax: d for ax, d in depth.items() if d and min(obs.chunks[ax]) < d}
    if small:
        from dask.array.overlap import ensure_minimum_chunksize
        # a short last chunk (the remainder of the archive) is merged silently; chunks chosen
        # smaller than the halo are merged too, with a warning saying how to choose them
        chosen = {ax: d for ax, d in small.items() if min(obs.chunks[ax][:-1]) < d}
        if chosen:
            names = ", ".join(f"{axis_names[ax - lead_nd]!r} (chunks of {min(obs.chunks[ax][:-1])}"
                              f" < halo {d})" for ax, d in chosen.items())
            warnings.warn(VardaWarning(
                f"dask chunks too small for the fill's halo along {names}: merged neighbouring "
                "chunks (the result does not depend on chunking); to choose the chunks "
                "yourself, rechunk to at least patch - 1 points along these axes, e.g. "
                f"da.chunk({{{axis_names[min(chosen) - lead_nd]!r}: "
                f"{2 * max(chosen.values()) + 2}}})"), stacklevel=4)
        new = {ax: ensure_minimum_chunksize(d, obs.chunks[ax]) for ax, d in small.items()}
        obs, valid = obs.rechunk(new), valid.rechunk(new)
    nan_bd = {ax: (np.nan if depth[ax] else "none") for ax in depth}
    false_bd = {ax: (False if depth[ax] else "none") for ax in depth}
    yo = overlap(obs, depth=depth, boundary=nan_bd)
    vo = overlap(valid, depth=depth, boundary=false_bd)
    return da.map_blocks(
        _fill_block, yo, vo, todo=todo, ref=ref, grids=tuple(grids), in_chunks=obs.chunks,
        depth=depth, options=options, result_dtype=np.dtype(dtype), dtype=np.dtype(dtype),
        chunks=obs.chunks,
        meta=np.empty((0,) * obs.ndim, np.dtype(dtype)), token="varda-fill")


def fill_numpy(obs: np.ndarray, model: "ModelLike | ResolvedModel", **options: Any) -> np.ndarray:
    """:func:`fill_array` for an in-memory NumPy array (returns NumPy, in the input's float
    dtype, at least float32)."""
    if _is_dask(obs):
        raise TypeError("fill_numpy got a dask array; use fill_dask (or fill_array) to stay lazy")
    return fill_array(np.asarray(obs), model, **options)


def fill_dask(obs, model: "ModelLike | ResolvedModel", **options: Any):
    """:func:`fill_array` for a dask array (returns a lazy dask array in the input's float
    dtype, at least float32, same chunks)."""
    if not _is_dask(obs):
        raise TypeError(f"fill_dask needs a dask array, got {type(obs).__name__}; use fill_numpy")
    return fill_array(obs, model, **options)
