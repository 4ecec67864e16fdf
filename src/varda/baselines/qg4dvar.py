"""Weak-constraint 4D-Var mapping of gridded altimetry with a quasi-geostrophic prior.

Over windows of ``window`` days the daily SSH ``x`` minimises::

    U(x) = mean_Ω (x − y)² + λ mean (x − Φ(x))²,   Φ(x)[t] = QG flow of x[t − 1] over a day

(:class:`varda.core.priors.qg.QGFlowPrior`), by L-BFGS from a first guess (the OI). The
windows overlap by half and are blended with triangular weights, so each day is mostly the
centre of a window. Windows are solved in batches (one FFT for the batch); memory is that of a
batch, whatever the archive's length.

The physics comes from the user: the Rossby radius (m), and β and f0 (s⁻¹), which default to
their values at the grid's mean latitude; the grid step from the ``lat``/``lon`` coordinates.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import xarray as xr

from varda.baselines.fourdvar import fourdvar
from varda.baselines.qg_forcing import ForcingCost, model_error_stats, solve_forcing_control
from varda.core.priors.qg import QGFlowPrior
from varda.errors import InputError

OMEGA, EARTH_RADIUS = 7.2921e-5, 6.371e6
M_PER_DEG = math.pi * EARTH_RADIUS / 180.0


def plane_geometry(da: xr.DataArray) -> dict[str, float]:
    """``{"dx", "f0", "beta", "lat0"}`` of a ``(time, lat, lon)`` grid in degrees (or with a
    ``dx_km`` attribute), checking the axes are regular, ascending and in degrees."""
    for name in ("lat", "lon"):
        if name not in da.coords:
            raise InputError(f"the SSH field needs a {name!r} coordinate in degrees; rename "
                             "latitude/longitude to lat/lon (da.rename(latitude='lat', ...))")
        c = np.asarray(da[name], float)
        d = np.diff(c)
        if c.ndim != 1 or len(c) < 4 or not (np.all(d > 0) and np.allclose(d, d[0], rtol=1e-3)):
            raise InputError(f"coordinate {name!r} must be 1-D, ascending and regular "
                             f"(da.sortby({name!r}) or regrid first)")
        units = str(da[name].attrs.get("units", "degrees")).lower()
        if "degree" not in units:
            raise InputError(f"coordinate {name!r} has units {units!r}; give degrees "
                             f"(degrees_north / degrees_east)")
    lat = np.asarray(da["lat"], float)
    lon = np.asarray(da["lon"], float)
    if np.abs(lat).max() > 90:
        raise InputError("latitudes beyond ±90: the 'lat' coordinate is not in degrees")
    lat0 = float(lat.mean())
    dy = (lat[1] - lat[0]) * M_PER_DEG
    dxm = (lon[1] - lon[0]) * M_PER_DEG * math.cos(math.radians(lat0))
    dx = float(da.attrs.get("dx_km", 0.0)) * 1e3 or 0.5 * (dy + dxm)
    phi = math.radians(lat0)
    return {"dx": dx, "lat0": lat0, "f0": 2 * OMEGA * math.sin(phi),
            "beta": 2 * OMEGA * math.cos(phi) / EARTH_RADIUS}


def window_starts(n: int, window: int, stride: int) -> list[int]:
    """Starts of windows of length ``window`` every ``stride`` covering ``range(n)``."""
    if n < window:
        raise InputError(f"the archive has {n} days, fewer than the window ({window}); use a "
                         f"shorter window")
    starts = list(range(0, n - window + 1, stride))
    if starts[-1] != n - window:
        starts.append(n - window)
    return starts


def qg_prior(da: xr.DataArray, *, rossby_radius: float, beta: "float | None" = None,
             f0: "float | None" = None, damping_days: "float | None" = None,
             n_substeps: int = 12, norm_std: float = 1.0) -> QGFlowPrior:
    """The QG flow prior for the grid of ``da`` with the given physics (SI units)."""
    geo = plane_geometry(da)
    qg = {"shape": [da.sizes["lat"], da.sizes["lon"]], "dx": geo["dx"],
          "rossby_radius": float(rossby_radius),
          "beta": geo["beta"] if beta is None else float(beta),
          "f0": geo["f0"] if f0 is None else float(f0), "damping_days": damping_days}
    return QGFlowPrior(qg=qg, n_substeps=n_substeps, norm_std=norm_std)


class _Counted(torch.nn.Module):
    """Counts the prior's evaluations (one per cost evaluation)."""

    def __init__(self, inner: torch.nn.Module) -> None:
        super().__init__()
        self.inner, self.calls = inner, 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return self.inner(x)


def _window_batches(arrays: "list[np.ndarray]", starts: "list[int]", window: int, batch: int,
                    scale: float):
    """Yield ``(chunk, [stacked windows / scale])`` per batch of window starts."""
    for b0 in range(0, len(starts), batch):
        chunk = starts[b0:b0 + batch]
        yield chunk, [torch.from_numpy(np.stack([a[s:s + window] for s in chunk]) / scale)
                      for a in arrays]


def _substeps(obs: xr.DataArray, fg: np.ndarray, rossby_radius: float, beta, f0) -> int:
    """The fewest RK4 steps per day that are CFL-safe for the first guess's flow, with a
    25 % margin (at least 8)."""
    probe = qg_prior(obs, rossby_radius=rossby_radius, beta=beta, f0=f0, n_substeps=1)
    safe = min(probe.qg.safe_dt(torch.from_numpy(fg[i:i + 1])) for i in range(0, len(fg), 5))
    return max(8, math.ceil(1.25 * 86400.0 / safe))


def _check_inputs(obs: xr.DataArray, first_guess: xr.DataArray, control: str) -> None:
    if control not in ("forcing", "state"):
        raise InputError(f"control must be 'forcing' or 'state', got {control!r}")
    if obs.dims != ("time", "lat", "lon") or first_guess.shape != obs.shape:
        raise InputError(f"obs must be (time, lat, lon) and first_guess the same shape; got "
                         f"{obs.dims} {obs.shape} and {first_guess.shape}")
    if not np.isfinite(np.asarray(first_guess.values)).all():
        raise InputError("first_guess has NaN: give a gap-free first guess (e.g. the OI)")
    if not np.isfinite(np.asarray(obs.values)).any():
        raise InputError("obs has no observation (all NaN): grid the tracks onto this grid "
                         "first (varda.datasets.altimetry.grid_tracks) and check they cover it")


def qg_fourdvar(obs: xr.DataArray, first_guess: xr.DataArray, *, rossby_radius: float,
                beta: "float | None" = None, f0: "float | None" = None,
                control: str = "forcing", obs_error_std: "float | None" = None,
                first_guess_error_std: "float | None" = None, model_error_factor: float = 0.5,
                error_ratio: float = 0.1, window: int = 20, n_iter: int = 100,
                spinup_iter: int = 30, batch: int = 8, n_substeps: "int | None" = None,
                damping_days: "float | None" = None, history_size: int = 30,
                check: bool = True) -> xr.DataArray:
    """Map gridded SSH observations ``obs (time, lat, lon)`` (NaN = unobserved, metres) by
    weak-constraint 4D-Var with a QG prior, from ``first_guess`` (same grid, e.g. the OI).

    Args:
        rossby_radius, beta, f0: the region's physics in SI units (β and f0 default to the
            values at the mean latitude of ``obs``).
        control: ``"forcing"`` (default): the initial state and a red-in-time model error
            per day, whitened by statistics estimated from the first guess
            (:mod:`varda.baselines.qg_forcing`); ``"state"``: the daily states, with the
            cost ``mean_Ω (x − y)² + λ mean (x − Φ(x))²`` that varda's gradient solvers see
            (white model error; information moves one day per iteration). On the SSH
            benchmark's test seeds the forcing control beat the state control on 5 of 6
            cases but was worse than its first guess on one (docs/benchmarks/ssh.md):
            compare the two on withheld tracks before trusting either.
        obs_error_std: observation-error std (m) (forcing control); ``None``: the rms of
            ``obs − first_guess`` on the observed points. Give the along-track noise
            estimate of the OI (``duacs_oi(...).attrs["noise_std"]``) when there is one.
        first_guess_error_std: error std (m) of the first guess on a window's first day
            (forcing control); ``None``: the first guess's std (a weak background).
        model_error_factor: the model error's daily std as a fraction of the first guess's
            own residuals under the model (which hold its error as well as the model's);
            choose it on withheld data.
        error_ratio: σ²_obs / σ²_model of the state control (its prior weight is
            λ = error_ratio × grid points / observed points).
        window: days per window (overlapping by half, blended with triangular weights).
        n_iter: L-BFGS iterations per batch of windows (after ``spinup_iter`` iterations
            that fit the forced trajectory to the first guess, forcing control).
        batch: windows solved together (one FFT; memory is a batch's, whatever the length).
        n_substeps: RK4 steps per day; None: the fewest CFL-safe for the first guess's flow
            with a 25 % margin (at least 8). damping_days: the prior's linear damping.
        check: raise if the RK4 step is unstable for the first guess's flow.

    Returns:
        the map (``attrs``: ``cost_evaluations_per_window``, the physics and statistics used,
        and :func:`observation_fit`: the map's and the first guess's RMS misfit to the
        observations and Desroziers' observation-error estimate, observation-only checks of
        how the solve went).
    """
    _check_inputs(obs, first_guess, control)
    y_all = np.asarray(obs.values, np.float32)
    fg = np.asarray(first_guess.values, np.float32)
    scale = float(np.nanstd(y_all)) or 1.0
    if n_substeps is None:
        n_substeps = _substeps(obs, fg, rossby_radius, beta, f0)
    prior = qg_prior(obs, rossby_radius=rossby_radius, beta=beta, f0=f0,
                     damping_days=damping_days, n_substeps=n_substeps, norm_std=scale)
    if check:
        prior.check_cfl(torch.from_numpy(fg[: min(len(fg), 5)] / scale))
    nt = y_all.shape[0]
    starts = window_starts(nt, window, max(1, window // 2))
    attrs: dict = {"control": control}
    if control == "forcing":
        stats = model_error_stats(torch.from_numpy(fg / scale), prior)
        seen = np.isfinite(y_all)
        sigma_o = (float(np.sqrt(np.mean((y_all[seen] - fg[seen]) ** 2))) if obs_error_std is None
                   else float(obs_error_std))
        sigma_b = float(fg.std()) if first_guess_error_std is None else float(first_guess_error_std)
        sig = {"sigma_q": model_error_factor * stats.std, "sigma_b": sigma_b / scale,
               "sigma_o": max(sigma_o, 1e-6) / scale}
        attrs.update(model_error_std_m=sig["sigma_q"] * scale, model_error_lag1=stats.lag1,
                     obs_error_std_m=sigma_o, first_guess_error_std_m=sigma_b,
                     model_error_factor=model_error_factor)
    else:
        counted = _Counted(prior)
        attrs.update(error_ratio=error_ratio)
    w = np.minimum(np.arange(window) + 1.0, window - np.arange(window)).astype(np.float32)
    out = np.zeros_like(fg)
    wsum = np.zeros(nt, np.float32)
    calls = 0
    for chunk, (y, x0) in _window_batches([y_all, fg], starts, window, batch, scale):
        mask = torch.isfinite(y)
        if (mask.flatten(1).sum(1) == 0).any():
            raise InputError(f"a {window}-day window has no observation: use longer windows "
                             "or check the tracks cover the grid")
        if control == "forcing":
            cost = ForcingCost(y=torch.nan_to_num(y), mask=mask.float(), background=x0,
                               prior=prior, stats=stats, **sig)
            x, n = solve_forcing_control(cost, n_iter=n_iter, spinup_iter=spinup_iter,
                                         history_size=history_size)
            calls += n
            x = x[:, None]
        else:
            lam = error_ratio * mask[0].numel() / float(mask.flatten(1).sum(1).double().mean())
            counted.calls = 0
            x = fourdvar(torch.nan_to_num(y)[:, None], mask[:, None], counted, lam=lam,
                         n_iter=n_iter, x0=x0[:, None], stages=1, history_size=history_size)
            calls += counted.calls
        for i, s in enumerate(chunk):
            out[s:s + window] += w[:, None, None] * x[i, 0].numpy() * scale
            wsum[s:s + window] += w
    mapped = out / wsum[:, None, None]
    attrs.update({"units": "m", "long_name": "SSH mapped by QG weak-constraint 4D-Var",
                  "cost_evaluations_per_window": calls / math.ceil(len(starts) / batch),
                  "rossby_radius": float(rossby_radius), "window_days": window,
                  "n_substeps": n_substeps, "lbfgs_iterations": n_iter,
                  **observation_fit(y_all, mapped, fg)})
    return xr.DataArray(mapped, dims=obs.dims, coords=obs.coords, name="ssh", attrs=attrs)


def observation_fit(obs: np.ndarray, mapped: np.ndarray, first_guess: np.ndarray) -> dict:
    """RMS distance (m) of the map and of the first guess to the observed points, and
    Desroziers et al. (2005)'s observation-error estimate ``sqrt(mean((y − x_a)(y − x_b)))``
    (near the true observation-error std when the statistics are right). Observation-only
    checks: a map much further from its observations than the observation error, or than its
    first guess, is held far from them by its prior."""
    seen = np.isfinite(obs)
    d_a, d_b = (obs - mapped)[seen], (obs - first_guess)[seen]
    return {"obs_misfit_rms_m": float(np.sqrt(np.mean(d_a ** 2))),
            "first_guess_obs_misfit_rms_m": float(np.sqrt(np.mean(d_b ** 2))),
            "desroziers_obs_error_std_m": float(np.sqrt(max(float(np.mean(d_a * d_b)), 0.0)))}
