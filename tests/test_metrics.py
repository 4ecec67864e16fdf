"""varda.metrics on analytic cases: known RMSE/bias/µ, gradients of linear fields, and the
effective resolution of a known low-pass filter."""
import numpy as np
import pandas as pd
import pytest
import xarray as xr

from varda.errors import InputError
from varda.metrics import (EARTH_RADIUS_KM, bias, effective_resolution, gradient_rmse,
                           mu_score, rmse, spectral_score_array)


def field(values, lat=None, lon=None):
    nt, ny, nx = values.shape
    lat = np.linspace(30, 30 + 0.25 * (ny - 1), ny) if lat is None else lat
    lon = np.linspace(-60, -60 + 0.25 * (nx - 1), nx) if lon is None else lon
    return xr.DataArray(values, dims=("time", "lat", "lon"),
                        coords={"time": pd.date_range("2020", periods=nt), "lat": lat,
                                "lon": lon})


def test_rmse_bias_mu_on_known_errors():
    rng = np.random.default_rng(0)
    ref = field(rng.standard_normal((4, 6, 8)))
    est = ref + 0.5
    assert rmse(est, ref) == pytest.approx(0.5)
    assert bias(est, ref) == pytest.approx(0.5)
    mask = np.zeros(ref.shape, bool)
    mask[0, 0, :4] = True
    err = ref.copy(data=np.where(mask, 2.0, 0.0))
    assert rmse(ref + err, ref, mask) == pytest.approx(2.0)     # only the masked points
    assert rmse(ref + err, ref) == pytest.approx(np.sqrt(4 * 4 / ref.size))
    expected_mu = 1 - 0.5 / np.sqrt(np.mean(ref.values ** 2))
    assert mu_score(est, ref) == pytest.approx(expected_mu)
    assert mu_score(ref, ref) == 1.0
    before = (ref.values.tobytes(), est.values.tobytes())
    rmse(est, ref, mask), gradient_rmse(est, ref), effective_resolution(est, ref, nperseg=8)
    assert (ref.values.tobytes(), est.values.tobytes()) == before   # inputs untouched


def test_dataarrays_are_aligned_by_dim_name_and_land_skipped():
    rng = np.random.default_rng(1)
    ref = field(rng.standard_normal((3, 5, 7)))
    ref[:, 0, 0] = np.nan                                        # land
    est = (ref + 1.0).fillna(99.0).transpose("lon", "time", "lat")
    assert rmse(est, ref) == pytest.approx(1.0)                  # land skipped, order ignored
    mask = xr.DataArray(np.arange(5) < 2, dims="lat")            # broadcast over time, lon
    assert bias(est, ref, mask) == pytest.approx(1.0)


def test_holes_in_the_estimate_are_an_error():
    ref = field(np.ones((2, 4, 5)))
    est = ref.copy()
    est[0, 1, 1] = np.nan
    with pytest.raises(InputError, match="NaN"):
        rmse(est, ref)
    with pytest.raises(InputError, match="no point"):
        rmse(ref, ref, np.zeros(ref.shape, bool))
    with pytest.raises(InputError, match="shape"):
        rmse(np.ones(3), np.ones(4))
    with pytest.raises(InputError, match="boolean"):
        rmse(ref, ref, np.ones(ref.shape))


def test_gradient_rmse_of_linear_fields_is_exact():
    lat = np.linspace(30, 32, 9)
    lon = np.linspace(-60, -57, 13)
    la, lo = np.meshgrid(lat, lon, indexing="ij")
    y_km = EARTH_RADIUS_KM * np.radians(la)
    ref = field(np.broadcast_to(0.01 * y_km, (2, 9, 13)).copy(), lat, lon)  # 0.01 °C/km north
    flat = field(np.zeros((2, 9, 13)), lat, lon)
    assert gradient_rmse(flat, ref, units="km") == pytest.approx(0.01, rel=1e-9)
    step_km = EARTH_RADIUS_KM * np.radians(0.25)
    assert gradient_rmse(flat, ref, units="grid") == pytest.approx(0.01 * step_km, rel=1e-9)
    # zonal gradient: per km depends on latitude through cos φ
    x_deg = field(np.broadcast_to(lo, (2, 9, 13)).copy(), lat, lon)   # 1 unit per degree lon
    expected = 1.0 / (EARTH_RADIUS_KM * np.radians(1.0) * np.cos(np.radians(la)))
    assert gradient_rmse(flat, x_deg, units="km") == pytest.approx(
        np.sqrt(np.mean(expected ** 2)), rel=1e-9)
    # NumPy inputs: grid units on the last two axes
    assert gradient_rmse(flat.values, x_deg.values, units="grid") == pytest.approx(0.25)


def test_effective_resolution_of_a_gaussian_low_pass():
    rng = np.random.default_rng(0)
    n, rows = 256, 200
    ref = rng.standard_normal((rows, n))
    k = np.fft.rfftfreq(n)                                       # cycles per grid step
    sigma = 3.0
    transfer = np.exp(-0.5 * (2 * np.pi * k * sigma) ** 2)
    est = np.fft.irfft(np.fft.rfft(ref) * transfer, n=n)
    # score = 1 − (1 − H)² = 0.5  ⇔  H = 1 − 1/√2
    k_star = np.sqrt(-2 * np.log(1 - 1 / np.sqrt(2))) / (2 * np.pi * sigma)
    res = spectral_score_array(est, ref)
    assert res.status == "crossed"
    assert res.wavelength_cutoff == pytest.approx(1 / k_star, rel=0.05)
    assert res.score[0] > 0.95 and res.score[-1] < 0.05
    # with a spacing the wavelength scales
    res_km = spectral_score_array(est, ref, spacing=25.0, units="km")
    assert res_km.wavelength_cutoff == pytest.approx(25.0 * res.wavelength_cutoff)


def test_effective_resolution_of_sines_on_a_dataarray_with_land():
    nx, ny, nt = 128, 6, 5
    lon = np.arange(nx) * 0.25 - 70
    x = np.arange(nx)
    big, small = np.sin(2 * np.pi * x / 32.0), np.sin(2 * np.pi * x / 4.0)
    ref = field(np.broadcast_to(big + small, (nt, ny, nx)).copy(),
                np.linspace(-0.5, 0.5, ny), lon)
    est = ref.copy(data=np.broadcast_to(big, (nt, ny, nx)).copy())   # misses the 4-step sine
    ref[:, 0, :10] = np.nan                                          # a coast on one row
    res = effective_resolution(est, ref, dim="lon")
    assert res.units == "km"
    km = EARTH_RADIUS_KM * np.radians(0.25)                          # at the equator
    assert 4 * km < res.wavelength_cutoff < 32 * km                 # between the two sines
    ds = res.to_dataset()
    assert ds.score.sel(wavelength=32 * km, method="nearest") > 0.99
    assert ds.score.sel(wavelength=4 * km, method="nearest") < 0.01
    assert res.n_segments == nt * (ny - 1)                           # the coast row is skipped
    # perfect estimate: resolved down to the grid
    assert effective_resolution(ref, ref).status == "resolved_to_grid"


def test_effective_resolution_refuses_fields_without_clean_segments():
    ref = field(np.ones((2, 3, 16)))
    ref[:, :, ::4] = np.nan
    with pytest.raises(InputError, match="segment"):
        effective_resolution(ref, ref)
    with pytest.raises(InputError, match="dim"):
        effective_resolution(ref, ref, dim="depth")
