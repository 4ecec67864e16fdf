"""Classical gap-fillers (varda.baselines: climatology, linear-in-time, DINEOF, OI) on
synthetic fields with known answers, the SST OSSE and the real NOAA SST."""
import hashlib

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from threadpoolctl import threadpool_limits

from varda.baselines.climatology import climatology_fill, linear_time_fill
from varda.baselines.dineof import cloud_holdout, dineof, dineof_array
from varda.baselines.oi import oi_cross_validate, optimal_interpolation, running_background
from varda.datasets.osse import cloud_mask, make_sst_osse
from varda.errors import InputError


@pytest.fixture(autouse=True)
def one_blas_thread():
    # the matrices are small: BLAS threads only add contention on a shared 2-core machine
    with threadpool_limits(1):
        yield


def digest(da: xr.DataArray) -> str:
    return hashlib.sha256(np.ascontiguousarray(da.values).tobytes()).hexdigest()


def grid(nt=30, ny=12, nx=16, seed=0):
    """Coordinates of a small daily (time, lat, lon) grid."""
    time = pd.date_range("2020-01-01", periods=nt, freq="D")
    return dict(time=time, lat=np.linspace(30, 35.5, ny), lon=np.linspace(-60, -52.5, nx))


def low_rank_field(nt=40, ny=10, nx=14, rank=3, seed=0, noise=0.0):
    """A pixel mean plus ``rank`` modes with centred time series (exactly mean + rank)."""
    rng = np.random.default_rng(seed)
    u = rng.standard_normal((nt, rank))
    u -= u.mean(axis=0)
    v = rng.standard_normal((rank, ny * nx)) * np.linspace(4, 1, rank)[:, None]
    mean = 20 + rng.standard_normal(ny * nx)
    x = (u @ v + mean + noise * rng.standard_normal((nt, ny * nx))).reshape(nt, ny, nx)
    return xr.DataArray(x, dims=("time", "lat", "lon"), coords=grid(nt, ny, nx), name="sst")


FILLERS = {
    "climatology": climatology_fill,
    "linear_time": linear_time_fill,
    "dineof": lambda da: dineof(da, max_modes=6),
    "oi": lambda da: optimal_interpolation(da, time_scale=2.0),
}


@pytest.fixture(scope="module")
def osse():
    return make_sst_osse("tiny", seed=1, cloud_fraction=0.7, cache=False)  # ~1 s


@pytest.mark.parametrize("name", sorted(FILLERS))
def test_fill_interface(osse, name):
    obs = osse.obs.copy()
    obs.attrs["note"] = "kept"
    before = digest(obs)
    out = FILLERS[name](obs)
    assert digest(obs) == before                                  # input untouched
    assert out.dims == obs.dims and out.shape == obs.shape and out.name == obs.name
    xr.testing.assert_equal(out.time, obs.time)
    assert out.attrs["note"] == "kept" and out.attrs["gap_filling"]
    land = osse.land.values
    assert np.isnan(out.values[:, land]).all()                    # land stays NaN
    seen = osse.mask.values.any(axis=0)                           # ocean observed at some time
    assert np.isfinite(out.values[:, seen]).all()                 # no NaN there
    assert np.isnan(out.values[:, ~seen]).all()                   # never observed: not invented
    m = osse.mask.values
    np.testing.assert_array_equal(out.values[m], obs.values[m])   # observed kept
    # and it fills with values of the right magnitude
    err = (out - osse.truth).values[~m & ~land[None]]
    err = err[np.isfinite(err)]
    assert np.sqrt(np.mean(err ** 2)) < 2.0 * float(osse.truth.std())


def test_transposed_input_gives_the_same_fill(osse):
    a = climatology_fill(osse.obs)
    b = climatology_fill(osse.obs.transpose("lon", "time", "lat"))
    assert b.dims == ("lon", "time", "lat")
    xr.testing.assert_allclose(a, b.transpose(*a.dims))


def test_climatology_is_the_pixel_mean():
    da = low_rank_field(nt=20, ny=4, nx=5)
    gappy = da.where(cloud_mask(da, missing_fraction=0.5, scale=1.0, seed=0))
    out = climatology_fill(gappy)
    expected = gappy.mean("time").broadcast_like(gappy)
    gaps = gappy.isnull().values & np.isfinite(expected.values)
    np.testing.assert_allclose(out.values[gaps], expected.values[gaps])


def test_linear_in_time_is_exact_for_linear_fields():
    g = grid(25, 5, 6)
    days = np.arange(25.0)
    slope = np.linspace(-0.5, 0.5, 30).reshape(5, 6)
    truth = xr.DataArray(10 + days[:, None, None] * slope, dims=("time", "lat", "lon"), coords=g)
    rng = np.random.default_rng(0)
    keep = rng.random(truth.shape) < 0.4
    keep[0] = keep[-1] = True                                     # no extrapolation needed
    out = linear_time_fill(truth.where(keep))
    np.testing.assert_allclose(out.values, truth.values, atol=1e-12)
    # uneven time steps: interpolation follows the coordinate, not the index
    uneven = truth.isel(time=[0, 1, 2, 5, 9, 17, 24])
    gappy = uneven.copy()
    gappy[1:-1] = np.nan
    np.testing.assert_allclose(linear_time_fill(gappy).values, uneven.values, atol=1e-12)


def test_linear_in_time_edges():
    da = xr.DataArray(np.array([np.nan, 1.0, 3.0, np.nan])[:, None] * np.ones((1, 2)),
                      dims=("time", "x"), coords={"time": pd.date_range("2020", periods=4)})
    np.testing.assert_allclose(linear_time_fill(da).values[:, 0], [1, 1, 3, 3])
    np.testing.assert_allclose(linear_time_fill(da, edges="climatology").values[:, 0],
                               [2, 1, 3, 2])


def test_dineof_recovers_a_low_rank_field_to_machine_precision():
    truth = low_rank_field(rank=3)
    rng = np.random.default_rng(1)
    gappy = truth.where(rng.random(truth.shape) > 0.35)
    out = dineof(gappy, n_modes=3, tol=1e-14, max_iter=3000)
    assert float(np.abs(out - truth).max()) < 1e-9 * float(np.abs(truth).max())


def test_dineof_chooses_the_right_number_of_modes():
    for rank, seed in [(2, 0), (4, 1)]:
        truth = low_rank_field(nt=40, ny=10, nx=12, rank=rank, seed=seed, noise=0.01)
        gappy = truth.where(cloud_mask(truth, missing_fraction=0.4, scale=1.5, seed=seed))
        out = dineof(gappy, max_modes=8, cv_fraction=0.05, tol=1e-5, seed=seed)
        assert int(out.attrs["dineof_n_modes"]) == rank
        curve = np.asarray(out.attrs["dineof_cv_rmse"])
        assert curve[rank - 1] < 0.1 * curve[rank - 2]            # the last true mode matters
        assert len(out.attrs["dineof_cv_modes"]) == len(curve)


def test_dineof_time_filter_helps_smooth_modes_under_noise():
    rng = np.random.default_rng(3)
    nt, ns = 60, 120
    days = np.arange(nt)
    u = np.stack([np.sin(2 * np.pi * days / 40), np.cos(2 * np.pi * days / 25)], axis=1)
    x = 10 + u @ rng.standard_normal((2, ns)) * 2
    truth = xr.DataArray(x.reshape(nt, 10, 12), dims=("time", "lat", "lon"),
                         coords=grid(nt, 10, 12))
    noisy = truth + rng.normal(0, 1.0, truth.shape)
    gappy = noisy.where(cloud_mask(truth, missing_fraction=0.6, scale=1.5, seed=0))
    gaps = gappy.isnull().values

    def err(out):
        return float(np.sqrt(np.mean((out - truth).values[gaps] ** 2)))

    plain = dineof(gappy, n_modes=2)
    filtered = dineof(gappy, n_modes=2, time_filter=2.0)
    assert filtered.attrs["dineof_time_filter"] == 2.0
    assert err(filtered) < err(plain)
    with pytest.raises(InputError, match="time_filter"):
        dineof(gappy, n_modes=2, time_filter=-1.0)


def test_running_background_tracks_slow_signals_and_falls_back_to_the_mean():
    days = np.arange(200.0)
    slow = np.sin(2 * np.pi * days / 365)[:, None] * np.ones((1, 3))
    obs = np.where(np.random.default_rng(0).random(slow.shape) < 0.5, slow, np.nan)
    bg = running_background(obs, days, 10.0)
    assert np.abs(bg - slow)[30:-30].max() < 0.1               # follows the seasonal ramp
    mean_only = running_background(obs, days, None)
    np.testing.assert_allclose(mean_only, np.nanmean(obs, axis=0)[None].repeat(200, 0))
    yearly = running_background(obs[::50], days[::50] * 7.3, 10.0)   # sparse in time
    np.testing.assert_allclose(yearly, np.nanmean(obs[::50], axis=0)[None].repeat(4, 0),
                               atol=1e-12)


def test_cloud_holdout_is_a_cloud_shaped_subset():
    rng = np.random.default_rng(0)
    obs = cloud_mask(low_rank_field(nt=30), missing_fraction=0.5, seed=3).values.reshape(30, -1)
    hold = cloud_holdout(obs, 0.05, rng)
    assert not (hold & ~obs).any()
    assert 0.03 < hold.sum() / obs.sum() < 0.2
    assert ((obs & ~hold).sum(axis=1) >= 0.3 * obs.sum(axis=1) - 1e-9).all()
    blocks = cloud_holdout(obs, 0.05, np.random.default_rng(0), block=3)
    assert not (blocks & ~obs).any()
    # persistent: a held-out point is more often held out the next day too
    same = (blocks[1:] & blocks[:-1]).sum() / blocks[:-1].sum()
    assert same > (hold[1:] & hold[:-1]).sum() / max(hold[:-1].sum(), 1)


def test_oi_beats_climatology_on_a_smooth_field():
    g = grid(20, 16, 20)
    lat, lon = np.meshgrid(g["lat"], g["lon"], indexing="ij")
    days = np.arange(20)[:, None, None]
    smooth = 15 + np.sin(lat / 1.5 + 0.2 * days) * np.cos(lon / 2.0 - 0.1 * days)
    truth = xr.DataArray(smooth, dims=("time", "lat", "lon"), coords=g, name="sst")
    mask = cloud_mask(truth, missing_fraction=0.7, scale=2.0, seed=0)
    gappy = truth.where(mask)
    gaps = ~mask.values

    def rmse(out):
        return float(np.sqrt(np.mean((out - truth).values[gaps] ** 2)))

    r_clim = rmse(climatology_fill(gappy))
    r_oi = rmse(optimal_interpolation(gappy, length_scale=100.0, time_scale=3.0))
    assert r_oi < 0.5 * r_clim
    out = optimal_interpolation(gappy, length_scale=100.0)
    assert out.attrs["optimal_interpolation_length_scale_units"] == "km"
    # no lat/lon coordinates: distances in grid steps
    bare = gappy.drop_vars(["lat", "lon"])
    out_g = optimal_interpolation(bare, length_scale=2.0, time_scale=3.0)
    assert out_g.attrs["optimal_interpolation_length_scale_units"] == "grid"
    assert rmse(out_g.assign_coords(lat=g["lat"], lon=g["lon"])) < 0.5 * r_clim


def test_oi_cross_validation_prefers_a_sensible_scale():
    g = grid(15, 12, 14)
    lat, lon = np.meshgrid(g["lat"], g["lon"], indexing="ij")
    phase = np.random.default_rng(0).uniform(0, 2 * np.pi, 15)[:, None, None]
    data = np.sin(lat / 1.2 + phase) * np.cos(lon / 1.5 - phase)  # independent days
    truth = xr.DataArray(data, dims=("time", "lat", "lon"), coords=g)
    gappy = truth.where(cloud_mask(truth, missing_fraction=0.6, scale=1.5, seed=2))
    best, table = oi_cross_validate(gappy, length_scales=[1.0, 150.0, 1e5],
                                    time_scales=[0.1], noise_ratios=[0.01], seed=0)
    assert len(table) == 3 and best["length_scale"] == 150.0
    rmse = [row["rmse"] for row in table]
    assert rmse[1] < 0.75 * min(rmse[0], rmse[2])


def test_real_noaa_sst_dineof_and_oi_beat_climatology():
    pytest.importorskip("eofs")
    from varda.datasets.sst import noaa_sst_anomalies

    sst = noaa_sst_anomalies()
    clouds = cloud_mask(sst, missing_fraction=0.57, scale=2.0, correlation_days=0.5, seed=0)
    more = cloud_mask(sst, missing_fraction=0.35, scale=2.0, correlation_days=0.5, seed=1000)
    withheld = (clouds & ~more).values
    gappy = sst.where(clouds & more)
    scores = {}
    for name, fill in [("clim", climatology_fill), ("dineof", dineof),
                       ("oi", lambda d: optimal_interpolation(d, length_scale=1200.0))]:
        out = fill(gappy)
        assert np.isnan(out.values[:, sst.isnull().all("time").values]).all()
        scores[name] = float(np.sqrt(np.mean((out - sst).values[withheld] ** 2)))
    assert scores["dineof"] < scores["clim"] and scores["oi"] < 0.8 * scores["clim"]


def test_bad_inputs_are_refused(osse):
    with pytest.raises(InputError, match="floating-point"):
        climatology_fill(osse.mask)
    with pytest.raises(InputError, match="no ocean"):
        dineof(osse.obs * np.nan)
    with pytest.raises(InputError, match="DataArray"):
        optimal_interpolation(osse.obs.values)
    dup = osse.obs.isel(time=[0, 1, 1, 2])
    with pytest.raises(InputError, match="duplicated"):
        linear_time_fill(dup)
    with pytest.raises(InputError, match="not sorted"):
        optimal_interpolation(osse.obs.isel(time=[2, 0, 1]))
    with pytest.raises(InputError, match="time"):
        climatology_fill(osse.obs.rename(time="t").drop_vars("t"))
    with pytest.raises(InputError, match="n_modes"):
        dineof(osse.obs, n_modes=500)
    with pytest.raises(InputError, match="observations"):
        dineof_array(np.where(np.eye(5, 8) > 0, 1.0, np.nan)[:, :5])
    with pytest.raises(InputError, match="center"):
        dineof(osse.obs, center="median")
