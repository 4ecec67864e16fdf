"""Weak-constraint QG 4D-Var mapping of gridded altimetry: beats its first guess, bad input."""
import numpy as np
import pytest
import xarray as xr

from varda.baselines.qg4dvar import plane_geometry, qg_fourdvar, window_starts
from varda.datasets.altimetry import grid_tracks, sample_tracks
from varda.datasets.qg import make_qg_ssh
from varda.errors import InputError


@pytest.fixture(scope="module")
def case():
    truth = make_qg_ssh(12, seed=5, shape=(16, 16), dx=20e3, spinup_days=20, cache=False)
    obs = grid_tracks(sample_tracks(truth, satellites=4, seed=1), truth)
    # a smooth, biased first guess: the truth's time mean (what an OI knows far from tracks)
    fg = xr.zeros_like(truth) + truth.mean("time")
    return truth, obs, fg


@pytest.mark.parametrize("control", ["forcing", "state"])
def test_mapping_improves_on_its_first_guess(case, control):
    truth, obs, fg = case
    x = qg_fourdvar(obs, fg, rossby_radius=60e3, error_ratio=1.0, window=6, n_iter=15,
                    n_substeps=8, control=control, spinup_iter=5)
    rmse = lambda a: float(np.sqrt(((a - truth) ** 2).mean()))
    assert x.shape == truth.shape and np.isfinite(x.values).all()
    assert rmse(x) < 0.9 * rmse(fg)
    assert x.attrs["cost_evaluations_per_window"] >= 15
    # the observation-only diagnostics are recorded
    assert x.attrs["obs_misfit_rms_m"] > 0 and x.attrs["first_guess_obs_misfit_rms_m"] > 0
    assert x.attrs["desroziers_obs_error_std_m"] >= 0


def test_observation_fit_measures_both_misfits_and_desroziers_estimate():
    from varda.baselines.qg4dvar import observation_fit

    rng = np.random.default_rng(0)
    y = np.where(rng.random((4, 5, 5)) < 0.3, rng.normal(size=(4, 5, 5)), np.nan)
    fit = observation_fit(y, np.zeros_like(y) + 5.0, np.nan_to_num(y))
    assert fit["obs_misfit_rms_m"] > fit["first_guess_obs_misfit_rms_m"] == 0.0
    assert fit["desroziers_obs_error_std_m"] == 0.0


def test_geometry_from_coordinates(case):
    truth, _, _ = case
    geo = plane_geometry(truth)
    assert geo["dx"] == pytest.approx(20e3) and 8e-5 < geo["f0"] < 9e-5
    assert window_starts(25, 10, 5) == [0, 5, 10, 15]


def test_bad_input(case):
    truth, obs, fg = case
    with pytest.raises(InputError, match="no observation"):
        qg_fourdvar(obs * np.nan, fg, rossby_radius=60e3, window=6, n_iter=1)
    with pytest.raises(InputError, match="ascending and regular"):
        plane_geometry(truth.isel(lon=slice(None, None, -1)))
    bad_units = truth.copy()
    bad_units["lat"] = truth.lat.assign_attrs(units="m")
    with pytest.raises(InputError, match="give degrees"):
        plane_geometry(bad_units)
    with pytest.raises(InputError, match="control must be"):
        qg_fourdvar(obs, fg, rossby_radius=60e3, control="x")
    with pytest.raises(InputError, match="fewer than the window"):
        qg_fourdvar(obs, fg, rossby_radius=60e3, window=30, n_iter=1)
