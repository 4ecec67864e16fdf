"""Choose a model configuration from the data: patch sizes from the grid, a time window from
the observed time correlation, and the candidates that :func:`varda.train` compares."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from varda.array.background.field import (BASELINE_OI, choose_oi_scales, choose_time_scale,
                                           setting_key)
from varda.core.presets import model_config
from varda.errors import InputError
from varda.training.holdouts import held_out_marks

#: largest patch side (grid points) along a spatial axis; larger grids are tiled
MAX_PATCH = 48
#: time windows considered (odd, centred on the step being filled)
WINDOWS = (3, 5, 7, 9, 11)
#: lag correlation above which neighbouring time steps are worth putting in the window
MIN_LAG_CORRELATION = 0.5
#: the shortest archive a model can be trained on: two blocks (training + validation)
MIN_TIME_STEPS = 8
#: the fewest observed values to train on
MIN_OBSERVATIONS = 2000


@dataclass
class Plan:
    """What :func:`plan_from_data` chose, and why (stored in the model card)."""

    axes: list[str]                  # model axes: data dims (time first when windowed)
    patch: list[int]
    window: int                      # time steps per sample (1: single maps, time is a batch dim)
    lag_correlation: list[float]     # observed anomaly correlation at lags 1, 2, …
    n_components: int                # EOF modes of the linear candidate
    candidates: dict[str, dict] = field(default_factory=dict)
    why: dict[str, str] = field(default_factory=dict)
    background: dict = field(default_factory=dict)          # the background spec
    background_scores: dict = field(default_factory=dict)   # held-out MSE per setting

    def card(self) -> dict:
        return {"axes": self.axes, "patch": self.patch, "window": self.window,
                "lag_correlation": [round(r, 3) for r in self.lag_correlation],
                "n_components": self.n_components, "why": dict(self.why),
                "background": dict(self.background),
                "background_scores": dict(self.background_scores),
                "candidates": sorted(self.candidates)}


def lag_correlation(obs: np.ndarray, max_lag: int = 6) -> list[float]:
    """Correlation of the observed anomalies (minus each point's time mean) between steps
    ``t`` and ``t + lag`` (time first), over pairs observed at both."""
    import warnings

    with warnings.catch_warnings():          # land: no observation at any time step
        warnings.simplefilter("ignore", RuntimeWarning)
        anom = obs - np.nanmean(obs, axis=0, keepdims=True)
    out = []
    for lag in range(1, min(max_lag, obs.shape[0] - 1) + 1):
        a, b = anom[:-lag], anom[lag:]
        ok = np.isfinite(a) & np.isfinite(b)
        if ok.sum() < 10:
            out.append(0.0)
            continue
        a, b = a[ok], b[ok]
        out.append(float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum() + 1e-30)))
    return out


def spatial_patch(n: int) -> int:
    """A patch side for an axis of ``n`` points: the whole axis up to :data:`MAX_PATCH`, even
    (the U-Net pools by 2)."""
    p = min(n, MAX_PATCH)
    return p - (p % 2) if p > 2 else p


def choose_background(obs: np.ndarray, seed: int) -> tuple[dict, dict, str]:
    """The background spec of :func:`plan_from_data`, its held-out scores and why: an OI whose
    scales are chosen on observations held out in cloud shapes (:func:`held_out_marks`, drawn
    with ``seed``; the same points are held out in training), among settings that include the
    OI baseline's default (:data:`~varda.array.background.field.BASELINE_OI`)."""
    t_scale, _ = choose_time_scale(obs, 0)
    held = held_out_marks(np.isfinite(obs), 0, seed=seed)
    if not held.any():   # no cloud anywhere to borrow: nothing to choose OI scales on
        return ({"kind": "running_mean", "time_scale": t_scale}, {},
                f"running mean of {t_scale} steps (the archive has no cloud to hold "
                "observations out with, so no OI scale can be chosen)")
    spec, scores = choose_oi_scales(obs, 0, held, time_scale=t_scale)
    ratio = scores[setting_key(spec)] / scores[setting_key(BASELINE_OI)]
    why = (f"OI background (running mean of {spec['time_scale']} steps, Gaussian OI of "
           f"length {spec['length_scale']} grid steps and {spec['oi_time_scale']} time "
           f"steps, noise ratio {spec['noise_ratio']}): the lowest error on observations "
           f"held out in cloud shapes among {len(scores)} settings ({ratio:.2f} times that "
           "of the OI baseline's default setting); the models fill the anomalies from it")
    return spec, scores, why


def plan_from_data(obs: np.ndarray, dims: list[str], *, hidden: int = 12,
                   n_iter: int = 6, seed: int = 0) -> Plan:
    """A :class:`Plan` for observations ``obs`` of dims ``dims`` = (time, y, x), NaN = missing.

    * Spatial patch: the whole grid up to 48 points a side (even), else 48 tiled.
    * Time window: if the observed anomalies at neighbouring steps correlate (lag-1
      correlation ≥ 0.5), the steps whose lag correlation stays ≥ 0.5 on both sides (3 to 11),
      folded into the channels of 2-D networks; otherwise single maps (time a batch dim).
    * Background: the models fill anomalies from an OI background (a running climatology plus
      a local Gaussian optimal interpolation, :mod:`varda.array.background`) whose scales are
      chosen on observations held out in cloud shapes (:func:`held_out_marks`, drawn with
      ``seed``; the same points are then held out in training).
    * Candidates: ``"eof"``, a linear EOF (PCA) prior fitted on the observations inside the
      variational cost (variational DINEOF), with a ConvLSTM solver; ``"unet"``, a two-scale
      bilinear U-Net prior with a ConvLSTM solver.
    """
    n_time = obs.shape[0]
    if n_time < MIN_TIME_STEPS:
        raise InputError(f"the archive has {n_time} time steps; training needs at least "
                         f"{MIN_TIME_STEPS} (separate training and validation times): give a "
                         "longer archive or a pretrained model (model='sst-osse')")
    n_obs = int(np.isfinite(obs).sum())
    if n_obs < MIN_OBSERVATIONS:
        raise InputError(f"only {n_obs} observed values; training needs at least "
                         f"{MIN_OBSERVATIONS}: give a longer or less cloudy archive, or fill "
                         "with a pretrained model instead")
    lags = lag_correlation(obs)
    why: dict[str, str] = {}
    if lags and lags[0] >= MIN_LAG_CORRELATION:
        reach = next((i for i, r in enumerate(lags) if r < MIN_LAG_CORRELATION), len(lags))
        window = max(w for w in WINDOWS if w <= max(3, 2 * reach + 1))
        while window > 3 and n_time < 6 * window:
            window -= 2
        why["window"] = (f"lag-1 correlation of observed anomalies {lags[0]:.2f} >= "
                         f"{MIN_LAG_CORRELATION}; it stays above up to lag {reach}: window "
                         f"{window} steps folded into channels")
    else:
        window = 1
        why["window"] = (f"lag-1 correlation of observed anomalies "
                         f"{lags[0] if lags else float('nan'):.2f} < {MIN_LAG_CORRELATION}: "
                         "time steps are filled as independent maps")
    sp = [spatial_patch(n) for n in obs.shape[1:]]
    why["patch"] = f"grid {list(obs.shape[1:])}: patch {sp} (whole grid up to {MAX_PATCH})"
    if window > 1:
        axes, patch = list(dims), [window, *sp]
        fold: str | None = dims[0]
        pool = [1, 2, 2]
    else:
        axes, patch, fold, pool = list(dims[1:]), sp, None, [2, 2]
    n_samples = max(1, n_time // max(window, 1))
    n_comp = int(np.clip(n_samples // 4, 2, 16))
    why["n_components"] = f"{n_comp} EOFs (a quarter of {n_samples} independent samples, 2 to 16)"
    cands = {
        "eof": model_config(axes, patch, prior="pca", solver="lstm", hidden=hidden,
                            n_components=n_comp, n_iter=n_iter, fold=fold),
        "unet": model_config(axes, patch, prior="unet", solver="lstm", hidden=hidden,
                             pool=pool, n_iter=n_iter, fold=fold),
    }
    bg_spec, bg_scores, why["background"] = choose_background(obs, seed)
    for c in cands.values():     # truncated backprop through ∇U: half the cost per step
        c["second_order"] = False
        c.setdefault("meta", {})["background"] = dict(bg_spec)
    return Plan(axes=axes, patch=patch, window=window, lag_correlation=lags,
                n_components=n_comp, candidates=cands, why=why, background=bg_spec,
                background_scores={k: round(v, 6) for k, v in bg_scores.items()})


def em_pca(samples: np.ndarray, observed: np.ndarray, k: int, *, iters: int = 30,
           seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """EOFs of gappy samples ``(N, D)`` by expectation-maximisation (DINEOF's iteration):
    fill the gaps with the rank-``k`` reconstruction, recompute, repeat.

    Returns:
        ``(mean (D,), components (D, k))`` with orthonormal columns.
    """
    import torch

    x = torch.from_numpy(np.where(observed, samples, 0.0).astype(np.float32))
    m = torch.from_numpy(observed)
    torch.manual_seed(seed)
    cnt = m.sum(0).clamp_min(1)
    mu = x.sum(0) / cnt
    filled = torch.where(m, x, mu.expand_as(x))
    k = max(1, min(k, min(x.shape) - 1))
    for _ in range(iters):
        mu = filled.mean(0)
        u, s, v = torch.svd_lowrank(filled - mu, q=min(k + 8, min(x.shape)), niter=3)
        rec = (u[:, :k] * s[:k]) @ v[:, :k].T + mu
        filled = torch.where(m, x, rec)
    mu = filled.mean(0)
    _, _, v = torch.svd_lowrank(filled - mu, q=min(k + 8, min(x.shape)), niter=4)
    return mu.numpy(), v[:, :k].numpy()
