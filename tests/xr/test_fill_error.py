"""``fill(..., error=True)``: the field, its calibrated error and the observed flag, linked as in
CF; lazy and chunk-independent; clear errors for models without (or with a broken) calibration."""
from __future__ import annotations

import copy

import numpy as np
import pytest
import xarray as xr

import varda
from varda.datasets.osse import make_sst_osse
from varda.errors import InputError


@pytest.fixture(scope="module")
def osse():
    return make_sst_osse("tiny", seed=11)


@pytest.fixture(scope="module")
def model(osse):
    if "sst-osse" not in varda.pretrained_names():
        pytest.skip("no shipped sst-osse model")
    base = varda.load("sst-osse")
    before = copy.deepcopy(base.meta)
    out = varda.calibrate(base, make_sst_osse("tiny", seed=12).obs, seed=3)
    assert base.meta == before                                # the input model is untouched
    return out


def test_calibration_is_in_the_card_and_survives_save_and_load(model, tmp_path):
    cal = model.meta["calibration"]
    assert cal["method"] == "oi_posterior_variance" and cal["n_points"] > 100
    assert np.all(np.diff(cal["knots_variance"]) >= 0) and min(cal["knots_variance"]) > 0
    assert "held-out observations" in model.meta["model_card"]["error_calibration"]["fitted_on"]
    back = varda.load(model.save(tmp_path / "m"))
    assert back.meta["calibration"] == cal


def test_error_dataset_cf_links_and_same_field_as_a_plain_fill(model, osse):
    obs = osse.obs.assign_attrs(units="degC", standard_name="sea_surface_temperature")
    ds = varda.fill(obs, model, error=True)
    plain = obs.varda.fill(model)
    np.testing.assert_array_equal(ds["sst"].values, plain.values)
    err = ds["sst_error"]
    assert ds["sst"].attrs["ancillary_variables"] == "sst_error sst_observed"
    assert err.attrs["units"] == "degC"
    assert err.attrs["standard_name"] == "sea_surface_temperature standard_error"
    ocean = ~osse.obs.isnull().all("time")
    assert np.isnan(err.values[:, ~ocean.values]).all()               # land stays NaN
    e = err.values[:, ocean.values]
    assert np.isfinite(e).all() and (e > 0).all()
    seen = np.isfinite(osse.obs.values)
    gap = ~seen & ocean.values
    assert e.size and err.values[seen].mean() < err.values[gap].mean()   # larger in the gaps


def test_ghrsst_names(model, osse):
    ds = osse.obs.varda.fill(model, error=True, ghrsst=True)
    assert set(ds.data_vars) == {"analysed_sst", "analysis_error"}
    assert ds["analysis_error"].attrs["long_name"].startswith("estimated error standard "
                                                              "deviation of")
    with pytest.raises(InputError, match="pass error=True"):
        osse.obs.varda.fill(model, ghrsst=True)


def test_lazy_and_independent_of_chunking(model, osse):
    eager = varda.fill(osse.obs, model, error=True)
    for chunks in ({"time": 11, "lat": 12, "lon": 16}, {"lat": 5}):
        lazy = varda.fill(osse.obs.chunk(chunks), model, error=True)
        assert lazy["sst_error"].chunks is not None
        np.testing.assert_array_equal(lazy["sst_error"].values, eager["sst_error"].values)


def test_arrays_return_a_pair(model, osse):
    y = osse.obs.values
    field, err = varda.fill(y, model, error=True, background_axis=0)
    ocean = np.isfinite(y).any(axis=0)               # the array fill has no land mask
    ref = varda.fill(osse.obs, model, error=True)["sst_error"].values
    np.testing.assert_array_equal(err[:, ocean], ref[:, ocean])
    assert field.shape == err.shape == y.shape


def test_a_model_without_calibration_says_how_to_calibrate(osse):
    plain = varda.load("sst-osse")
    plain.meta.pop("calibration", None)
    with pytest.raises(InputError, match=r"varda.calibrate\(model, obs\)"):
        osse.obs.varda.fill(plain, error=True)


@pytest.mark.parametrize("change, match", [
    ({"knots_variance": [-1.0, 0.5]}, "negative or zero"),
    ({"knots_variance": [np.nan, 0.5]}, "NaN"),
    ({"knots_v": [0.5, 0.1], "knots_variance": [0.1, 0.5]}, "not increasing"),
    ({"method": "magic"}, "not one varda knows")])
def test_a_broken_calibration_is_refused(model, osse, change, match):
    broken = copy.deepcopy(model)
    broken.meta["calibration"].update({"knots_v": [0.1, 0.5], **change})
    with pytest.raises(InputError, match=match):
        osse.obs.varda.fill(broken, error=True)


def test_dataset_fill_and_netcdf_writer_keep_the_error(model, osse, tmp_path):
    ds = xr.Dataset({"sst": osse.obs})
    out = ds.varda.fill(model, error=True)
    assert {"sst", "sst_error"} <= set(out.data_vars)
    path = varda.to_netcdf(out, tmp_path / "f.nc")
    with xr.open_dataset(path) as back:
        np.testing.assert_array_equal(back["sst_error"].values, out["sst_error"].values)
        assert back["sst"].attrs["ancillary_variables"] == "sst_error sst_observed"


def test_cli_error_to_zarr_matches_the_eager_error(model, osse, tmp_path, capsys):
    from varda.cli.main import main

    src = tmp_path / "sst.nc"
    osse.obs.to_dataset().to_netcdf(src)
    path = model.save(tmp_path / "m")
    out = tmp_path / "out.zarr"
    assert main(["fill", str(src), "--var", "sst", "--model", str(path), "--error",
                 "--chunks", "time=10", "-o", str(out), "--no-progress"]) == 0
    eager = varda.fill(osse.obs, model, error=True)
    with xr.open_zarr(out) as back:
        assert {"sst", "sst_error"} <= set(back.data_vars)
        np.testing.assert_allclose(back["sst_error"].values, eager["sst_error"].values,
                                   rtol=1e-6, equal_nan=True)
        assert back["sst_error"].attrs["long_name"].startswith("estimated error standard")
