"""The running background that models trained by varda.train fill anomalies from."""
from __future__ import annotations

import dask.array as da
import numpy as np
import pytest

from varda.array.background.field import background, choose_time_scale
from varda.array.background.field import setting_key as _key
from varda.array.background.running_mean import running_background
from varda.errors import InputError


def _seasonal(n_time=240, n_space=6, seed=0, frac=0.4):
    rng = np.random.default_rng(seed)
    t = np.arange(n_time, dtype=float)
    slow = 3.0 * np.sin(2 * np.pi * t / 120.0)[:, None] + np.arange(n_space)[None, :]
    truth = slow + 0.3 * rng.standard_normal((n_time, n_space))
    obs = np.where(rng.random(truth.shape) < frac, truth, np.nan)
    return slow, obs


def test_banded_filter_matches_the_dense_weights():
    _, obs = _seasonal()
    steps = np.arange(obs.shape[0], dtype=float)
    dense = running_background(obs, steps, 5.0)
    banded = running_background(obs, None, 5.0)       # weights cut at 4 widths
    np.testing.assert_allclose(banded, dense, atol=2e-3)


def test_leave_one_out_choice_prefers_a_width_that_follows_the_season():
    slow, obs = _seasonal()
    best, scores = choose_time_scale(obs)
    assert best is not None and 2.0 <= best <= 16.0, scores
    assert scores[str(best)] < scores["None"]          # better than the time mean
    bg = running_background(obs, None, best)
    assert np.sqrt(np.mean((bg - slow)[20:-20] ** 2)) < 0.5


def test_background_along_any_axis_and_any_chunking_is_the_same():
    _, obs = _seasonal(n_time=60, n_space=12)
    cube = obs.reshape(60, 3, 4)
    moved = np.moveaxis(cube, 0, 2)                     # time last
    ref = background(cube, 0, 4.0)
    np.testing.assert_allclose(np.moveaxis(background(moved, 2, 4.0), 2, 0), ref, rtol=1e-6)
    for chunks in ((60, 1, 4), (7, 3, 2), (25, 2, 3)):
        lazy = background(da.from_array(cube, chunks=chunks), 0, 4.0)
        assert lazy.chunks == da.from_array(cube, chunks=chunks).chunks
        np.testing.assert_array_equal(lazy.compute(), ref)
    assert np.isfinite(cube).sum() < cube.size            # the input still has its gaps


def test_choice_refuses_records_with_no_repeated_observation():
    obs = np.full((5, 4), np.nan)
    obs[0] = 1.0
    with pytest.raises(InputError, match="observed at least twice"):
        choose_time_scale(obs)


def _smooth_cube(n_time=30, ny=20, nx=24, seed=0, frac=0.4):
    rng = np.random.default_rng(seed)
    t = np.arange(n_time)[:, None, None]
    yy, xx = np.mgrid[0:ny, 0:nx]
    truth = (np.sin(xx / 4.0 + t / 5.0) + np.cos(yy / 5.0 - t / 7.0)).astype(float)
    truth = truth + 0.05 * rng.standard_normal(truth.shape)
    obs = np.where(rng.random(truth.shape) < frac, truth, np.nan)
    return truth, obs


def test_oi_background_interpolates_and_is_leave_one_out_at_observations():
    truth, obs = _smooth_cube()
    spec = {"kind": "oi", "time_scale": 8.0, "length_scale": 3.0, "oi_time_scale": 2.0}
    bg = background(obs, 0, spec)
    seen = np.isfinite(obs)
    clim = background(obs, 0, 8.0)
    err = np.sqrt(np.mean((bg - truth)[~seen] ** 2))
    assert err < 0.5 * np.sqrt(np.mean((clim - truth)[~seen] ** 2))
    assert not np.allclose(bg[seen], obs[seen])           # observed points are re-estimated
    assert np.sqrt(np.mean((bg - truth)[seen] ** 2)) < 2 * err


def test_oi_background_does_not_depend_on_the_chunking():
    _, obs = _smooth_cube(n_time=16, ny=18, nx=22)
    spec = {"kind": "oi", "time_scale": 4.0, "length_scale": 2.0, "oi_time_scale": 1.0}
    ref = background(obs, 0, spec)
    for chunks in ((16, 18, 22), (5, 9, 11), (16, 6, 22)):
        lazy = background(da.from_array(obs, chunks=chunks), 0, spec)
        np.testing.assert_allclose(lazy.compute(), ref, rtol=1e-5, atol=1e-5)
    with pytest.raises(InputError, match="valid: running_mean, oi"):
        background(obs, 0, {"kind": "kriging"})


def test_oi_scales_are_chosen_on_held_out_points():
    from varda.array.background.field import BASELINE_OI, choose_oi_scales
    from varda.training.holdouts import held_out_marks

    truth, obs = _smooth_cube(n_time=40)
    hidden = held_out_marks(np.isfinite(obs), 0, seed=1)
    spec, scores = choose_oi_scales(obs, 0, hidden, time_scale=8.0)
    assert spec["kind"] == "oi" and len(scores) >= 8
    assert scores[_key(spec)] == min(scores.values())      # the best setting tried
    assert _key(BASELINE_OI) in scores                     # the OI baseline's default scored
    assert min(scores.values()) < np.nanvar(obs)           # better than nothing
    with pytest.raises(InputError, match="held-out"):
        choose_oi_scales(obs, 0, np.zeros(obs.shape, bool), time_scale=8.0)


def test_oi_scale_search_never_leaves_a_better_setting_it_scored():
    """The search starts from the middle of each grid (here off the grid): a step that finds
    nothing better keeps the current value, so the result is never worse than the start."""
    from varda.array.background.field import choose_oi_scales
    from varda.training.holdouts import held_out_marks

    _, obs = _smooth_cube(n_time=16, ny=14, nx=16)
    hidden = held_out_marks(np.isfinite(obs), 0, seed=0)
    spec, scores = choose_oi_scales(obs, 0, hidden, time_scale=None, length_scales=(0.3, 12.0),
                                    oi_time_scales=(0.2, 20.0), noise_ratios=(0.02,))
    start = {"time_scale": None, "length_scale": 6.15, "oi_time_scale": 10.1,
             "noise_ratio": 0.02}
    assert scores[_key(spec)] <= scores[_key(start)]
    assert scores[_key(spec)] == min(scores.values())
