"""Synthetic SSH for the tests of the SSH scores and the along-track OI: drifting Gaussian
eddies (known space and time scales) on a lon/lat grid, sampled along straight inclined
satellite tracks (the along-track layout of L3 products)."""
from __future__ import annotations

import numpy as np
import xarray as xr

R_KM = 6371.0
T0 = np.datetime64("2020-01-01", "ns")
LAT0, LON0, DLAT, DLON = 35.0, -40.0, 0.1, 0.12


def grid(n_days: int = 40, n: int = 48) -> xr.DataArray:
    """An all-zero ``(time, lat, lon)`` DataArray: daily, ~11 km steps."""
    lat = LAT0 + DLAT * np.arange(n)
    lon = LON0 + DLON * np.arange(n)
    time = T0 + np.arange(n_days) * np.timedelta64(1, "D")
    return xr.DataArray(np.zeros((n_days, n, n)), dims=("time", "lat", "lon"),
                        coords={"time": time, "lat": lat, "lon": lon}, name="ssh",
                        attrs={"units": "m"})


def _km(lon: np.ndarray, lat: np.ndarray, like: xr.DataArray) -> tuple[np.ndarray, np.ndarray]:
    latc = float(like.lat.mean())
    x = R_KM * np.cos(np.radians(latc)) * np.radians(lon - float(like.lon[0]))
    y = R_KM * np.radians(lat - float(like.lat[0]))
    return x, y


class Eddies:
    """Σ aᵢ exp(−|x − cᵢ − v (t − tᵢ)|² / 2R² − (t − tᵢ)² / 2τ²): eddies of radius ``radius_km``
    and lifetime ``life_days`` drifting west at ``drift_km_day``, born uniformly."""

    def __init__(self, like: xr.DataArray, *, radius_km: float = 40.0, life_days: float = 8.0,
                 drift_km_day: float = 3.0, per_day: float = 3.0, seed: int = 0):
        rng = np.random.default_rng(seed)
        x, y = _km(like.lon.values, like.lat.values, like)
        n_days = like.sizes["time"]
        pad = 3 * radius_km
        n = int(per_day * (n_days + 6 * life_days))
        self.t = rng.uniform(-3 * life_days, n_days + 3 * life_days, n)
        self.cx = rng.uniform(x.min() - pad, x.max() + pad + drift_km_day * 3 * life_days, n)
        self.cy = rng.uniform(y.min() - pad, y.max() + pad, n)
        self.a = rng.choice([-1.0, 1.0], n) * rng.uniform(0.05, 0.15, n)
        self.radius, self.life, self.drift = radius_km, life_days, drift_km_day
        self.like = like

    def at(self, x: np.ndarray, y: np.ndarray, t: np.ndarray) -> np.ndarray:
        """SSH (m) at km positions ``x``, ``y`` and times ``t`` (days), same shapes."""
        out = np.zeros(np.shape(t))
        for i in np.flatnonzero(np.abs(self.t - np.mean(t)) < 4 * self.life + np.ptp(t)):
            dt = t - self.t[i]
            cx = self.cx[i] - self.drift * dt
            r2 = (x - cx) ** 2 + (y - self.cy[i]) ** 2
            out += self.a[i] * np.exp(-0.5 * r2 / self.radius ** 2 - 0.5 * dt ** 2 / self.life ** 2)
        return out

    def truth(self) -> xr.DataArray:
        like = self.like
        x, y = _km(like.lon.values, like.lat.values, like)
        t = np.arange(like.sizes["time"], dtype=float)
        tt, yy, xx = np.meshgrid(t, y, x, indexing="ij")
        return like.copy(data=self.at(xx, yy, tt))


def tracks(eddies: Eddies, *, n_sats: int = 4, passes_per_day: int = 2, step_km: float = 6.0,
           noise_std: float = 0.01, seed: int = 1) -> xr.Dataset:
    """Along-track SLA of ``n_sats`` satellites: straight passes inclined ±60° from the
    equator across the box, ``passes_per_day`` each, shifting east pass after pass."""
    rng = np.random.default_rng(seed)
    like = eddies.like
    x, y = _km(like.lon.values, like.lat.values, like)
    w, h = x.max(), y.max()
    ts, xs, ys, sats = [], [], [], []
    n_days = like.sizes["time"]
    for s in range(n_sats):
        phase = rng.uniform(0, 1.0 / passes_per_day)
        shift = rng.uniform(0.2, 0.45) * w
        for p in range(int((n_days - 1) * passes_per_day)):
            t0 = phase + p / passes_per_day
            if t0 > n_days - 1:
                break
            ang = np.radians(60.0 if p % 2 == 0 else 120.0)
            x0 = (rng.uniform(0, w) + p * shift) % w
            s_km = np.arange(-2 * h, 2 * h, step_km)
            px, py = x0 + s_km * np.cos(ang), h / 2 + s_km * np.sin(ang)
            ok = (px >= 0) & (px <= w) & (py >= 0) & (py <= h)
            ts.append(t0 + (s_km[ok] - s_km[ok][0]) / (7.0 * 86400))
            xs.append(px[ok])
            ys.append(py[ok])
            sats.append(np.full(ok.sum(), s))
    t, px, py, sat = map(np.concatenate, (ts, xs, ys, sats))
    order = np.argsort(t, kind="stable")
    t, px, py, sat = t[order], px[order], py[order], sat[order]
    latc = float(like.lat.mean())
    lon = float(like.lon[0]) + np.degrees(px / (R_KM * np.cos(np.radians(latc))))
    lat = float(like.lat[0]) + np.degrees(py / R_KM)
    sla = eddies.at(px, py, t) + noise_std * rng.standard_normal(t.size)
    time = T0 + (t * 86400e9).astype("timedelta64[ns]")
    return xr.Dataset({"sla": ("time", sla, {"units": "m"})},
                      coords={"time": time, "lon": ("time", lon), "lat": ("time", lat),
                              "satellite": ("time", sat)})
