"""DINEOF's expected error (Beckers et al. 2006): larger where fewer points are observed,
scaled to the cross-validation error, returned linked to the field as a fill's error is."""
from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from varda.baselines import dineof
from varda.baselines.dineof_error import calibrated_error, eof_error_variance
from varda.errors import InputError


def _modes(n_t=60, n_s=80, k=3, noise=0.05, seed=0):
    rng = np.random.default_rng(seed)
    field = rng.normal(size=(n_t, k)) * [3.0, 2.0, 1.0][:k] @ rng.normal(size=(k, n_s))
    return field + noise * rng.normal(size=(n_t, n_s))


def test_fewer_observations_give_a_larger_expected_error():
    x = _modes()
    seen = np.ones(x.shape, bool)
    seen[10, :70] = False            # time 10 sees 10 points, time 11 sees all
    seen[12, :78] = False            # time 12 sees 2 points: fewer than the 3 modes
    var = eof_error_variance(x, seen, 3, 0.01)
    assert var[11].mean() < var[10].mean() < var[12].mean()
    assert var[12].mean() > 10 * var[11].mean()
    assert (var >= 0.01 - 1e-12).all()         # never below the unresolved variance


def test_the_error_is_scaled_to_the_cross_validation_error():
    x = _modes(seed=1)
    rng = np.random.default_rng(2)
    train = rng.random(x.shape) > 0.3
    hold = ~train & (rng.random(x.shape) > 0.5)
    sigma, factor = calibrated_error(x, np.ones(x.shape, bool), 3, cv_filled=x,
                                     cv_train=train, cv_hold=hold, cv_mse=0.04)
    cv_var = factor * eof_error_variance(x, train, 3, 0.04)
    assert np.mean(cv_var[hold]) == pytest.approx(0.04, rel=1e-6)
    assert sigma.shape == x.shape and np.isfinite(sigma).all()


def test_dineof_error_dataset_links_the_error_and_needs_cross_validation():
    x = _modes(n_t=40, n_s=48).reshape(40, 6, 8).astype(np.float32)
    rng = np.random.default_rng(3)
    gappy = np.where(rng.random(x.shape) < 0.4, np.nan, x)
    gappy[:, 0, 0] = np.nan                    # land
    da = xr.DataArray(gappy, dims=("time", "y", "x"), name="sst", attrs={"units": "K"})
    ds = dineof(da, error=True)
    err = ds["sst_error"]
    assert ds["sst"].attrs["ancillary_variables"].split()[0] == "sst_error"
    assert err.attrs["units"] == "K" and "Beckers" in err.attrs["comment"]
    assert np.isnan(err[:, 0, 0]).all() and (err.values[:, 1:, 1:] > 0).all()
    np.testing.assert_array_equal(ds["sst"].values, dineof(da).values)
    with pytest.raises(InputError, match="n_modes=None"):
        dineof(da, n_modes=2, error=True)
