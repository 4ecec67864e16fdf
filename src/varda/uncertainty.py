"""Scores of an error estimate σ beside a fill, on withheld points (re-exported by
:mod:`varda.metrics`).

A fill ``x̂`` with an error standard deviation ``σ`` (``fill(..., error=True)``) is read as the
Gaussian forecast N(x̂, σ²) of the reference ``x``. On the scored points:

* :func:`coverage`: the fraction of points with ``|x̂ − x| ≤ k σ`` (68.3 % for k = 1 and 95.4 %
  for k = 2 when σ is right);
* :func:`crps_gaussian`: the continuous ranked probability score of N(x̂, σ²), in closed form
  (Gneiting et al. 2005, Mon. Wea. Rev. 133): ``σ [w (2Φ(w) − 1) + 2φ(w) − 1/√π]``,
  ``w = (x − x̂)/σ``; lower is better, it rewards σ large where the errors are;
* :func:`spread_skill`: the points cut into quantile bins of σ, the RMSE in each bin against
  its mean σ, and their Spearman rank correlation (1: the error grows with σ);
* :func:`error_scores`: all of them, plus the CRPS of the same fill with a constant σ equal to
  its overall RMSE (what a single error number would give) and the gain over it;
* :func:`reliability_figure`: binned RMSE against σ (the reliability diagram), as a PNG.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
from scipy.stats import norm, spearmanr

from varda.errors import InputError

ArrayLike = Any   # an xr.DataArray or a NumPy array


def _arrays(estimate: ArrayLike, error: ArrayLike, reference: ArrayLike,
            mask: "ArrayLike | None") -> list[np.ndarray]:
    """NumPy float64 arrays of one shape (DataArrays aligned exactly, in the reference's dim
    order) and the bool mask (default everywhere)."""
    import xarray as xr

    items = [estimate, error, reference]
    if any(isinstance(a, xr.DataArray) for a in items):
        if not all(isinstance(a, xr.DataArray) for a in items):
            raise InputError("give estimate, error and reference all as DataArrays or all as "
                             "arrays")
        try:
            items = list(xr.align(*items, join="exact"))
        except ValueError as e:
            raise InputError(f"estimate, error and reference coordinates differ: {e}") from e
        dims = items[2].dims
        if any(set(a.dims) != set(dims) for a in items):
            raise InputError(f"estimate, error and reference dims differ: "
                             f"{[a.dims for a in items]}")
        items = [a.transpose(*dims) for a in items]
        if isinstance(mask, xr.DataArray):
            mask = mask.broadcast_like(items[2]).transpose(*dims).values
    out = [np.asarray(a, np.float64) for a in items]
    if len({a.shape for a in out}) != 1:
        raise InputError(f"estimate, error and reference shapes differ: {[a.shape for a in out]}")
    m = np.ones(out[2].shape, bool) if mask is None else np.asarray(mask)
    if m.dtype != bool:
        raise InputError(f"mask must be boolean (True = score this point), got {m.dtype}")
    try:
        out.append(np.broadcast_to(m, out[2].shape))
    except ValueError as e:
        raise InputError(f"mask shape {m.shape} does not fit the fields' {out[2].shape}") from e
    return out


def _triple(estimate: ArrayLike, error: ArrayLike, reference: ArrayLike,
            mask: "ArrayLike | None") -> tuple[np.ndarray, np.ndarray]:
    """(estimate − reference, σ) at the scored points, with σ checked (> 0, finite)."""
    est, sig, ref, m = _arrays(estimate, error, reference, mask)
    use = m & np.isfinite(ref)
    if not use.any():
        raise InputError("no point to score the error estimate on: the mask selects no finite "
                         "reference value")
    if not np.isfinite(est[use]).all():
        raise InputError(f"the estimate is NaN at {int((~np.isfinite(est[use])).sum())} of the "
                         f"{int(use.sum())} scored points; leave them out of mask")
    s = sig[use]
    if not np.isfinite(s).all() or (s <= 0).any():
        bad = int((~np.isfinite(s) | (s <= 0)).sum())
        raise InputError(f"the error estimate is NaN, zero or negative at {bad} of the "
                         f"{s.size} scored points; an error standard deviation must be > 0")
    return est[use] - ref[use], s


def coverage(estimate: ArrayLike, error: ArrayLike, reference: ArrayLike,
             mask: "ArrayLike | None" = None, *, k: float = 1.0) -> float:
    """Fraction of scored points where ``|estimate − reference| ≤ k · error``."""
    e, s = _triple(estimate, error, reference, mask)
    return float(np.mean(np.abs(e) <= k * s))


def crps_gaussian_array(e: np.ndarray, s: np.ndarray) -> float:
    """Mean CRPS of N(0, s²) for the errors ``e`` (estimate − reference)."""
    w = -e / s
    return float(np.mean(s * (w * (2.0 * norm.cdf(w) - 1.0) + 2.0 * norm.pdf(w)
                              - 1.0 / np.sqrt(np.pi))))


def crps_gaussian(estimate: ArrayLike, error: ArrayLike, reference: ArrayLike,
                  mask: "ArrayLike | None" = None) -> float:
    """Mean CRPS of the Gaussian N(estimate, error²) against ``reference`` (field units)."""
    return crps_gaussian_array(*_triple(estimate, error, reference, mask))


@dataclass(frozen=True)
class SpreadSkill:
    """Binned RMSE against predicted σ (equal-count bins of σ)."""

    sigma: np.ndarray        # mean predicted σ per bin
    rmse: np.ndarray         # RMSE of the fill per bin
    count: np.ndarray        # points per bin
    rank_correlation: float  # Spearman of (sigma, rmse) over the bins


def spread_skill_array(e: np.ndarray, s: np.ndarray, n_bins: int = 10) -> SpreadSkill:
    """:func:`spread_skill` on error/σ vectors."""
    if e.size < n_bins:
        raise InputError(f"spread-skill needs at least n_bins={n_bins} scored points, got "
                         f"{e.size}")
    bins = np.array_split(np.argsort(s, kind="stable"), n_bins)
    sig = np.array([s[b].mean() for b in bins])
    rm = np.array([np.sqrt(np.mean(e[b] ** 2)) for b in bins])
    rho = float(spearmanr(sig, rm)[0]) if np.ptp(sig) > 0 else float("nan")
    return SpreadSkill(sig, rm, np.array([len(b) for b in bins]), rho)


def spread_skill(estimate: ArrayLike, error: ArrayLike, reference: ArrayLike,
                 mask: "ArrayLike | None" = None, *, n_bins: int = 10) -> SpreadSkill:
    """RMSE in ``n_bins`` equal-count bins of the predicted σ, and their rank correlation."""
    return spread_skill_array(*_triple(estimate, error, reference, mask), n_bins=n_bins)


def error_scores(estimate: ArrayLike, error: ArrayLike, reference: ArrayLike,
                 mask: "ArrayLike | None" = None, *, n_bins: int = 10) -> dict:
    """Coverage of ±1σ and ±2σ, CRPS, CRPS with a constant σ = the RMSE, the CRPS gain over
    it (1 − CRPS / CRPS_constant), the spread–skill rank correlation and the bins."""
    e, s = _triple(estimate, error, reference, mask)
    rm = float(np.sqrt(np.mean(e ** 2)))
    crps = crps_gaussian_array(e, s)
    const = crps_gaussian_array(e, np.full_like(e, max(rm, 1e-300)))
    ss = spread_skill_array(e, s, n_bins)
    return {"n_points": int(e.size), "rmse": rm, "mean_sigma": float(np.sqrt(np.mean(s ** 2))),
            "coverage_1sigma": float(np.mean(np.abs(e) <= s)),
            "coverage_2sigma": float(np.mean(np.abs(e) <= 2 * s)),
            "crps": crps, "crps_constant_sigma": const, "crps_gain": 1.0 - crps / const,
            "spread_skill_rank_correlation": ss.rank_correlation,
            "bins_sigma": ss.sigma.tolist(), "bins_rmse": ss.rmse.tolist()}


def reliability_figure(curves: "dict[str, SpreadSkill | dict]", path: "str | os.PathLike", *,
                       units: str = "", title: str = "") -> None:
    """Write the reliability diagram (binned RMSE against predicted σ, one line per entry of
    ``curves``: a :class:`SpreadSkill` or an :func:`error_scores` dict) as a PNG at ``path``."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.2, 4.0))
    top = 0.0
    for label, c in curves.items():
        sig = np.asarray(c.sigma if isinstance(c, SpreadSkill) else c["bins_sigma"])
        rm = np.asarray(c.rmse if isinstance(c, SpreadSkill) else c["bins_rmse"])
        ax.plot(sig, rm, "o-", ms=3, label=label)
        top = max(top, float(sig.max()), float(rm.max()))
    ax.plot([0, top * 1.05], [0, top * 1.05], "k--", lw=0.8, label="perfect")
    u = f" ({units})" if units else ""
    ax.set(xlabel=f"predicted σ{u}", ylabel=f"RMSE of the fill{u}", title=title or "reliability",
           xlim=(0, top * 1.05), ylim=(0, top * 1.05))
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def summarize(rows: Sequence[dict], keys: Sequence[str] = (
        "coverage_1sigma", "coverage_2sigma", "crps_gain",
        "spread_skill_rank_correlation")) -> dict:
    """Mean, min and max over several :func:`error_scores` dicts (seeds)."""
    out = {}
    for k in keys:
        vals = np.array([r[k] for r in rows], float)
        out[k] = {"mean": float(vals.mean()), "min": float(vals.min()), "max": float(vals.max())}
    return out


__all__ = ["SpreadSkill", "coverage", "crps_gaussian", "crps_gaussian_array", "error_scores",
           "reliability_figure", "spread_skill", "spread_skill_array", "summarize"]
