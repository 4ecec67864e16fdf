"""Hostile inputs: one validation pass before any compute, naming the variable, the dim and
the fix; the input files and earlier outputs are never touched."""
from __future__ import annotations

import dask.array as da
import numpy as np
import pandas as pd
import pytest
import xarray as xr

import varda
from varda.cli.main import main
from varda.errors import InputError, VardaWarning
from conftest import archive


@pytest.fixture()
def no_solver(monkeypatch):
    """Fail the test if the model runs: errors must come before any compute."""
    from varda.core.model import VarModel

    def boom(*a, **k):
        raise AssertionError("the solver ran before the input was validated")

    monkeypatch.setattr(VarModel, "reconstruct", boom)


def _fill_file(ws, path, **kw):
    with xr.open_dataset(path, chunks={"time": 32}, **kw) as src:
        return src.u.varda.fill(ws.model)


def test_nan_in_a_coordinate(ws, no_solver):
    ds = archive()
    ds = ds.assign_coords(site=np.where(np.arange(8) == 3, np.nan, np.arange(8.0)))
    p = ws.write_input(ds, "nan_coord.nc")
    with pytest.raises(InputError, match=r"'u': coordinate 'site' has NaN .*positions \[3\]"):
        _fill_file(ws, p)
    ws.check()


def test_duplicated_times_cli_spelling(ws, no_solver, capsys):
    ds = archive()
    ds = ds.assign_coords(time=ds.time.values[[0] + list(range(63))])
    p = ws.write_input(ds, "dup.nc")
    with pytest.raises(InputError, match=r"coordinate 'time' has duplicated .*drop_duplicates"):
        _fill_file(ws, p)
    assert main(["fill", str(p), "--model", ws.model, "-o", str(ws.root / "o.nc")]) == 2
    err = capsys.readouterr().err
    assert "duplicated" in err and "ds.drop_duplicates('time')" in err
    assert not (ws.root / "o.nc").exists()
    ws.check()


def test_non_monotonic_times(ws, no_solver):
    ds = archive().isel(time=np.random.default_rng(0).permutation(64))
    p = ws.write_input(ds, "shuffled.nc")
    with pytest.raises(InputError, match=r"'time' is not monotonic.*sortby\('time'\)"):
        _fill_file(ws, p)
    ws.check()


def test_int16_with_scale_factor_and_fill_value(ws, capsys):
    ds = archive()
    p = ws.write_input(ds, "packed.nc", encoding={"u": {
        "dtype": "int16", "scale_factor": 0.01, "_FillValue": -32767}})
    out = ws.root / "o.nc"
    assert main(["fill", str(p), "--model", ws.model, "-o", str(out), "--keep-observed",
                 "--no-progress"]) == 0
    with xr.open_dataset(p) as dec, xr.open_dataset(out) as back:
        obs = np.isfinite(dec.u.values)
        np.testing.assert_array_equal(back.u.values[obs], dec.u.values[obs])   # bit-identical
        assert back.u.dtype == dec.u.dtype and np.isfinite(back.u.values[:, :5]).all()
    with xr.open_dataset(p, mask_and_scale=False) as raw, pytest.raises(
            InputError, match=r"u was read without CF decoding.*scale_factor=.*decode_cf"):
        raw.u.varda.fill(ws.model)
    ws.check()


def test_cf_missing_value_instead_of_nan(ws, no_solver):
    ds = archive()
    filled_with = ds.u.fillna(-999.0)
    ds["u"] = filled_with
    ds.u.attrs["missing_value"] = -999.0
    p = ws.write_input(ds, "missing_value.nc", encoding={"u": {"_FillValue": None}})
    with xr.open_dataset(p, decode_cf=False) as raw, pytest.raises(
            InputError, match=r"missing_value=-999.0.*rather than NaN"):
        raw.u.varda.fill(ws.model)
    ws.check()


def test_cf_missing_value_is_decoded_to_nan(ws):
    ds = archive()
    ref = ds.u.values.copy()
    ds["u"] = ds.u.fillna(-999.0)
    ds.u.attrs["missing_value"] = -999.0
    p = ws.write_input(ds, "missing_value.nc", encoding={"u": {"_FillValue": None}})
    with xr.open_dataset(p) as dec:
        np.testing.assert_array_equal(np.isnan(dec.u.values), np.isnan(ref))
        out = dec.u.varda.fill(ws.model, keep_observed=True)
    assert np.isfinite(out.values[:, :5]).all()
    ws.check()


def test_a_single_time_step(ws):
    p = ws.write_input(archive().isel(time=[3]), "one_step.nc")
    with xr.open_dataset(p) as src:
        out = src.u.varda.fill(ws.model)
    assert out.shape == (1, 8) and np.isfinite(out.values).all()
    ws.check()


def test_chunks_smaller_than_the_halo(ws):
    with xr.open_dataset(ws.input) as src:
        whole = src.u.varda.fill(ws.model)
        with pytest.warns(VardaWarning, match="chunks too small for the fill's halo"):
            small = src.u.chunk({"time": 4}).varda.fill(ws.model)
        np.testing.assert_allclose(small.values, whole.values, atol=1e-5)
    ws.check()


def test_mismatched_grids_in_a_multi_file_archive(ws, no_solver, capsys):
    a = ws.write_input(archive().isel(time=slice(0, 32)), "a.nc")
    b_ds = archive().isel(time=slice(32, 64)).assign_coords(site=np.arange(8) + 0.5)
    b = ws.write_input(b_ds, "b.nc")
    out = ws.root / "o.zarr"
    assert main(["fill", str(a), str(b), "--model", ws.model, "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "different grids along 'site'" in err and "a.nc" in err and "b.nc" in err
    assert not out.exists() and not (ws.root / "o.zarr.partial").exists()
    ws.check()


def _bad(kind: str) -> np.ndarray:
    x = archive().u.values.copy()
    if kind == "all-nan":
        return np.full_like(x, np.nan)
    if kind in ("+inf", "-inf"):
        x[3, 3] = np.inf if kind == "+inf" else -np.inf
        return x
    if kind == "bool":
        return np.isfinite(x)
    if kind == "object":
        return x.astype(object)
    if kind == "wrong-site-count":
        return np.concatenate([x, x[:, :1]], axis=1)
    if kind == "zero-length-time":
        return x[:0]
    if kind == "missing-axis":
        return x[0]
    raise ValueError(kind)


@pytest.mark.parametrize("kind, match", [
    ("all-nan", "entirely NaN"),
    ("+inf", "infinite value"),
    ("-inf", "infinite value"),
    ("bool", "dtype bool.*astype"),
    ("object", "dtype object.*astype"),
    ("wrong-site-count", r"'site' has 9 points.*site=8"),
    ("zero-length-time", r"'time' has no point"),
    ("missing-axis", r"expected shape \(\.\.\., time=any, site=8\)"),
])
def test_earlier_bad_inputs_still_refused_before_compute(ws, no_solver, kind, match):
    x = _bad(kind)
    copy = x.copy()
    with pytest.raises(InputError, match=match):
        varda.fill(x, ws.model)
    if x.dtype != object:
        with pytest.raises(InputError, match=match):
            varda.fill(da.from_array(x, chunks=16), ws.model)
    as_num = (lambda a: a.astype(float)) if x.dtype == object else (lambda a: a)
    np.testing.assert_array_equal(as_num(x), as_num(copy))   # the array is not modified
    ws.check()


def test_l96_model_on_a_lat_lon_field_cli(ws, no_solver, capsys):
    sst = xr.Dataset({"sst": (("time", "lat", "lon"), np.ones((4, 3, 5), np.float32))},
                     coords={"time": pd.date_range("2000", periods=4)})
    p = ws.write_input(sst, "sst.nc")
    assert main(["fill", str(p), "--var", "sst", "--model", ws.model,
                 "-o", str(ws.root / "o.nc")]) == 2
    err = capsys.readouterr().err
    assert "model of (time, site)" in err and "(time, lat, lon)" in err
    assert "--dims site=lat" in err and "dims={" not in err
    ws.check()
