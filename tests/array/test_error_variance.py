"""The OI posterior variance (same solve as the background) and the error calibration."""
from __future__ import annotations

import dask.array as da
import numpy as np
import pytest

from varda.array.error import Calibration, error_std, fit_calibration, posterior_variance
from varda.array.background.oi_lattice import oi_lattice
from varda.array.background.oi_stencil import stencil
from varda.errors import InputError

SPEC = {"length_scale": 1.5, "oi_time_scale": 1.0, "noise_ratio": 0.05, "n_neighbors": 8}


def _gappy(shape=(12, 10, 14), frac=0.6, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=shape)
    a[rng.random(shape) < frac] = np.nan
    return a


def test_lattice_variance_is_the_oi_posterior_variance_of_the_same_neighbours():
    a = _gappy()
    scales = (1.0, 1.5, 1.5)
    est, var = oi_lattice(a, scales, noise_ratio=0.05, n_neighbors=8, return_variance=True)
    np.testing.assert_array_equal(est, oi_lattice(a, scales, noise_ratio=0.05, n_neighbors=8))
    p = np.array([5, 4, 7])
    nb = []
    for off in stencil(scales, 3.0):                      # the 8 nearest observed offsets
        q = p + off
        if (q >= 0).all() and (q < a.shape).all() and np.isfinite(a[tuple(q)]):
            nb.append(off)
        if len(nb) == 8:
            break
    nb = np.array(nb, float)
    s = np.array(scales)
    k_mat = np.exp(-0.5 * (((nb[:, None] - nb[None]) / s) ** 2).sum(-1)) + 0.05 * np.eye(8)
    k_vec = np.exp(-0.5 * ((nb / s) ** 2).sum(-1))
    assert var[tuple(p)] == pytest.approx(1 - k_vec @ np.linalg.solve(k_mat, k_vec), abs=1e-12)
    assert 0.0 <= var.min() and var.max() <= 1.0


def test_posterior_variance_small_where_observed_large_far_away_and_chunk_independent():
    a = _gappy()
    a[:, :, 10:] = np.nan                                      # a region never observed
    v = posterior_variance(a, 0, SPEC)
    seen = np.isfinite(a)
    assert v[seen].max() < SPEC["noise_ratio"] + 1e-9           # own observation added
    assert v[:, :, 13].min() > v[~seen][:, None].mean()          # far from data
    for chunks in ((12, 5, 7), (12, 10, 3), (4, 4, 14)):
        lazy = posterior_variance(da.from_array(a, chunks=chunks), 0, SPEC)
        np.testing.assert_array_equal(lazy.compute(), v)


def test_fit_recovers_a_growing_error_variance_and_errors_are_positive():
    rng = np.random.default_rng(1)
    v = rng.uniform(0, 1, 20000)
    r = rng.normal(size=v.size) * np.sqrt(0.01 + 0.5 * v)
    cal = fit_calibration(r, v, oi=SPEC, fitted_on="synthetic")
    np.testing.assert_allclose(cal.variance(np.array([0.2, 0.5, 0.8])), 0.01 + 0.5 * np.array(
        [0.2, 0.5, 0.8]), rtol=0.15)
    assert cal.scores["coverage_1sigma"] == pytest.approx(0.683, abs=0.02)
    back = Calibration.from_meta(cal.to_meta())
    assert back == cal
    sigma = error_std(_gappy(), 0, cal)
    assert sigma.dtype == np.float32 and (sigma > 0).all()


def test_fit_anchors_far_points_with_the_climatology_error():
    rng = np.random.default_rng(2)
    v = rng.uniform(0, 0.3, 5000)                              # withheld points all near data
    r = rng.normal(size=v.size) * np.sqrt(0.01 + v)
    cal = fit_calibration(r, v, oi=SPEC, fitted_on="x", prior_variance=1.5)
    assert cal.knots_v[-1] == 1.0 and cal.variance(np.array([1.0]))[0] == 1.5


def test_too_few_points_and_broken_calibrations_are_refused():
    with pytest.raises(InputError, match="at least 50 withheld points"):
        fit_calibration(np.ones(10), np.ones(10), oi=SPEC, fitted_on="x")
    with pytest.raises(InputError, match="lacks"):
        Calibration(oi={}, knots_v=(0.0,), knots_variance=(1.0,))


LOCAL = {"time_scale": 4.0, "smooth": 1.5, "fallback": 1.0}


def test_local_variance_follows_the_signal_and_does_not_depend_on_chunks():
    from varda.array.error import local_variance

    a = _gappy(shape=(30, 12, 16), frac=0.5, seed=3)
    a[:, :, 8:] *= 3.0                                         # 9 × the variance on the right
    s2 = local_variance(a, 0, {**SPEC, **LOCAL})
    assert s2.shape == a.shape and np.isfinite(s2).all()
    assert (s2[0] == s2[17]).all()                             # one value per pixel
    assert s2[0, :, 13:].mean() > 5 * s2[0, :, :3].mean()
    for chunks in ((30, 5, 7), (30, 12, 3), (7, 4, 16)):
        lazy = local_variance(da.from_array(a, chunks=chunks), 0, {**SPEC, **LOCAL})
        np.testing.assert_array_equal(lazy.compute(), s2)


def test_a_local_calibration_scales_the_error_with_the_signal_and_round_trips():
    a = _gappy(shape=(30, 12, 16), frac=0.5, seed=4)
    a[:, :, 8:] *= 3.0
    cal = Calibration(oi=SPEC, knots_v=(0.0, 1.0), knots_variance=(0.5, 0.5),
                      local_variance=LOCAL)
    sig = error_std(a, 0, cal)
    assert sig[:, :, 13:].mean() > 2 * sig[:, :, :3].mean()
    back = Calibration.from_meta(cal.to_meta())
    assert back == cal
    np.testing.assert_array_equal(error_std(da.from_array(a, chunks=(30, 6, 5)), 0,
                                            back).compute(), sig)
    with pytest.raises(InputError, match="local variance"):
        Calibration(oi=SPEC, knots_v=(0.0,), knots_variance=(1.0,),
                    local_variance={"time_scale": 4.0, "smooth": 1.0, "fallback": -1.0})


def test_calibration_keeps_the_local_form_where_errors_follow_the_local_signal():
    from varda.xr.calibrate import _fit_both

    rng = np.random.default_rng(6)
    shape = (40, 12, 16)
    amp = np.where(np.arange(16) < 8, 0.5, 2.0)[None, None, :] * np.ones(shape)
    ref = rng.normal(size=shape) * amp                       # 16 × the variance on the right
    seen = rng.random(shape) > 0.5
    view = np.where(seen, ref, np.nan)
    scored = ~seen
    filled = ref + 0.5 * rng.normal(size=shape) * amp         # errors follow the signal
    spec = {**SPEC, "time_scale": 4.0}
    cal = _fit_both(filled, ref, view, scored, 0, spec, fitted_on="x")
    assert cal.local_variance is not None
    assert cal.scores["crps"] < cal.scores["crps_other_form"]
    homo = ref + 0.5 * rng.normal(size=shape)                 # errors the same everywhere
    assert _fit_both(homo, ref, view, scored, 0, spec, fitted_on="x").local_variance is None
