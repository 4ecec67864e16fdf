"""A seeded sea-surface-temperature OSSE: fronts and filaments stirred by 2-D turbulence, plus
clouds, swaths and altimeter tracks to sample it.

The truth
    A temperature anomaly ``q`` is stirred by forced, dissipative 2-D turbulence on a doubly
    periodic domain (pseudo-spectral vorticity equation, stochastic forcing in a ring of
    wavenumbers, linear drag, exponential spectral filter at the grid scale as in pyqg) and fed
    by a uniform large-scale meridional gradient, which the eddies fold into fronts and
    filaments::

        ∂ω/∂t + J(ψ, ω) = F − μ ω,          ω = ∇²ψ
        ∂q/∂t + J(ψ, q) = −G ∂ψ/∂x − γ q    (γ: weak air–sea relaxation)

    The flow and the tracer are spun up (``spinup`` model time units, ~10 drag e-folding times)
    before anything is recorded, so the recorded fields have a stationary, realistic
    (k^-3-like, steep) spectrum. The sea-surface temperature is then::

        SST = T_south − A · y − B · q + seasonal(lat, day of year)

    with ``A`` set so that the mean meridional drop is ``gradient`` °C per degree of latitude,
    ``B`` so that the anomaly has standard deviation ``anomaly_std`` °C,
    and a seasonal cycle whose amplitude grows poleward. Land (a western coast and islands) is
    a static mask applied to the output (the dynamics ignore it: an OSSE, not an ocean model).

    Written with ``numpy.fft`` rather than a library: pyqg (the usual choice) is not a
    dependency of varda, and this ~100-line solver is all the OSSE needs.

Speed and cache
    A tiny field (20 days × 24 × 32) takes about a second; a year of daily 64 × 96 about
    30 s on one core (up to ~65 s measured on a loaded 2-core machine). Truth fields are cached as float32 in the user cache directory
    (``$VARDA_CACHE_DIR`` or ``$XDG_CACHE_HOME/varda`` or ``~/.cache/varda``, as for
    Lorenz-96), keyed by a hash of every parameter that defines them; ``cache=False`` bypasses
    it. Masks and noise are drawn afresh from their seeds (cheap).

Sampling (all seeded; boolean DataArrays on the truth's grid, True = observed, land never)
    * :func:`cloud_mask`: moving, persistent blob clouds with a target missing fraction;
    * :func:`swath_mask`: strips of a satellite's swath, at an angle, shifting day by day;
    * :func:`altimeter_mask`: thin ascending/descending nadir tracks with a repeat cycle.

:func:`make_sst_osse` bundles truth, observations, mask and land.
"""
from __future__ import annotations

import json
from typing import NamedTuple

import numpy as np
import xarray as xr

from varda.datasets._cache import cached_array
from varda.datasets.masks import _smooth_noise
from varda.errors import InputError

#: named sizes: (days, lat, lon)
SIZES: dict[str, tuple[int, int, int]] = {
    "tiny": (20, 24, 32),
    "small": (120, 48, 64),
    "year": (365, 64, 96),
}
#: spin-up (model time) per named size: shorter for the tiny test field (speed), ~10 drag
#: e-folding times otherwise
SPINUP: dict[str, float] = {"tiny": 15.0, "small": 50.0, "year": 50.0}

_VERSION = 1  # bump when the generator changes, so stale cache files are not reused


# --------------------------------------------------------------------------------------------
# the turbulence + tracer solver (NumPy kernel)
# --------------------------------------------------------------------------------------------
class _Spectral:
    """Wavenumbers, inversion and filter of a doubly periodic ny × nx grid of spacing 2π/nx."""

    def __init__(self, ny: int, nx: int):
        self.ny, self.nx = ny, nx
        self.dx = 2 * np.pi / nx
        self.kx = 2 * np.pi * np.fft.rfftfreq(nx, self.dx)[None, :]
        self.ky = 2 * np.pi * np.fft.fftfreq(ny, self.dx)[:, None]
        self.k2 = self.kx ** 2 + self.ky ** 2
        self.inv_k2 = np.where(self.k2 > 0, 1.0 / np.where(self.k2 > 0, self.k2, 1.0), 0.0)
        # exponential filter of pyqg (Arbic & Flierl 2003): damps the last third of wavenumbers
        kstar = np.sqrt((self.kx * self.dx) ** 2 + (self.ky * self.dx) ** 2)
        cut = 0.65 * np.pi
        self.filt = np.where(kstar > cut, np.exp(-23.6 * (kstar - cut) ** 4), 1.0)

    def irfft(self, a: np.ndarray) -> np.ndarray:
        return np.fft.irfft2(a, s=(self.ny, self.nx))

    def velocity(self, wh: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(u, v, ψ̂) from the vorticity's transform."""
        ph = -wh * self.inv_k2
        return self.irfft(-1j * self.ky * ph), self.irfft(1j * self.kx * ph), ph

    def tendency(self, wh: np.ndarray, qh: np.ndarray, drag: float, grad: float,
                 relax: float) -> tuple[np.ndarray, np.ndarray, float]:
        """(dω̂/dt, dq̂/dt, max |velocity|)."""
        ph = -wh * self.inv_k2
        ikx, iky = 1j * self.kx, 1j * self.ky
        # one inverse transform of the six fields (fewer, larger FFT calls: faster)
        u, v, wx, wy, qx, qy = self.irfft(np.stack([-iky * ph, ikx * ph, ikx * wh, iky * wh,
                                                    ikx * qh, iky * qh]))
        jw, jq = np.fft.rfft2(np.stack([u * wx + v * wy, u * qx + v * qy]))
        dw = -jw - drag * wh
        dq = -jq - grad * (ikx * ph) - relax * qh
        return dw, dq, max(float(np.abs(u).max()), float(np.abs(v).max()))


class _Forcing:
    """Random vorticity forcing in the ring |k| ∈ [kf − 1, kf + 1], scaled to inject ``power``
    units of kinetic energy per unit time on average (white in time: added as √dt · F)."""

    def __init__(self, sp: _Spectral, kf: float, power: float, rng: np.random.Generator):
        self.ring = (np.sqrt(sp.k2) >= kf - 1) & (np.sqrt(sp.k2) <= kf + 1)
        self.rng = rng
        energies = []
        for _ in range(8):  # calibrate the amplitude once (mean energy of a raw draw)
            u, v, _ = sp.velocity(self._raw())
            energies.append(0.5 * float(np.mean(u ** 2 + v ** 2)))
        self.gain = np.sqrt(power / max(float(np.mean(energies)), 1e-30))

    def _raw(self) -> np.ndarray:
        shape = self.ring.shape
        return self.ring * (self.rng.standard_normal(shape) + 1j * self.rng.standard_normal(shape))

    def draw(self) -> np.ndarray:
        return self.gain * self._raw()


def simulate_turbulent_tracer(n_days: int, ny: int, nx: int, *, seed: int = 0,
                              turnover_days: float = 3.0, spinup: float = 50.0,
                              kf: "float | None" = None, drag: float = 0.1,
                              relax: float = 0.1, cfl: float = 0.7) -> np.ndarray:
    """Daily snapshots ``(n_days, ny, nx)`` (float64) of ``y + q``: the large-scale meridional
    gradient (``y`` in model units, 0 at the southern row) plus the stirred anomaly ``q``.

    Args:
        n_days: number of daily snapshots recorded after the spin-up.
        ny, nx: grid size (latitude, longitude); the model domain is 2π wide.
        seed: seeds the initial state and the stochastic forcing.
        turnover_days: eddy turnover time 1/(U·kf) in days (U ≈ 1 by construction): sets how
            fast the fronts move from one day to the next.
        spinup: model time (units of 1/U) integrated before the first snapshot.
        kf: forcing wavenumber (default ``max(3, nx // 16)``: eddies of ~16 grid points).
        drag, relax: linear drag of the flow and relaxation of the tracer (per model time).
        cfl: Courant number of the adaptive time step.
    """
    if n_days < 1 or ny < 8 or nx < 8:
        raise InputError(f"the SST OSSE needs n_days ≥ 1 and a grid of at least 8 × 8; got "
                         f"n_days={n_days}, ny={ny}, nx={nx}")
    rng = np.random.default_rng(seed)
    sp = _Spectral(ny, nx)
    kf = float(kf if kf is not None else max(3, nx // 16))
    forcing = _Forcing(sp, kf, drag, rng)  # ε = μ U² with U = 1
    wh = forcing.draw() * 0.5
    qh = np.zeros_like(wh)
    day = 1.0 / (kf * turnover_days)  # model time per day
    out = np.empty((n_days, ny, nx))
    y = np.arange(ny)[:, None] * sp.dx * np.ones((1, nx))

    def step_to(t_total: float, wh: np.ndarray, qh: np.ndarray):
        t = 0.0
        while t < t_total - 1e-12:
            k1w, k1q, umax = sp.tendency(wh, qh, drag, 1.0, relax)
            dt = min(cfl * sp.dx / max(umax, 0.5), t_total - t)
            k2w, k2q, _ = sp.tendency(wh + 0.5 * dt * k1w, qh + 0.5 * dt * k1q, drag, 1.0, relax)
            k3w, k3q, _ = sp.tendency(wh + 0.5 * dt * k2w, qh + 0.5 * dt * k2q, drag, 1.0, relax)
            k4w, k4q, _ = sp.tendency(wh + dt * k3w, qh + dt * k3q, drag, 1.0, relax)
            wh = wh + dt / 6 * (k1w + 2 * k2w + 2 * k3w + k4w)
            qh = qh + dt / 6 * (k1q + 2 * k2q + 2 * k3q + k4q)
            wh = (wh + np.sqrt(dt) * forcing.draw()) * sp.filt
            qh = qh * sp.filt
            t += dt
        return wh, qh

    wh, qh = step_to(spinup, wh, qh)
    for d in range(n_days):
        if d:
            wh, qh = step_to(day, wh, qh)
        out[d] = y + sp.irfft(qh)
    return out


# --------------------------------------------------------------------------------------------
# land, grid, truth
# --------------------------------------------------------------------------------------------
def make_land(ny: int, nx: int, *, seed: int = 0, coast_fraction: float = 0.1,
              island_fraction: float = 0.03) -> np.ndarray:
    """A boolean land mask ``(ny, nx)`` (True = land): a wiggly western coast covering about
    ``coast_fraction`` of the columns, and islands covering about ``island_fraction``."""
    rng = np.random.default_rng(seed + 7919)
    jj = np.arange(nx)[None, :]
    wiggle = _smooth_noise((1, ny), max(ny / 8, 1.5), rng)[0][:, None]
    coast = nx * coast_fraction * (1.0 + 0.5 * wiggle)
    land = jj < coast
    if island_fraction > 0:
        blobs = _smooth_noise((ny, nx), max(nx / 25, 1.0), rng)
        blobs[:, : int(np.ceil(nx * coast_fraction * 2))] = -np.inf  # off the coast
        blobs[[0, -1], :] = -np.inf
        land |= blobs > np.quantile(blobs, 1.0 - island_fraction)
    return land


def sst_grid(ny: int, nx: int, *, lat0: float = 28.0, lon0: float = -76.0,
             resolution: float = 0.25) -> tuple[np.ndarray, np.ndarray]:
    """Latitudes and longitudes (cell centres, degrees) of the OSSE grid."""
    lat = lat0 + resolution * (np.arange(ny) + 0.5)
    lon = lon0 + resolution * (np.arange(nx) + 0.5)
    return lat, lon


def _truth_array(n_days: int, ny: int, nx: int, seed: int, turnover_days: float, spinup: float,
                 cache: bool) -> np.ndarray:
    key = dict(n_days=n_days, ny=ny, nx=nx, seed=seed, turnover_days=turnover_days,
               spinup=spinup, v=_VERSION)
    return cached_array("sst_osse", "tracer", key, (n_days, ny, nx), cache=cache,
                        build=lambda: simulate_turbulent_tracer(
                            n_days, ny, nx, seed=seed, turnover_days=turnover_days, spinup=spinup))


def make_sst_truth(n_days: int = 365, ny: int = 64, nx: int = 96, *, seed: int = 0,
                   start: str = "2021-01-01", lat0: float = 28.0, lon0: float = -76.0,
                   resolution: float = 0.25, t_south: float = 26.0, gradient: float = 0.4,
                   anomaly_std: float = 1.0, seasonal_amplitude: tuple[float, float] = (1.5, 4.0),
                   turnover_days: float = 3.0, spinup: float = 50.0, land: bool = True,
                   cache: bool = True) -> xr.DataArray:
    """The OSSE's true daily SST ``(time, lat, lon)`` in °C, NaN over land.

    Args:
        n_days, ny, nx: days recorded and grid size.
        seed: seeds the turbulence and the land mask.
        start: first day (daily ``datetime64`` time coordinate).
        lat0, lon0, resolution: south-west corner and grid spacing (degrees).
        t_south: mean SST along the southern edge (°C).
        gradient: mean meridional SST drop (°C per degree of latitude, poleward).
        anomaly_std: standard deviation (°C) of the stirred anomaly ``q`` over the record
            (the simulated anomaly is rescaled to it: 2-D turbulence piles energy up at the
            domain scale, which would otherwise give anomalies of several °C).
        seasonal_amplitude: seasonal-cycle amplitude (°C) at the southern and northern edges
            (warmest in mid-August).
        turnover_days, spinup: see :func:`simulate_turbulent_tracer`.
        land: add the western coast and islands (NaN at every time step).
        cache: read/write the simulated tracer from/to the user cache directory.

    Returns:
        A float32 DataArray named ``sst`` with CF attributes (``standard_name =
        sea_surface_temperature``, ``units = degC``) and the generator settings in ``attrs``.
    """
    tracer = _truth_array(n_days, ny, nx, seed, turnover_days, spinup, cache).astype(np.float64)
    lat, lon = sst_grid(ny, nx, lat0=lat0, lon0=lon0, resolution=resolution)
    time = np.datetime64(start, "D") + np.arange(n_days).astype("timedelta64[D]")
    dx = 2 * np.pi / nx  # model length of one grid step
    scale = gradient * resolution / dx  # °C per model length unit
    mean_part = t_south - scale * np.arange(ny)[:, None] * dx
    anomaly = tracer - np.arange(ny)[None, :, None] * dx
    anomaly = anomaly - anomaly.mean()
    doy = (time - time.astype("datetime64[Y]")).astype(int)
    frac = (lat - lat.min()) / max(lat.max() - lat.min(), 1e-9)
    amp = seasonal_amplitude[0] + (seasonal_amplitude[1] - seasonal_amplitude[0]) * frac
    season = amp[None, :, None] * np.cos(2 * np.pi * (doy - 225) / 365.25)[:, None, None]
    gain = anomaly_std / max(float(anomaly.std()), 1e-12)
    sst = mean_part[None] - gain * anomaly + season
    # minus: the model's tracer grows northward, SST falls poleward; flipping the sign of the
    # whole tracer keeps the eddy-stirred anomaly consistent with the mean gradient.
    if land:
        sst = np.where(make_land(ny, nx, seed=seed)[None], np.nan, sst)
    attrs = dict(standard_name="sea_surface_temperature", long_name="sea surface temperature",
                 units="degC", source="varda.datasets.osse (2-D turbulence OSSE)",
                 osse_config=json.dumps(dict(n_days=n_days, ny=ny, nx=nx, seed=seed,
                                             start=start, gradient=gradient,
                                             turnover_days=turnover_days, spinup=spinup)))
    return xr.DataArray(
        sst.astype(np.float32), dims=("time", "lat", "lon"), name="sst", attrs=attrs,
        coords={"time": ("time", time.astype("datetime64[ns]"), {"standard_name": "time",
                                                                    "axis": "T"}),
                "lat": ("lat", lat, {"standard_name": "latitude", "units": "degrees_north",
                                     "axis": "Y"}),
                "lon": ("lon", lon, {"standard_name": "longitude", "units": "degrees_east",
                                     "axis": "X"})})


# --------------------------------------------------------------------------------------------
# sampling
# --------------------------------------------------------------------------------------------
def _grid_of(template: xr.DataArray, land: "xr.DataArray | None") -> tuple[tuple[int, int, int],
                                                                           np.ndarray]:
    """(nt, ny, nx) of a ``(time, lat, lon)`` template and its land mask (NaN at all times)."""
    if not isinstance(template, xr.DataArray) or template.ndim != 3:
        raise InputError("the sampling generators need a (time, lat, lon) DataArray template, "
                         f"got {type(template).__name__} with "
                         f"{getattr(template, 'dims', '?')}")
    if land is None:
        if template.dtype.kind != "f":
            raise InputError(f"template {template.name!r} has dtype {template.dtype}; give a "
                             "float field (land = NaN at every time) or land=")
        land_np = np.asarray(template.isnull().all(template.dims[0]).values)
    else:
        land_np = np.asarray(land.transpose(*template.dims[1:]).values, bool)
    if land_np.all():
        raise InputError(f"template {template.name!r} has no ocean point (NaN everywhere)")
    return template.shape, land_np  # type: ignore[return-value]


def _as_mask(values: np.ndarray, template: xr.DataArray, kind: str, **attrs) -> xr.DataArray:
    return xr.DataArray(values, dims=template.dims, coords=template.coords, name="observed",
                        attrs=dict(long_name=f"observed ({kind})", sampling=kind,
                                   **{k: json.dumps(v) if isinstance(v, (tuple, list)) else v
                                      for k, v in attrs.items()}))


def _shift(field: np.ndarray, dy: float, dx: float) -> np.ndarray:
    """Periodic sub-grid shift of a 2-D field by (dy, dx) grid points (Fourier phase)."""
    ny, nx = field.shape
    ky = np.fft.fftfreq(ny)[:, None]
    kx = np.fft.rfftfreq(nx)[None, :]
    phase = np.exp(-2j * np.pi * (ky * dy + kx * dx))
    return np.fft.irfft2(np.fft.rfft2(field) * phase, s=(ny, nx))


def cloud_mask(template: xr.DataArray, *, missing_fraction: float = 0.7, scale: float = 4.0,
               correlation_days: float = 3.0, drift: tuple[float, float] = (0.3, 1.0),
               seed: int = 0, land: "xr.DataArray | None" = None) -> xr.DataArray:
    """Moving, persistent blob clouds: True where the sky is clear (observed).

    A smooth Gaussian random field (correlation length ``scale`` grid points) drifts by
    ``drift = (north, east)`` grid points per day and evolves as an AR(1) process with
    e-folding time ``correlation_days``; clouds are where it exceeds one threshold, chosen over
    all ocean points and days so that the overall missing fraction over the ocean is
    ``missing_fraction`` (day-to-day cover varies, as real cloud cover does). Land is never
    observed.

    Args:
        template: the ``(time, lat, lon)`` field to sample (land = NaN at every time).
        missing_fraction: fraction of ocean points hidden, in [0, 1).
        scale: cloud size (grid points).
        correlation_days: temporal correlation of the cloud field (days; time steps).
        drift: cloud motion (grid points per day, (north, east)).
        seed: random seed.
        land: boolean ``(lat, lon)`` land mask (True = land) if the template has no NaN land.
    """
    if not 0.0 <= missing_fraction < 1.0:
        raise InputError(f"missing_fraction must be in [0, 1), got {missing_fraction}")
    if correlation_days <= 0 or scale <= 0:
        raise InputError(f"scale and correlation_days must be positive, got {scale}, "
                         f"{correlation_days}")
    (nt, ny, nx), land_np = _grid_of(template, land)
    rng = np.random.default_rng(seed)
    a = float(np.exp(-1.0 / correlation_days))
    fields = np.empty((nt, ny, nx))
    fields[0] = _smooth_noise((ny, nx), scale, rng)
    for t in range(1, nt):
        fresh = _smooth_noise((ny, nx), scale, rng)
        fields[t] = a * _shift(fields[t - 1], *drift) + np.sqrt(1 - a * a) * fresh
    ocean = ~land_np
    threshold = np.quantile(fields[:, ocean], missing_fraction)
    observed = (fields >= threshold) & ocean[None]
    return _as_mask(observed, template, "clouds", missing_fraction=missing_fraction,
                    scale=scale, correlation_days=correlation_days, drift=list(drift), seed=seed)


def swath_mask(template: xr.DataArray, *, width: float = 12.0, spacing: float = 40.0,
               angle: float = 15.0, shift_per_day: "float | None" = None, seed: int = 0,
               land: "xr.DataArray | None" = None) -> xr.DataArray:
    """Satellite swaths: parallel strips ``width`` grid points wide, ``spacing`` apart (centre
    to centre), tilted ``angle`` degrees from north, shifting ``shift_per_day`` grid points
    east each day (default: spacing × 0.382…, the golden ratio, so the gaps fill in over a few
    days). ``seed`` draws the first day's offset.
    """
    if not 0 < width < spacing:
        raise InputError(f"swath width must be in (0, spacing={spacing}), got {width}")
    (nt, ny, nx), land_np = _grid_of(template, land)
    rng = np.random.default_rng(seed)
    shift = spacing * (1 - 0.6180339887) if shift_per_day is None else shift_per_day
    yy, xx = np.mgrid[0:ny, 0:nx].astype(float)
    across = xx * np.cos(np.radians(angle)) - yy * np.sin(np.radians(angle))
    offset = rng.uniform(0, spacing)
    obs = np.empty((nt, ny, nx), bool)
    for t in range(nt):
        obs[t] = np.mod(across - offset - t * shift, spacing) < width
    obs &= ~land_np[None]
    return _as_mask(obs, template, "swaths", width=width, spacing=spacing, angle=angle,
                    shift_per_day=shift, seed=seed)


def altimeter_mask(template: xr.DataArray, *, tracks_per_day: int = 2, cycle_days: int = 10,
                   angle: float = 30.0, width: float = 1.0, seed: int = 0,
                   land: "xr.DataArray | None" = None) -> xr.DataArray:
    """Nadir altimeter ground tracks: thin (``width`` grid points) ascending and descending
    tracks, tilted by ± ``angle`` degrees from north, repeating every ``cycle_days`` days.

    Each day shows ``tracks_per_day`` ascending and as many descending tracks; over one repeat
    cycle the tracks interleave (the day order is a seeded permutation) so that the union of a
    cycle covers the domain with tracks ``period / cycle_days`` apart.
    """
    if tracks_per_day < 1 or cycle_days < 1 or width <= 0:
        raise InputError("altimeter_mask needs tracks_per_day ≥ 1, cycle_days ≥ 1 and width > 0; "
                         f"got {tracks_per_day}, {cycle_days}, {width}")
    (nt, ny, nx), land_np = _grid_of(template, land)
    rng = np.random.default_rng(seed)
    order = rng.permutation(cycle_days)
    yy, xx = np.mgrid[0:ny, 0:nx].astype(float)
    c, s = np.cos(np.radians(angle)), np.sin(np.radians(angle))
    period = (nx * c + ny * s) / tracks_per_day  # across-track length of the domain / tracks
    obs = np.zeros((nt, ny, nx), bool)
    for t in range(nt):
        off = order[t % cycle_days] * period / cycle_days
        for sign in (1.0, -1.0):
            across = xx * c - sign * yy * s + (ny * s if sign > 0 else 0.0)
            d = np.mod(across - off + 0.5 * period, period) - 0.5 * period
            obs[t] |= np.abs(d) < 0.5 * width * (1 + 1e-9)
    obs &= ~land_np[None]
    return _as_mask(obs, template, "altimeter", tracks_per_day=tracks_per_day,
                    cycle_days=cycle_days, angle=angle, width=width, seed=seed)


# --------------------------------------------------------------------------------------------
# the bundle
# --------------------------------------------------------------------------------------------
class SSTOSSE(NamedTuple):
    """Truth, observations (NaN where not observed), observed mask and land mask of an OSSE."""

    truth: xr.DataArray
    obs: xr.DataArray
    mask: xr.DataArray
    land: xr.DataArray


def make_sst_osse(size: str = "tiny", *, seed: int = 0, cloud_fraction: float = 0.7,
                  sampling: str = "clouds", noise_std: float = 0.0, cache: bool = True,
                  **sampling_options) -> SSTOSSE:
    """A ready-made SST OSSE: ``truth, obs, mask, land = make_sst_osse("tiny", seed=0)``.

    Args:
        size: ``"tiny"`` (20 days × 24 × 32, for tests), ``"small"`` (120 × 48 × 64) or
            ``"year"`` (365 × 64 × 96, for benchmarks; cached after the first build).
        seed: seeds the truth (turbulence, land), the sampling (``seed + 1``) and the noise
            (``seed + 2``).
        cloud_fraction: missing fraction over the ocean for ``sampling="clouds"``.
        sampling: ``"clouds"``, ``"swaths"`` or ``"altimeter"``.
        noise_std: standard deviation of Gaussian measurement noise added to ``obs`` (°C).
        cache: use the user cache for the truth.
        **sampling_options: passed to :func:`cloud_mask`, :func:`swath_mask` or
            :func:`altimeter_mask`.

    Returns:
        :class:`SSTOSSE` ``(truth, obs, mask, land)``: ``truth`` and ``obs`` float32
        ``(time, lat, lon)`` with land NaN; ``mask`` boolean, True where observed; ``land``
        boolean ``(lat, lon)``, True on land.
    """
    if size not in SIZES:
        raise InputError(f"unknown OSSE size {size!r}; valid sizes are {sorted(SIZES)}")
    if noise_std < 0:
        raise InputError(f"noise_std must be ≥ 0, got {noise_std}")
    if sampling not in ("clouds", "swaths", "altimeter"):
        raise InputError(f"unknown sampling {sampling!r}; valid: 'altimeter', 'clouds', "
                         "'swaths'")
    n_days, ny, nx = SIZES[size]
    truth = make_sst_truth(n_days, ny, nx, seed=seed, spinup=SPINUP[size], cache=cache)
    land = truth.isnull().all("time").rename("land")
    land.attrs = dict(long_name="land mask (True = land)")
    if sampling == "clouds":
        mask = cloud_mask(truth, missing_fraction=cloud_fraction, seed=seed + 1,
                          **sampling_options)
    elif sampling == "swaths":
        mask = swath_mask(truth, seed=seed + 1, **sampling_options)
    else:
        mask = altimeter_mask(truth, seed=seed + 1, **sampling_options)
    rng = np.random.default_rng(seed + 2)
    noisy = truth.values + (rng.normal(0.0, noise_std, truth.shape) if noise_std else 0.0)
    obs = truth.copy(data=np.where(mask.values, noisy, np.nan).astype(np.float32))
    obs.attrs = dict(truth.attrs, long_name="observed sea surface temperature",
                     noise_std=noise_std, sampling=sampling)
    return SSTOSSE(truth, obs, mask, land)


__all__ = ["SIZES", "SSTOSSE", "make_sst_osse", "make_sst_truth", "make_land", "sst_grid",
           "simulate_turbulent_tracer", "cloud_mask", "swath_mask", "altimeter_mask"]
