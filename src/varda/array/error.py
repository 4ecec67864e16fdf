"""The error estimate of a fill: an OI posterior variance mapped to an error standard deviation.

Every fill gets a per-point error standard deviation σ (same units as the field), the
``analysis_error`` of gap-filled products (GHRSST L4 SST, DUACS maps). It is built in two steps:

1. **The OI posterior variance** ``v`` of each point, from the same local solve as the OI
   background (:func:`varda.array.background.oi_lattice.oi_lattice` with ``return_variance=True``): the
   analysis error variance of the local optimal interpolation over the signal variance,
   ``v = 1 − kᵀ(K + R)⁻¹k`` (0 next to dense observations, 1 far from any). At an observed point
   the point's own observation (noise ratio ``r``) is added to its leave-one-out solve by the
   scalar Kalman update ``v · r / (v + r)``. ``v`` depends on where the data are observed, not
   on their values.
2. **A calibration** (:class:`Calibration`, stored in the model card): a non-decreasing,
   piecewise-linear map from ``v`` to the error variance σ², fitted on withheld observations
   (or on the truth) by :func:`fit_calibration` — the mean squared error of the fill in ten
   quantile bins of ``v``, made monotone by isotonic regression (scikit-learn). The map says
   how large the fill's errors are where the OI is sure and where it is not, measured on the
   fill of this very model.
3. **Optionally, the local signal variance** ``s²(x)`` (``Calibration.local_variance``): the
   classical OI error is ``σ_b²(x) · v``, with a background error variance that differs from
   place to place (a front, an upwelling, a western boundary current vary more than the open
   ocean). ``s²(x)`` is each pixel's mean squared anomaly of the observations about their
   running climatology, Gaussian-smoothed in space over the OI's length scale (counts
   smoothed alike, so sparse pixels borrow from their neighbours); the map is then fitted on
   ``residual² / s²`` and ``σ² = s²(x) · map(v)``. :func:`varda.calibrate` fits both forms and
   keeps the one with the lower CRPS on its withheld points.

Layers: NumPy/dask only (no xarray). :func:`posterior_variance` and :func:`error_std` work on
NumPy (eager) or dask arrays (lazy; the time axis is gathered and the spatial chunks overlap
by the OI's halo, so any chunking gives the same values, as for the background).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Mapping

import numpy as np

from varda.array.background.field import _oi_scales, halo, map_along_time
from varda.errors import InputError

#: where a model keeps its calibration (``model.meta[CALIBRATION_KEY]``, JSON)
CALIBRATION_KEY = "calibration"
#: the OI spec entries the posterior variance uses
OI_KEYS = ("length_scale", "oi_time_scale", "noise_ratio", "n_neighbors")
#: quantile bins of the posterior variance in a calibration
N_BINS = 10


def _how_to_calibrate(what: str) -> str:
    return (f"{what}: calibrate it on observations, model = varda.calibrate(model, obs) "
            "(cloud-shaped held-out observations; truth=... when you have it), then save it, "
            "or retrain it with varda.train, which calibrates the models it trains")


@dataclass(frozen=True)
class Calibration:
    """A map from the OI posterior variance ``v`` to the fill's error variance.

    Attributes:
        oi: the OI spec of the posterior variance (``length_scale``, ``oi_time_scale`` in grid
            and time steps, ``noise_ratio``, ``n_neighbors``).
        knots_v: increasing values of ``v`` (the medians of its quantile bins).
        knots_variance: the error variance at the knots (non-decreasing, > 0, units²);
            linear in between, constant beyond the ends.
        fitted_on: what the calibration was measured on (held-out observations or truth).
        n_points: number of points it was fitted on.
        scores: coverage of ±1σ / ±2σ and the like on the fitting points.
        local_variance: None (the map gives σ² itself), or ``{"time_scale": width of the
            running climatology, "smooth": Gaussian width in grid steps, "fallback": s² where
            no observation is near}``: the map then gives σ² / s²(x) (see the module).
    """

    oi: dict
    knots_v: tuple
    knots_variance: tuple
    fitted_on: str = ""
    n_points: int = 0
    scores: dict = field(default_factory=dict)
    local_variance: "dict | None" = None

    def __post_init__(self) -> None:
        missing = [k for k in OI_KEYS if k not in self.oi]
        kv = np.asarray(self.knots_v, float)
        var = np.asarray(self.knots_variance, float)
        problem = ""
        if missing:
            problem = f"its OI spec lacks {missing}"
        elif kv.ndim != 1 or kv.size < 1 or kv.shape != var.shape:
            problem = (f"knots_v and knots_variance must be two lists of the same length ≥ 1, "
                       f"got {kv.shape} and {var.shape}")
        elif not (np.isfinite(kv).all() and np.isfinite(var).all()):
            problem = "it holds NaN or infinite values"
        elif (var <= 0).any():
            problem = f"it gives negative or zero variances ({var.min():.3g})"
        elif (np.diff(kv) <= 0).any() or (np.diff(var) < 0).any():
            problem = "its knots are not increasing"
        elif self.local_variance is not None and not (
                set(self.local_variance) >= {"time_scale", "smooth", "fallback"}
                and np.isfinite(float(self.local_variance["fallback"]))
                and float(self.local_variance["fallback"]) > 0
                and float(self.local_variance["smooth"]) >= 0):
            problem = (f"its local variance spec {self.local_variance} needs time_scale, "
                       "smooth ≥ 0 and a fallback > 0")
        if problem:
            raise InputError(_how_to_calibrate(f"the model's error calibration is broken: "
                                               f"{problem}"))

    def variance(self, v: np.ndarray) -> np.ndarray:
        """The error variance at posterior variances ``v`` (any shape)."""
        return np.interp(v, np.asarray(self.knots_v, float),
                         np.asarray(self.knots_variance, float))

    def to_meta(self) -> dict:
        """JSON-able form (what :func:`from_meta` reads back)."""
        out = asdict(self)
        out.update(method="oi_posterior_variance", knots_v=[float(x) for x in self.knots_v],
                   knots_variance=[float(x) for x in self.knots_variance])
        return out

    @classmethod
    def from_meta(cls, meta: Mapping[str, Any]) -> "Calibration":
        """Read a calibration written by :meth:`to_meta` (InputError if it is broken)."""
        if not isinstance(meta, Mapping) or meta.get("method") != "oi_posterior_variance":
            raise InputError(_how_to_calibrate(f"the model's error calibration is not one varda "
                                               f"knows ({meta!r:.80})"))
        try:
            local = meta.get("local_variance")
            return cls(oi=dict(meta["oi"]), knots_v=tuple(meta["knots_v"]),
                       knots_variance=tuple(meta["knots_variance"]),
                       fitted_on=str(meta.get("fitted_on", "")),
                       n_points=int(meta.get("n_points", 0)), scores=dict(meta.get("scores", {})),
                       local_variance=None if local is None else dict(local))
        except (KeyError, TypeError, ValueError) as e:
            if isinstance(e, InputError):
                raise
            raise InputError(_how_to_calibrate(f"the model's error calibration is broken "
                                               f"({type(e).__name__}: {e})")) from e


def model_calibration(model: Any) -> Calibration:
    """The calibration stored in ``model.meta`` (InputError saying how to calibrate if none)."""
    meta = getattr(model, "meta", {}) or {}
    if meta.get(CALIBRATION_KEY) is None:
        name = (meta.get("model_card") or {}).get("name") or meta.get("name") or "the model"
        note = f" ({meta['calibration_note']})" if meta.get("calibration_note") else ""
        raise InputError(_how_to_calibrate(f"{name} has no error calibration in its model "
                                           f"card{note}, so error=True cannot say how large "
                                           "its errors are"))
    return Calibration.from_meta(meta[CALIBRATION_KEY])


def _variance_kernel(values: np.ndarray, *, axis: int, spec: dict) -> np.ndarray:
    """The posterior variance of one block holding the whole time axis."""
    from varda.array.background.oi_lattice import oi_lattice   # numba: compiled on first use

    moved = np.moveaxis(np.asarray(values), axis, 0)
    seen = np.isfinite(moved)
    targets = np.broadcast_to(seen.any(axis=0), moved.shape)
    _, v = oi_lattice(np.where(seen, 0.0, np.nan), _oi_scales(spec["oi_time_scale"],
                                                             spec["length_scale"], moved.ndim),
                      noise_ratio=spec["noise_ratio"], n_neighbors=spec["n_neighbors"],
                      targets=targets, return_variance=True)
    r = float(spec["noise_ratio"])
    v = np.where(seen, v * r / (v + r), v)   # the point's own observation added
    return np.moveaxis(v.astype(np.float32), 0, axis)


def _local_variance_kernel(values: np.ndarray, *, axis: int, spec: dict) -> np.ndarray:
    """``s²(x)`` of one block holding the whole time axis, repeated along it."""
    from scipy.ndimage import gaussian_filter

    from varda.array.background.running_mean import running_background

    moved = np.moveaxis(np.asarray(values, np.float64), axis, 0)
    flat = moved.reshape(moved.shape[0], -1)
    anom = flat - running_background(flat, None, spec["time_scale"])
    seen = np.isfinite(anom)
    total = np.where(seen, anom * anom, 0.0).sum(axis=0).reshape(moved.shape[1:])
    count = seen.sum(axis=0).astype(np.float64).reshape(moved.shape[1:])
    sigma = float(spec["smooth"])
    # the radius is the halo the chunks overlap by: any chunking gives the same values
    radius = halo({"kind": "oi", "length_scale": spec["length_scale"]})
    if sigma > 0 and radius > 0:
        total = gaussian_filter(total, sigma, mode="constant", radius=radius)
        count = gaussian_filter(count, sigma, mode="constant", radius=radius)
    s2 = np.where(count > 1e-6, total / np.maximum(count, 1e-12), float(spec["fallback"]))
    s2 = np.maximum(s2, 1e-6 * float(spec["fallback"]))
    out = np.broadcast_to(s2.astype(np.float32), moved.shape)
    return np.ascontiguousarray(np.moveaxis(out, 0, axis))


def local_variance(obs: Any, axis: int, spec: Mapping[str, Any]) -> Any:
    """The local signal variance ``s²(x)`` of the module at every point of ``obs`` (NaN =
    not observed; the same value at every time), time along ``axis``. ``spec``: the OI's
    ``length_scale`` (the halo) and the calibration's ``local_variance`` entries. NumPy or
    lazy dask like ``obs``; the same values for any chunking."""
    full = {"kind": "oi", "length_scale": spec["length_scale"],
            **{k: spec[k] for k in ("time_scale", "smooth", "fallback")}}
    return map_along_time(_local_variance_kernel, obs, axis % obs.ndim, full)


def posterior_variance(obs: Any, axis: int, spec: Mapping[str, Any]) -> Any:
    """The OI posterior variance (over the signal variance, in [0, 1]) at every point of
    ``obs`` (NaN = not observed), time along ``axis``; NumPy in, NumPy out; dask in, lazy
    dask out (same values for any chunking)."""
    spec = {"kind": "oi", **{k: spec[k] for k in OI_KEYS}}
    return map_along_time(_variance_kernel, obs, axis % obs.ndim, spec)


def error_std(obs: Any, axis: int, calibration: Calibration) -> Any:
    """The calibrated error standard deviation of a fill of ``obs`` (float32, units of
    ``obs``; NumPy or lazy dask like ``obs``)."""
    v = posterior_variance(obs, axis, calibration.oi)
    if calibration.local_variance is not None:
        s2 = local_variance(obs, axis, {**calibration.oi, **calibration.local_variance})
        if hasattr(v, "dask"):
            import dask.array as da

            return da.map_blocks(
                lambda b, s: np.sqrt(s * calibration.variance(b)).astype(np.float32), v, s2,
                dtype=np.float32)
        return np.sqrt(s2 * calibration.variance(v)).astype(np.float32)
    if hasattr(v, "dask"):
        return v.map_blocks(lambda b: np.sqrt(calibration.variance(b)).astype(np.float32),
                            dtype=np.float32)
    return np.sqrt(calibration.variance(v)).astype(np.float32)


def fit_calibration(residual: np.ndarray, v: np.ndarray, *, oi: Mapping[str, Any],
                    fitted_on: str, prior_variance: "float | None" = None,
                    n_bins: int = N_BINS, scale2: "np.ndarray | None" = None,
                    local_variance: "dict | None" = None) -> Calibration:
    """Fit the map from posterior variance ``v`` to error variance on paired samples.

    ``residual``: fill − reference at withheld points (1-D); ``v``: their posterior variance.
    The points are cut into ``n_bins`` quantile bins of ``v``; each bin's mean squared
    residual (the Gaussian maximum-likelihood variance), made non-decreasing in ``v`` by
    weighted isotonic regression (scikit-learn), is the error variance at the bin's median
    ``v``. (The variance of lowest CRPS per bin, smaller for heavy-tailed errors, was tried:
    on the real SST it moved ±1σ and ±2σ coverage down on every seed and left the CRPS gain
    unchanged.)

    ``prior_variance``: the error variance of the fill far from every observation (``v = 1``,
    where the OI adds nothing to its climatology): the mean squared error of the climatology
    at the withheld points. Withheld observations are rarely as far from the others as the
    middle of a large real gap, so the largest ``v`` of the real gaps often lies beyond the
    bins: with this anchor the map rises linearly from the last bin to it (the OI's own
    ``σ²_a = σ²_b · v``) instead of staying flat.

    ``scale2`` (the local signal variance ``s²`` at the points) with ``local_variance`` (its
    spec, stored in the calibration): the map is fitted on ``residual² / s²`` (and
    ``prior_variance`` must be given in those units), so ``σ² = s² · map(v)``.

    The calibration's ``scores`` are measured on the fitting points: coverage of ±1σ and ±2σ,
    the RMSE and the CRPS of N(fill, σ²).
    """
    from sklearn.isotonic import IsotonicRegression

    from varda.uncertainty import crps_gaussian_array

    residual = np.asarray(residual, np.float64).ravel()
    v = np.asarray(v, np.float64).ravel()
    s2 = np.ones_like(residual) if scale2 is None else np.asarray(scale2, np.float64).ravel()
    ok = np.isfinite(residual) & np.isfinite(v) & np.isfinite(s2) & (s2 > 0)
    residual, v, s2 = residual[ok], v[ok], s2[ok]
    if residual.size < 5 * n_bins:
        raise InputError(f"calibrating the error needs at least {5 * n_bins} withheld points, "
                         f"got {residual.size}: give a longer or less cloudy record")
    ratio = residual ** 2 / s2
    order = np.argsort(v, kind="stable")
    bins = np.array_split(order, n_bins)
    centres = np.array([np.median(v[b]) for b in bins])
    mse = np.array([np.mean(ratio[b]) for b in bins])
    counts = np.array([len(b) for b in bins], float)
    fitted = IsotonicRegression(increasing=True).fit(centres, mse, sample_weight=counts)
    var = np.maximum(fitted.predict(centres), 1e-12 + 1e-6 * float(np.mean(ratio)))
    # equal medians (many points with the same v) would make knots that do not increase
    keep = np.concatenate([[True], np.diff(centres) > 0])
    centres, var = centres[keep], np.maximum.accumulate(var[keep])
    if prior_variance is not None and np.isfinite(prior_variance) and centres[-1] < 1.0:
        centres = np.append(centres, 1.0)
        var = np.append(var, max(float(prior_variance), float(var[-1])))
    sigma = np.sqrt(s2 * np.interp(v, centres, var))
    z = np.abs(residual) / sigma
    scores = {"coverage_1sigma": float(np.mean(z <= 1.0)),
              "coverage_2sigma": float(np.mean(z <= 2.0)),
              "rmse": float(math.sqrt(np.mean(residual ** 2))),
              "crps": crps_gaussian_array(residual, sigma)}
    return Calibration(oi={k: oi[k] for k in OI_KEYS}, knots_v=tuple(float(c) for c in centres),
                       knots_variance=tuple(float(x) for x in var), fitted_on=fitted_on,
                       n_points=int(residual.size), scores=scores,
                       local_variance=None if scale2 is None else dict(local_variance or {}))


def fill_error(obs: Any, valid: Any, model: Any, axis: "int | None", name: str) -> Any:
    """The error field of a fill of ``obs`` by ``model``: σ where ``valid``, NaN elsewhere.

    Raises:
        InputError: the model has no (or a broken) calibration, or the time axis is unknown.
    """
    calibration = model_calibration(model)
    if axis is None:
        raise InputError(f"the error estimate is computed along time; say which axis of {name} "
                         "is time: background_axis=<axis index>")
    if not -obs.ndim <= axis < obs.ndim:
        raise InputError(f"background_axis={axis} is not an axis of {name} "
                         f"(it has {obs.ndim} axes)")
    sigma = error_std(obs, axis, calibration)
    lib: Any = np
    if hasattr(sigma, "dask"):
        import dask.array as lib
    return lib.where(valid, sigma, np.float32(np.nan))


__all__ = ["CALIBRATION_KEY", "Calibration", "error_std", "fill_error", "fit_calibration",
           "local_variance", "model_calibration", "posterior_variance"]
