"""The .varda accessor and varda.fill on DataArray / Dataset: axes, masks, provenance, laziness."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import varda
from varda.errors import InputError
from fill_helpers import gappy, l96_path, sst3d_path  # noqa: F401  (fixtures)


def l96_da(t=40, seed=0, name="x") -> xr.DataArray:
    return xr.DataArray(gappy((t, 8), seed=seed), dims=("time", "site"), name=name,
                        coords={"time": pd.date_range("2000-01-01", periods=t),
                                "site": np.arange(8)}, attrs={"units": "1", "history": "made"})


def test_fill_keeps_dims_coords_name_and_adds_provenance(l96_path):
    x = l96_da()
    out = x.varda.fill(l96_path)
    assert out.dims == x.dims and out.name == "x" and out.dtype == np.float32
    xr.testing.assert_identical(out.time, x.time)
    assert np.isfinite(out.values).all()
    model = varda.load(l96_path)
    a = out.attrs
    assert a["units"] == "1"
    assert a["history"].splitlines()[0].split()[1:3] == ["varda", varda.__version__ + ":"]
    assert "varda.fill(x, model='tiny-l96'" in a["history"].splitlines()[0]
    assert a["history"].splitlines()[-1] == "made"
    assert a["varda_model_sha256"] == model.checkpoint_sha256
    assert json.loads(a["varda_solver"])["patch_shape"] == [16, 8]
    assert a["varda_fraction_filled"] == pytest.approx(float(x.isnull().mean()), abs=1e-6)
    assert "ICASSP 2021" in a["references"] and "Journal of Advances" not in a["references"]
    np.testing.assert_array_equal(out["x_observed"].values, x.notnull().values.astype(np.int8))


def test_accessor_is_an_alias_of_varda_fill(l96_path):
    x = l96_da(seed=1)
    xr.testing.assert_allclose(x.varda.fill(l96_path), varda.fill(x, l96_path))


def test_dim_order_does_not_matter_and_extra_dims_are_batched(l96_path):
    x = xr.concat([l96_da(seed=2), l96_da(seed=3)], dim="member")
    out = x.transpose("site", "member", "time").varda.fill(l96_path)
    assert out.dims == ("site", "member", "time")
    one = l96_da(seed=3).varda.fill(l96_path)
    np.testing.assert_allclose(out.isel(member=1).transpose("time", "site"), one, atol=1e-5)


def test_axes_found_by_cf_attributes_or_explicit_dims(sst3d_path):
    data = gappy((10, 18, 20), seed=4)
    cf = xr.DataArray(data, dims=("t", "nav_y", "nav_x"), name="sst", coords={
        "t": xr.DataArray(np.arange(10), dims="t", attrs={"axis": "T"}),
        "nav_y": xr.DataArray(np.linspace(-10, 10, 18), dims="nav_y",
                              attrs={"standard_name": "latitude", "units": "degrees_north"}),
        "nav_x": xr.DataArray(np.linspace(0, 30, 20), dims="nav_x",
                              attrs={"standard_name": "longitude", "units": "degrees_east"})})
    by_cf = cf.varda.fill(sst3d_path, mask=False)
    plain = xr.DataArray(data, dims=("a", "b", "c"), name="sst")
    with pytest.raises(InputError, match=r"lacks the model axis 'time'.*dims="):
        plain.varda.fill(sst3d_path)
    explicit = plain.varda.fill(sst3d_path, dims={"time": "a", "lat": "b", "lon": "c"})
    np.testing.assert_array_equal(by_cf.values, explicit.values)


def test_missing_axis_names_the_dims_and_fix(l96_path):
    x = xr.DataArray(gappy((20, 8)), dims=("time", "station"), name="u")
    with pytest.raises(InputError, match=r"'u' lacks the model axis 'site'.*'station'"):
        x.varda.fill(l96_path)


def test_duplicated_and_non_monotonic_coordinates_are_refused(l96_path):
    x = l96_da()
    dup = x.assign_coords(time=x.time.values[[0] + list(range(39))])
    with pytest.raises(InputError, match="drop_duplicates"):
        dup.varda.fill(l96_path)
    shuffled = x.isel(time=np.random.default_rng(0).permutation(40))
    with pytest.raises(InputError, match="sortby"):
        shuffled.varda.fill(l96_path)


def test_wrong_size_periodic_axis_names_the_dim(l96_path):
    x = xr.DataArray(gappy((20, 9)), dims=("time", "site"), name="u")
    with pytest.raises(InputError, match=r"u: axis 'site' has 9 points.*periodic"):
        x.varda.fill(l96_path)


def test_static_land_mask_default_override_and_off(l96_path):
    x = l96_da(seed=5)
    x[:, 3] = np.nan  # never observed: land
    out = x.varda.fill(l96_path)
    assert out[:, 3].isnull().all() and np.isfinite(out.drop_sel(site=3).values).all()
    filled_all = x.varda.fill(l96_path, mask=False)
    assert np.isfinite(filled_all.values).all()
    custom = xr.DataArray(np.arange(8) != 5, dims="site")
    masked = x.varda.fill(l96_path, mask=custom)
    assert masked[:, 5].isnull().all() and np.isfinite(masked[:, 3].values).all()
    with pytest.raises(InputError, match="boolean"):
        x.varda.fill(l96_path, mask=custom.astype(int))


def test_keep_observed_and_observations(l96_path):
    x = l96_da(seed=6)
    y, omega = x.varda.observations()
    assert omega.dtype == bool and omega.name == "x_observed"
    np.testing.assert_array_equal(omega.values, np.isfinite(x.values))
    out = x.varda.fill(l96_path, keep_observed=True)
    np.testing.assert_array_equal(out.values[omega.values], x.values[omega.values])


def test_dask_backed_dataarray_stays_lazy_and_matches(l96_path):
    x = l96_da(t=64, seed=7)
    lazy = x.chunk({"time": 20}).varda.fill(l96_path)
    assert lazy.chunks is not None
    xr.testing.assert_allclose(lazy.compute(), x.varda.fill(l96_path), atol=1e-5)


def test_dataset_fills_every_variable_with_the_model_axes(l96_path):
    ds = xr.Dataset({"u": l96_da(seed=8, name="u"), "v": l96_da(seed=9, name="v"),
                     "flag": ("time", np.zeros(40, int))})
    out = ds.varda.fill(l96_path)
    assert set(out.data_vars) == {"u", "v", "flag"}
    for v in ("u", "v"):
        assert np.isfinite(out[v].values).all() and "varda_model" in out[v].attrs
    assert "varda.fill(dataset" in out.attrs["history"]
    with pytest.raises(InputError, match="not in the dataset"):
        ds.varda.fill(l96_path, variables=["w"])


def test_integer_dataarray_is_refused_naming_the_variable(l96_path):
    x = xr.DataArray(np.ones((20, 8), int), dims=("time", "site"), name="counts")
    with pytest.raises(InputError, match=r"counts has dtype int64"):
        x.varda.fill(l96_path)


def test_provenance_records_inputs_model_path_and_keep_observed(l96_path, tmp_path):
    path = tmp_path / "in.nc"
    l96_da(seed=11).to_dataset().to_netcdf(path)
    with xr.open_dataset(path) as src:
        out = src.x.varda.fill(l96_path)
        ds_out = src.varda.fill(l96_path, keep_observed=True)
    a = out.attrs
    assert a["varda_inputs"] == str(path)
    assert a["varda_model_path"] == str(varda.load(l96_path).checkpoint_path)
    assert a["varda_keep_observed"] == 0
    solver = json.loads(a["varda_solver"])
    assert solver["keep_observed_from"] == "model default" and solver["n_iter"] == 2
    assert set(varda.array.FillOptions.names()) <= set(solver)
    b = ds_out.x.attrs
    assert b["varda_keep_observed"] == 1
    assert json.loads(b["varda_solver"])["keep_observed_from"] == "option"
    assert b["varda_inputs"] == str(path)
    # the observed/filled flag travels with the result and marks exactly the observations
    np.testing.assert_array_equal(ds_out["x_observed"].values,
                                  np.isfinite(l96_da(seed=11).values).astype(np.int8))


def test_l96_model_on_a_lat_lon_field_says_what_the_model_is(l96_path):
    sst = xr.DataArray(gappy((10, 6, 8)), dims=("time", "lat", "lon"), name="sst")
    with pytest.raises(InputError) as e:
        sst.varda.fill(l96_path)
    msg = str(e.value)
    assert "model of (time, site)" in msg and "(time, lat, lon)" in msg
    assert "dims={'site': 'lat'}" in msg
    assert "--dims site=lat" in e.value.cli_message and "dims={" not in e.value.cli_message
