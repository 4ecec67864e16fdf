"""The data-challenge scores of SSH maps (varda.ssh_scores) on fields with known answers."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage
import xarray as xr

from ssh_helpers import Eddies, grid, tracks
from varda import metrics
from varda.errors import InputError
from varda.ssh_scores import along_track_scores, nrmse_score, psd_scores


def _random_field(nt=96, nx=96, ny=4, seed=0):
    """A red-spectrum random field, periodic in time and longitude (daily, 0.1°)."""
    rng = np.random.default_rng(seed)
    kt, kx = np.fft.fftfreq(nt)[:, None], np.fft.fftfreq(nx)[None, :]
    amp = 1.0 / (1.0 + (np.hypot(kt * 8, kx * 8) * 4) ** 2)
    f = np.stack([np.real(np.fft.ifft2(amp * np.exp(2j * np.pi * rng.uniform(size=(nt, nx)))))
                  for _ in range(ny)], axis=1)
    time = np.datetime64("2020-01-01", "ns") + np.arange(nt) * np.timedelta64(1, "D")
    return xr.DataArray(f / f.std(), dims=("time", "lat", "lon"), name="ssh",
                        coords={"time": time, "lat": 30 + 0.1 * np.arange(ny),
                                "lon": 0.1 * np.arange(nx)})


def _lowpass(da, axis, cutoff):
    """Sharp spectral low-pass along ``axis`` (periodic): keep |frequency| < 1/cutoff steps."""
    f = np.fft.fft(da.values, axis=axis)
    freq = np.fft.fftfreq(da.shape[axis])
    shape = [1] * 3
    shape[axis] = -1
    return da.copy(data=np.real(np.fft.ifft(f * (np.abs(freq) < 1.0 / cutoff).reshape(shape),
                                            axis=axis)))


def test_nrmse_known_values():
    truth = _random_field(nt=20, nx=16)
    assert tuple(nrmse_score(truth, truth)) == (1.0, 0.0)
    assert nrmse_score(truth * 0, truth).mu == pytest.approx(0.0, abs=1e-12)
    half = nrmse_score(truth * 0.5, truth)
    assert half.mu == pytest.approx(0.5) and half.sigma == pytest.approx(0.0, abs=1e-12)
    noisy = truth + 0.3 * np.random.default_rng(1).standard_normal(truth.shape)
    s = nrmse_score(noisy.transpose("lon", "time", "lat"), truth)
    day = 1 - np.sqrt(((noisy - truth) ** 2).mean(("lat", "lon"))) / np.sqrt(
        (truth ** 2).mean(("lat", "lon")))
    np.testing.assert_allclose(s.daily.values, day.values)
    assert s.sigma == pytest.approx(float(day.std()))
    rms = float(np.sqrt((truth ** 2).mean()))
    assert s.mu == pytest.approx(1 - metrics.rmse(noisy, truth) / rms)
    assert metrics.nrmse_score is nrmse_score


def test_nrmse_skips_truth_nan_but_not_map_nan():
    truth = _random_field(nt=10, nx=16)
    land = truth.copy()
    land[:, 0, :3] = np.nan
    assert nrmse_score(land, land).mu == 1.0
    holes = truth.copy()
    holes[2, 1, 1] = np.nan
    with pytest.raises(InputError, match="NaN at 1 points"):
        nrmse_score(holes, truth)
    with pytest.raises(InputError, match="coordinates differ"):
        nrmse_score(truth.assign_coords(lon=truth.lon + 0.05), truth)


@pytest.mark.parametrize("cutoff", [8.0, 16.0])
def test_psd_lambda_x_of_a_zonal_lowpass(cutoff):
    truth = _random_field()
    s = psd_scores(_lowpass(truth, 2, cutoff), truth)
    assert s.lambda_x / 0.1 == pytest.approx(cutoff, rel=0.2)   # degrees → grid steps
    assert s.status_x == "crossed" and s.status_t == "resolved_to_grid"
    km = 6371 * np.radians(0.1) * np.cos(np.radians(float(truth.lat.mean())))
    assert s.lambda_x_km / km == pytest.approx(cutoff, rel=0.2)


def test_psd_lambda_t_of_a_temporal_lowpass():
    truth = _random_field()
    s = psd_scores(_lowpass(truth, 0, 12.0), truth)
    assert s.lambda_t == pytest.approx(12.0, rel=0.2)
    assert s.status_x == "resolved_to_grid"


def test_psd_perfect_and_useless_maps():
    truth = _random_field(nt=32, nx=32)
    perfect = psd_scores(truth, truth)
    assert (perfect.status_x, perfect.status_t) == ("resolved_to_grid", "resolved_to_grid")
    assert perfect.lambda_x == pytest.approx(0.1 * 32 / 15)   # shortest kept: 15/32 cycles/step
    zero = psd_scores(truth * 0, truth)
    assert zero.status_x == "unresolved" and np.allclose(zero.score, 0.0)
    bad = truth.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(InputError, match="NaN"):
        psd_scores(bad, bad)


@pytest.fixture(scope="module")
def eddy_case():
    like = grid(20, 32)
    eddies = Eddies(like, seed=3)
    return eddies, eddies.truth(), tracks(eddies, n_sats=1, noise_std=0.0, seed=4)


def test_along_track_scores_perfect_zero_and_unpacking(eddy_case):
    _, truth, withheld = eddy_case
    good = along_track_scores(truth, withheld)
    assert good.mu > 0.97 and good.sigma < 0.05
    assert good.lambda_x_km < 35          # only the grid's interpolation error: ~3 steps of 11 km
    zero = along_track_scores(truth * 0, withheld)
    assert zero.mu == pytest.approx(0.0, abs=1e-12)
    mu, sigma, lx = zero
    assert (mu, sigma, lx) == (zero.mu, zero.sigma, zero.lambda_x_km)
    assert zero.daily.sizes["time"] == len(np.unique(withheld.time.dt.floor("D")))
    assert zero.n_segments >= 8


def test_along_track_lambda_x_grows_with_smoothing(eddy_case):
    _, truth, withheld = eddy_case
    lx = [along_track_scores(truth.copy(data=scipy.ndimage.gaussian_filter(
        truth.values, (0, s, s), mode="nearest")), withheld).lambda_x_km for s in (2, 4)]
    assert 20 < lx[0] < lx[1] < 400


def test_along_track_bad_input(eddy_case):
    _, truth, withheld = eddy_case
    moved = withheld.assign_coords(lat=withheld.lat + 5)
    with pytest.raises(InputError, match="no point of tracks falls in the grid"):
        along_track_scores(truth, moved)
    half = withheld.assign_coords(lon=withheld.lon + 0.5 * (withheld.lon > -39).astype(float))
    with pytest.raises(InputError, match="outside the grid's box"):
        along_track_scores(truth, half)
    wrapped = withheld.assign_coords(lon=withheld.lon % 360)      # 0..360 convention
    assert along_track_scores(truth, wrapped).mu == pytest.approx(
        along_track_scores(truth, withheld).mu)
    with pytest.raises(InputError, match="no variable 'adt'"):
        along_track_scores(truth, withheld, variable="adt")
    with pytest.raises(InputError, match="not strictly increasing"):
        along_track_scores(truth.isel(lon=slice(None, None, -1)), withheld)
