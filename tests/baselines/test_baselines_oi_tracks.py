"""The DUACS-style OI of along-track data (varda.baselines.duacs_oi) on drifting synthetic
eddies of known scales, sampled along synthetic tracks."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.interpolate import NearestNDInterpolator

from ssh_helpers import Eddies, grid, tracks
from varda import baselines
from varda.baselines import duacs_cross_validate, duacs_oi
from varda.errors import InputError
from varda.ssh_scores import nrmse_score

SCALES = dict(space_scale_km=55.0, time_scale_days=8.0, representativity_std=0.0)


@pytest.fixture(scope="module")
def case():
    like = grid(30, 32)
    eddies = Eddies(like, radius_km=40.0, life_days=8.0, seed=5)
    return like, eddies.truth(), tracks(eddies, n_sats=3, passes_per_day=1, noise_std=0.01,
                                        seed=6)


def test_oi_beats_zero_and_nearest_neighbour(case):
    like, truth, tr = case
    before = tr.copy(deep=True)
    oi = duacs_oi(tr, like, n_neighbors=96, **SCALES)
    assert tr.identical(before)                       # the input is not modified
    assert set(oi.data_vars) == {"ssh", "ssh_error"} and oi.ssh.dims == like.dims
    assert oi.attrs["parameters_chosen_on"] == "given"
    t = (tr.time - like.time[0]).values / np.timedelta64(1, "D")
    near = NearestNDInterpolator(np.stack([tr.lon.values, tr.lat.values, t / 10], 1),
                                 tr.sla.values)
    tt, yy, xx = np.meshgrid(np.arange(30.0), like.lat, like.lon, indexing="ij")
    nn = like.copy(data=near(np.stack([xx.ravel(), yy.ravel(), tt.ravel() / 10], 1))
                   .reshape(like.shape))
    mu = nrmse_score(oi.ssh, truth).mu
    assert mu > 0.8
    assert mu > nrmse_score(nn, truth).mu + 0.1
    assert nrmse_score(like, truth).mu == pytest.approx(0.0)


def test_noise_estimated_from_the_data(case):
    like, _, tr = case
    oi = duacs_oi(tr, like.isel(time=slice(0, 4)), n_neighbors=32, **SCALES)
    assert oi.attrs["noise_std"] == pytest.approx(0.01, rel=0.25)


def test_posterior_error_grows_away_from_the_tracks(case):
    like, _, tr = case
    west = tr.where(tr.lon < float(like.lon[10]), drop=True)
    oi = duacs_oi(west, like, n_neighbors=64, noise_std=0.01, **SCALES)
    err = oi.ssh_error.mean("time")
    far = float(err.isel(lon=slice(-4, None)).mean())
    assert float(err.isel(lon=slice(0, 8)).mean()) < 0.5 * far
    assert float(oi.ssh_error.max()) <= oi.attrs["signal_std"] + 1e-12
    assert float(err.isel(lon=-1).mean()) == pytest.approx(oi.attrs["signal_std"], rel=0.05)


def test_scales_chosen_on_withheld_tracks_are_near_the_truth(case):
    like, _, tr = case
    # eddies exp(−r²/2R²), R = 40 km, lifetime 8 days: covariance scales ≈ √2·40 ≈ 57 km
    # (the westward drift shortens the time scale at a point)
    best, table = duacs_cross_validate(tr, like, space_scales_km=[15, 30, 60, 120, 240],
                                       time_scales_days=[1, 3, 8, 25], n_neighbors=64,
                                       max_points=256)
    assert table.dims == ("space_scale_km", "time_scale_days", "error_ratio")
    assert best["space_scale_km"] in (30, 60) and best["time_scale_days"] in (3, 8)
    assert float(table.min()) == pytest.approx(float(table.sel(
        space_scale_km=best["space_scale_km"], time_scale_days=best["time_scale_days"]).min()))
    assert int(table.notnull().sum()) < table.size       # a staged search, not the full grid
    assert best["representativity_std"] >= 0 and best["noise_std"] == pytest.approx(0.01, rel=0.25)
    one = tr.where(tr.satellite == 0, drop=True)      # one satellite: withheld track pieces
    best1, _ = duacs_cross_validate(one, like, space_scales_km=[15, 60, 240],
                                    time_scales_days=[1, 8], n_neighbors=32, max_points=128)
    assert best1["space_scale_km"] == 60


def test_parameters_chosen_when_not_given_and_time_offset(case):
    like, _, tr = case
    short = like.isel(time=slice(10, 14))
    oi = duacs_oi(tr, short, space_scales_km=[30, 60], time_scales_days=[3, 8],
                  error_ratios=[0.0, 0.1], n_neighbors=32)
    assert oi.attrs["parameters_chosen_on"] == "withheld tracks"
    assert oi.attrs["space_scale_km"] in (30, 60) and oi.attrs["time_scale_days"] in (3, 8)
    # the formal error, rescaled by its misfit on the withheld tracks
    scale = oi.attrs["error_scale"]
    assert 0.2 < scale < 5.0
    np.testing.assert_allclose(oi.ssh_error_calibrated.values, oi.ssh_error.values * scale,
                               rtol=1e-5)
    assert "ssh_error_calibrated" not in duacs_oi(tr, short, n_neighbors=32, **SCALES)
    half = np.timedelta64(12, "h")
    kw = dict(n_neighbors=32, noise_std=0.01, **SCALES)
    a = duacs_oi(tr, short, time_offset_days=0.5, **kw)
    b = duacs_oi(tr, short.assign_coords(time=short.time + half), **kw)
    np.testing.assert_allclose(a.ssh.values, b.ssh.values)
    assert not np.allclose(a.ssh.values, duacs_oi(tr, short, **kw).ssh.values)


def test_bad_input(case):
    like, _, tr = case
    with pytest.raises(InputError, match="outside the grid's box"):
        duacs_oi(tr, like.isel(lat=slice(0, 16)), **SCALES)
    with pytest.raises(InputError, match="no point of tracks"):
        duacs_oi(tr.assign_coords(lat=tr.lat - 20), like, **SCALES)
    with pytest.raises(InputError, match="noise_std must be a positive"):
        duacs_oi(tr, like, noise_std=-1.0, **SCALES)
    with pytest.raises(InputError, match="space_scale must be a positive"):
        duacs_oi(tr, like, space_scale_km=0.0, time_scale_days=5.0, representativity_std=0.0)
    with pytest.raises(InputError, match="representativity_std must be"):
        duacs_oi(tr, like, space_scale_km=50.0, time_scale_days=5.0,
                 representativity_std=float("nan"))
    with pytest.raises(InputError, match="must be an xarray.Dataset"):
        duacs_oi(tr.sla, like, **SCALES)
    with pytest.raises(InputError, match="dims time, lat, lon"):
        duacs_oi(tr, like.rename(time="t"), **SCALES)
    assert baselines.duacs_oi is duacs_oi
