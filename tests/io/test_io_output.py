"""NetCDF / Zarr writers: atomic, never over an input, float32 without packing, provenance."""
from __future__ import annotations

import hashlib
import os

import dask.array as da
import numpy as np
import pandas as pd
import pytest
import xarray as xr

import varda
from varda.errors import OutputError
from fill_helpers import gappy, l96_path  # noqa: F401  (fixture)


def _sha(path) -> str:
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


@pytest.fixture()
def packed_input(tmp_path):
    """A NetCDF input with int16 packing (scale_factor/add_offset) and a history line."""
    x = gappy((40, 8), seed=11)
    ds = xr.Dataset({"u": (("time", "site"), x, {"units": "K"})},
                    coords={"time": pd.date_range("2001-01-01", periods=40), "site": np.arange(8)},
                    attrs={"history": "created by the test"})
    path = tmp_path / "in.nc"
    ds.to_netcdf(path, encoding={"u": {"dtype": "int16", "scale_factor": 0.01,
                                       "add_offset": 0.0, "_FillValue": -32767}})
    return path


def test_netcdf_drops_packing_writes_float32_and_provenance(packed_input, l96_path, tmp_path):
    src = xr.open_dataset(packed_input)
    assert src.u.encoding["dtype"] == np.int16  # the packing the output must not inherit
    filled = src.u.varda.fill(l96_path)
    out = varda.to_netcdf(filled, tmp_path / "out.nc")
    raw = xr.open_dataset(out, decode_cf=False)
    assert raw.u.dtype == src.u.dtype      # the decoded input's float dtype, unpacked
    assert "scale_factor" not in raw.u.attrs and "add_offset" not in raw.u.attrs
    assert raw.u_observed.dtype == np.int8 and raw.u_observed.attrs["flag_values"].tolist() == [0, 1]
    back = xr.open_dataset(out)
    np.testing.assert_array_equal(back.u.values, filled.values)  # exact: no packing loss
    hist = back.attrs["history"].splitlines()
    assert "varda.to_netcdf('out.nc')" in hist[0]
    assert "varda.fill(u" in back.u.attrs["history"].splitlines()[0]
    # a Dataset keeps its global history chain: write, fill, then the input's lines
    ds_out = xr.open_dataset(varda.to_netcdf(src.varda.fill(l96_path), tmp_path / "ds.nc"))
    lines = ds_out.attrs["history"].splitlines()
    assert "varda.to_netcdf" in lines[0] and "varda.fill(dataset" in lines[1]
    assert lines[-1] == "created by the test"
    assert back.attrs["references"].startswith("Fablet")
    assert back.u.attrs["varda_model_sha256"] == varda.load(l96_path).checkpoint_sha256
    np.testing.assert_array_equal(back.time.values, src.time.values)


def test_refuses_to_overwrite_the_input_even_with_overwrite(packed_input, l96_path):
    before = _sha(packed_input)
    filled = xr.open_dataset(packed_input).u.varda.fill(l96_path)
    for ow in (False, True):
        with pytest.raises(OutputError, match="is the input"):
            varda.to_netcdf(filled, packed_input, overwrite=ow)
        with pytest.raises(OutputError, match="is the input"):
            varda.to_zarr(filled, packed_input, overwrite=ow)
    assert _sha(packed_input) == before


def test_existing_output_needs_overwrite(l96_path, tmp_path):
    x = xr.DataArray(gappy((30, 8)), dims=("time", "site"), name="u")
    filled = x.varda.fill(l96_path)
    target = tmp_path / "o.nc"
    target.write_text("keep me")
    with pytest.raises(OutputError, match="already exists.*overwrite=True"):
        varda.to_netcdf(filled, target)
    assert target.read_text() == "keep me"
    varda.to_netcdf(filled, target, overwrite=True)
    assert xr.open_dataset(target).u.shape == (30, 8)


def test_failed_write_leaves_no_output_and_a_marked_partial_zarr(tmp_path):
    def boom(block):
        raise RuntimeError("worker died")

    bad = da.map_blocks(boom, da.zeros((10, 4), chunks=5, dtype=np.float32), dtype=np.float32)
    arr = xr.DataArray(bad, dims=("time", "site"), name="u")
    with pytest.raises(RuntimeError, match="worker died"):
        varda.to_netcdf(arr, tmp_path / "o.nc")
    assert os.listdir(tmp_path) == []        # NetCDF: neither output nor temporary
    with pytest.raises(RuntimeError, match="worker died"):
        varda.to_zarr(arr, tmp_path / "o.zarr")
    assert os.listdir(tmp_path) == ["o.zarr.partial"]  # kept for a resume, never at the target
    status = varda.io.zarr_status(tmp_path / "o.zarr")
    assert status["status"] == "partial" and status["regions_done"] == 0


def test_zarr_streams_region_by_region(l96_path, tmp_path, monkeypatch):
    x = xr.DataArray(gappy((96, 8), seed=12), dims=("time", "site"), name="u")
    filled = x.chunk({"time": 16}).varda.fill(l96_path)
    regions = []
    real = xr.Dataset.to_zarr

    def spy(self, *args, **kwargs):
        if kwargs.get("region"):
            regions.append(kwargs["region"]["time"])
        return real(self, *args, **kwargs)

    monkeypatch.setattr(xr.Dataset, "to_zarr", spy)
    store = varda.to_zarr(filled, tmp_path / "o.zarr", region_size=32)
    assert regions == [slice(0, 32), slice(32, 64), slice(64, 96)]
    back = xr.open_zarr(store)
    assert back.u.dtype == np.float32 and back.u.encoding["chunks"][0] == 16
    np.testing.assert_allclose(back.u.values, x.varda.fill(l96_path).values, atol=1e-5)
    assert "varda.to_zarr" in back.attrs["history"].splitlines()[0]
    assert int(back.u_observed.sum()) == int(x.notnull().sum())


def test_zarr_on_an_fsspec_url(l96_path):
    x = xr.DataArray(gappy((32, 8), seed=13), dims=("time", "site"), name="u")
    filled = x.varda.fill(l96_path)
    url = "memory://varda-test/out.zarr"
    varda.to_zarr(filled, url)
    back = xr.open_zarr(url)
    np.testing.assert_array_equal(back.u.values, filled.values)
    with pytest.raises(OutputError, match="already exists"):
        varda.to_zarr(filled, url)
    varda.to_zarr(filled, url, overwrite=True)


def test_accessor_writers(l96_path, tmp_path):
    x = xr.DataArray(gappy((20, 8)), dims=("time", "site"), name="u")
    filled = x.varda.fill(l96_path)
    p = filled.varda.to_netcdf(tmp_path / "a.nc")
    z = filled.varda.to_zarr(tmp_path / "a.zarr")
    np.testing.assert_array_equal(xr.open_dataset(p).u.values, xr.open_zarr(z).u.values)
