"""The background a model fills anomalies from: taken out before a fill, added back after.

A model trained by :func:`varda.train` on an archive fills *anomalies* ``y − b``. The
background ``b`` is computed from the data being filled (never from a truth), over the whole
record, so that what a short patch cannot see — a seasonal cycle, a large-scale gradient, the
observations of the days before and after its window — reaches every patch. Two kinds, named
by the model (``model.meta["background"]``, a JSON spec):

* ``"running_mean"``: each pixel's running climatology along time, the Gaussian-weighted mean
  of its observations at *other* times (:func:`varda.array.background.running_mean.running_background`).
* ``"oi"``: that climatology plus a local optimal interpolation of the anomalies around it with
  a Gaussian space–time covariance (:func:`varda.array.background.oi_lattice.oi_lattice`; the classical
  method the learned solver then corrects, as 4DVarNet corrects an OI). Observed points get
  the interpolation of the *other* observations (leave-one-out), so ``y − b`` is informative
  there too.

Distances are in grid steps (every axis but time is a spatial axis) and times in steps.
Layers: array kernels (:mod:`~varda.array.background.running_mean`, :mod:`~varda.array.background.oi_lattice`) →
:func:`background` (NumPy or dask, any axis and chunking, same values) and the leave-one-out
choices :func:`choose_time_scale` and :func:`choose_oi_scales`.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from varda.array.background.oi_stencil import CUTOFF, stencil_reach
from varda.array.background.running_mean import running_background
from varda.errors import InputError

#: widths (time steps) tried by :func:`choose_time_scale`; None = the pixel's time mean
TIME_SCALES: tuple = (2.0, 4.0, 8.0, 16.0, 32.0, None)
#: the background kinds a model may name
KINDS = ("running_mean", "oi")


def _check_spec(spec: dict) -> str:
    kind = spec.get("kind", "running_mean")
    if kind not in KINDS:
        raise InputError(f"unknown background kind {kind!r}; valid: {', '.join(KINDS)}")
    return kind


def _time_first(values: np.ndarray, axis: int) -> np.ndarray:
    return np.moveaxis(np.asarray(values, dtype=np.float64), axis, 0)


def _oi_scales(time_scale: float, length_scale: float, ndim: int) -> tuple:
    """The OI covariance scale along each axis of a time-first grid, in grid steps."""
    return (float(time_scale),) + (float(length_scale),) * (ndim - 1)


def _kernel(values: np.ndarray, *, axis: int, spec: dict) -> np.ndarray:
    """The background of one block holding the whole time axis."""
    moved = _time_first(values, axis)
    flat = moved.reshape(moved.shape[0], -1)
    clim = running_background(flat, None, spec.get("time_scale"))
    if _check_spec(spec) == "oi":
        from varda.array.background.oi_lattice import oi_lattice   # numba: compiled on first use
        seen = np.isfinite(flat).any(axis=0)
        if seen.any():
            targets = np.broadcast_to(seen, flat.shape).reshape(moved.shape)
            est = oi_lattice((flat - clim).reshape(moved.shape),
                             _oi_scales(spec["oi_time_scale"], spec["length_scale"],
                                        moved.ndim),
                             noise_ratio=spec.get("noise_ratio", 0.05),
                             n_neighbors=spec.get("n_neighbors", 16), targets=targets)
            clim = clim + est.reshape(flat.shape)
    return np.moveaxis(clim.astype(np.float32).reshape(moved.shape), 0, axis)


def halo(spec: dict) -> int:
    """Grid steps of the neighbourhood a background value depends on, along each spatial
    axis (0 for the running mean, which is per pixel)."""
    if _check_spec(spec) != "oi":
        return 0
    return stencil_reach(float(spec["length_scale"]), CUTOFF)


def background(obs: Any, axis: int, spec: "dict | float | None") -> Any:
    """The background of ``obs`` (NaN = missing) along the time ``axis``.

    ``spec``: a background spec (see the module), or for the running mean its width (steps)
    or None (the time mean). NumPy in, NumPy out; dask in, lazy dask out: the time axis is
    gathered in one chunk and the spatial chunks overlap by :func:`halo`, so any chunking
    gives the same values. Pixels never observed get 0."""
    if not isinstance(spec, dict):
        spec = {"kind": "running_mean", "time_scale": spec}
    _check_spec(spec)
    return map_along_time(_kernel, obs, axis % obs.ndim, spec)


def map_along_time(kernel, obs: Any, axis: int, spec: dict) -> Any:
    """``kernel(block, axis=axis, spec=spec)`` (float32 out) over ``obs``: one call for NumPy;
    for dask, blocks that hold the whole of ``axis`` and a halo of :func:`halo` grid steps
    along the other chunked axes (lazy; the same values for any chunking)."""
    if not hasattr(obs, "dask"):
        return kernel(obs, axis=axis, spec=spec)
    from dask.array.overlap import ensure_minimum_chunksize, map_overlap

    whole = obs.rechunk({axis: -1})
    h = halo(spec)
    depth = {ax: (0 if ax == axis or len(whole.chunks[ax]) == 1 else h)
             for ax in range(obs.ndim)}
    if any(depth.values()):
        whole = whole.rechunk({ax: ensure_minimum_chunksize(d, whole.chunks[ax])
                               for ax, d in depth.items() if d})
    out = map_overlap(kernel, whole, depth=depth, boundary="none", axis=axis,
                      spec=spec, dtype=np.float32, trim=True)
    return out.rechunk(obs.chunks)


def choose_time_scale(values: np.ndarray, axis: int = 0,
                      scales: Sequence["float | None"] = TIME_SCALES) -> tuple["float | None", dict]:
    """The width whose leave-one-out background best predicts the observations.

    Each observed value is compared with its background (which excludes it): the mean
    squared difference is the score. Returns ``(best scale, {str(scale): score})``.
    """
    moved = _time_first(values, axis)
    flat = moved.reshape(moved.shape[0], -1)
    obs = np.isfinite(flat)
    if obs.sum(axis=0).max(initial=0) < 2:
        raise InputError("choosing a background needs pixels observed at least twice")
    scores: dict[str, float] = {}
    best, best_score = None, np.inf
    for s in scales:
        b = running_background(flat, None, s)
        # the time-mean background contains each point itself: remove it (leave-one-out)
        if s is None:
            n = obs.sum(axis=0, keepdims=True)
            tot = np.where(obs, flat, 0.0).sum(axis=0, keepdims=True)
            b = np.where(n > 1, (tot - np.where(obs, flat, 0.0)) / np.maximum(n - 1, 1), b)
        err = float(np.mean((flat[obs] - b[obs]) ** 2))
        scores[str(s)] = err
        if err < best_score:
            best, best_score = s, err
    return best, scores


#: the OI baseline's default setting, in grid steps and time steps: the defaults of
#: :func:`varda.baselines.optimal_interpolation` (which reads them from here), and always among
#: the settings :func:`choose_oi_scales` scores
BASELINE_OI = {"time_scale": 30.0, "length_scale": 3.0, "oi_time_scale": 3.0, "noise_ratio": 0.05}


def setting_key(spec: dict) -> str:
    """The name of an OI background setting in the scores of :func:`choose_oi_scales`."""
    return ", ".join(f"{k}={spec[k]}" for k in ("time_scale", "length_scale", "oi_time_scale",
                                                "noise_ratio"))


def choose_oi_scales(obs: np.ndarray, axis: int, hidden: np.ndarray, *,
                     time_scale: "float | None",
                     length_scales: Sequence[float] = (1.0, 1.5, 2.0, 3.0, 6.0),
                     oi_time_scales: Sequence[float] = (0.25, 0.5, 1.0, 3.0, 8.0),
                     noise_ratios: Sequence[float] = (0.02, 0.05, 0.15),
                     n_neighbors: int = 16, passes: int = 2) -> tuple[dict, dict]:
    """An ``"oi"`` background spec chosen on held-out observations.

    The observations marked ``hidden`` are removed, the background of the others is
    interpolated to them, and the mean squared error there scores a setting. A coordinate
    search from the middle of the grids: the running-mean width (``time_scale`` and 2 and 4
    times it), then the OI time scale, then its length scale (grid steps), then the
    noise-to-signal ratio, each step keeping the current value unless another scores better;
    repeated (``passes``) while it changes something. The OI baseline's default setting
    (:data:`BASELINE_OI`) is scored too, and the setting returned is the one with the lowest
    score of all those tried.

    Returns:
        ``(spec, {setting: score})``.
    """
    flat = _time_first(obs, axis)
    shape = flat.shape
    flat = flat.reshape(shape[0], -1)
    hid = _time_first(hidden, axis).reshape(shape[0], -1).astype(bool) & np.isfinite(flat)
    if not hid.any():
        raise InputError("choosing the OI background needs some held-out observations")
    from varda.array.background.oi_lattice import oi_lattice
    view = np.where(hid, np.nan, flat)
    hid = hid & np.isfinite(view).any(axis=0, keepdims=True)   # pixels with something left
    truth = flat[hid]
    scores: dict[str, float] = {}
    tried: dict[str, tuple] = {}

    def score(bg: "float | None", ls: float, ts: float, nr: float) -> float:
        bg, ls, ts, nr = None if bg is None else float(bg), float(ls), float(ts), float(nr)
        key = setting_key({"time_scale": bg, "length_scale": ls, "oi_time_scale": ts,
                           "noise_ratio": nr})
        if key not in scores:
            clim = running_background(view, None, bg)
            est = clim + oi_lattice((view - clim).reshape(shape),
                                    _oi_scales(ts, ls, len(shape)),
                                    noise_ratio=nr, n_neighbors=n_neighbors,
                                    targets=hid.reshape(shape)).reshape(flat.shape)
            scores[key] = float(np.mean((est[hid] - truth) ** 2))
            tried[key] = (bg, ls, ts, nr)
        return scores[key]

    bgs = [time_scale] if time_scale is None else [time_scale, 2 * time_scale, 4 * time_scale]
    cur = (bgs[0], float(np.median(length_scales)), float(np.median(oi_time_scales)),
           float(np.median(noise_ratios)))
    for _ in range(max(1, passes)):
        bg, ls, ts, nr = start = cur
        bg = min([bg, *bgs], key=lambda b: score(b, ls, ts, nr))
        ts = min([ts, *oi_time_scales], key=lambda t: score(bg, ls, t, nr))
        ls = min([ls, *length_scales], key=lambda v: score(bg, v, ts, nr))
        nr = min([nr, *noise_ratios], key=lambda r: score(bg, ls, ts, r))
        cur = (bg, ls, ts, nr)
        if cur == start:
            break
    score(*(BASELINE_OI[k] for k in ("time_scale", "length_scale", "oi_time_scale",
                                     "noise_ratio")))
    bg, ls, ts, nr = tried[min(scores, key=lambda k: scores[k])]
    spec = {"kind": "oi", "time_scale": bg, "length_scale": ls, "oi_time_scale": ts,
            "noise_ratio": nr, "n_neighbors": n_neighbors}
    return spec, scores


__all__ = ["BASELINE_OI", "KINDS", "TIME_SCALES", "background", "choose_oi_scales",
           "choose_time_scale", "halo", "setting_key"]
