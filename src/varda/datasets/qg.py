"""A seeded sea-surface-height OSSE: forced, westward-drifting eddies of a 1.5-layer QG model.

The truth is the QG model of :mod:`varda.core.qg` (the same code the variational QG prior
runs, so a "perfect-model" experiment is exactly that) on a doubly periodic ``ny × nx`` plane,
driven by a red-in-time stochastic forcing (``forcing_memory_days`` memory) in a ring of
wavenumbers and damped linearly. After ``spinup_days`` the SSH is recorded once a day.

Default settings (:data:`NOMINAL`): a 64 × 64 grid of 10 km steps (640 km), centred at 36° N
(f0 = 8.6e-5 s⁻¹, β = 1.85e-11 m⁻¹ s⁻¹), Rossby radius 60 km (6 cells), damping 1/60 per day,
forcing in the ring of 3–5 cycles per domain with a 3-day memory. SSH std ≈ 0.09 m; lag-1/5/10
day correlations ≈ 0.99/0.87/0.66. :data:`MISSPECIFIED` is another ocean (Rossby radius 5
cells, β + 20 %, damping 1/40 per day, another forcing ring, amplitude + 15 %) to make truths
that a prior with the nominal parameters does not describe exactly.

The plane is mapped to a lon/lat box around ``lat0`` by a local tangent-plane approximation.
Land and coasts are not modelled (a doubly periodic open-ocean box).

Truths are cached as float32 (see :mod:`varda.datasets._cache`), keyed by every parameter.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import xarray as xr

from varda.core.qg import QGModel
from varda.datasets._cache import cached_array
from varda.errors import InputError

#: Earth's rotation rate (s⁻¹) and radius (m)
OMEGA, EARTH_RADIUS = 7.2921e-5, 6.371e6
#: metres per degree of latitude
M_PER_DEG = math.pi * EARTH_RADIUS / 180.0

#: the nominal ocean: the parameters a perfect-model prior is given
NOMINAL: dict = {"rossby_radius": 60e3, "beta": None, "damping_days": 60.0,
                 "forcing_ring": (3.0, 5.0), "forcing_amplitude": 1.5e-11}
#: another ocean (for misspecified-model experiments)
MISSPECIFIED: dict = {"rossby_radius": 50e3, "beta_factor": 1.2, "damping_days": 40.0,
                      "forcing_ring": (4.0, 6.0), "forcing_amplitude": 1.725e-11}


def coriolis(lat0: float) -> tuple[float, float]:
    """``(f0, β)`` at latitude ``lat0`` (degrees north)."""
    phi = math.radians(lat0)
    return 2 * OMEGA * math.sin(phi), 2 * OMEGA * math.cos(phi) / EARTH_RADIUS


def _forcing_draw(model: QGModel, ring: tuple[float, float], gen: torch.Generator) -> torch.Tensor:
    ny, nx = model.shape
    kc = torch.sqrt((model.kx * nx * model.dx) ** 2 + (model.ky * ny * model.dx) ** 2) / (2 * math.pi)
    sel = ((kc >= ring[0]) & (kc <= ring[1])).to(torch.float64)
    white = torch.fft.rfft2(torch.randn(ny, nx, generator=gen, dtype=torch.float64)) * sel
    w = torch.full((nx // 2 + 1,), 2.0, dtype=torch.float64)
    w[0] = w[-1] = 1.0                                   # rfft half-plane weights
    kept = float((sel * w).sum()) / (ny * nx)            # variance fraction of white noise kept
    return white / math.sqrt(max(kept, 1e-30))           # unit spatial std on average


def simulate_qg(n_days: int, *, seed: int = 0, shape: tuple[int, int] = (64, 64),
                dx: float = 10e3, lat0: float = 36.0, rossby_radius: float = 60e3,
                beta: "float | None" = None, beta_factor: float = 1.0,
                damping_days: float = 60.0, forcing_ring: tuple[float, float] = (3.0, 5.0),
                forcing_amplitude: float = 1.5e-11, forcing_memory_days: float = 3.0,
                dt: float = 7200.0, spinup_days: int = 200, cache: bool = True) -> np.ndarray:
    """Daily SSH (metres), ``(n_days, ny, nx)`` float32, of the forced QG model.

    Args:
        n_days: days recorded after the spin-up.
        seed: seed of the forcing (every seed is another ocean weather).
        shape, dx: grid points and step (m).
        lat0: central latitude (degrees north): gives f0 and, unless ``beta`` is given, β.
        rossby_radius: Ld (m). beta: β (m⁻¹ s⁻¹), times ``beta_factor``.
        damping_days: linear damping time (days).
        forcing_ring: the forcing's wavenumbers, cycles per domain (min, max).
        forcing_amplitude: std of the PV forcing (s⁻²).
        forcing_memory_days: e-folding time of the forcing's red noise (days).
        dt: RK4 step (s); must divide a day. spinup_days: days run before recording.
        cache: read/write the on-disk cache.
    """
    if n_days < 1:
        raise InputError(f"n_days must be >= 1, got {n_days}")
    steps = 86400.0 / dt
    if abs(steps - round(steps)) > 1e-9:
        raise InputError(f"dt={dt:g} s must divide a day (86400 s), e.g. 7200 or 3600")
    f0, beta0 = coriolis(lat0)
    beta_v = (beta0 if beta is None else float(beta)) * beta_factor
    key = {"v": 1, "n_days": n_days, "seed": seed, "shape": list(shape), "dx": dx, "lat0": lat0,
           "Ld": rossby_radius, "beta": beta_v, "damp": damping_days, "ring": list(forcing_ring),
           "amp": forcing_amplitude, "mem": forcing_memory_days, "dt": dt, "spin": spinup_days}

    def build() -> np.ndarray:
        model = QGModel(shape=shape, dx=dx, rossby_radius=rossby_radius, beta=beta_v, f0=f0,
                        damping_days=damping_days, dt=dt)
        gen = torch.Generator().manual_seed(int(seed))
        a = math.exp(-dt / (forcing_memory_days * 86400.0))
        b = math.sqrt(1 - a * a) * forcing_amplitude
        qh = torch.zeros(shape[0], shape[1] // 2 + 1, dtype=torch.complex128)
        force = _forcing_draw(model, forcing_ring, gen) * forcing_amplitude
        out = np.empty((n_days, *shape), np.float32)
        with torch.no_grad():
            for day in range(spinup_days + n_days):
                for _ in range(int(round(steps))):
                    force = a * force + b * _forcing_draw(model, forcing_ring, gen)
                    qh = model.step(qh, force)
                if day >= spinup_days:
                    eta = model.qh_to_ssh(qh)
                    out[day - spinup_days] = (eta - eta.mean()).numpy()
        if not np.isfinite(out).all():
            raise InputError(f"the QG simulation blew up: dt={dt:g} s is too long for this "
                             "forcing amplitude; use a smaller dt")
        return out

    return cached_array("qg", "ssh", key, (n_days, *shape), build, cache=cache)


def qg_grid(shape: tuple[int, int], *, dx: float = 10e3, lat0: float = 36.0,
            lon0: float = -40.0) -> tuple[np.ndarray, np.ndarray]:
    """1-D ascending ``(lat, lon)`` degrees of the plane's cell centres around ``(lat0, lon0)``
    (tangent-plane approximation: constant degree steps taken at ``lat0``)."""
    ny, nx = shape
    dlat = dx / M_PER_DEG
    dlon = dx / (M_PER_DEG * math.cos(math.radians(lat0)))
    lat = lat0 + (np.arange(ny) - (ny - 1) / 2) * dlat
    lon = lon0 + (np.arange(nx) - (nx - 1) / 2) * dlon
    return lat, lon


def make_qg_ssh(n_days: int = 365, *, seed: int = 0, start: str = "2020-01-01",
                shape: tuple[int, int] = (64, 64), dx: float = 10e3, lat0: float = 36.0,
                lon0: float = -40.0, cache: bool = True, **physics) -> xr.DataArray:
    """The QG OSSE truth as a DataArray ``ssh (time, lat, lon)`` in metres.

    ``physics`` are :func:`simulate_qg`'s options (``rossby_radius``, ``beta``,
    ``beta_factor``, ``damping_days``, ``forcing_ring``, ``forcing_amplitude``, ...), e.g.
    ``**MISSPECIFIED``. The attributes record them with the grid step (``dx_km``), f0 and β.
    """
    data = simulate_qg(n_days, seed=seed, shape=shape, dx=dx, lat0=lat0, cache=cache, **physics)
    lat, lon = qg_grid(shape, dx=dx, lat0=lat0, lon0=lon0)
    time = np.datetime64(start, "ns") + np.arange(n_days) * np.timedelta64(1, "D")
    f0, beta0 = coriolis(lat0)
    beta = physics.get("beta") or beta0
    attrs = {"units": "m", "standard_name": "sea_surface_height_above_sea_level",
             "long_name": "sea-surface height anomaly (QG OSSE truth)", "dx_km": dx / 1e3,
             "f0": f0, "beta": beta * physics.get("beta_factor", 1.0), "seed": seed,
             "rossby_radius": physics.get("rossby_radius", 60e3)}
    attrs.update({f"qg_{k}": (list(v) if isinstance(v, tuple) else v)
                  for k, v in physics.items() if v is not None})
    return xr.DataArray(
        data, dims=("time", "lat", "lon"), name="ssh", attrs=attrs,
        coords={"time": time,
                "lat": ("lat", lat, {"units": "degrees_north", "standard_name": "latitude"}),
                "lon": ("lon", lon, {"units": "degrees_east", "standard_name": "longitude"})})
