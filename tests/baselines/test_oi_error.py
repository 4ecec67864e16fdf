"""The OI baseline's own error: its analysis error variance, large far from observations and
the observation error where values are kept."""
from __future__ import annotations

import numpy as np
import xarray as xr

from varda.baselines import optimal_interpolation
from varda.baselines.oi import signal_variance


def test_oi_error_grows_away_from_the_observations_and_is_the_noise_where_observed():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 12, 12)).astype(np.float32)
    gappy = x.copy()
    gappy[10:20, :, 6:] = np.nan                 # a 10-day gap over half the domain
    da = xr.DataArray(gappy, dims=("time", "y", "x"), name="t", attrs={"units": "K"})
    ds = optimal_interpolation(da, length_scale=2.0, time_scale=2.0, error=True)
    err = ds["t_error"].values
    np.testing.assert_array_equal(ds["t"].values, optimal_interpolation(
        da, length_scale=2.0, time_scale=2.0).values)
    assert err[15, 6, 11] > err[15, 6, 7] > err[15, 6, 5]      # deep in the gap > edge > seen
    assert ds["t"].attrs["ancillary_variables"] == "t_error"
    assert ds["t_error"].attrs["units"] == "K" and np.isfinite(err).all()


def test_signal_variance_shrinks_a_rarely_seen_pixel_towards_the_field():
    a = np.full((50, 3), np.nan)
    a[:, 0] = np.tile([1.0, -1.0], 25)          # variance 1, seen 50 times
    a[:, 1] = np.tile([3.0, -3.0], 25)          # variance 9, seen 50 times
    a[:2, 2] = [10.0, -10.0]                    # variance 100, seen twice
    v = signal_variance(a, 0.0)
    assert v[0] < v[1] < v[2] < 100.0 and v[0] > 1.0
