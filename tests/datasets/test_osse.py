"""The SST OSSE (varda.datasets.osse): truth, land, and the three sampling generators."""
import numpy as np
import pytest
import xarray as xr

from varda.datasets.osse import (altimeter_mask, cloud_mask, make_sst_osse, make_sst_truth,
                                 swath_mask)
from varda.errors import InputError


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """A cache directory shared by the OSSE tests (each truth is simulated once)."""
    path = tmp_path_factory.getbasetemp() / "varda-cache"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VARDA_CACHE_DIR", str(path))
        yield path


@pytest.fixture(scope="module")
def osse(cache):
    return make_sst_osse("tiny", seed=3, cloud_fraction=0.7)


def test_truth_is_cf_like_with_land_nan(osse):
    truth, obs, mask, land = osse
    assert truth.dims == ("time", "lat", "lon") and truth.shape == (20, 24, 32)
    assert truth.attrs["standard_name"] == "sea_surface_temperature"
    assert truth.attrs["units"] == "degC"
    assert np.issubdtype(truth.time.dtype, np.datetime64)
    assert (np.diff(truth.time.values) == np.timedelta64(1, "D")).all()
    assert truth.lat.attrs["units"] == "degrees_north" and truth.lon.attrs["units"] == "degrees_east"
    land_np = land.values
    assert 0.03 < land_np.mean() < 0.4                       # a coast and islands, mostly ocean
    assert np.isnan(truth.values[:, land_np]).all()
    assert np.isfinite(truth.values[:, ~land_np]).all()
    assert 5.0 < float(truth.mean()) < 35.0                  # plausible °C
    # the mean meridional gradient: SST falls poleward
    zonal = truth.mean(("time", "lon"))
    assert float(zonal[0] - zonal[-1]) > 1.0


def test_truth_has_fronts_and_evolves(osse):
    truth = osse.truth.values.astype(float)
    anom = truth - np.nanmean(truth, axis=(0, 2), keepdims=True)
    ocean = np.isfinite(anom)
    # day-to-day persistence but not frozen
    a, b = anom[:-1][ocean[:-1] & ocean[1:]], anom[1:][ocean[:-1] & ocean[1:]]
    r = np.corrcoef(a, b)[0, 1]
    assert 0.7 < r < 0.9999
    # fronts: the gradient magnitude is intermittent (heavy-tailed), not Gaussian-smooth
    g = np.hypot(*np.gradient(truth, axis=(1, 2)))
    g = g[np.isfinite(g)]
    assert np.quantile(g, 0.99) > 3 * np.median(g)


def test_seeds_reproducible_and_cache_transparent(osse, cache):
    assert list(cache.rglob("*.npy"))                                # the fixture cached it
    fresh = make_sst_osse("tiny", seed=3, cloud_fraction=0.7, cache=False)   # simulated again
    cached = make_sst_osse("tiny", seed=3, cloud_fraction=0.7)       # read from the cache
    for a, b, c in zip(osse, fresh, cached):
        xr.testing.assert_identical(a, b)
        xr.testing.assert_identical(a, c)
    other = make_sst_osse("tiny", seed=4, cloud_fraction=0.7, cache=False)
    assert not np.allclose(np.nan_to_num(other.truth.values), np.nan_to_num(osse.truth.values))


def test_obs_are_truth_where_observed(osse, cache):
    truth, obs, mask, land = osse
    m = mask.values
    np.testing.assert_array_equal(obs.values[m], truth.values[m])
    assert np.isnan(obs.values[~m]).all()
    noisy = make_sst_osse("tiny", seed=3, noise_std=0.3)            # truth from the cache
    err = (noisy.obs - noisy.truth).values[noisy.mask.values]
    assert abs(err.std() - 0.3) < 0.03


@pytest.mark.parametrize("fraction", [0.5, 0.7, 0.9])
def test_clouds_hit_the_missing_fraction_and_never_observe_land(osse, fraction):
    truth, land = osse.truth, osse.land.values
    mask = cloud_mask(truth, missing_fraction=fraction, seed=1)
    assert mask.dtype == bool and mask.dims == truth.dims
    assert not mask.values[:, land].any()
    missing = 1.0 - mask.values[:, ~land].mean()
    assert abs(missing - fraction) < 0.01
    daily = 1.0 - mask.values[:, ~land].mean(axis=1)
    assert daily.std() > 0.01                                  # cover varies from day to day


def test_clouds_are_persistent_blobs(osse):
    truth, land = osse.truth, osse.land.values
    m = cloud_mask(truth, missing_fraction=0.7, correlation_days=3.0, seed=0).values[:, ~land]
    m = m.astype(float)

    def lag_corr(k):
        return np.corrcoef(m[:-k].ravel(), m[k:].ravel())[0, 1]

    r1, r5 = lag_corr(1), lag_corr(5)
    assert r1 > 0.4 and r5 < r1                               # temporally correlated, decaying
    short = cloud_mask(truth, missing_fraction=0.7, correlation_days=0.3, seed=0).values
    rs = np.corrcoef(short[:-1, ~land].ravel().astype(float),
                     short[1:, ~land].ravel().astype(float))[0, 1]
    assert rs < r1
    # spatially blobby: neighbours agree far more often than independent pixels would
    full = cloud_mask(truth, missing_fraction=0.7, seed=0).values
    agree = (full[:, :, 1:] == full[:, :, :-1]).mean()
    assert agree > 0.8                                         # independent: 0.7² + 0.3² = 0.58


def test_swaths_and_altimeter_tracks(osse):
    truth, land = osse.truth, osse.land.values
    sw = swath_mask(truth, width=6, spacing=20, angle=15, seed=0)
    frac = sw.values[:, ~land].mean()
    assert abs(frac - 6 / 20) < 0.08
    assert not sw.values[:, land].any()
    assert not np.array_equal(sw.values[0], sw.values[1])      # shifts day by day
    alt = altimeter_mask(truth, tracks_per_day=2, cycle_days=5, seed=0)
    assert not alt.values[:, land].any()
    f = alt.values[:, ~land].mean()
    assert 0.01 < f < 0.25                                     # thin tracks
    np.testing.assert_array_equal(alt.values[0], alt.values[5])  # repeat cycle
    assert not np.array_equal(alt.values[0], alt.values[1])
    union = alt.values[:5].any(axis=0)[~land].mean()
    assert union > 2.5 * f                                     # a cycle interleaves tracks


def test_bad_inputs_are_refused(osse):
    with pytest.raises(InputError, match="missing_fraction"):
        cloud_mask(osse.truth, missing_fraction=1.2)
    with pytest.raises(InputError, match="size"):
        make_sst_osse("huge")
    with pytest.raises(InputError, match="sampling"):
        make_sst_osse("tiny", sampling="lidar")
    with pytest.raises(InputError, match="no ocean"):
        cloud_mask(osse.truth * np.nan)
    with pytest.raises(InputError, match="time, lat, lon"):
        swath_mask(osse.truth.isel(time=0))


def test_truth_generator_validates_sizes():
    with pytest.raises(InputError):
        make_sst_truth(5, 4, 4, cache=False)
