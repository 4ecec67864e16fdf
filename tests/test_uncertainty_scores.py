"""Scores of an error estimate: coverage, Gaussian CRPS, spread–skill, reliability figure."""
from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from scipy.integrate import quad
from scipy.stats import norm

from varda.errors import InputError
from varda.metrics import coverage, crps_gaussian, error_scores, reliability_figure, spread_skill


def _case(n=20000, seed=0):
    rng = np.random.default_rng(seed)
    sigma = np.exp(rng.uniform(-3.0, 1.0, n))          # errors that vary a lot in size
    truth = rng.normal(size=n)
    return truth + sigma * rng.normal(size=n), sigma, truth


def test_a_right_sigma_covers_68_and_95_percent():
    est, sigma, truth = _case()
    assert coverage(est, sigma, truth) == pytest.approx(0.683, abs=0.01)
    assert coverage(est, sigma, truth, k=2.0) == pytest.approx(0.954, abs=0.005)
    assert coverage(est, sigma / 2, truth) < 0.45                     # too confident


def test_crps_matches_the_integral_of_the_squared_cdf_difference():
    mu, s, x = 0.3, 0.7, -0.4
    exact = quad(lambda t: (norm.cdf(t, mu, s) - (t >= x)) ** 2, -10, 10, points=[x])[0]
    assert crps_gaussian(np.array([mu]), np.array([s]), np.array([x])) == pytest.approx(exact,
                                                                                        rel=1e-6)


def test_a_sigma_that_follows_the_errors_beats_a_constant_one():
    est, sigma, truth = _case()
    sc = error_scores(est, sigma, truth)
    assert sc["crps_gain"] > 0.1
    assert sc["spread_skill_rank_correlation"] > 0.9
    flat = error_scores(est, np.full_like(sigma, sc["rmse"]), truth)
    assert abs(flat["crps_gain"]) < 1e-12
    shuffled = error_scores(est, np.random.default_rng(1).permutation(sigma), truth)
    assert shuffled["crps"] > sc["crps"]


def test_spread_skill_bins_and_dataarrays_aligned_by_dim_name(tmp_path):
    est, sigma, truth = _case(4000)
    dims = ("time", "x")
    mk = lambda a: xr.DataArray(a.reshape(40, 100), dims=dims)           # noqa: E731
    ss = spread_skill(mk(est), mk(sigma).transpose("x", "time"), mk(truth), n_bins=8)
    assert len(ss.rmse) == 8 and ss.count.sum() == 4000
    assert np.all(np.diff(ss.sigma) > 0) and ss.rank_correlation > 0.8
    reliability_figure({"case": ss}, tmp_path / "rel.png", units="K")
    assert (tmp_path / "rel.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("bad", [np.nan, 0.0, -1.0])
def test_nan_zero_or_negative_sigma_is_refused(bad):
    est, sigma, truth = _case(100)
    sigma[3] = bad
    with pytest.raises(InputError, match="error estimate is NaN, zero or negative"):
        coverage(est, sigma, truth)
    mask = np.ones(100, bool)
    mask[3] = False                                                     # not scored: fine
    assert 0 < coverage(est, sigma, truth, mask) <= 1
