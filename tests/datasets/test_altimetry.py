"""Nadir constellation sampling and gridding of along-track data."""
import numpy as np
import pytest
import xarray as xr

from varda.datasets.altimetry import grid_tracks, sample_tracks
from varda.errors import InputError


def _truth(nt=30, n=32, dx_km=10.0, lat0=36.0):
    lat = lat0 + (np.arange(n) - n / 2) * dx_km / 111.195
    lon = -40 + (np.arange(n) - n / 2) * dx_km / (111.195 * np.cos(np.radians(lat0)))
    t = np.datetime64("2020-01-01", "ns") + np.arange(nt) * np.timedelta64(1, "D")
    yy, xx = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    val = 0.1 * np.sin(2 * np.pi * (xx / n + np.arange(nt)[:, None, None] / 50)) * np.cos(2 * np.pi * yy / n)
    return xr.DataArray(val.astype(np.float32), dims=("time", "lat", "lon"), name="ssh",
                        coords={"time": t, "lat": lat, "lon": lon})


def test_tracks_layout_and_coverage():
    truth = _truth()
    tr = sample_tracks(truth, satellites=4, seed=0, noise_std=0.0)
    assert set(tr.coords) >= {"time", "lat", "lon", "satellite"} and tr.sla.dims == ("time",)
    assert np.all(np.diff(tr.time.values) >= np.timedelta64(0, "ns"))
    assert set(np.unique(tr.satellite.values)) == {0, 1, 2, 3}
    g = grid_tracks(tr, truth)
    frac = np.isfinite(g.values).mean()
    assert 0.01 < frac < 0.1                           # a few percent of the pixels per day
    two = np.isfinite(grid_tracks(sample_tracks(truth, satellites=2, seed=0), truth).values).mean()
    assert two < 0.75 * frac
    # noise-free tracks of a smooth field bin to nearly the field itself
    ok = np.isfinite(g.values)
    assert np.abs(g.values[ok] - truth.values[ok]).max() < 0.02


def test_noise_level_and_seed():
    truth = _truth()
    a = sample_tracks(truth, satellites=2, seed=1, noise_std=0.05)
    b = sample_tracks(truth, satellites=2, seed=1, noise_std=0.0)
    np.testing.assert_array_equal(a.lat.values, b.lat.values)
    assert 0.04 < float((a.sla - b.sla).std()) < 0.06


def test_gridding_refuses_points_outside_the_grid():
    truth = _truth()
    tr = sample_tracks(truth, satellites=1, seed=0)
    small = truth.isel(lat=slice(0, 16))
    with pytest.raises(InputError, match="outside the target grid"):
        grid_tracks(tr, small)
    with pytest.raises(InputError, match="ascending and regular"):
        grid_tracks(tr, truth.isel(lat=slice(None, None, -1)))
    g = grid_tracks(tr.rename(lat="latitude", lon="longitude"), truth)   # L3 names accepted
    assert g.attrs["n_points"] == tr.sizes["time"]
